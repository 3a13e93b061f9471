"""Isolated python graders: worker processes with time and memory limits. A grader that hangs,
sleeps, allocates too much, exits, crashes, forks or floods stdout is a grader error with its
cause, and the run goes on."""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path

import pytest

from pytest_rft.graders import build_grader, grader, unregister_grader
from pytest_rft.graders.base import GradingContext
from pytest_rft.graders.isolation import GraderPool, PoolSettings, parse_size

pytestmark = pytest.mark.skipif(os.name != "posix", reason="limits tested on POSIX")

POOLED = GradingContext()
"""What the runner would give the graders: the module's pool while the ``pool`` fixture lives."""


@pytest.fixture(scope="module")
def pool():
    global POOLED
    with GraderPool(PoolSettings(timeout=1.0, workers=2)) as active:
        POOLED = GradingContext(pool=active)
        try:
            yield active
        finally:
            POOLED = GradingContext()


def python(source: str, name: str = "g"):
    return build_grader(name, {"type": "python", "source": source}, base_dir=Path("."),
                        where="suite.yaml: graders.g")


def grade(g, sample=None, item=None):
    return asyncio.run(g.agrade(sample or {"output_text": "x"}, item or {}, POOLED))


OK = python("import os\ndef grade(sample, item):\n    return float(os.getpid())\n", "ok")


def still_works() -> None:
    assert grade(OK).errors == {}


def test_runs_in_another_process_with_the_same_scores(pool) -> None:
    assert grade(OK).scores["ok"] != float(os.getpid())
    g = python("def grade(sample, item):\n    return len(sample['output_text']) / item['n']\n")
    assert grade(g, {"output_text": "abcd"}, {"n": 8}).scores == {"g": 0.5}
    assert g.grade({"output_text": "abcd"}, {"n": 8}).scores == {"g": 0.5}  # in process


def test_errors_keep_their_line(pool) -> None:
    g = python("def grade(sample, item):\n    return 1 / 0\n")
    assert grade(g).errors == {"g": "grader 'g' raised ZeroDivisionError: division by zero "
                                     "(line 2: return 1 / 0)"}


@pytest.mark.parametrize("body", ["while True:\n        pass", "import time; time.sleep(3600)"],
                         ids=["busy-loop", "sleep-an-hour"])
def test_a_grader_that_hangs_times_out(pool, body) -> None:
    g = python(f"def grade(sample, item):\n    {body}\n")
    message = grade(g).errors["g"]  # (an hour's sleep would hang the test, not end here)
    assert message.startswith("grader 'g' timed out after 1 s (--rft-grader-timeout) (line 2")
    still_works()


def test_a_hang_that_blocks_the_timer_is_killed(pool) -> None:
    g = python("import signal\ndef grade(sample, item):\n"
               "    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])\n"
               "    while True:\n        pass\n")
    message = grade(g).errors["g"]
    assert "timed out after 1 s (--rft-grader-timeout) and did not stop" in message
    assert "its worker was killed and replaced" in message
    assert re.search(r"stuck at File .*rft python grader 'g'.*, line [45] in grade", message)
    still_works()


def test_too_much_memory_is_an_error(pool) -> None:
    g = python("def grade(sample, item):\n    block = bytearray(5 * 2**30)\n    return 1.0\n")
    message = grade(g).errors["g"]
    assert message.startswith("grader 'g' raised MemoryError (line 2")
    assert "memory limit 2 GB per grader process, --rft-grader-memory" in message
    still_works()


def test_sys_exit_is_an_error(pool) -> None:
    g = python("import sys\ndef grade(sample, item):\n    sys.exit(3)\n")
    assert grade(g).errors == {"g": "grader 'g' raised SystemExit: 3 (line 3: sys.exit(3))"}
    still_works()


def test_os_exit_replaces_the_worker(pool) -> None:
    g = python("import os\ndef grade(sample, item):\n    os._exit(1)\n")
    message = grade(g).errors["g"]
    assert message == ("grader 'g' crashed its worker process: it exited with code 1 "
                       "(os._exit or a crash in native code); the worker was replaced")
    still_works()


def test_a_segfault_is_an_error_with_its_traceback(pool) -> None:
    g = python("import ctypes\ndef grade(sample, item):\n    return ctypes.string_at(0)\n")
    message = grade(g).errors["g"]
    assert "crashed its worker process: killed by SIGSEGV (a segmentation fault)" in message
    assert "line 3 in grade" in message
    still_works()


def test_fork_is_refused(pool) -> None:
    g = python("import os\ndef grade(sample, item):\n    os.fork()\n    return 1.0\n")
    assert grade(g).errors == {"g": "grader 'g' called os.fork(); isolated graders may not "
                                     "fork (the child was stopped)"}
    still_works()


def test_megabytes_of_output_are_an_error(pool) -> None:
    g = python("def grade(sample, item):\n"
               "    for _ in range(100000):\n        print('x' * 100)\n    return 1.0\n")
    assert "wrote more than 1 MB to stdout/stderr" in grade(g).errors["g"]
    quiet = python("def grade(sample, item):\n    print('hello')\n    return 1.0\n")
    assert grade(quiet).scores == {"g": 1.0}


def test_a_crash_spares_the_rest_of_its_batch(pool) -> None:
    g = python("import os\ndef grade(sample, item):\n"
               "    if item['crash']:\n        os._exit(7)\n    return item['v']\n")

    async def many():
        return await asyncio.gather(*(g.agrade({"output_text": ""}, {"crash": i == 13, "v": i},
                                               POOLED) for i in range(40)))

    results = asyncio.run(many())
    assert "exited with code 7" in results[13].errors["g"]
    assert [r.scores.get("g") for r in results] == [float(i) if i != 13 else None
                                                     for i in range(40)]


