"""The session's outputs are registered plugin objects (as junitxml's ``LogXML``), one per
option given, written in order: baselines and history before the reports."""

from __future__ import annotations

import pytest

from tests.support.projects import QA_CONFTEST, QA_SUITE, write_qa_project

PROBE = '''

import pytest

@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    names = ["rft-baselines", "rft-history", "rft-json-report", "rft-html", "rft-step-summary"]
    print("REGISTERED", ",".join(n for n in names if config.pluginmanager.get_plugin(n)))
'''


@pytest.fixture
def project(pytester):
    write_qa_project(pytester, QA_CONFTEST + PROBE, QA_SUITE)
    return pytester


def run(pytester, *args):
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def test_each_output_given_is_a_registered_writer_and_they_run_in_order(project, monkeypatch):
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(project.path / "step.md"))
    result = run(project, "-s", "--rft-baseline-update", "--rft-history", "h.jsonl",
                 "--rft-report", "r.json")
    assert result.ret == 0, result.stdout.str()
    out = result.stdout.str()
    assert "REGISTERED rft-baselines,rft-history,rft-json-report,rft-step-summary" in out
    notes = [line for line in out.splitlines() if line.startswith("rft: ")]
    baseline = next(i for i, line in enumerate(notes) if line.startswith("rft: baseline of qa "))
    history = notes.index("rft: 1 run(s) appended to the history h.jsonl")
    assert baseline < history
    assert {p.name for p in project.path.iterdir()} >= {"h.jsonl", "r.json", "step.md"}
    assert (project.path / "baselines").is_dir()


def test_no_output_option_registers_no_writer(project, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    result = run(project, "-s")
    assert result.ret == 0
    assert "REGISTERED \n" in result.stdout.str() + "\n"
