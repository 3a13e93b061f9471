"""pytest behaviour end to end: ids that paste back, honest partial runs, --lf, deadlines,
signals, secrets, hostile inputs as clean errors, failing items that show their outputs."""

import json
import os
import signal
import stat
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from tests.support.openai_server import FaultPlan
from tests.support.projects import KEY, write_qa_project
from tests.support.projects import QA_CONFTEST as CONFTEST
from tests.support.projects import QA_SUITE as SUITE
from tests.support.subprocesses import INTERRUPTIBLE


@pytest.fixture
def project(pytester, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    write_qa_project(pytester, CONFTEST, SUITE)
    return pytester


def run(pytester, *args):
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def collected_ids(pytester, *args):
    result = run(pytester, "--co", "-q", *args)
    return [line for line in result.stdout.lines if "::" in line]


# -- ids ---------------------------------------------------------------------------------------
def test_every_printed_id_pastes_back(project):
    ids = collected_ids(project, "--rft-model", "good", "--rft-model",
                        "ft:gpt-4o-mini:acme::Ab/C1")
    assert "rft_qa.yaml::qa::q1[good]" in ids
    assert "rft_qa.yaml::qa::q1[ft:gpt-4o-mini:acme::Ab/C1]" in ids
    assert "rft_qa.yaml::qa::gate:exact.mean>=0.9[ft:gpt-4o-mini:acme::Ab/C1]" in ids
    for node_id in (ids[0], ids[-1], "rft_qa.yaml::qa::q1[ft:gpt-4o-mini:acme::Ab/C1]"):
        model = node_id.rsplit("[", 1)[1][:-1]
        assert collected_ids(project, node_id, "--rft-model", model) == [node_id]


def test_a_pasted_id_of_a_model_this_run_does_not_test_says_how_to_run_it(project):
    """An id copied from a run with another --rft-model: pytest alone says only "not found"."""
    node_id = "rft_qa.yaml::qa::q1[ft:gpt-4o-mini:acme::Ab/C1]"
    result = run(project, node_id, "rft_qa.yaml::qa::q2[good]")
    said = " ".join(line.strip() for line in result.stdout.lines)  # the note may be wrapped
    assert (f"rft: {node_id} names model 'ft:gpt-4o-mini:acme::Ab/C1', which this run doesn't "
            f"test (it tests: good); to run it: pytest '{node_id}' --rft-model "
            "ft:gpt-4o-mini:acme::Ab/C1") in said
    assert "names model 'good'" not in result.stdout.str()  # q2[good] is tested


def test_verbose_lines_and_junit_names_are_clean(project):
    result = run(project, "-v", "--junitxml=j.xml")
    result.stdout.fnmatch_lines(["rft_qa.yaml::qa::q1[[]good[]] PASSED (exact=1.000±0.000 n=2)*"])
    assert "rft_qa::yaml" not in result.stdout.str()
    cases = [(c.get("classname"), c.get("name")) for c in ET.parse(project.path / "j.xml").iter("testcase")]
    assert ("rft_qa.yaml.qa", "q1[good]") in cases
    assert ("rft_qa.yaml.qa", "gate:exact.mean>=0.9[good]") in cases
    assert all(name.count("]") == 1 for _, name in cases)


# -- partial runs --------------------------------------------------------------------------------
def test_selecting_only_gates_samples_the_whole_suite(project, tmp_path):
    report = tmp_path / "r.json"
    result = run(project, "-k", "gate", f"--rft-report={report}")
    result.assert_outcomes(passed=2)
    (suite,) = json.loads(report.read_text())["suites"]
    assert len(suite["items"]) == 10 and suite["complete"] is True
    result.stdout.fnmatch_lines(["*gates PASS; 10 item(s) sampled for the gates but not "
                                 "selected as tests*"])


def test_deselecting_failing_items_does_not_turn_a_gate_green(project):
    result = run(project, "--rft-model", "half", "--deselect", "rft_qa.yaml::qa::q1[half]",
                 "--deselect", "rft_qa.yaml::qa::q2[half]")
    result.assert_outcomes(passed=9, failed=1, deselected=2)  # 8 items + error gate; score gate
    result.stdout.fnmatch_lines(["*gate failed: exact.mean = 0.8000*required >= 0.9*"])


def test_items_only_selection_says_gates_were_not_judged(project, tmp_path):
    report = tmp_path / "r.json"
    result = run(project, "rft_qa.yaml::qa::q3[good]", f"--rft-report={report}")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*gates not judged: none selected (numbers over the 1 selected "
                                 "of 10 items)*"])
    out = result.stdout.str()
    summary = out[out.index("pytest-rft summary"):]
    assert "PASS" not in summary and "FAIL" not in summary, summary
    assert json.loads(report.read_text())["suites"][0]["complete"] is False


