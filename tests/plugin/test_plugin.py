"""End-to-end runs of the plugin with pytester: collection, outcomes, gates, errors, reports."""

import json
import re
import textwrap

import pytest

from tests.support.subprocesses import INTERRUPTIBLE

CONFTEST = '''
import asyncio
import pytest_rft

@pytest_rft.model("echo-model")
def echo(request):
    """Right answer, except on odd repeats of items marked flaky."""
    item = request.item
    wrong = item.get("flaky") and request.repeat % 2 == 1
    return {"answer": "nope" if wrong else item["expected"]}

@pytest_rft.model("async-model")
async def async_echo(request):
    await asyncio.sleep(0)
    return '{"answer": "%s"}' % request.item["expected"]

@pytest_rft.model("bad-model")
def bad(request):
    return {"answer": "nope"}

@pytest_rft.model("stuck-model")
async def stuck(request):
    if request.item_id == "q3":
        await asyncio.sleep(30)
    return {"answer": request.item["expected"]}

@pytest_rft.model("broken-model")
def broken(request):
    if request.item_id == "q2":
        raise RuntimeError("backend exploded")
    return {"answer": request.item["expected"]}
'''

SUITE = '''
suite: qa
dataset: data.jsonl
model: echo-model
input:
  - {role: system, content: "Answer in JSON."}
  - {role: user, content: "Q: {{ item.question }}"}
repeats: 2
graders:
  exact:
    type: string_check
    name: exact
    input: "{{ sample.output_json.answer }}"
    reference: "{{ item.expected }}"
    operation: eq
pass_threshold: 0.75
gates:
  - {metric: exact.mean, min: 0.5}
  - {metric: pass_rate, min: 0.5}
'''

DATA = [
    {"id": "q1", "question": "2+2", "expected": "4"},
    {"id": "q2", "question": "capital of France", "expected": "Paris"},
    {"id": "q3", "question": "3*3", "expected": "9", "flaky": True},
    {"id": "q4", "question": "color of sky", "expected": "blue"},
]


@pytest.fixture
def project(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".yaml", rft_qa=SUITE)
    pytester.makefile(".jsonl", data="\n".join(json.dumps(d) for d in DATA))
    return pytester


def run(pytester, *args):
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def test_collects_items_and_gates(project):
    result = run(project, "--collect-only", "-q")
    result.stdout.fnmatch_lines([
        "rft_qa.yaml::qa::q1[[]echo-model[]]",
        "rft_qa.yaml::qa::q4[[]echo-model[]]",
        "rft_qa.yaml::qa::gate:exact.mean>=0.5[[]echo-model[]]",
        "rft_qa.yaml::qa::gate:pass_rate>=0.5[[]echo-model[]]",
        "rft_qa.yaml::qa::gate:error_rate<=0[[]echo-model[]]",
    ])
    assert "7 tests collected" in result.stdout.str()


def test_passing_run_shows_scores_and_summary(project):
    result = run(project, "-v")
    assert result.ret == 0
    result.assert_outcomes(passed=7)
    out = result.stdout.str()
    assert "q3[echo-model] PASSED (exact=0.500±0.707 n=2 flaky)" in out  # sample std (ddof=1)
    assert "q1[echo-model] PASSED (exact=1.000±0.000 n=2)" in out
    result.stdout.fnmatch_lines(["*pytest-rft summary*", "*exact.mean*0.8750*PASS*",
                                 "*pass_rate*0.7500*PASS*", "*0 stable-pass, 0 stable-fail, 1 flaky, 3 unknown, 0 no-score*"])
    assert "rft: sampled 8/8, 0 model error(s), 0 with grader errors, 0 retries" in out


def test_gate_failure_fails_the_build(project):
    result = run(project, "--rft-model", "bad-model", "-v")
    assert result.ret == 1
    result.assert_outcomes(passed=5, failed=2)  # items pass (low scores are scores), 2 gates fail
    result.stdout.fnmatch_lines([
        "*gate failed: exact.mean = 0.0000*required >= 0.5; off by -0.5000*",
        "*gate failed: pass_rate = 0.0000*required >= 0.5*",
    ])


