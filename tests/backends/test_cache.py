"""Record and replay (--rft-cache / --rft-record / --rft-replay): the SQLite completion cache."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from pytest_rft.backends.base import CallError
from pytest_rft.backends.cache import FILENAME, CacheBackend, CacheStore, cache_key
from pytest_rft.backends.direct import DirectBackend
from pytest_rft.core.records import Completion, Request, Usage
from tests.backends.test_openai_e2e import project, run  # noqa: F401  (fixture)
from tests.support.subprocesses import INTERRUPTIBLE


def request(content: str = "q", repeat: int = 0, seed: int = 1, model: str = "m") -> Request:
    return Request(model=model, messages=[{"role": "user", "content": content}],
                   response_schema=None, sampling={"seed": seed}, item={"x": 1}, item_id=content,
                   repeat=repeat, suite="s")


class Counting:
    """A backend that answers with its call count."""

    name = "counting"

    def __init__(self) -> None:
        self.calls = 0

    def request_body(self, req: Request) -> dict:
        return {"model": req.model, "messages": req.messages, "seed": req.sampling.get("seed")}

    async def complete(self, req: Request) -> Completion:
        self.calls += 1
        return Completion(output_text=f"answer {self.calls}", finish_reason="stop",
                          usage=Usage(3, 4, 1, 0), choices=[{"index": 0}],
                          tool_calls=[{"id": "t"}])

    async def aclose(self) -> None:
        pass


def complete_all(backend, requests):
    async def go():
        try:
            return [await backend.complete(r) for r in requests]
        finally:
            await backend.aclose()
    return asyncio.run(go())


def test_modes(tmp_path: Path) -> None:
    inner = Counting()
    first = complete_all(CacheBackend(inner, CacheStore(tmp_path)), [request("a"), request("b")])
    # use: a seen request is answered from the file, whole and equal
    again = complete_all(CacheBackend(inner, CacheStore(tmp_path)),
                         [request("a"), request("b"), request("c")])
    assert inner.calls == 3 and again[:2] == first and again[2].output_text == "answer 3"
    # record: always calls, replaces
    complete_all(CacheBackend(inner, CacheStore(tmp_path), "record"), [request("a")])
    assert inner.calls == 4
    replayed = complete_all(CacheBackend(inner, CacheStore(tmp_path), "replay"),
                            [request("a"), request("b")])
    assert inner.calls == 4 and replayed[0].output_text == "answer 4" and replayed[1] == first[1]
    assert CacheStore(tmp_path).count() == 3


def test_replay_miss_names_item_and_repeat_and_never_calls(tmp_path: Path) -> None:
    inner = Counting()
    complete_all(CacheBackend(inner, CacheStore(tmp_path), "record"), [request("a")])
    backend = CacheBackend(inner, CacheStore(tmp_path), "replay")
    with pytest.raises(CallError) as info:
        complete_all(backend, [request("a", repeat=1)])
    assert info.value.cause == "not recorded"
    assert "'s::a' repeat 1" in info.value.message and "--rft-record" in info.value.message
    assert inner.calls == 1 and backend.missing == 1


def test_key_is_model_body_and_repeat() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "q"}]}
    key = cache_key("m", body, 0)
    assert key == cache_key("m", json.loads(json.dumps(body)), 0)  # a pure function of values
    assert key != cache_key("m2", body, 0)
    assert key != cache_key("m", body, 1)
    assert key != cache_key("m", {**body, "messages": [{"role": "user", "content": "q!"}]}, 0)
    assert key != cache_key("m", {**body, "temperature": 0.5}, 0)


def test_direct_backend_key_is_its_body_and_no_secret_is_stored(tmp_path: Path) -> None:
    secret = "sk-proj-SECRET-never-stored-123456"
    backend = DirectBackend("m", api_key=secret, base_url="http://127.0.0.1:9/v1")
    req = request("hello")
    assert CacheBackend(backend, CacheStore(tmp_path)).inner.request_body(req) == {
        "model": "m", "messages": req.messages, "seed": 1}
    store = CacheStore(tmp_path)
    store.put(cache_key("m", backend.request_body(req), 0), req, backend.request_body(req),
              Completion(output_text="hi"))
    store.close()
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"SECRET" not in data and b"hello" in data


def _writer(folder: str, worker: int, n: int) -> None:
    store = CacheStore(Path(folder))
    for i in range(n):
        req = request(f"w{worker}-{i}")
        store.put(cache_key("m", {"i": i, "w": worker}, 0), req, {}, Completion(output_text=str(i)))
        assert store.get(cache_key("m", {"i": i, "w": worker}, 0)) is not None
    store.close()


def test_concurrent_processes_share_one_file(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, 150)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert CacheStore(tmp_path).count() == 600
    mode = sqlite3.connect(tmp_path / FILENAME).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


# -- end to end ---------------------------------------------------------------------------
def _scores(report: Path) -> dict:
    data = json.loads(report.read_text())
    return {(s["suite"], i["id"], x["repeat"]): (x["output_text"], x["scores"], x["kind"])
            for s in data["suites"] for i in s["items"] for x in i["samples"]}


def _verdicts(result) -> list[str]:
    return sorted(line.split(" (")[0] for line in result.stdout.lines
                  if " PASSED" in line or " FAILED" in line)


def test_record_then_replay_without_the_network(project, openai_server, tmp_path):  # noqa: F811
    pytester = project(n_items=8, repeats=2)
    openai_server.plan.script["What is 3+9?#100"] = ["500"]  # a retried call is recorded once
    first, second = tmp_path / "1.json", tmp_path / "2.json"
    recorded = run(pytester, openai_server, "--rft-model=m", "--rft-cache=.rft-cache",
                   "--rft-record", f"--rft-report={first}", "-v", "--rft-retry-backoff=0")
    assert recorded.ret == 0, recorded.stdout.str()
    calls = len(openai_server.log)
    assert calls == 17
    recorded.stdout.fnmatch_lines(["*rft: cache *rft-cache.sqlite3 (record)*16 recorded*"])
    # replay against a closed port: answering from the cache needs no server at all
    replayed = pytester.runpytest("-p", "no:cacheprovider", "--rft-base-url=http://127.0.0.1:9/v1",
                                  "--rft-model=m", "--rft-cache=.rft-cache", "--rft-replay",
                                  f"--rft-report={second}", "-v")
    assert len(openai_server.log) == calls
    assert replayed.ret == 0, replayed.stdout.str()
    assert _scores(second) == _scores(first)
    assert _verdicts(replayed) == _verdicts(recorded)
    replayed.stdout.fnmatch_lines(["*(replay)*16 answered from the cache*"])


def test_edited_prompt_misses_edited_grader_hits(project, openai_server, tmp_path):  # noqa: F811
    pytester = project(n_items=3, repeats=2)
    assert run(pytester, openai_server, "--rft-model=m", "--rft-cache=c").ret == 0
    calls = len(openai_server.log)
    suite = pytester.path / "rft_arith.yaml"
    text = suite.read_text()
    # graders are not part of the request: a changed grader re-grades the recorded answers
    suite.write_text(text.replace("operation: eq", "operation: ne"))
    regraded = run(pytester, openai_server, "--rft-model=m", "--rft-cache=c", "--rft-replay",
                   "-v")
    assert len(openai_server.log) == calls
    regraded.stdout.fnmatch_lines(["*gate failed: exact.mean = 0.0000*"])
    # the prompt is: every item misses, with the item and repeat named, and nothing is called
    suite.write_text(text.replace("Answer with JSON.", "Answer with JSON only."))
    missed = run(pytester, openai_server, "--rft-model=m", "--rft-cache=c", "--rft-replay",
                 "-v")
    assert len(openai_server.log) == calls
    assert missed.ret == 1
    missed.stdout.fnmatch_lines([
        "*q0001*FAILED*",
        "*repeat 1: model call failed: --rft-replay: item 'arith::q0001' repeat 1 (model 'm') "
        "is not in *rft-cache.sqlite3*--rft-record*",
        "*errors: not recorded 6*"])
    # --rft-cache alone fills the gaps and the next replay passes
    assert run(pytester, openai_server, "--rft-model=m", "--rft-cache=c").ret == 0
    assert len(openai_server.log) == calls + 6
    assert run(pytester, openai_server, "--rft-model=m", "--rft-cache=c", "--rft-replay").ret == 0


def test_record_and_replay_need_a_cache(project, openai_server):  # noqa: F811
    pytester = project(n_items=1, repeats=1)
    result = run(pytester, openai_server, "--rft-model=m", "--rft-replay")
    result.stderr.fnmatch_lines(["*--rft-replay needs --rft-cache DIR*"])
    result = run(pytester, openai_server, "--rft-model=m", "--rft-cache=c", "--rft-replay",
                 "--rft-record")
    result.stderr.fnmatch_lines(["*exclude each other*"])
    assert openai_server.log == []


WRITER = """
import sys, time
from pathlib import Path
from pytest_rft.backends.cache import CacheStore, cache_key
from pytest_rft.core.records import Completion, Request
store = CacheStore(Path(sys.argv[1]))
print("ready", flush=True)
i = 0
while True:
    req = Request(model="m", messages=[], response_schema=None, sampling={}, item={},
                  item_id=str(i), repeat=0, suite="s")
    store.put(cache_key("m", {"i": i}, 0), req, {"i": i}, Completion(output_text="x" * 2000))
    i += 1
"""


def test_ctrl_c_while_writing_leaves_a_sound_file(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, **INTERRUPTIBLE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    proc.wait(10)
    db = sqlite3.connect(tmp_path / FILENAME)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = db.execute("SELECT completion FROM completions").fetchall()
    assert rows and all(json.loads(r[0])["output_text"] == "x" * 2000 for r in rows)
