"""The direct transport is a drop-in for the openai SDK: same request bodies, same completions,
same error classification, a total deadline, and no ``openai`` import on its path."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_rft.backends.base import CallError, TransientError
from pytest_rft.core.records import Request
from tests.support.openai_server import OpenAIServer
from tests.backends.test_openai_backend import FT_MODEL, SCHEMA, call, call_error, make_request

SDK = ["httpx", "aiohttp"]
FULL = {"temperature": 0.2, "top_p": 0.9, "seed": 11, "max_output_tokens": 64,
        "reasoning_effort": "low"}
DESCRIBED = {**SCHEMA, "description": "one answer"}
ROOT = Path(__file__).resolve().parents[2]

CASES = {
    "chat-free": dict(api="chat"),
    "chat-schema-all-sampling": dict(api="chat", schema=SCHEMA, sampling=FULL),
    "chat-described-schema": dict(api="chat", schema=DESCRIBED, sampling={"seed": 3}),
    "chat-some-sampling": dict(api="chat", sampling={"temperature": 0.0, "max_output_tokens": 5}),
    "responses-free": dict(api="responses"),
    "responses-schema-all-sampling": dict(api="responses", schema=SCHEMA, sampling=FULL),
    "responses-described-schema": dict(api="responses", schema=DESCRIBED,
                                       sampling={"reasoning_effort": "high"}),
    "responses-non-strict": dict(api="responses", schema={"name": "x", "schema": {},
                                                          "strict": False}),
}


def unicode_request(api: str) -> Request:
    return Request(model=FT_MODEL, messages=[{"role": "developer", "content": "Réponds «oui»"},
                                             {"role": "user", "content": "q1 — 日本語 \u2028"}],
                   response_schema=None, sampling={"temperature": 1}, item={}, item_id="q1",
                   repeat=0, api=api)


@pytest.mark.parametrize("case", CASES)
def test_request_bodies_match_the_sdk(openai_server: OpenAIServer, case: str) -> None:
    request = make_request(**CASES[case])
    for transport in ["direct", *SDK]:
        call(openai_server, request, transport=transport)
    direct, *sdk = openai_server.requests
    for other in sdk:
        assert other.path == direct.path
        assert other.body == direct.body
        assert other.headers["authorization"] == direct.headers["authorization"]
        assert other.headers["content-type"] == direct.headers["content-type"]


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_unicode_bodies_match_the_sdk(openai_server: OpenAIServer, api: str) -> None:
    for transport in ["direct", "httpx"]:
        call(openai_server, unicode_request(api), transport=transport)
    direct, sdk = openai_server.bodies()
    assert direct == sdk


def test_organization_and_project_headers(openai_server: OpenAIServer,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_ORG_ID", "org-abc")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_xyz")
    for transport in ["direct", "httpx"]:
        call(openai_server, make_request(), transport=transport)
    direct, sdk = openai_server.requests
    for header in ("openai-organization", "openai-project"):
        assert direct.headers[header] == sdk.headers[header]


OUTCOMES = ["ok", "truncate", "refusal", "empty", "tools"]


@pytest.mark.parametrize("api", ["chat", "responses"])
@pytest.mark.parametrize("outcome", OUTCOMES)
def test_completions_match_the_sdk(openai_server: OpenAIServer, api: str, outcome: str) -> None:
    tc = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    openai_server.policy = (lambda body: {"text": "", "tool_calls": [tc]}) if outcome == "tools" \
        else (lambda body: '{"answer": "forty-two"}')
    openai_server.reasoning_tokens, openai_server.cached_tokens = 5, 2
    openai_server.plan.faults_for = lambda body, attempt: "ok" if outcome == "tools" else outcome
    results = {t: call(openai_server, make_request(api=api), transport=t)
               for t in ["direct", *SDK]}
    for transport in SDK:
        assert results[transport] == results["direct"], transport


ERRORS = ["429", "429-ms", "429-date", "500", "502", "503", "408", "409", "400", "401", "403",
          "404", "422", "hang", "reset", "malformed", "html", "shape", "refused"]


def _error_signature(err: CallError) -> tuple[Any, ...]:
    """Kind, cause, throttling, and Retry-After to within 2 s (an HTTP-date header counts down
    between two transports' calls)."""
    return (type(err).__name__, err.cause, _retry(err) is None, getattr(err, "throttled", False))


def _retry(err: CallError) -> float | None:
    return err.retry_after if isinstance(err, TransientError) else None


@pytest.mark.parametrize("api", ["chat", "responses"])
@pytest.mark.parametrize("kind", ERRORS)
def test_errors_are_classified_like_the_sdk(openai_server: OpenAIServer, api: str, kind: str
                                            ) -> None:
    plan = openai_server.plan
    if kind == "429-ms":
        plan.retry_after, plan.retry_after_ms = None, "2500"
    elif kind == "429-date":
        import email.utils
        plan.retry_after = email.utils.formatdate(time.time() + 60, usegmt=True)
    else:
        plan.retry_after = "7"
    outcome = kind.split("-")[0]
    plan.faults_for = lambda body, attempt: outcome
    openai_server.hang_s = 3
    server = openai_server
    if kind == "refused":
        server = OpenAIServer().start()
        server.stop()
    errors = {}
    for transport in ["direct", *SDK]:
        api_key = "sk-wrong-key-0123456789abc" if kind == "401" else None
        errors[transport] = call_error(server, make_request(api=api), transport=transport,
                                       timeout=0.3, api_key=api_key)
    expected = _error_signature(errors["direct"])
    for transport in SDK:
        assert _error_signature(errors[transport]) == expected, transport
        if _retry(errors["direct"]) is not None:
            assert abs(_retry(errors[transport]) - _retry(errors["direct"])) <= 2, transport
    if outcome.isdigit():  # the same message the SDK gives, scrubbed the same way
        assert errors["direct"].message == errors["httpx"].message
    for err in errors.values():
        assert "wrong-key" not in err.message and err.__context__ is None


def test_timeout_is_a_deadline_for_the_whole_call(openai_server: OpenAIServer) -> None:
    """A body that trickles in for 3 s, a piece every 75 ms: no single read is slow, so a
    per-read timeout would let it finish as a good answer; only a deadline over the whole call
    turns it into a timeout."""
    openai_server.hang_s = 3.0
    openai_server.plan.script["q1"] = ["drip"]
    err = call_error(openai_server, make_request(), transport="direct", timeout=0.5)
    assert isinstance(err, TransientError) and err.cause == "timeout"
    openai_server.hang_s = 0.4  # the same drip within the deadline is an answer
    openai_server.plan.script["q2"] = ["drip"]
    assert call(openai_server, make_request("q2"), transport="direct",
                timeout=3).output_text == '{"ok": true}'


SUITE = """
suite: tiny
dataset: data.jsonl
input:
  - {role: user, content: "{{ item.q }}"}
graders:
  ok: {type: string_check, input: "{{ sample.output_text }}", reference: "ok", operation: like}
"""

PROBE = """
import sys, pytest
class Probe:
    def pytest_sessionfinish(self, session):
        self.seen = sorted(m for m in sys.modules if m == "openai" or m.startswith("openai."))
probe = Probe()
code = pytest.main(sys.argv[1:], plugins=[probe])
print("OPENAI_MODULES", len(probe.seen), "EXIT", int(code))
"""


@pytest.mark.parametrize("client,imported", [("direct", False), ("sdk", True)])
def test_the_direct_path_never_imports_openai(openai_server: OpenAIServer, tmp_path: Path,
                                              client: str, imported: bool) -> None:
    (tmp_path / "rft_tiny.yaml").write_text(SUITE)
    (tmp_path / "data.jsonl").write_text('{"q": "a"}\n{"q": "b"}\n')
    env = {**os.environ, "OPENAI_API_KEY": openai_server.api_key or ""}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(PROBE), str(tmp_path), "-p", "no:cacheprovider",
         f"--rootdir={tmp_path}", "--rft-model=m", f"--rft-base-url={openai_server.base_url}",
         f"--rft-http-client={client}", "-q"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    line = next(line for line in out.stdout.splitlines() if line.startswith("OPENAI_MODULES"))
    assert line.endswith("EXIT 0"), out.stdout + out.stderr
    assert (line.split()[1] != "0") is imported, line
    assert len(openai_server.bodies()) == 2