def test_model_error_is_an_error_not_a_zero(project, tmp_path):
    report = tmp_path / "r.json"
    result = run(project, "--rft-model", "broken-model", f"--rft-report={report}", "-v")
    assert result.ret == 1
    result.assert_outcomes(passed=5, failed=2)  # item q2 and the error gate
    result.stdout.fnmatch_lines([
        "2 error(s) (errors are not scores): repeats 0-1: model call failed: "
        "RuntimeError: backend exploded",
        "*gate failed: error_rate = 0.2500*required <= 0*",
        "errors, identical ones once (errors are not scores):",
        "  2 samples on 1 item (q2): model call failed: RuntimeError: backend exploded",
    ])
    # said once per item and once in the summary, not once per repeat (pytest's own short
    # summary repeats the message in full when CI is set, so count above it)
    before_short_summary = result.stdout.str().split("short test summary info")[0]
    assert before_short_summary.count("backend exploded") == 2
    data = json.loads(report.read_text())
    (suite,) = data["suites"]
    q2 = next(i for i in suite["items"] if i["id"] == "q2")
    assert [s["error"] for s in q2["samples"]] == ["RuntimeError: backend exploded"] * 2
    assert all(s["scores"] == {} for s in q2["samples"])  # no score, not 0
    # the mean is over the items that have scores: errors are not zeros
    assert suite["metrics"]["exact.mean"]["value"] == pytest.approx(1.0)
    assert data["calls"]["errors"] == {"model raised": 2}


def test_several_models_parametrize_and_compare(project):
    result = run(project, "--rft-model", "echo-model", "--rft-model", "async-model",
                 "-v")  # -v: the side-by-side tables
    assert result.ret == 0
    result.assert_outcomes(passed=14)
    result.stdout.fnmatch_lines(["*qa: models side by side*", "*metric*echo-model*async-model*",
                                 "*exact.mean*0.8750*1.0000*"])


def test_limit_repeats_and_keyword_selection(project, tmp_path):
    report = tmp_path / "r.json"
    result = run(project, "--rft-limit", "2", "--rft-repeats", "3", "-k", "q2 or gate",
                 f"--rft-report={report}")
    result.assert_outcomes(passed=4)  # q2 + 3 gates
    (suite,) = json.loads(report.read_text())["suites"]
    # the gates judge the (limited) suite, so q1 is sampled for them though not selected
    assert [i["id"] for i in suite["items"]] == ["q1", "q2"]
    assert [s["repeat"] for s in suite["items"][1]["samples"]] == [0, 1, 2]
    assert suite["complete"] is False  # --rft-limit: 2 of 4 items
    result.stdout.fnmatch_lines(["*gates PASS on 2 of 4 items (--rft-limit); 1 item(s) sampled "
                                 "for the gates but not selected as tests*"])


def test_ini_options(project):
    project.makeini("[pytest]\nrft_model = async-model\nrft_repeats = 1\n")
    result = run(project, "-v")
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(["*qa::q1[[]async-model[]] PASSED (exact=1.000 n=1)*"])


def test_critical_item_below_threshold_fails(project):
    data = [dict(d) for d in DATA]
    data[2]["critical"] = True
    project.makefile(".jsonl", data="\n".join(json.dumps(d) for d in data))
    result = run(project)
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines(["*critical item below threshold: exact=0.500*< pass_threshold 0.75*"])


def test_grader_crash_is_recorded_not_scored(project, tmp_path):
    suite = SUITE.replace("graders:\n", textwrap.dedent('''\
        graders:
          crashy:
            type: python
            name: crashy
            source: |
              def grade(sample, item):
                  if item["id"] == "q4":
                      raise ValueError("cannot grade q4")
                  return 1.0
        '''))
    project.makefile(".yaml", rft_qa=suite)
    report = tmp_path / "r.json"
    result = run(project, f"--rft-report={report}")
    result.assert_outcomes(passed=5, failed=2)  # q4 and the error gate
    result.stdout.fnmatch_lines(["*repeats 0-1: grader 'crashy' raised ValueError: cannot grade q4*"])
    (s,) = json.loads(report.read_text())["suites"]
    q4 = next(i for i in s["items"] if i["id"] == "q4")
    assert all("crashy" not in x["scores"] and "crashy" in x["grader_errors"] for x in q4["samples"])
    assert s["metrics"]["crashy.mean"]["value"] == 1.0 and s["metrics"]["crashy.mean"]["n"] == 3