@pytest.mark.parametrize("select", [["-k", "q1 and not q10 or q2"],
                                    ["rft_qa.yaml::qa::q1[half]", "rft_qa.yaml::qa::q2[half]",
                                     "rft_qa.yaml::qa::q1[good]", "rft_qa.yaml::qa::q2[good]"]])
def test_a_subset_prints_no_verdict_it_did_not_judge(project, tmp_path, monkeypatch, select):
    """'half' misses q1 and q2: over them alone its gate would read FAIL (over the suite, too,
    but no gate was selected): no PASS or FAIL of a gate anywhere, in any report."""
    report, history, step = tmp_path / "r.json", tmp_path / "h.jsonl", tmp_path / "step.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    result = run(project, *select, "--rft-model", "half", "--rft-model", "good",
                 f"--rft-report={report}", f"--rft-history={history}", "--rft-html",
                 str(tmp_path / "r.html"), "-v")  # -v: the tables
    result.assert_outcomes(passed=4)
    out = result.stdout.str()
    summary = out[out.index("pytest-rft summary"):]
    assert "PASS" not in summary and "FAIL" not in summary, summary
    result.stdout.fnmatch_lines([
        "--- qa[half]: 2 items x 2 repeats, gates not judged: none selected (numbers over the 2 "
        "selected of 10 items)",
        "metric      value    95% CI            n",
        "*--- qa: models side by side*", "gates       not judged  not judged"])
    for suite in json.loads(report.read_text())["suites"]:
        assert (suite["passed"], suite["gates_judged"], suite["gates"]) == (None, False, [])
    for line in history.read_text().splitlines():
        assert (json.loads(line)["passed"], json.loads(line)["gates"]) == (None, [])
    markdown = step.read_text()
    assert "gates not judged (none selected; numbers over 2 of 10 items)" in markdown
    assert "✅" not in markdown and "❌" not in markdown
    page = (tmp_path / "r.html").read_text()
    assert "<title>pytest-rft report: not judged</title>" in page
    # gate verdicts are upper case (items' own pass/fail against the threshold stay)
    assert ">FAIL<" not in page and ">PASS<" not in page
    assert page.count('class="badge warn">gates not judged<') == 1 + 2 + 2  # page, cards, runs


def test_last_failed_reruns_failed_items_and_their_gates(project):
    first = project.runpytest("--rft-model", "half")
    first.assert_outcomes(passed=11, failed=1)  # items pass (low scores), the gate fails
    again = project.runpytest("--rft-model", "half", "--lf")
    # the failed gate reruns on its whole suite and fails again
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines(["*gate failed: exact.mean = 0.8000*"])


# -- deadlines and signals ---------------------------------------------------------------------
@pytest.mark.slow  # soak / fault: signals, deadlines, fault storms
def test_a_dripping_server_ends_at_the_deadline(pytester, openai_server, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", openai_server.api_key)
    openai_server.plan = FaultPlan(faults_for=lambda body, attempt: "drip")
    openai_server.hang_s, openai_server.drip_s = 20, 0.3
    pytester.path.joinpath("rft_qa.yaml").write_text(SUITE.replace("model: good", "model: m"))
    pytester.path.joinpath("data.jsonl").write_text(
        '{"id": "q1", "question": "1?", "expected": "1"}\n')
    report = tmp_path / "r.json"
    # the drip is a whole, good answer after 20 s, each piece quick: a timeout per read never
    # fires, so "timeout" below is the whole-call deadline at work (and the run ends, with a report)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--rft-base-url={openai_server.base_url}", "--rft-timeout", "1",
        "--rft-max-retries", "0", f"--rft-report={report}", timeout=60)
    samples = json.loads(report.read_text())["suites"][0]["items"][0]["samples"]
    assert [s["error_cause"] for s in samples] == ["timeout", "timeout"]
    result.stdout.fnmatch_lines(["*model call failed: *within 1*"])


