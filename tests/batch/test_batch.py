"""Batch files and the Batch API: --rft-batch-export, --rft-batch-import, --rft-batch."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from pytest_rft.backends.base import CallError
from pytest_rft.batch.files import (ImportBackend, custom_id, input_line, parse_custom_id,
                                       parse_output)
from pytest_rft.backends.direct import DirectBackend
from pytest_rft.core.records import Request
from tests.backends.test_openai_e2e import policy, project, run  # noqa: F401  (fixture)
from tests.support.subprocesses import INTERRUPTIBLE


def request(item_id: str = "a|b:c/d", model: str = "ft:o4-mini:org|x:id/1", repeat: int = 2,
            suite: str = 's|"q"', api: str = "chat") -> Request:
    return Request(model=model, messages=[{"role": "user", "content": "hi"}],
                   response_schema={"name": "A", "schema": {"type": "object"}, "strict": True},
                   sampling={"seed": 3, "max_output_tokens": 9, "reasoning_effort": "low"},
                   item={}, item_id=item_id, repeat=repeat, suite=suite, api=api)


def test_custom_ids_round_trip_whatever_the_names_hold() -> None:
    for req in (request(), request(item_id="[1,2]", model="", suite="", repeat=0),
                request(item_id="é\n|", suite="a/b:c")):
        assert parse_custom_id(custom_id(req)) == (req.suite, req.model, req.item_id, req.repeat)
    for junk in ("request-1", '["a","b","c"]', '["a","b","c",true]', None, 7, "[1,2,3,4]"):
        assert parse_custom_id(junk) is None


@pytest.mark.parametrize("api,url", [("chat", "/v1/chat/completions"),
                                     ("responses", "/v1/responses")])
def test_input_line_body_is_the_direct_transports(api, url) -> None:
    req = request(api=api)
    line = input_line(req)
    assert line["method"] == "POST" and line["url"] == url
    assert line["body"] == DirectBackend(req.model, api_key="k").request_body(req)


def _complete(backend, req):
    return asyncio.run(backend.complete(req))


def test_import_classifies_failed_and_missing_lines() -> None:
    req = request()
    cid = custom_id(req)
    ok = {"custom_id": cid, "response": {"status_code": 200, "body": {
        "choices": [{"message": {"content": "{}"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2}}}, "error": None}
    lines, foreign = parse_output(json.dumps(ok) + "\n\n" + json.dumps({"custom_id": "x"}))
    assert foreign == 1
    done = _complete(ImportBackend(req.model, lines), req)
    assert done.output_text == "{}" and done.usage.input_tokens == 3
    cases = [({"error": {"code": "batch_expired", "message": "window expired"}}, "batch expired"),
             ({"response": {"status_code": 429, "body": {"error": {"message": "slow"}}}},
              "http 429 in batch"),
             ({"response": {"status_code": 400, "body": {"error": {"message": "bad"}}}},
              "http 400 in batch"),
             ({"response": {"status_code": 200, "body": {"nope": 1}}}, "malformed response")]
    for line, cause in cases:
        backend = ImportBackend(req.model, {parse_custom_id(cid): {"custom_id": cid, **line}})
        with pytest.raises(CallError) as info:
            _complete(backend, req)
        assert info.value.cause == cause and type(info.value) is CallError  # final, no retry
    with pytest.raises(CallError) as info:
        _complete(ImportBackend(req.model, {}), req)
    assert info.value.cause == "not in the batch output" and "'a|b:c/d'" in info.value.message


# -- end to end ---------------------------------------------------------------------------
def _scores(report: Path) -> dict:
    data = json.loads(report.read_text())
    return {(s["suite"], s["model"], i["id"], x["repeat"]): (x["output_text"], x["scores"],
                                                             x["kind"], x.get("error_cause"))
            for s in data["suites"] for i in s["items"] for x in i["samples"]}


def answer_lines(server, input_path: Path, fault=None) -> str:
    """The batch output an engine would write: each input line answered by the local server's
    renderer (what its HTTP route would have answered)."""
    out = []
    for n, raw in enumerate(input_path.read_text().splitlines()):
        line = json.loads(raw)
        body = line["body"]
        render = server._chat_body if line["url"].endswith("/chat/completions") \
            else server._responses_body
        entry = {"id": f"batch_req_{n}", "custom_id": line["custom_id"],
                 "response": {"status_code": 200, "request_id": f"req_{n}",
                              "body": render(body, "ok", {"text": policy(body)})},
                 "error": None}
        entry = fault(n, entry) if fault else entry
        if entry is not None:
            out.append(json.dumps(entry))
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_export_then_import_scores_like_a_direct_run(project, openai_server, tmp_path, api):  # noqa: F811
    pytester = project(n_items=5, repeats=2)
    direct, imported = tmp_path / "direct.json", tmp_path / "imported.json"
    first = run(pytester, openai_server, "--rft-model=m|x:y/z", f"--rft-api={api}",
                f"--rft-report={direct}")
    assert first.ret == 0, first.stdout.str()
    sent = sorted(json.dumps(b, sort_keys=True) for b in openai_server.bodies())
    openai_server.reset()
    exported = tmp_path / "in.jsonl"
    result = run(pytester, openai_server, "--rft-model=m|x:y/z", f"--rft-api={api}",
                 f"--rft-batch-export={exported}", f"--rft-report={tmp_path / 'none.json'}",
                 "-v")  # -v: notes unwrapped
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(skipped=7)  # 5 items + 2 gates: nothing sampled, nothing failed
    result.stdout.fnmatch_lines([f"*rft: 10 request(s) written to {exported} as Batch API input*"
                                 "nothing was sampled*--rft-batch-import*"])
    assert openai_server.log == []  # no call made
    lines = [json.loads(x) for x in exported.read_text().splitlines()]
    assert sorted(json.dumps(x["body"], sort_keys=True) for x in lines) == sent
    assert {parse_custom_id(x["custom_id"])[:2] for x in lines} == {("arith", "m|x:y/z")}
    output = tmp_path / "out.jsonl"
    output.write_text(answer_lines(openai_server, exported))
    # graded without a key or a server
    result = pytester.runpytest("-p", "no:cacheprovider", "--rft-model=m|x:y/z", f"--rft-api={api}",
                                "--rft-base-url=http://127.0.0.1:9/v1",
                                f"--rft-batch-import={output}", f"--rft-report={imported}",
                                "-v")  # -v: notes unwrapped
    assert result.ret == 0, result.stdout.str()
    assert _scores(imported) == _scores(direct)
    result.stdout.fnmatch_lines(["*10 sample(s) of m|x:y/z graded from *out.jsonl*"])


def test_import_of_failed_and_missing_lines(project, openai_server, tmp_path, monkeypatch):  # noqa: F811
    pytester = project(n_items=3, repeats=2)
    exported, output, report = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "r.json"
    assert run(pytester, openai_server, "--rft-model=m", f"--rft-batch-export={exported}").ret == 0

    def fault(n, entry):
        if n == 0:
            return {**entry, "response": None,
                    "error": {"code": "batch_expired", "message": "not run before it expired"}}
        if n == 1:
            return {**entry, "response": {"status_code": 500, "body": {
                "error": {"message": "The server had an error"}}}}
        return None if n == 2 else entry

    output.write_text(answer_lines(openai_server, exported, fault))
    monkeypatch.delenv("OPENAI_API_KEY")
    result = run(pytester, openai_server, "--rft-model=m", f"--rft-batch-import={output}",
                 f"--rft-report={report}", "-v")
    assert result.ret == 1
    causes = sorted(v[3] for v in _scores(report).values() if v[3])
    assert causes == ["batch expired", "http 500 in batch", "not in the batch output"]
    result.stdout.fnmatch_lines(["*not run before it expired*"])
    assert openai_server.log == []


def test_batch_modes_exclude_each_other(project, openai_server, tmp_path):  # noqa: F811
    pytester = project(n_items=1, repeats=1)
    result = run(pytester, openai_server, "--rft-model=m", "--rft-batch-export=a.jsonl",
                 "--rft-batch-import=b.jsonl")
    result.stderr.fnmatch_lines(["*--rft-batch-export and --rft-batch-import exclude each other*"])
    result = run(pytester, openai_server, "--rft-model=m", "--rft-batch", "-n", "2")
    result.stderr.fnmatch_lines(["*--rft-batch needs one process: run it without -n (xdist)*"])
    assert openai_server.batch_creates == 0


def test_batch_state_file(tmp_path) -> None:
    from pytest_rft.batch.api import BatchState

    state = BatchState(tmp_path / ".rft-batches.json")
    assert state.get("k") is None
    state.put("k", {"batch_id": "b1"})
    state.put("j", {"batch_id": "b2"})
    assert state.get("k") == {"batch_id": "b1"} and state.get("j") == {"batch_id": "b2"}
    state.put("k", None)
    assert state.get("k") is None and list(tmp_path.iterdir()) == [state.path]
    state.path.write_text("not json")
    assert state.get("j") is None  # a broken state file: submit again rather than crash


# -- the Batch API over HTTP --------------------------------------------------------------
@pytest.mark.parametrize("api", ["chat", "responses"])
def test_batch_api_scores_like_a_direct_run(project, openai_server, tmp_path, api):  # noqa: F811
    pytester = project(n_items=5, repeats=2)
    direct, batched = tmp_path / "direct.json", tmp_path / "batched.json"
    assert run(pytester, openai_server, "--rft-model=m", f"--rft-api={api}",
               f"--rft-report={direct}").ret == 0
    sent = sorted(json.dumps(b, sort_keys=True) for b in openai_server.bodies())
    openai_server.reset()
    result = run(pytester, openai_server, "--rft-model=m", "--rft-batch", "--rft-batch-poll=0",
                 f"--rft-api={api}", f"--rft-report={batched}")
    assert result.ret == 0, result.stdout.str()
    assert openai_server.log == []  # no live call: only the batch routes
    assert openai_server.batch_creates == 1
    (uploaded,) = openai_server.files.values()
    lines = [json.loads(x) for x in uploaded.decode().splitlines()]
    assert sorted(json.dumps(x["body"], sort_keys=True) for x in lines) == sent
    assert _scores(batched) == _scores(direct)
    result.stdout.fnmatch_lines(["*rft: batch batch_1 (m, 10 request(s)): validating, 0/10 done*",
                                 "*rft: batch batch_1 (m, 10 request(s)): completed, 10/10 done*",
                                 "*submitted batch batch_1*",
                                 "*10 sample(s) of m graded from the Batch API output*"])
    state = json.loads((pytester.path / ".rft-batches.json").read_text())
    assert [e["batch_id"] for e in state.values()] == ["batch_1"]
    # the same requests again: the finished batch is read again, nothing is submitted or paid
    again = run(pytester, openai_server, "--rft-model=m", "--rft-batch", "--rft-batch-poll=0",
                f"--rft-api={api}")
    assert again.ret == 0 and openai_server.batch_creates == 1
    again.stdout.fnmatch_lines(["*resumed batch batch_1*"])


def test_interrupted_batch_is_resumed_not_submitted_twice(project, openai_server, tmp_path):  # noqa: F811
    import os
    import signal
    import subprocess
    import sys
    import time

    pytester = project(n_items=3, repeats=2)
    openai_server.batch_polls_to_finish = 10 ** 6  # stays in_progress until the test says so
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rft-model=m",
            f"--rft-base-url={openai_server.base_url}", "--rft-batch", "--rft-batch-poll=0.05"]
    proc = subprocess.Popen(args, cwd=pytester.path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=dict(os.environ),
                            **INTERRUPTIBLE)
    state = pytester.path / ".rft-batches.json"
    deadline = time.monotonic() + 60
    while not (state.exists() and len(openai_server.get_log) >= 3):  # wait for the first polls
        if time.monotonic() > deadline or proc.poll() is not None:
            pytest.fail(f"the batch was never polled: {proc.stdout.read()}")
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)  # Ctrl-C while polling
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode != 0, out
    assert openai_server.batch_creates == 1
    openai_server.batch_polls_to_finish = 0  # the batch completes meanwhile
    report = tmp_path / "r.json"
    result = run(pytester, openai_server, "--rft-model=m", "--rft-batch", "--rft-batch-poll=0",
                 f"--rft-report={report}")
    assert result.ret == 0, result.stdout.str()
    assert openai_server.batch_creates == 1  # polled, not submitted again
    assert len(_scores(report)) == 6 and openai_server.log == []
    result.stdout.fnmatch_lines(["*: completed, 6/6 done*", "*resumed batch batch_1*"])


def test_batch_failing_partway_and_expired_batch(project, openai_server, tmp_path):  # noqa: F811
    pytester = project(n_items=4, repeats=2)
    openai_server.batch_faults = lambda n, line: {0: "500", 1: "400"}.get(n)
    report = tmp_path / "r.json"
    result = run(pytester, openai_server, "--rft-model=m", "--rft-batch", "--rft-batch-poll=0",
                 f"--rft-report={report}")
    assert result.ret == 1
    causes = sorted(v[3] for v in _scores(report).values() if v[3])
    assert causes == ["http 400 in batch", "http 500 in batch"]
    result.stdout.fnmatch_lines(["*completed, 6/8 done, 2 failed*"])
    # expired: some lines in the error file as batch_expired, others in no file at all
    (pytester.path / ".rft-batches.json").unlink()
    openai_server.batch_final = "expired"
    openai_server.batch_faults = lambda n, line: "expired" if n < 3 else "skip" if n < 5 else None
    result = run(pytester, openai_server, "--rft-model=m", "--rft-batch", "--rft-batch-poll=0",
                 f"--rft-report={report}", "-v")
    assert result.ret == 1 and openai_server.batch_creates == 2
    causes = sorted(v[3] for v in _scores(report).values() if v[3])
    assert causes == ["batch expired"] * 5
    result.stdout.fnmatch_lines(["*expired, 3/8 done, 3 failed*",
                                 "*completion window expired*",
                                 "*the batch batch_2 ended expired before answering this request*",
                                 "*errors: batch expired 5*"])


def test_batch_that_cannot_be_submitted(project, openai_server, tmp_path, monkeypatch):  # noqa: F811
    pytester = project(n_items=2, repeats=1)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-abcdefgh")
    report = tmp_path / "r.json"
    result = run(pytester, openai_server, "--rft-model=m", "--rft-batch", "--rft-batch-poll=0",
                 f"--rft-report={report}")
    assert result.ret == 1 and openai_server.batch_creates == 0
    assert {v[3] for v in _scores(report).values()} == {"batch not submitted"}
    result.stdout.fnmatch_lines(["*batch of m not run: POST /files: Error code: 401*"])
    assert "sk-wrong-key-abcdefgh" not in result.stdout.str()
    assert not (pytester.path / ".rft-batches.json").exists()


def test_one_batch_per_model(project, openai_server, tmp_path):  # noqa: F811
    pytester = project(n_items=3, repeats=1)
    report = tmp_path / "r.json"
    result = run(pytester, openai_server, "--rft-model=m", "--rft-model=ft:n:org|x", "--rft-batch",
                 "--rft-batch-poll=0", f"--rft-report={report}")
    assert result.ret == 0, result.stdout.str()
    assert openai_server.batch_creates == 2
    models = [{json.loads(x)["body"]["model"] for x in f.decode().splitlines()}
              for f in openai_server.files.values() if f.startswith(b'{"custom_id"')]
    assert sorted(map(sorted, models)) == [["ft:n:org|x"], ["m"]]
    assert {k[1] for k in _scores(report)} == {"m", "ft:n:org|x"}


def test_unreadable_batch_output_is_one_clear_error(project, openai_server, tmp_path):  # noqa: F811
    pytester = project(n_items=1, repeats=1)
    (pytester.path / "bad.jsonl").write_text('{"custom_id": "x"}\nnot json\n')
    result = run(pytester, openai_server, "--rft-model=m", "--rft-batch-import=bad.jsonl")
    result.stderr.fnmatch_lines(["ERROR: --rft-batch-import: bad.jsonl:2: line 2 is not JSON*",
                                 "*fix: pass the output JSONL of a batch*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_export_warns_about_requests_it_cannot_build(project, openai_server, tmp_path):  # noqa: F811
    pytester = project(n_items=2, repeats=2)
    with open(pytester.path / "data.jsonl", "a") as f:
        f.write('\n{"id": "broken", "expected": "1"}\n')  # no question: the prompt can't be filled
    exported = tmp_path / "in.jsonl"
    result = run(pytester, openai_server, "--rft-model=m", f"--rft-batch-export={exported}")
    assert result.ret == 0
    assert len(exported.read_text().splitlines()) == 4
    result.stdout.fnmatch_lines(["*WARNING: request(s) not exported (they can't be built): "
                                 "template 2*"])


def test_failed_batch_is_an_error_then_submitted_again(project, openai_server, tmp_path):  # noqa: F811
    pytester = project(n_items=2, repeats=1)
    openai_server.batch_final = "failed"
    openai_server.batch_faults = lambda n, line: "skip"  # validation failed: nothing ran
    report = tmp_path / "r.json"
    result = run(pytester, openai_server, "--rft-model=m", "--rft-batch", "--rft-batch-poll=0",
                 f"--rft-report={report}", "-v")
    assert result.ret == 1
    assert {v[3] for v in _scores(report).values()} == {"batch failed"}
    result.stdout.fnmatch_lines(["*ended failed before answering this request: the input file "
                                 "failed validation*"])
    openai_server.batch_final, openai_server.batch_faults = "completed", None
    result = run(pytester, openai_server, "--rft-model=m", "--rft-batch", "--rft-batch-poll=0")
    assert result.ret == 0, result.stdout.str()
    assert openai_server.batch_creates == 2
    result.stdout.fnmatch_lines(["*batch batch_1 had failed (the input file failed validation): "
                                 "submitted again*"])


def test_failed_polls_are_tried_again_then_resumed(project, openai_server, tmp_path, monkeypatch):  # noqa: F811
    # the module the run will use: a dotted-name setattr resolves pytest_rft.batch.api through
    # the package attribute, which still names the copy an earlier in-process pytester run
    # imported and dropped (under xdist, when no test imported it outside pytester first)
    import importlib

    monkeypatch.setattr(importlib.import_module("pytest_rft.batch.api"), "POLL_ATTEMPTS", 2)
    pytester = project(n_items=2, repeats=1)
    openai_server.batch_get_failures = 1  # one 503: tried again, the run completes
    assert run(pytester, openai_server, "--rft-model=m", "--rft-batch", "--rft-batch-poll=0").ret == 0
    (pytester.path / ".rft-batches.json").unlink()
    openai_server.batch_get_failures = 2  # out of tries: errors, and a rerun resumes
    report = tmp_path / "r.json"
    result = run(pytester, openai_server, "--rft-model=m", "--rft-batch", "--rft-batch-poll=0",
                 f"--rft-report={report}", "-v")  # -v: notes unwrapped
    assert result.ret == 1
    assert {v[3] for v in _scores(report).values()} == {"batch unavailable"}
    result.stdout.fnmatch_lines(["*batch batch_2 of m could not be read: GET /batches/batch_2: "
                                 "Error code: 503*rerun the same command to resume it*"])
    assert run(pytester, openai_server, "--rft-model=m", "--rft-batch",
               "--rft-batch-poll=0").ret == 0
    assert openai_server.batch_creates == 2


def test_a_base_url_with_credentials_reaches_the_batch_api_without_them(project, openai_server,
                                                                       tmp_path):  # noqa: F811
    """``--rft-base-url http://user:pass@host`` with --rft-batch: aiohttp refuses credentials
    in a URL beside the bearer header (it was an INTERNALERROR); the key is the credential,
    the password is never sent nor shown."""
    pytester = project(n_items=3, repeats=1)
    url = openai_server.base_url.replace("http://", "http://someone:Url-Pa55word-xyz@")
    result = pytester.runpytest("-p", "no:cacheprovider", f"--rft-base-url={url}",
                                "--rft-model=m", "--rft-batch", "--rft-batch-poll=0")
    text = result.stdout.str() + result.stderr.str()
    assert result.ret == 0, text[-3000:]
    assert "INTERNALERROR" not in text and "Url-Pa55word-xyz" not in text
    assert openai_server.batch_creates == 1
