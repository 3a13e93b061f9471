"""The count of the project's suite files the build's level is shared among: what pytest
would collect as a suite, whatever this run selected; never a virtualenv or a hidden folder."""

from __future__ import annotations

from pytest_rft.plugin.collection import project_suite_files

PATTERNS = ["rft_*.yaml", "*.rft.yaml"]


def test_suite_files_are_counted_where_a_run_would_collect_them(tmp_path):
    for name in ("rft_a.yaml", "evals/rft_b.yaml", "evals/deep/c.rft.yaml",
                 "evals/rft_notes.txt", "evals/data.yaml",  # not suites
                 ".hidden/rft_x.yaml", "node_modules/pkg/rft_x.yaml",  # skipped folders
                 "venv-any-name/lib/rft_x.yaml", "build/rft_x.yaml"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("suite: x\n")
    (tmp_path / "venv-any-name" / "pyvenv.cfg").write_text("home = /usr\n")
    assert project_suite_files(tmp_path, PATTERNS, ["build"]) == 3
    assert project_suite_files(tmp_path, PATTERNS, []) == 4  # build/ is norecursedirs only
    assert project_suite_files(tmp_path / "evals", PATTERNS, ["build"]) == 2
    assert project_suite_files(tmp_path / "missing", PATTERNS, []) == 0