@pytest.mark.slow  # soak / fault: signals, deadlines, fault storms
def test_a_hung_sync_model_does_not_keep_pytest_alive(project):
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--rft-model", "forever",
                                          "--rft-timeout", "0.5", "--rft-max-retries", "0",
                                          timeout=60)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*model call failed*0.5s*"])


@pytest.mark.slow  # soak / fault: signals, deadlines, fault storms
def test_sigterm_writes_the_partial_report_and_fails(project, tmp_path):
    report = tmp_path / "r.json"
    suite = project.path / "rft_qa.yaml"
    suite.write_text(suite.read_text().replace("repeats: 2", "repeats: 40"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rft-model", "slow",
         "--rft-concurrency", "2", f"--rft-report={report}"],
        cwd=project.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        **INTERRUPTIBLE)
    deadline = time.monotonic() + 60
    while not (project.path / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)  # a few samples done, most still to go
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0, out
    data = json.loads(report.read_text())
    samples = [s for i in data["suites"][0]["items"] for s in i["samples"]]
    assert 0 < len(samples) < 400  # what was sampled before the signal, kept
    assert stat.S_IMODE(os.stat(report).st_mode) & 0o044  # a normal file, not 0600


# -- secrets -----------------------------------------------------------------------------------
def test_a_key_in_any_exception_text_never_shows(project, tmp_path):
    suite = project.path / "rft_qa.yaml"
    suite.write_text(suite.read_text() + "  - {metric: error_rate, max: 1}\n")
    report = tmp_path / "r.json"
    result = run(project, "--rft-model", "leaky", "-v", "-rA", f"--rft-report={report}",
                 "--junitxml=j.xml")
    text = result.stdout.str() + report.read_text() + (project.path / "j.xml").read_text()
    assert "invalid key sk-***" in text
    assert KEY not in text
    suite.write_text(suite.read_text().replace("exact: {", "leak: leaky_grader\n  exact: {"))
    result = run(project, f"--rft-report={report}")
    text = result.stdout.str() + report.read_text()
    assert "token sk-***" in text and KEY not in text


def test_files_outside_the_project_are_refused(project):
    suite = project.path / "rft_qa.yaml"
    suite.write_text(suite.read_text().replace('"Q: {{ item.question }}"',
                                               "{file: /proc/self/environ}"))
    result = run(project)
    result.stdout.fnmatch_lines(["*rft_qa.yaml:* input[[]0[]].content: prompt file "
                                 "'/proc/self/environ' is outside the suite's folder and the "
                                 "project", "*fix: keep the files a suite uses inside the project*"])
    assert KEY not in result.stdout.str()


# -- hostile input -----------------------------------------------------------------------------
def _with(project, *, suite=None, data=None, data_name="data.jsonl", extra=None):
    if suite is not None:
        project.path.joinpath("rft_qa.yaml").write_bytes(suite if isinstance(suite, bytes)
                                                         else suite.encode())
    if data is not None:
        target = project.path / data_name
        target.write_bytes(data if isinstance(data, bytes) else data.encode())
        if data_name != "data.jsonl":
            text = project.path.joinpath("rft_qa.yaml").read_text()
            project.path.joinpath("rft_qa.yaml").write_text(
                text.replace("dataset: data.jsonl", f"dataset: {data_name}"))
    for name, content in (extra or {}).items():
        project.path.joinpath(name).write_text(content)
    return run(project)


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}]\n" for i in range(8))


