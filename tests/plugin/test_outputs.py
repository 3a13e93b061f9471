"""The session's outputs are registered plugin objects (as junitxml's ``LogXML``), one per
option given, written in order: baselines and history before the reports."""

from __future__ import annotations

from tests.plugin.test_plugin import project, run  # noqa: F401  (fixture)

PROBE = '''

import pytest

@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    names = ["rft-baselines", "rft-history", "rft-json-report", "rft-html", "rft-step-summary"]
    print("REGISTERED", ",".join(n for n in names if config.pluginmanager.get_plugin(n)))
'''


def test_each_output_given_is_a_registered_writer_and_they_run_in_order(project,  # noqa: F811
                                                                        monkeypatch):
    project.makeconftest(project.path.joinpath("conftest.py").read_text() + PROBE)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(project.path / "step.md"))
    result = run(project, "-s", "--rft-baseline-update", "--rft-history", "h.jsonl",
                 "--rft-report", "r.json")
    assert result.ret == 0, result.stdout.str()
    out = result.stdout.str()
    assert "REGISTERED rft-baselines,rft-history,rft-json-report,rft-step-summary" in out
    notes = [line for line in out.splitlines() if line.startswith("rft: ")]
    baseline = next(i for i, line in enumerate(notes) if line.startswith("rft: baseline of qa"))
    history = notes.index("rft: 1 run(s) appended to the history h.jsonl")
    assert baseline < history
    assert {p.name for p in project.path.iterdir()} >= {"h.jsonl", "r.json", "step.md"}
    assert (project.path / "baselines").is_dir()


def test_no_output_option_registers_no_writer(project, monkeypatch):  # noqa: F811
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    project.makeconftest(project.path.joinpath("conftest.py").read_text() + PROBE)
    result = run(project, "-s")
    assert result.ret == 0
    assert "REGISTERED \n" in result.stdout.str() + "\n"
