"""pytest-rft beside the plugins CI users combine with it, and on every pytest it supports.

Each plugin either works with suite nodes (same verdicts, same ids, no INTERNALERROR) or says once
why it does not apply. The runs are subprocesses so that each loads exactly the plugins it names.
A plugin that is not installed skips its test with the command that installs it; ``.ci/run``
installs them all (``pip install -e ".[test,compat]"``) on every pytest version it checks.
"""

import importlib.util
import itertools
import re

import pytest

from tests.support.projects import QA_CONFTEST as CONFTEST
from tests.support.projects import QA_SUITE as SUITE
from tests.support.projects import write_qa_project

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
    lines = result.stdout.lines
    notes = [" ".join([line, *(more.strip() for more in itertools.takewhile(
                 lambda more: more.startswith("  "), lines[i + 1:]))])  # wrapped at 120 columns
             for i, line in enumerate(lines) if line.startswith(f"rft: {said} ")]
    assert len(notes) == 1 and "--rft-repeats" in notes[0], notes
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
    # hypothesis's plugin imports hypothesis at the terminal summary, where pytest 7.4 rewrites
    # it; on CPython 3.11.7 that ast.parse intermittently raised "SystemError: AST constructor
    # recursion depth mismatch" (a CPython bug, cf. gh-106905) in this rerun case: not ours
    result = run(project, "--reruns", "1", "-p", "no:hypothesispytest")
    outcomes = result.parseoutcomes()
    assert (outcomes.get("passed"), outcomes.get("rerun")) == (13, 1)


# -- reporters that read outcomes and locations -------------------------------------------------
def allure_results(folder) -> dict[str, dict]:
    """allure-pytest's result files, by test name (``q00[qa-m]``)."""
    import json

    results = {}
    for path in folder.glob("*-result.json"):
        data = json.loads(path.read_text())
        results[data["name"]] = data
    return results


def test_allure_files_regressions_as_failed_and_errors_as_broken(pytester, monkeypatch):
    """Verdicts (a regression, a missed gate) are test failures; an item whose samples have
    errors could not be judged: broken. Each model's item is its own test in allure's history."""
    need("allure_pytest", "allure-pytest")
    from tests.support.projects import BASELINE_CONFTEST, BASELINE_SUITE, write_data

    for name in ("RFT_BROKEN", "RFT_FLAKY", "RFT_BROKEN2"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeconftest(BASELINE_CONFTEST + '''
@pytest_rft.model("qa-raising")
def raising(request):
    if request.item_id == "q19":
        raise RuntimeError("backend exploded")
    return m(request)
''')
    pytester.path.joinpath("rft_qa.yaml").write_text(BASELINE_SUITE)
    write_data(pytester.path / "data.jsonl", [f"q{i:02d}" for i in range(20)])
    assert run(pytester, "--rft-baseline-update").ret == 0
    monkeypatch.setenv("RFT_BROKEN", "q00,q01,q02,q03,q04,q05")  # a significant drop
    # 19 paired items can't rule a 0.3 drop in or out against a 0.1 margin: INCONCLUSIVE, which
    # this team counts as a failure (a missed gate is a failed test in allure too)
    result = run(pytester, "--rft-model", "qa-raising", "--alluredir", "allure",
                 "--rft-inconclusive", "fail")
    assert result.ret == 1
    statuses = {name: data["status"] for name, data in allure_results(pytester.path / "allure").items()}
    assert len(statuses) == 23
    regressed = {f"q0{i}[qa-raising]" for i in range(6)}
    assert {name for name, status in statuses.items() if status == "failed"} == regressed | {
        "gate:exact.mean>=baseline-0.1[qa-raising]", "gate:pass_rate>=baseline-0.1[qa-raising]",
        "gate:error_rate<=0[qa-raising]"}
    assert {name for name, status in statuses.items() if status == "broken"} == {"q19[qa-raising]"}
    assert failed_ids(result) >= {f"rft_qa.yaml::qa::{name}" for name in regressed}

    monkeypatch.delenv("RFT_BROKEN")
    two = run(pytester, "--rft-model", "qa-m", "--rft-model", "qa-m2", "--alluredir", "two",
              "--clean-alluredir")
    results = allure_results(pytester.path / "two")
    assert len(results) == 2 * 23
    assert len({data["historyId"] for data in results.values()}) == 2 * 23
    assert results["q00[qa-m2]"]["parameters"] == [{"name": "model", "value": "'qa-m2'"}]
    assert results["q00[qa-m]"]["fullName"] == "rft_qa.qa#q00"
    assert two.ret == 0


def test_github_annotations_point_at_the_record_and_the_gate(project, monkeypatch):
    """pytest-github-actions-annotate-failures puts each failure at its node's location: an
    item's record line in the dataset, a gate's line in the suite file (ids are unchanged)."""
    need("pytest_github_actions_annotate_failures", "pytest-github-actions-annotate-failures")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    monkeypatch.delenv("PYTEST_RUN_PATH", raising=False)
    project.makeconftest(CONFTEST + '''
@pytest_rft.model("raising")
def raising(request):
    if request.item_id == "q4":
        raise RuntimeError("backend exploded")
    return half(request)
''')
    result = run(project, "--rft-model", "raising")
    assert failed_ids(result) == {"rft_qa.yaml::qa::q4[raising]",
                                  "rft_qa.yaml::qa::gate:exact.mean>=0.9[raising]",
                                  "rft_qa.yaml::qa::gate:error_rate<=0[raising]"}
    annotations = [line for line in result.stderr.lines if line.startswith("::error ")]
    located = {line.split("::")[1] for line in annotations}
    lines = SUITE.splitlines()  # as written: a blank first line
    gate_line = 1 + next(i for i, line in enumerate(lines) if "exact.mean, min: 0.9" in line)
    first_key = 1 + next(i for i, line in enumerate(lines) if line.startswith("suite:"))
    assert located == {"error file=data.jsonl,line=4",  # q4 is the 4th record
                       f"error file=rft_qa.yaml,line={gate_line}",
                       f"error file=rft_qa.yaml,line={first_key}"}  # no max_error_rate key
    assert any("backend exploded" in line for line in annotations)
