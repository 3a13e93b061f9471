"""Faults and hostile input around a run: every one ends as one clean located line, the rest of
the run goes on, the other outputs are still written, and the exit code tells the truth."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.openai_server import FaultPlan
from tests.support.subprocesses import INTERRUPTIBLE
from tests.support.projects import QA_CONFTEST as CONFTEST
from tests.support.projects import QA_SUITE as SUITE
from tests.support.projects import write_qa_project

OUTPUTS = ("--rft-report=out/r.json", "--rft-html=out/r.html", "--rft-history=out/h.jsonl",
           "--junitxml=out/j.xml")


@pytest.fixture
def project(pytester, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    write_qa_project(pytester, CONFTEST, SUITE)
    return pytester


def run_sub(project, *args, env=None, timeout=120):
    """pytest in a fresh process (real streams, real exit code, real signals)."""
    full = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=project.path, env=full, capture_output=True, text=True,
                          timeout=timeout)


def clean(result) -> str:
    text = result.stdout + result.stderr
    assert "Traceback" not in text and "INTERNALERROR" not in text, text[-4000:]
    return text


def full_disk_device() -> bool:
    """/dev/full as Linux makes it (a container may lack it, or hold a file left at its name)."""
    try:
        return stat.S_ISCHR(os.stat("/dev/full").st_mode)
    except OSError:
        return False


def written(project) -> set[str]:
    out = project.path / "out"
    return {p.name for p in out.iterdir()} if out.is_dir() else set()


# -- each output on its own -------------------------------------------------------------------
@pytest.mark.parametrize("broken,args,env", [
    ("report", ("--rft-report=out",), {}),  # a folder where the file goes
    ("history", ("--rft-history=/dev/full",), {}),  # a full disk
    ("html", ("--rft-html=conftest.py/page.html",), {}),  # a file in the way of a folder
    ("step summary", (), {"GITHUB_STEP_SUMMARY": "/dev/full"}),
    ("step summary", (), {"GITHUB_STEP_SUMMARY": "."}),
    ("step summary", (), {"GITHUB_STEP_SUMMARY": "fifo"}),  # a named pipe nobody reads
    ("baseline", ("--rft-baseline-update", "--rft-baseline-dir=/proc/no/such"), {}),
    ("report", ("--rft-report=out/" + "x" * 300 + ".json",), {}),  # a name the OS refuses
])
def test_an_unwritable_output_is_one_error_and_the_others_are_written(project, broken, args,
                                                                      env):
    if any("/dev/full" in a for a in (*args, *env.values())) and not full_disk_device():
        pytest.skip("/dev/full is not the full-disk character device on this machine")
    (project.path / "out").mkdir()
    os.mkfifo(project.path / "fifo")
    others = [a for a in OUTPUTS if not any(a.split("=")[0] == b.split("=")[0] for b in args)]
    result = run_sub(project, *others, *args, env=env)
    text = clean(result)
    errors = [line for line in text.splitlines() if line.startswith("rft: ERROR")]
    assert len(errors) == 1 and broken in errors[0] and "(fix: " in errors[0], errors
    assert result.returncode == 1  # every test passed: the lost output alone fails the run
    expected = {"r.json", "r.html", "h.jsonl", "j.xml"} - {
        {"report": "r.json", "html": "r.html", "history": "h.jsonl"}.get(broken, "")}
    assert expected <= written(project), (written(project), text[-3000:])


# -- signals while the outputs are written ----------------------------------------------------
TERM_IN_FINISH = '''
import os, signal
from pytest_rft.report import json_report
_write = json_report.write

def write(*args, **kwargs):
    for _ in range(int(os.environ["TERMS"])):
        os.kill(os.getpid(), signal.SIGTERM)
    return _write(*args, **kwargs)

json_report.write = write
'''


@pytest.mark.slow  # soak / fault: signals, deadlines, fault storms
@pytest.mark.parametrize("terms", [1, 2, 3])
def test_sigterm_while_the_outputs_are_written_finishes_them(project, terms):
    """One SIGTERM or several, while the JSON report is being written: no traceback, every
    output written, exit status 2 (interrupted), said once."""
    project.path.joinpath("conftest.py").write_text(CONFTEST + TERM_IN_FINISH)
    result = run_sub(project, *OUTPUTS, env={"TERMS": str(terms)})
    text = clean(result)
    assert result.returncode == 2
    assert written(project) == {"r.json", "r.html", "h.jsonl", "j.xml"}
    assert text.count("SIGTERM arrived while the outputs were written") == 1


@pytest.mark.slow  # soak / fault: signals, deadlines, fault storms
def test_a_second_sigterm_after_the_first_still_writes_everything(project):
    suite = project.path / "rft_qa.yaml"
    suite.write_text(suite.read_text().replace("repeats: 2", "repeats: 40"))
    full = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                             "--rft-model", "slow", "--rft-concurrency", "2", *OUTPUTS],
                            cwd=project.path, env=full, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **INTERRUPTIBLE)
    deadline = time.monotonic() + 60
    while not (project.path / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert "Traceback" not in out and "INTERNALERROR" not in out, out[-3000:]
    assert proc.returncode == 2
    assert {"r.json", "r.html", "j.xml"} <= written(project), out[-3000:]
    samples = [s for i in json.loads((project.path / "out/r.json").read_text())["suites"][0]
               ["items"] for s in i["samples"]]
    assert 0 < len(samples) < 400


# -- python graders: the time limit covers loading; exits and children never escape ----------
def _with_python_grader(project, source: str) -> None:
    suite = project.path / "rft_qa.yaml"
    grader = json.dumps({"type": "python", "source": source})
    suite.write_text(suite.read_text().replace("graders:\n", f"graders:\n  py: {grader}\n"))


@pytest.mark.parametrize("isolation", ["on", "off"])
@pytest.mark.parametrize("top,message", [
    ("while True:\n    pass", "did not finish loading within 1 s (--rft-grader-timeout)"),
    ("import time\ntime.sleep(3600)", "did not finish loading within 1 s"),
    ("import os\nos._exit(0)", "ended its process while loading: it exited with code 0"),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "killed by SIGKILL"),
    ("import sys\nsys.exit(0)", "raised SystemExit"),
])
def test_python_grader_source_that_blocks_or_exits_at_load_is_one_error(project, isolation,
                                                                         top, message):
    """The source runs first in a child process under the grader limits: a loop or a sleep
    at its top level is an error after --rft-grader-timeout, an os._exit(0) can't end pytest
    with status 0, and the suite's error is one located line while other suites still run."""
    _with_python_grader(project, top + "\ndef grade(sample, item):\n    return 1.0\n")
    (project.path / "other").mkdir()
    (project.path / "other" / "rft_other.yaml").write_text(
        SUITE.replace("suite: qa", "suite: other").replace("data.jsonl", "../data.jsonl"))
    started = time.monotonic()
    result = run_sub(project, "--rft-grader-timeout=1", f"--rft-grader-isolation={isolation}",
                     "--rft-report=r.json", timeout=90)
    text = clean(result)
    assert time.monotonic() - started < 60
    assert result.returncode == 1
    assert "rft_qa.yaml:9 graders.py: python grader" in text and message in text, text[-3000:]
    suites = json.loads((project.path / "r.json").read_text())["suites"]
    assert [s["suite"] for s in suites] == ["other"]  # the other suite ran


