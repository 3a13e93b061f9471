"""Importing a public definition (tests/support/public_definitions*.py) against the local
server and checking what every such import must hold: MIGRATION.md names what did not move,
no endpoint credential is written, disabled graders are marked in the suite, and a run of the
suite scores every sample with every grader."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pytest_rft.cli.main import main


def titles(folder: Path) -> list[str]:
    """The titles of MIGRATION.md's 'What did not move' list."""
    text = (folder / "MIGRATION.md").read_text()
    section = text.split("## What did not move", 1)[1]
    return re.findall(r"^\d+\. \*\*(.+?)\*\*:", section, flags=re.M)


def import_case(server: Any, case: Any, out: Path,
                credentials: tuple[str, ...]) -> tuple[list[str], Path]:
    """Import ``case`` into ``out``; check its notes, that none of ``credentials`` is written
    and that its disabled graders are marked. (MIGRATION.md's titles, the suite file.)"""
    server.platform_objects.update(case.objects)
    assert main(["import", case.kind, case.id, "--out", str(out),
                 "--base-url", server.base_url]) == 0
    found = titles(out)
    for title in case.notes:
        assert title in found, (title, found)
    for word in case.not_notes:
        assert not [t for t in found if word in t], (word, found)
    for path in out.rglob("*"):  # endpoint credentials are never written
        if path.is_file():
            text = path.read_text(errors="replace")
            assert not [c for c in credentials if c in text], path
    (suite_path,) = out.glob("rft_*.yaml")
    suite_text = suite_path.read_text()
    for name in case.disabled:
        assert f"# disabled, see MIGRATION.md: {name}: " in suite_text
    return found, suite_path


def assert_every_sample_scored(report: dict, suite: Any) -> None:
    """Every item of the suite ran, and each sample has no error and every grader's score."""
    names = set(suite.score_names)
    for run in report["suites"]:
        assert [i["id"] for i in run["items"]] == [i.id for i in suite.items]
        for item in run["items"]:
            for sample in item["samples"]:
                assert sample["error"] is None, sample
                assert not sample["grader_errors"], sample["grader_errors"]
                assert set(sample["scores"]) == names