def test_multi_sub_graders_grade_in_one_trip(pool) -> None:
    data = Path(__file__).parent.parent / "data"
    f1 = build_grader("f1", {"file": "build_hours_f1_grader.json"}, base_dir=data, where="s")
    sample = {"output_text": json.dumps({"labels": ["a", "b"]})}
    item = {"labels": ["a", "b", "c"]}
    isolated = asyncio.run(f1.agrade(sample, item, POOLED))
    assert isolated.scores == f1.grade(sample, item).scores
    assert isolated.scores["f1"] == pytest.approx(0.8)
    crashing = build_grader("m", {"type": "multi", "calculate_output": "a + b", "graders": {
        "a": {"type": "python", "source": "def grade(s, i):\n    return 1.0\n"},
        "b": {"type": "python", "source": "import os\ndef grade(s, i):\n    os._exit(2)\n"}}},
        base_dir=data, where="s")
    grades = asyncio.run(crashing.agrade(sample, item, POOLED))
    assert "exited with code 2" in grades.errors["b"] and "m" in grades.errors


def test_grading_leaves_the_event_loop_free(pool) -> None:
    g = python("import time\ndef grade(sample, item):\n    time.sleep(0.5)\n    return 1.0\n")

    async def scenario():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        task = asyncio.create_task(ticker())
        grades = await g.agrade({}, {}, POOLED)
        task.cancel()
        return grades, ticks

    grades, ticks = asyncio.run(scenario())
    assert grades.scores == {"g": 1.0} and ticks >= 10


def isolated_pid(sample, item):
    return float(os.getpid())


def test_registered_graders_opt_in(pool) -> None:
    grader("iso_pid", isolated=True)(isolated_pid)
    grader("local_pid")(lambda sample, item: float(os.getpid()))
    grader("iso_lambda", isolated=True)(lambda sample, item: 1.0)
    try:
        iso = build_grader("a", "iso_pid", base_dir=Path("."), where="s")
        local = build_grader("b", "local_pid", base_dir=Path("."), where="s")
        bad = build_grader("c", "iso_lambda", base_dir=Path("."), where="s")
        result = grade(iso)
        assert "a" in result.scores and result.scores["a"] != float(os.getpid()), result
        assert grade(local).scores["b"] == float(os.getpid())
        assert "is isolated but cannot be sent to a worker process" in grade(bad).errors["c"]
    finally:
        for name in ("iso_pid", "local_pid", "iso_lambda"):
            unregister_grader(name)


def test_no_pool_means_in_process() -> None:
    for context in (None, GradingContext()):
        grades = asyncio.run(OK.agrade({"output_text": "x"}, {}, context))
        assert grades.scores["ok"] == float(os.getpid())


@pytest.mark.parametrize(("text", "size"), [("2GB", 2 << 30), ("512MB", 512 << 20),
                                            ("1.5g", 3 << 29), ("1048576", 1 << 20),
                                            ("0", None), ("off", None)])
def test_parse_size(text, size) -> None:
    assert parse_size(text) == size


def test_parse_size_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size("lots")


SUITE = """
suite: iso
dataset: data.jsonl
model: fixed
input: [{role: user, content: "{{ item.id }}"}]
graders:
  g:
    type: python
    source: |
      import time
      def grade(sample, item):
          if item["id"] == "slow":
              time.sleep(3600)
          return 1.0
"""


def test_end_to_end_a_hanging_grader_fails_its_item_only(pytester) -> None:
    pytester.makeconftest("import pytest_rft\n"
                          "pytest_rft.model('fixed')(lambda request: 'ok')\n")
    pytester.makefile(".yaml", rft_iso=SUITE)
    pytester.path.joinpath("data.jsonl").write_text(
        "".join(json.dumps({"id": i}) + "\n" for i in ("a", "slow", "b")))
    result = pytester.runpytest("-p", "no:cacheprovider", "--rft-grader-timeout", "0.5",
                                "-v")  # -v: the grader workers' line
    result.assert_outcomes(passed=2, failed=2)  # the slow item and the error gate
    result.stdout.fnmatch_lines(["*repeat 0: grader 'g' timed out after 0.5 s*",
                                 "rft: isolated graders: 3 call(s) in * worker process(es) "
                                 "(0.5 s, 2 GB each); 0 worker(s) replaced*"])


PID_SUITE = """
suite: pid
dataset: data.jsonl
model: fixed
input: [{role: user, content: "{{ item.id }}"}]
graders:
  pid: {type: python, source: "import os\\ndef grade(sample, item):\\n    return os.getpid()\\n"}
"""


@pytest.mark.parametrize("isolation", ["on", "off"])
def test_end_to_end_isolation_on_and_off(pytester, isolation) -> None:
    pytester.makeconftest("import pytest_rft\n"
                          "pytest_rft.model('fixed')(lambda request: 'ok')\n")
    pytester.makefile(".yaml", rft_pid=PID_SUITE)
    pytester.path.joinpath("data.jsonl").write_text('{"id": "a"}\n')
    result = pytester.runpytest("-p", "no:cacheprovider", "--rft-grader-isolation", isolation,
                                "--rft-report", "r.json")
    result.assert_outcomes(passed=2)
    report = json.loads(pytester.path.joinpath("r.json").read_text())
    pid = report["suites"][0]["items"][0]["samples"][0]["scores"]["pid"]
    assert (pid == os.getpid()) is (isolation == "off")  # inline run: this very process


def test_end_to_end_bad_memory_option(pytester) -> None:
    pytester.makefile(".yaml", rft_iso=SUITE)
    result = pytester.runpytest("-p", "no:cacheprovider", "--rft-grader-memory", "lots")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--rft-grader-memory / rft_grader_memory: not a size*"])