def test_os_exit_while_grading_in_process_is_that_samples_error(project):
    """Isolation off: a grade() calling os._exit(0) is a grader error, not pytest exiting 0."""
    _with_python_grader(project, "import os\ndef grade(sample, item):\n    os._exit(0)\n")
    result = run_sub(project, "--rft-grader-isolation=off", "--rft-report=r.json")
    text = clean(result)
    assert result.returncode == 1 and (project.path / "r.json").is_file()
    assert "os._exit(0) called in the pytest process (isolation is off)" in text


def _alive(marker: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if marker in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                found.append(proc.name)
        except OSError:
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc (Linux)")
def test_processes_a_grader_starts_end_with_the_run(project):
    marker = f"{3000 + os.getpid() % 500}.{time.time_ns() % 1000}"
    _with_python_grader(project, (
        "import subprocess\n"
        f"subprocess.Popen(['sleep', '{marker}'])\n"  # at load
        "def grade(sample, item):\n"
        f"    subprocess.Popen(['sleep', '{marker}'], stdout=subprocess.DEVNULL)\n"
        "    return 1.0\n"))
    try:
        result = run_sub(project, "--rft-report=r.json", timeout=90)
        clean(result)
        assert result.returncode == 0
        time.sleep(0.5)
        assert _alive(marker) == []
    finally:
        for pid in _alive(marker):
            os.kill(int(pid), signal.SIGKILL)


def test_a_grader_file_that_is_a_fifo_is_refused_not_read(project):
    (project.path / "g").mkdir()
    os.mkfifo(project.path / "g" / "f.json")
    suite = project.path / "rft_qa.yaml"
    suite.write_text(suite.read_text().replace("graders:\n", "graders:\n  f: {file: g/f.json}\n"))
    result = run_sub(project, timeout=60)
    text = clean(result)
    assert "graders.f: grader file 'g/f.json': a named pipe (FIFO), not a regular file" in text


# -- hostile model answers -------------------------------------------------------------------
def _remote(pytester, openai_server, monkeypatch, outcome: str) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", openai_server.api_key)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    openai_server.plan = FaultPlan(faults_for=lambda body, attempt: outcome)
    pytester.path.joinpath("rft_qa.yaml").write_text(SUITE.replace("model: good", "model: m"))
    pytester.path.joinpath("data.jsonl").write_text(
        '{"id": "q1", "question": "1?", "expected": "1"}\n')


@pytest.mark.parametrize("limit,bomb,error", [("1MB", 64 << 20, True), (None, 64 << 20, True),
                                              ("0", 8 << 20, False)])
def test_an_answer_past_the_size_limit_is_an_error_read_no_further(pytester, openai_server,
                                                                   monkeypatch, limit, bomb,
                                                                   error):
    """A 64 MB answer sent as ~64 KB of gzip: past --rft-max-answer-size (default 16MB) it is
    that sample's error (not retried), and reading stops at the limit; 0 lifts the limit."""
    _remote(pytester, openai_server, monkeypatch, "gzip-bomb")
    openai_server.bomb_bytes = bomb
    args = [f"--rft-base-url={openai_server.base_url}", "--rft-report=r.json",
            "--rft-max-retries=2"] + ([f"--rft-max-answer-size={limit}"] if limit else [])
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=120)
    samples = json.loads((pytester.path / "r.json").read_text())["suites"][0]["items"][0][
        "samples"]
    if error:
        assert [s["error_cause"] for s in samples] == ["answer too large"] * 2
        assert [s["attempts"] for s in samples] == [1, 1]  # the same answer would come again
        result.stdout.fnmatch_lines(["*the answer is larger than * bytes decoded "
                                     "(--rft-max-answer-size)*"])
    else:
        assert [len(s["output_text"]) for s in samples] == [bomb] * 2