@pytest.mark.parametrize("case,kwargs,message", [
    ("non-utf8 suite", {"suite": b"suite: q\xff\n"}, "rft_qa.yaml:1: not UTF-8 text"),
    ("non-utf8 dataset", {"data": b'{"id": "q1", "question": "\xff"}\n'},
     "data.jsonl:1: not UTF-8 text"),
    ("deep json", {"data": "[" * 10000 + "]" * 10000 + "\n"}, "nested too deeply"),
    ("deep yaml", {"suite": "a: " + "[" * 10000 + "]" * 10000 + "\n"}, "rft_qa.yaml"),
    ("alias bomb", {"suite": BOMB}, "aliases expand to more than"),
    ("operation list", {"suite": SUITE.replace("operation: eq", "operation: [eq]")},
     "unknown string_check operation"),
    ("huge repeats", {"suite": SUITE.replace("repeats: 2", "repeats: 1000000000")},
     "repeats: Input should be less than or equal to 10000"),
    ("critical string", {"data": '{"id": "q1", "question": "1?", "expected": "1", '
                                 '"critical": "false"}\n'},
     "data.jsonl:1: 'critical' must be true or false"),
    ("nan gate", {"suite": SUITE.replace("min: 0.9", "min: .nan")}, "gates[0].min"),
    ("unclosed brace", {"suite": SUITE.replace("{{ item.question }}", "{{ item.question }")},
     "unclosed placeholder"),
    ("bare grader path", {"suite": SUITE.replace(
        "exact: {type: string_check,", "other: graders/f1.json\n  exact: {type: string_check,")},
     "graders.other"),
])
def test_hostile_input_is_one_clean_error(project, case, kwargs, message):
    result = _with(project, **kwargs)
    out = result.stdout.str()
    assert message in out, (case, out[-3000:])
    assert "Traceback" not in out and "INTERNALERROR" not in out, case
    assert result.ret != 0


