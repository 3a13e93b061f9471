"""Items report while the model answers (``pytest_rft/plugin/streaming.py``): when a verdict can be
known, what waits, and that nothing a user sees differs from reporting after sampling."""

import json

import pytest

from tests.plugin.test_pytest_native import SUITE as NATIVE_SUITE
from tests.plugin.test_pytest_native import write_qa_project

CONFTEST = '''
import json, threading, time
import pytest_rft

DONE = {"calls": 0}
LOCK = threading.Lock()
SEEN = {}

@pytest_rft.model("tail")
def tail(request):
    """q10 answers a second late: the others' verdicts are known long before."""
    if request.item_id == "q10":
        time.sleep(1.0)
    with LOCK:
        DONE["calls"] += 1
    return {"answer": request.item["expected"]}

@pytest_rft.model("first_fails")
def first_fails(request):
    if request.item_id == "q1":
        raise RuntimeError("q1 is broken")
    return tail(request)

def pytest_runtest_logreport(report):
    if report.when == "call":   # how many answers were in when this node reported
        SEEN[report.nodeid.split("::")[-1]] = DONE["calls"]

def pytest_sessionfinish(session):
    print("\\nSEEN " + json.dumps(SEEN, sort_keys=True))
'''

SUITE = NATIVE_SUITE.replace("model: good", "model: tail")

CALLS = 20  # 10 items x 2 repeats


@pytest.fixture
def project(pytester, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    write_qa_project(pytester, CONFTEST, SUITE)
    return pytester


def run(pytester, *args):
    return pytester.runpytest("-p", "no:cacheprovider", "-s", *args)


def seen(result) -> dict[str, int]:
    line = next(line for line in result.stdout.lines if line.startswith("SEEN "))
    return json.loads(line[len("SEEN "):])


def test_items_report_while_the_last_answer_is_still_coming(project):
    result = run(project)
    assert result.ret == 0, result.stdout.str()
    counts = seen(result)
    early = [f"q{i}[tail]" for i in range(1, 10)]
    assert all(counts[name] < CALLS for name in early), counts  # before q10's answers
    assert counts["q10[tail]"] == CALLS
    assert all(counts[name] == CALLS for name in counts if name.startswith("gate:")), counts
    # the progress line's last words are not lost: they close the summary instead
    result.stdout.fnmatch_lines(["rft: sampled 20/20, 0 model error(s)*"])


def test_items_compared_with_a_baseline_wait_for_their_suite(project):
    assert run(project, "--rft-baseline-update").ret == 0
    assert project.path.joinpath("baselines", "qa.json").is_file()
    result = run(project)
    assert result.ret == 0, result.stdout.str()
    counts = seen(result)
    assert len(counts) == 12 and set(counts.values()) == {CALLS}, counts


def test_a_python_test_first_means_everything_reports_after_sampling(project):
    """No user code runs inside the event loop: a test ahead of the suite's nodes (and so all
    after it) runs once sampling is over, in pytest's order."""
    project.makepyfile(a_test="def test_first():\n    pass\n")  # collected before rft_qa.yaml
    project.makepyfile(test_z="def test_last():\n    pass\n")
    result = run(project, "-v")
    assert result.ret == 0, result.stdout.str()
    counts = seen(result)
    assert len(counts) == 14 and set(counts.values()) == {CALLS}, counts
    order = [line.split(" ")[0] for line in result.stdout.lines if " PASSED" in line]
    assert order[0] == "a_test.py::test_first" and order[-1] == "test_z.py::test_last", order


def test_a_python_test_after_the_suite_runs_after_the_streamed_nodes(project):
    project.makepyfile(test_z="def test_last():\n    pass\n")
    result = run(project, "-v")
    assert result.ret == 0, result.stdout.str()
    counts = seen(result)
    assert counts["q1[tail]"] < CALLS and counts["test_last"] == CALLS, counts
    order = [line.split(" ")[0] for line in result.stdout.lines if " PASSED" in line]
    assert len(order) == 13 and order[-1] == "test_z.py::test_last", order


def _numbers(path):
    """A report without what differs between two runs of the same model (timings, dates)."""
    report = json.loads(path.read_text())
    suites = []
    for suite in report["suites"]:
        items = [{**item, "samples": [{k: v for k, v in s.items() if k != "latency_s"}
                                      for s in item["samples"]]} for item in suite["items"]]
        baseline = {k: v for k, v in suite["baseline"].items() if k != "created"}
        suites.append({**suite, "items": items, "baseline": baseline})
    return suites


def test_streamed_and_unstreamed_runs_give_the_same_report(project):
    streamed = run(project, "--rft-report", "streamed.json", "-v")
    project.makepyfile(a_test="def test_first():\n    pass\n")
    after = run(project, "--rft-report", "after.json", "-v")
    assert streamed.ret == after.ret == 0
    assert seen(streamed)["q1[tail]"] < CALLS and seen(after)["q1[tail]"] == CALLS
    assert _numbers(project.path / "streamed.json") == _numbers(project.path / "after.json")
    lines = [line for line in streamed.stdout.lines if "PASSED (" in line]
    assert len(lines) == 12
    assert lines == [line for line in after.stdout.lines if "PASSED (" in line and "::" in line
                     and not line.startswith("a_test")]


def test_an_error_in_a_reporting_hook_stops_the_run_as_pytest_does(project):
    project.path.joinpath("conftest.py").write_text(
        project.path.joinpath("conftest.py").read_text() + '''
def pytest_runtest_makereport(item, call):
    if call.when == "call" and item.name == "q2[tail]":
        raise RuntimeError("boom in a hook")
''')
    result = run(project, "--rft-report", "r.json")
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR, result.stdout.str()
    result.stdout.fnmatch_lines(["INTERNALERROR*RuntimeError: boom in a hook"])
    assert (project.path / "r.json").is_file()  # partial results are kept


def test_exitfirst_stops_reporting_but_the_report_is_whole(project):
    """-x stops at the first failing node, as pytest does; sampling still completes (it did
    before any node ran, before streaming), so the report holds every item's samples."""
    result = run(project, "--rft-model", "first_fails", "-x", "--rft-report", "r.json")
    assert result.ret == 1
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1 and "passed" not in outcomes, outcomes
    assert list(seen(result)) == ["q1[first_fails]"]
    report = json.loads((project.path / "r.json").read_text())
    items = report["suites"][0]["items"]
    assert len(items) == 10 and all(len(item["samples"]) == 2 for item in items)
    assert report["calls"]["done"] == CALLS