@pytest.mark.parametrize("answer", [
    {"choices": [{}]},
    {"choices": ["text"]},
    {"choices": [{"message": "text"}]},
    {"choices": [{"message": {"role": "assistant"}}]},
    {"choices": [{"message": {"content": 7}}]},
    {"choices": [{"message": {"content": ["a"]}}]},
    {"choices": [{"message": {"content": "x", "tool_calls": "call"}}]},
    {"choices": [{"message": {"content": "x"}, "finish_reason": 3}]},
    {"choices": [None]},
])
def test_malformed_choices_are_errors_not_scored_empty_outputs(pytester, openai_server,
                                                               monkeypatch, answer):
    _remote(pytester, openai_server, monkeypatch, "raw")
    openai_server.raw_answer = lambda body: answer
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--rft-report=r.json",
                                           f"--rft-base-url={openai_server.base_url}",
                                           "--rft-max-retries=0", timeout=120)
    samples = json.loads((pytester.path / "r.json").read_text())["suites"][0]["items"][0][
        "samples"]
    assert [s["error_cause"] for s in samples] == ["malformed response"] * 2, samples
    assert all(s["scores"] == {} for s in samples)
    assert result.ret == 1


# -- outputs pointed at a device ---------------------------------------------------------------
def null_device_in(folder: Path) -> Path:
    """A node of the null device inside ``folder`` (never the machine's own /dev/null: if the
    writers regressed, the test would replace that with a file)."""
    node = folder / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot make a device node here ({exc}): needs root, as in CI")
    return node


