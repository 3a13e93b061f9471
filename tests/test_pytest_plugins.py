"""pytest-rft beside the plugins CI users combine with it, and on every pytest it supports.

Each plugin either works with suite nodes (same verdicts, same ids, no INTERNALERROR) or says once
why it does not apply. The runs are subprocesses so that each loads exactly the plugins it names.
A plugin that is not installed skips its test with the command that installs it; ``.ci/run``
installs them all (``pip install -e ".[test,compat]"``) on every pytest version it checks.
"""

import importlib.util
import re

import pytest

from tests.test_pytest_native import CONFTEST, SUITE, write_qa_project

INSTALL = 'pip install -e ".[test,compat]"'


def need(module: str, dist: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{dist} is not installed here; {INSTALL} installs it (.ci/run does)")


@pytest.fixture
def project(pytester, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-plugins-0123456789")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    write_qa_project(pytester, CONFTEST, SUITE)
    return pytester


def run(pytester, *args):
    """A subprocess pytest with autoloading on (as a user's CI has it)."""
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rf", *args)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    return result


def failed_ids(result) -> set[str]:
    return {m.group(1) for line in result.stdout.lines
            if (m := re.match(r"FAILED (?:\(.*?\) )?(\S+)", line))}


HALF_FAILS = {"rft_qa.yaml::qa::gate:exact.mean>=0.9[half]"}
"""What the 'half' model (wrong on q1 and q2) fails: its gate; items are reported, not failed."""


def test_the_baseline_run_has_no_foreign_notes(project):
    result = run(project)
    result.assert_outcomes(passed=12)
    assert "does not rerun" not in result.stdout.str()
    assert failed_ids(run(project, "--rft-model", "half")) == HALF_FAILS


@pytest.mark.parametrize("plugin, module, args", [
    ("pytest-xdist", "xdist", ["-n", "2"]),
    ("pytest-randomly", "pytest_randomly", ["-p", "randomly"]),
    ("pytest-timeout", "pytest_timeout", ["--timeout", "60"]),
    ("pytest-cov", "pytest_cov", ["--cov", "pytest_rft", "--cov-report", "term"]),
])
def test_plugins_that_work_with_suite_nodes(project, plugin, module, args):
    need(module, plugin)
    good = run(project, *args)
    good.assert_outcomes(passed=12)
    bad = run(project, *args, "--rft-model", "half")
    assert bad.ret == 1
    assert failed_ids(bad) == HALF_FAILS


def test_randomly_shuffles_suite_nodes_and_the_verdicts_hold(project):
    need("pytest_randomly", "pytest-randomly")
    orders = set()
    for seed in ("1", "2", "3"):
        result = run(project, "-p", "randomly", "--randomly-seed", seed, "-v",
                     "--rft-model", "half")
        assert failed_ids(result) == HALF_FAILS
        orders.add(tuple(line.split()[0] for line in result.stdout.lines
                         if line.startswith("rft_qa.yaml::")))
    assert len(orders) > 1  # it did shuffle


@pytest.mark.parametrize("plugin, module, args, said", [
    ("pytest-rerunfailures", "pytest_rerunfailures", ["--reruns", "2"], "--reruns"),
    ("pytest-repeat", "pytest_repeat", ["--count", "3"], "--count"),
])
def test_per_test_repeats_say_once_why_they_skip_suite_nodes(project, plugin, module, args, said):
    need(module, plugin)
    result = run(project, *args, "--rft-model", "half")
    assert failed_ids(result) == HALF_FAILS
    notes = [line for line in result.stdout.lines if line.startswith(f"rft: {said} ")]
    assert len(notes) == 1 and "--rft-repeats" in notes[0]
    assert "RERUN" not in result.stdout.str()


def test_per_test_repeats_still_apply_to_python_tests(project):
    need("pytest_rerunfailures", "pytest-rerunfailures")
    project.makepyfile(test_flaky="""
        import pathlib
        def test_second_time_lucky():
            mark = pathlib.Path("tried")
            if not mark.exists():
                mark.write_text("1")
                raise AssertionError("first try")
    """)
    result = run(project, "--reruns", "1")
    outcomes = result.parseoutcomes()
    assert (outcomes.get("passed"), outcomes.get("rerun")) == (13, 1)