INTERRUPT_CONFTEST = '''
import asyncio, pathlib
import pytest_rft

@pytest_rft.model("slow-model")
async def slow(request):
    if request.item_id in ("q1", "q2"):
        return {"answer": request.item["expected"]}
    pathlib.Path("started").touch()
    await asyncio.sleep(60)
    return {"answer": request.item["expected"]}
'''


@pytest.mark.slow  # soak / fault: signals, deadlines, fault storms
def test_ctrl_c_stops_sampling_and_keeps_partial_report(project):
    import signal
    import subprocess
    import sys
    import time

    project.makeconftest(INTERRUPT_CONFTEST)
    report = project.path / "partial.json"
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                             "--rft-model", "slow-model", f"--rft-report={report}"],
                            cwd=project.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            **INTERRUPTIBLE)
    deadline = time.monotonic() + 30
    while not (project.path / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2, out.decode()  # pytest's "interrupted"
    data = json.loads(report.read_text())
    (suite,) = data["suites"]
    assert suite["complete"] is False
    done = {i["id"]: len(i["samples"]) for i in suite["items"]}
    assert done == {"q1": 2, "q2": 2, "q3": 0, "q4": 0}


def test_registered_grader_module_attr_model_and_junit_properties(project, tmp_path):
    project.makepyfile(my_models='''
def answer(request):
    return {"answer": request.item["expected"]}
''')
    project.makeconftest(CONFTEST + '''
@pytest_rft.grader("length_ok")
def length_ok(sample, item):
    return float(len(sample["output_text"]) < 100)
''')
    suite = SUITE.replace("graders:\n", "graders:\n  short: length_ok\n")
    project.makefile(".yaml", rft_qa=suite)
    junit = tmp_path / "junit.xml"
    result = run(project, "--rft-model", "my_models:answer", f"--junitxml={junit}")
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(["*short.mean*1.0000*", "*exact.mean*1.0000*"])
    xml = junit.read_text()
    assert 'classname="rft_qa.yaml.qa" name="q1[my_models:answer]"' in xml  # clean on pytest 8 and 9
    assert '<property name="exact.mean" value="1.0"' in xml
    assert '<property name="short.mean" value="1.0"' in xml
    assert '<property name="samples" value="2"' in xml


def test_python_model_timeout_is_an_error_not_retried(project):
    """A Python model past --rft-timeout is an error, and not retried: its thread can't be
    stopped, and each retry would leave one more spinning."""
    result = run(project, "--rft-model", "stuck-model", "--rft-timeout", "0.2",
                 "--rft-max-retries", "1", "--rft-retry-backoff", "0", "-v")
    result.assert_outcomes(passed=5, failed=2)  # q3 and the error gate
    result.stdout.fnmatch_lines(["*model call failed: *0.2s*--rft-timeout*not retried*",
                                 "*2 model error(s), 0 with grader errors, 0 retries*"])


def test_github_step_summary(project, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run(project, "--rft-model", "echo-model", "--rft-model", "bad-model")
    text = summary.read_text()
    assert text.startswith("earlier step\n## pytest-rft")  # appended, not overwritten
    assert "### qa[echo-model]: ✅ pass" in text and "### qa[bad-model]: ❌ FAIL" in text
    assert re.search(r"\| exact.mean +\| 0.8750 +\|", text)
    assert "- ❌ `exact.mean>=0.5`: exact.mean = 0.0000" in text


def test_suite_pattern_is_configurable(project):
    (project.path / "rft_qa.yaml").rename(project.path / "checks.yaml")
    assert run(project, "--collect-only", "-q").ret == 5  # no suite matches: no tests
    result = run(project, "--rft-suite-pattern", "checks*.yaml", "--collect-only", "-q")
    assert "7 tests collected" in result.stdout.str()
    project.makeini("[pytest]\nrft_suite_pattern =\n    other.yaml\n    checks.yaml\n")
    assert "7 tests collected" in run(project, "--collect-only", "-q").stdout.str()