def test_outputs_sent_to_a_device_are_written_into_it_not_over_it(project):
    """`--rft-report /dev/null` (to throw a report away) must write into the device: the atomic
    rename the writers use for files would replace the device itself with a regular file."""
    null = null_device_in(project.path)
    result = run_sub(project, f"--rft-report={null}", f"--rft-html={null}",
                     f"--rft-history={null}", "--rft-baseline-update")
    clean(result)
    assert result.returncode == 0, result.stdout[-3000:]
    assert stat.S_ISCHR(os.stat(null).st_mode)  # still the device
    assert not [p for p in project.path.iterdir() if p.name.startswith(".null.")]  # no leftovers


def test_a_report_path_that_is_a_named_pipe_is_one_error_not_a_hang(project):
    os.mkfifo(project.path / "pipe")
    result = run_sub(project, "--rft-report=pipe", "--rft-html=page.html", timeout=60)
    text = clean(result)
    errors = [line for line in text.splitlines() if line.startswith("rft: ERROR")]
    assert len(errors) == 1 and "report" in errors[0] and "pipe" in errors[0], errors
    assert stat.S_ISFIFO(os.stat(project.path / "pipe").st_mode)
    assert (project.path / "page.html").is_file() and result.returncode == 1


# -- an output never replaces a file of something else ----------------------------------------
@pytest.mark.parametrize("option", ["--rft-report", "--rft-html", "--rft-history",
                                    "--rft-batch-export"])
@pytest.mark.parametrize("victim", ["data.jsonl", "rft_qa.yaml", "conftest.py", "notes.txt"])
def test_an_output_named_over_another_file_is_refused_and_the_file_kept(project, option,
                                                                        victim):
    """A typo naming the dataset, the suite, the conftest or any file that is not an earlier
    output of that kind: a usage error before anything runs, the file as it was."""
    (project.path / "notes.txt").write_text("my notes\n")
    before = (project.path / victim).read_bytes()
    result = run_sub(project, f"{option}={victim}")
    text = clean(result)
    assert result.returncode == 4, text[-2000:]
    assert f"{option} {victim}: this file exists and is not" in text and "fix: " in text
    assert (project.path / victim).read_bytes() == before


def test_an_earlier_output_of_the_same_kind_is_replaced(project):
    args = ("--rft-report=r.json", "--rft-html=r.html", "--rft-history=h.jsonl")
    assert run_sub(project, *args).returncode == 0
    again = run_sub(project, *args)
    assert again.returncode == 0, clean(again)[-2000:]
    assert len((project.path / "h.jsonl").read_text().splitlines()) == 2
    exported = run_sub(project, "--rft-batch-export=b.jsonl")
    assert run_sub(project, "--rft-batch-export=b.jsonl").returncode == exported.returncode


@pytest.mark.parametrize("target", ["/", "conftest.py/b.jsonl", "x" * 300 + ".jsonl"])
def test_a_batch_export_the_os_refuses_is_one_usage_error(project, target):
    result = run_sub(project, f"--rft-batch-export={target}")
    text = clean(result)
    assert result.returncode == 4 and "--rft-batch-export" in text and "not written" in text