def test_line_separators_inside_jsonl_strings_are_text(project):
    rows = [{"id": f"q{i}", "question": f"a\u2028b\u2029c\u0085{i}", "expected": str(i)}
            for i in range(1, 4)]
    result = _with(project, data="".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    result.assert_outcomes(passed=3 + 2)


def test_json_dataset_items_after_metadata(project):
    data = json.dumps({"meta": {"items": 2, "note": "x"}, "items": [
        {"id": f"q{i}", "question": f"{i}?", "expected": str(i)} for i in range(1, 6)]}, indent=1)
    result = _with(project, data=data, data_name="data.json")
    result.assert_outcomes(passed=5 + 2)


def test_two_suites_with_one_name_is_an_error_naming_both(project):
    project.path.joinpath("sub").mkdir()
    project.path.joinpath("sub", "rft_other.yaml").write_text(
        SUITE.replace("dataset: data.jsonl", "dataset: ../data.jsonl"))
    result = run(project)
    result.stdout.fnmatch_lines(["*rft_other.yaml suite: suite name 'qa' is already used by "
                                 "rft_qa.yaml*"])
    result.assert_outcomes(passed=10 + 2, errors=1)  # the first suite still runs


def test_a_record_missing_a_prompt_field_is_that_items_error(project):
    rows = [{"id": "q1", "question": "1?", "expected": "1"}, {"id": "q2", "expected": "2"},
            {"id": "q3", "question": "3?", "expected": "3"}]
    suite = SUITE.replace("{{ item.question }}", "{{ item.question }} {{ item.extra[5] }}")
    rows[0]["extra"] = list(range(10))
    rows[2]["extra"] = list(range(10))
    result = _with(project, suite=suite,
                   data="".join(json.dumps(r) + "\n" for r in rows))
    result.assert_outcomes(passed=2 + 1, failed=1 + 1)  # q2 and the error gate fail
    result.stdout.fnmatch_lines(["*qa · q2[[]good[]]*",
                                 "*the prompt template can't be filled from this record*"])


def test_an_absurd_score_is_a_grader_error_not_an_overflow(project):
    suite = project.path / "rft_qa.yaml"
    suite.write_text(suite.read_text().replace("exact: {", "big: huge\n  exact: {"))
    result = run(project)
    result.stdout.fnmatch_lines(["*grader 'big' returned 1e+308, out of the range*"])
    assert "OverflowError" not in result.stdout.str()


# -- fail fast, show what failed ---------------------------------------------------------------
def test_a_wrong_key_stops_the_models_calls_after_the_first(pytester, openai_server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-0123456789")
    pytester.path.joinpath("rft_qa.yaml").write_text(SUITE.replace("model: good", "model: m"))
    pytester.path.joinpath("data.jsonl").write_text("".join(
        json.dumps({"id": f"q{i}", "question": f"{i}?", "expected": str(i)}) + "\n"
        for i in range(20)))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--rft-concurrency", "1",
                                           f"--rft-base-url={openai_server.base_url}")
    assert len(openai_server.log) == 1  # 40 samples, one call
    # one line for the one error: the 401 and the 39 samples not sent after it
    result.stdout.fnmatch_lines(["  error: 40 samples on 20 items (q0, q1, ... +18 more): "
                                 "model call failed: Error code: 401 *",
                                 "*(39 of them not sent: the model's calls stopped after it)"])
    assert "STOPPED" not in result.stdout.str()  # the error line says it
    assert "sk-wrong-0123456789" not in result.stdout.str()


def test_failing_items_show_their_outputs(project):
    suite = project.path / "rft_qa.yaml"
    rows = [{"id": "q1", "question": "1?", "expected": "1", "critical": True}]
    project.path.joinpath("data.jsonl").write_text(json.dumps(rows[0]) + "\n")
    result = run(project, "--rft-model", "half")
    result.stdout.fnmatch_lines(["critical item below threshold*",
                                 '  repeat 0: exact=0.000 output: {"answer": "nope"}'])
    shown = run(project, "--rft-model", "good", "--rft-show-outputs", "-rA")
    shown.stdout.fnmatch_lines(["*rft outputs*", '  repeat 1: exact=1.000 output: {"answer": "1"}'])
    assert suite.exists()


# -- pytest-xdist --------------------------------------------------------------------------------
def test_xdist_samples_each_item_once_and_reports_whole(pytester, openai_server, monkeypatch,
                                                        tmp_path):
    """-n 2 on a 200-item suite x 2 models: every (item, repeat) is sampled once across the
    workers, and the controller's report equals the run without xdist."""
    monkeypatch.setenv("OPENAI_API_KEY", openai_server.api_key)
    openai_server.policy = lambda body: json.dumps(
        {"answer": "7" if "7" in body["messages"][-1]["content"] else "0"})
    pytester.path.joinpath("rft_qa.yaml").write_text(SUITE.replace("model: good", "model: [a, b]"))
    pytester.path.joinpath("data.jsonl").write_text("".join(
        json.dumps({"id": f"q{i}", "question": f"{i}?", "expected": "7"}) + "\n"
        for i in range(200)))
    common = ("-p", "no:cacheprovider", f"--rft-base-url={openai_server.base_url}")
    solo = pytester.runpytest_subprocess(*common, f"--rft-report={tmp_path / 'solo.json'}")
    calls_solo = len(openai_server.log)
    assert calls_solo == 200 * 2 * 2
    openai_server.reset()
    split = pytester.runpytest_subprocess(*common, "-p", "xdist", "-n", "2",
                                          f"--rft-report={tmp_path / 'split.json'}",
                                          "-v")  # -v: the side-by-side tables
    assert len(openai_server.log) == calls_solo  # not once per worker
    assert split.ret == solo.ret == 1  # 38 of 200 items contain a 7: the 0.9 gate fails

    def numbers(path):
        data = json.loads(path.read_text())
        return {(s["model"], i["id"]): (i["stats"]["scores"], [x["output_text"] for x in i["samples"]])
                for s in data["suites"] for i in s["items"]}, \
            {(s["model"], g["label"]): (g["passed"], g["value"])
             for s in data["suites"] for g in s["gates"]}

    assert numbers(tmp_path / "split.json") == numbers(tmp_path / "solo.json")
    split.stdout.fnmatch_lines(["*pytest-rft summary*", "--- qa[[]a[]]: 200 items x 2 repeats*",
                                "--- qa: models side by side"])


# -- the lean runtest protocol -------------------------------------------------------------------
SPY = '''
import pytest

PHASES = []

def pytest_runtest_setup(item):
    PHASES.append(item.nodeid)   # pytest's full protocol only

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    setattr(item, "rep_" + call.when, outcome.get_result())   # a common conftest recipe

def pytest_runtest_teardown(item):
    pass

def pytest_collection_modifyitems(items):
    for item in items:
        if item.name.startswith("q3["):
            item.add_marker(pytest.mark.skip(reason="skipped by the user"))
        if item.name.startswith("gate:exact.mean"):
            item.add_marker(pytest.mark.xfail(reason="known bad", strict=True))

def pytest_sessionfinish(session):
    lean = [i for i in session.items if getattr(i, "rep_call", None) is not None
            and i.nodeid not in PHASES]
    print(f"\\nSPY full={len(PHASES)} lean={len(lean)} "
          f"q1_call={next(i.rep_call.outcome for i in session.items if i.name == 'q1[half]')}")
'''


def test_suite_nodes_skip_the_setup_hooks_but_report_every_phase(project):
    """The lean protocol: no pytest_runtest_setup for plain suite nodes; makereport and
    logreport as usual (JUnit, -rf, conftest hookwrappers); a user's skip/xfail mark gets
    pytest's own protocol and its outcome."""
    project.path.joinpath("conftest.py").write_text(
        project.path.joinpath("conftest.py").read_text() + SPY)
    result = run(project, "--rft-model", "half", "-rfxs", "--junitxml=j.xml", "-s")
    assert result.ret == 0  # the failing gate is an expected failure
    outcomes = result.parseoutcomes()
    assert (outcomes["passed"], outcomes["skipped"], outcomes["xfailed"]) == (10, 1, 1), outcomes
    # the xfail gate went through pytest_runtest_setup (the skipped item stopped before this
    # conftest's); the other 9 items and the error gate did not, and still had their reports
    result.stdout.fnmatch_lines(["SPY full=1 lean=10 q1_call=passed"])
    result.stdout.fnmatch_lines(["XFAIL*gate:exact.mean>=0.9[[]half[]]*known bad",
                                 "SKIPPED [[]1[]] data.jsonl*: skipped by the user"])  # its record
    cases = ET.parse(project.path / "j.xml").getroot().iter("testcase")
    names = {case.get("name"): case for case in cases}
    assert len(names) == 12  # 10 items, 2 gates
    assert names["q1[half]"].find("properties") is not None


def test_debugging_options_get_pytests_full_protocol(project):
    """Under --setup-show (like --pdb, --trace, --setup-only/-plan) every node goes through
    pytest_runtest_setup, as those options expect."""
    project.path.joinpath("conftest.py").write_text(
        project.path.joinpath("conftest.py").read_text() + SPY)
    result = run(project, "--rft-model", "half", "-s", "--setup-show")
    assert result.ret == 0
    # 12 nodes; the skipped one stops in pytest's skipping hook before this conftest's
    result.stdout.fnmatch_lines(["SPY full=11 lean=0 q1_call=passed"])


def test_maxfail_stops_after_the_first_failing_node(project):
    result = run(project, "--rft-model", "leaky", "--maxfail=1")
    assert result.ret == 1
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1 and "passed" not in outcomes, outcomes
    result.stdout.fnmatch_lines(["*stopping after 1 failures*"])


GC_SPY = '''
import gc

def pytest_collection_modifyitems(items):
    print(f"\\nGC during collection: {gc.isenabled()}")

def pytest_sessionfinish(session):
    print(f"\\nGC after: {gc.isenabled()}, frozen: {gc.get_freeze_count() > 0}")
'''


@pytest.mark.parametrize("broken", [False, True])
def test_gc_pauses_while_suites_are_collected_and_resumes(project, broken):
    """The cyclic GC is off while suites are collected (it would re-walk every node made so
    far, over and over) and on again afterwards, a broken suite or not, with what was collected
    frozen until the next session in the process starts (so nothing leaks for good, and a
    one-off run exits without the interpreter's last collection walking every node)."""
    import gc

    assert gc.isenabled()
    gc.unfreeze()
    project.path.joinpath("conftest.py").write_text(
        project.path.joinpath("conftest.py").read_text() + GC_SPY)
    if broken:
        project.path.joinpath("rft_broken.yaml").write_text("suite: [unclosed\n")
    result = run(project, "-s")
    result.stdout.fnmatch_lines(["GC during collection: False", "*GC after: True, frozen: True*"])
    assert gc.isenabled() and gc.get_freeze_count() > 0
    project.makepyfile(test_plain="def test_plain():\n    pass\n")
    run(project, "test_plain.py").assert_outcomes(passed=1)  # a session without suites
    assert gc.get_freeze_count() == 0


def test_the_rft_mark_selects_suite_nodes(project):
    """Every suite node carries the ``rft`` mark (from its suite, as a class's tests carry the
    class's marks): ``-m rft`` keeps them and plain tests out, ``-m "not rft"`` the reverse."""
    project.makepyfile(test_plain="def test_plain():\n    pass\n")
    only_suites = collected_ids(project, "-m", "rft")
    assert len(only_suites) == 12 and all("rft_qa.yaml" in i for i in only_suites), only_suites
    assert collected_ids(project, "-m", "not rft") == ["test_plain.py::test_plain"]