# -- user code that blocks in this process ----------------------------------------------------
BLOCKING = '''
import asyncio, time
import pytest_rft

@pytest_rft.grader("stuck")
def stuck(sample, item):
    if item["id"] == "q1":
        time.sleep(3600)
    return 1.0

@pytest_rft.grader("astuck")
async def astuck(sample, item):
    if item["id"] == "q2":
        await asyncio.sleep(3600)
    return 1.0

@pytest_rft.model("spin")
def spin(request):
    if request.item_id == "q3":
        while True:
            pass
    return {"answer": request.item["expected"]}
'''


@pytest.mark.parametrize("grader", ["stuck", "astuck", "python"])
def test_a_grader_that_blocks_in_this_process_is_an_error_after_the_grader_timeout(
        project, grader):
    """Registered graders and python graders with isolation off run in the pytest process:
    one that never returns is that sample's grader error after --rft-grader-timeout (it used
    to block the event loop, and the run, forever)."""
    (project.path / "conftest.py").write_text(CONFTEST + BLOCKING)
    if grader == "python":
        _with_python_grader(project, "import time\ndef grade(sample, item):\n"
                                     "    if item['id'] == 'q1':\n        time.sleep(3600)\n"
                                     "    return 1.0\n")
    else:
        suite = project.path / "rft_qa.yaml"
        suite.write_text(suite.read_text().replace("graders:\n", f"graders:\n  g: {grader}\n"))
    result = run_sub(project, "--rft-grader-timeout=1", "--rft-grader-isolation=off",
                     "--rft-report=r.json", timeout=90)
    text = clean(result)
    assert result.returncode == 1, text[-3000:]
    assert "did not finish within 1 s (--rft-grader-timeout)" in " ".join(text.split())
    report = json.loads((project.path / "r.json").read_text())
    errors = {i["id"] for s in report["suites"] for i in s["items"]
              if any(x.get("grader_errors") for x in i["samples"])}
    assert errors == {"q1" if grader != "astuck" else "q2"}, errors


def test_a_python_model_that_spins_past_its_timeout_is_not_retried(project):
    """A timed-out call of a Python model can't be stopped: retrying it would leave one more
    thread spinning per attempt (and the run crawling)."""
    (project.path / "conftest.py").write_text(CONFTEST + BLOCKING)
    result = run_sub(project, "--rft-model=spin", "--rft-timeout=1", "--rft-max-retries=4",
                     timeout=90)
    text = " ".join(clean(result).split())
    assert result.returncode == 1
    assert "took longer than 1s (--rft-timeout); not retried" in text, text[-3000:]
    assert "0 retries" in text, text[-3000:]


TOOL_BLOCKS = '''
import time
import pytest_rft
from pytest_rft import Completion

@pytest_rft.model("caller")
def caller(request):
    if any(m.get("role") == "tool" for m in request.messages):
        return {"answer": request.item["expected"]}
    return Completion(tool_calls=[pytest_rft.tool_call("wait", {"q": request.item_id})])

@pytest_rft.tool("wait")
def wait(q):
    if q == "q1":
        time.sleep(3600)
    return "ok"
'''


def test_a_tool_that_never_returns_is_that_samples_error_and_the_run_ends(project):
    """A tool implementation blocking forever: a tool error after --rft-timeout, and the run
    ends (its thread was an executor thread, joined when the loop closed: a hung run)."""
    (project.path / "conftest.py").write_text(CONFTEST + TOOL_BLOCKS)
    suite = project.path / "rft_qa.yaml"
    suite.write_text(suite.read_text() + "tools: [{type: function, function: {name: wait, "
                     "parameters: {type: object}}}]\ntool_implementations: [wait]\n")
    result = run_sub(project, "--rft-model=caller", "--rft-timeout=1", "--rft-report=r.json",
                     timeout=90)
    text = " ".join(clean(result).split())
    assert result.returncode == 1 and "tool 'wait' took longer than 1s" in text, text[-3000:]
    report = json.loads((project.path / "r.json").read_text())
    failed = {i["id"] for s in report["suites"] for i in s["items"]
              if any(x.get("error_cause") for x in i["samples"])}
    assert failed == {"q1"}, failed
