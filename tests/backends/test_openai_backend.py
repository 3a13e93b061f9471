"""The OpenAI backends against the local OpenAI-compatible server, over real HTTP on 127.0.0.1.

Every behaviour is checked on each transport: the direct one (``DirectBackend``, the default)
and the openai SDK over httpx and over aiohttp (``OpenAIBackend``)."""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
import traceback
from typing import Any

import pytest

from pytest_rft.backends.base import CallError, TransientError
from pytest_rft.backends.direct import DirectBackend
from pytest_rft.backends.openai_backend import KNOWN_SAMPLING_KEYS, OpenAIBackend, scrub
from pytest_rft.core.records import Completion, Request

try:
    from tests.support.openai_server import FaultPlan, OpenAIServer, openai_server  # noqa: F401
except ImportError:  # tests/ itself on sys.path (pytest rootdir-less import)
    from openai_server import FaultPlan, OpenAIServer, openai_server  # type: ignore # noqa: F401

FT_MODEL = "ft:o4-mini-2025-04-16:org:name:id:ckpt-step-90"
SCHEMA = {"name": "answer", "strict": True,
          "schema": {"type": "object", "properties": {"answer": {"type": "string"}},
                     "required": ["answer"], "additionalProperties": False}}


def make_request(marker: str = "q1", *, api: str = "chat", schema: dict[str, Any] | None = None,
                 sampling: dict[str, Any] | None = None, model: str = FT_MODEL) -> Request:
    return Request(model=model,
                   messages=[{"role": "system", "content": "Answer in JSON."},
                             {"role": "user", "content": marker}],
                   response_schema=schema, sampling=sampling or {}, item={}, item_id=marker,
                   repeat=0, api=api)


def make_backend(transport: str, **kw: Any) -> DirectBackend | OpenAIBackend:
    """``transport`` is ``direct`` (DirectBackend) or the SDK's client (``httpx``, ``aiohttp``)."""
    if transport == "direct":
        return DirectBackend(FT_MODEL, **kw)
    return OpenAIBackend(FT_MODEL, transport=transport, **kw)  # type: ignore[arg-type]


def backend_for(server: OpenAIServer, *, timeout: float = 5, api_key: str | None = None,
                max_connections: int = 100, transport: str = "httpx"
                ) -> DirectBackend | OpenAIBackend:
    return make_backend(transport, api_key=api_key or server.api_key, base_url=server.base_url,
                        timeout=timeout, max_connections=max_connections)


def call(server: OpenAIServer, request: Request, **kw: Any) -> Completion:
    """One complete() on a fresh backend, closed afterwards."""
    async def go() -> Completion:
        backend = backend_for(server, **kw)
        try:
            return await backend.complete(request)
        finally:
            await backend.aclose()
    return asyncio.run(go())


def call_error(server: OpenAIServer, request: Request, **kw: Any) -> CallError:
    with pytest.raises(CallError) as info:
        call(server, request, **kw)
    return info.value


APIS = pytest.mark.parametrize("api", ["chat", "responses"])
TRANSPORTS = pytest.mark.parametrize("transport", ["direct", "httpx", "aiohttp"])


# -- shapes -----------------------------------------------------------------------------------
@APIS
@TRANSPORTS
def test_output_text_and_usage(openai_server: OpenAIServer, api: str, transport: str) -> None:
    openai_server.policy = lambda body: '{"answer": "4"}'
    openai_server.reasoning_tokens, openai_server.cached_tokens = 7, 3
    c = call(openai_server, make_request(api=api), transport=transport)
    assert c.output_text == '{"answer": "4"}'
    assert c.finish_reason == "stop"
    assert c.refusal is None and not c.empty and c.tool_calls == []
    assert c.usage is not None
    assert c.usage.reasoning_tokens == 7 and c.usage.cached_tokens == 3
    assert c.usage.input_tokens > 0 and c.usage.output_tokens >= 7
    if api == "chat":
        assert c.choices is not None and c.choices[0]["message"]["content"] == c.output_text
        assert isinstance(c.choices[0], dict)
    else:
        assert c.choices is None


@APIS
@TRANSPORTS
def test_truncated_is_length(openai_server: OpenAIServer, api: str, transport: str) -> None:
    openai_server.policy = lambda body: "0123456789"
    openai_server.plan.script["q1"] = ["truncate"]
    c = call(openai_server, make_request(api=api), transport=transport)
    assert c.finish_reason == "length"
    assert c.output_text == "01234"


@APIS
@TRANSPORTS
def test_refusal(openai_server: OpenAIServer, api: str, transport: str) -> None:
    openai_server.plan.script["q1"] = ["refusal"]
    c = call(openai_server, make_request(api=api), transport=transport)
    assert c.refusal == "I can't help with that"
    assert c.output_text == ""
    assert not c.empty


@APIS
@TRANSPORTS
def test_empty(openai_server: OpenAIServer, api: str, transport: str) -> None:
    openai_server.plan.script["q1"] = ["empty"]
    c = call(openai_server, make_request(api=api), transport=transport)
    assert c.empty and c.output_text == "" and c.finish_reason is None
    if api == "chat":
        assert c.choices == []


@APIS
@TRANSPORTS
def test_tool_calls_are_plain_dicts(openai_server: OpenAIServer, api: str, transport: str) -> None:
    tc = {"id": "call_1", "type": "function",
          "function": {"name": "lookup", "arguments": '{"q": "x"}'}}
    openai_server.policy = lambda body: {"text": "", "tool_calls": [tc]}
    c = call(openai_server, make_request(api=api), transport=transport)
    assert c.finish_reason == "tool_calls"
    assert c.tool_calls == [tc]
    assert json.loads(json.dumps(c.tool_calls)) == c.tool_calls


# -- what is sent -----------------------------------------------------------------------------
@TRANSPORTS
def test_chat_params_sent(openai_server: OpenAIServer, transport: str) -> None:
    sampling = {"temperature": 0.2, "top_p": 0.9, "seed": 11, "max_output_tokens": 64,
                "reasoning_effort": "low"}
    call(openai_server, make_request(schema=SCHEMA, sampling=sampling), transport=transport)
    (body,) = openai_server.bodies("/v1/chat/completions")
    assert body["model"] == FT_MODEL
    assert body["messages"][-1] == {"role": "user", "content": "q1"}
    assert body["response_format"] == {"type": "json_schema", "json_schema": SCHEMA}
    assert body["temperature"] == 0.2 and body["top_p"] == 0.9 and body["seed"] == 11
    assert body["max_completion_tokens"] == 64 and "max_output_tokens" not in body
    assert "max_tokens" not in body
    assert body["reasoning_effort"] == "low"


@TRANSPORTS
def test_responses_params_sent(openai_server: OpenAIServer, transport: str) -> None:
    sampling = {"temperature": 0.2, "top_p": 0.9, "seed": 11, "max_output_tokens": 64,
                "reasoning_effort": "high"}
    call(openai_server, make_request(api="responses", schema=SCHEMA, sampling=sampling), transport=transport)
    (body,) = openai_server.bodies("/v1/responses")
    assert body["model"] == FT_MODEL
    assert body["input"][-1] == {"role": "user", "content": "q1"}
    assert body["text"] == {"format": {"type": "json_schema", "name": "answer",
                                       "schema": SCHEMA["schema"], "strict": True}}
    assert body["temperature"] == 0.2 and body["top_p"] == 0.9
    assert body["max_output_tokens"] == 64
    assert body["reasoning"] == {"effort": "high"}
    assert "seed" not in body and "reasoning_effort" not in body


@TRANSPORTS
def test_free_text_sends_no_format(openai_server: OpenAIServer, transport: str) -> None:
    call(openai_server, make_request(), transport=transport)
    call(openai_server, make_request(api="responses"), transport=transport)
    chat, resp = openai_server.bodies()
    assert "response_format" not in chat and "text" not in resp
    assert set(chat) == {"model", "messages"}


@TRANSPORTS
def test_auth_header_and_single_attempt(openai_server: OpenAIServer, transport: str) -> None:
    openai_server.plan.script["q1"] = ["429", "429"]
    call_error(openai_server, make_request(), transport=transport)
    assert openai_server.outcomes_for("q1") == ["429"]  # SDK retries are off
    (rec,) = openai_server.requests
    assert rec.headers["authorization"] == f"Bearer {openai_server.api_key}"


@TRANSPORTS
def test_unknown_sampling_key_is_call_error(openai_server: OpenAIServer, transport: str) -> None:
    assert KNOWN_SAMPLING_KEYS == {"temperature", "top_p", "seed", "max_output_tokens",
                                   "reasoning_effort"}
    err = call_error(openai_server, make_request(sampling={"frequency_penalty": 1}), transport=transport)
    assert not isinstance(err, TransientError)
    assert "frequency_penalty" in err.message
    assert openai_server.requests == []


@TRANSPORTS
def test_missing_key_is_lazy(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch, transport: str) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    backend = make_backend(transport, api_key=None, base_url=openai_server.base_url)

    async def go() -> None:
        try:
            await backend.complete(make_request())
        finally:
            await backend.aclose()
    with pytest.raises(CallError) as info:
        asyncio.run(go())
    assert info.value.cause == "no api key" and not isinstance(info.value, TransientError)
    assert "OPENAI_API_KEY" in info.value.message


@TRANSPORTS
def test_env_key_is_used(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch, transport: str) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", openai_server.api_key or "")
    backend = make_backend(transport, api_key=None, base_url=openai_server.base_url)

    async def go() -> Completion:
        try:
            return await backend.complete(make_request())
        finally:
            await backend.aclose()
    assert asyncio.run(go()).output_text == '{"ok": true}'


# -- error classification ---------------------------------------------------------------------
@APIS
@TRANSPORTS
def test_429_retry_after_seconds(openai_server: OpenAIServer, api: str, transport: str) -> None:
    openai_server.plan.retry_after = "0.05"
    openai_server.plan.script["q1"] = ["429"]
    err = call_error(openai_server, make_request(api=api), transport=transport)
    assert isinstance(err, TransientError)
    assert err.cause == "http 429" and err.throttled and err.retry_after == pytest.approx(0.05)


@TRANSPORTS
def test_429_retry_after_ms(openai_server: OpenAIServer, transport: str) -> None:
    openai_server.plan.retry_after = None
    openai_server.plan.retry_after_ms = "250"
    openai_server.plan.script["q1"] = ["429"]
    err = call_error(openai_server, make_request(), transport=transport)
    assert isinstance(err, TransientError)
    assert err.retry_after == pytest.approx(0.25) and err.throttled


@TRANSPORTS
def test_429_retry_after_http_date(openai_server: OpenAIServer, transport: str) -> None:
    openai_server.plan.retry_after = email.utils.formatdate(time.time() + 30, usegmt=True)
    openai_server.plan.script["q1"] = ["429"]
    err = call_error(openai_server, make_request(), transport=transport)
    assert isinstance(err, TransientError) and err.retry_after is not None
    assert 25 <= err.retry_after <= 31


@TRANSPORTS
def test_429_without_hint(openai_server: OpenAIServer, transport: str) -> None:
    openai_server.plan.retry_after = None
    openai_server.plan.script["q1"] = ["429"]
    err = call_error(openai_server, make_request(), transport=transport)
    assert isinstance(err, TransientError) and err.retry_after is None


@pytest.mark.parametrize("status", ["500", "503", "502", "408", "409"])
@TRANSPORTS
def test_retryable_status(openai_server: OpenAIServer, status: str, transport: str) -> None:
    openai_server.plan.script["q1"] = [status]
    err = call_error(openai_server, make_request(), transport=transport)
    assert isinstance(err, TransientError)
    assert err.cause == f"http {status}" and not err.throttled
    if status == "503":
        assert err.retry_after == 0.0


@pytest.mark.parametrize("status", ["400", "403", "404", "422"])
@TRANSPORTS
def test_final_status(openai_server: OpenAIServer, status: str, transport: str) -> None:
    openai_server.plan.script["q1"] = [status]
    err = call_error(openai_server, make_request(), transport=transport)
    assert not isinstance(err, TransientError)
    assert err.cause == f"http {status}"


@APIS
@TRANSPORTS
def test_hang_is_timeout(openai_server: OpenAIServer, api: str, transport: str) -> None:
    openai_server.plan.script["q1"] = ["hang"]  # answers only after hang_s, past the timeout
    err = call_error(openai_server, make_request(api=api), timeout=0.3,
                     transport=transport)
    assert isinstance(err, TransientError) and err.cause == "timeout"


@APIS
@TRANSPORTS
def test_reset_is_connection(openai_server: OpenAIServer, api: str, transport: str) -> None:
    openai_server.plan.script["q1"] = ["reset"]
    err = call_error(openai_server, make_request(api=api), transport=transport)
    assert isinstance(err, TransientError) and err.cause == "connection"


@TRANSPORTS
def test_refused_connection_is_connection(transport: str) -> None:
    server = OpenAIServer().start()
    url, key = server.base_url, server.api_key
    server.stop()

    async def go() -> None:
        backend = make_backend(transport, api_key=key, base_url=url, timeout=2)
        try:
            await backend.complete(make_request())
        finally:
            await backend.aclose()
    with pytest.raises(TransientError) as info:
        asyncio.run(go())
    assert info.value.cause == "connection"
    # every transport names where it tried to connect (the direct one: the whole URL)
    assert f"(to {url}" in info.value.message, info.value.message
    if transport == "direct":
        assert info.value.message == (f"connection error: ClientConnectorError: Connection "
                                      f"refused (to {url}/chat/completions)")


@APIS
@pytest.mark.parametrize("kind", ["malformed", "html", "shape"])
@TRANSPORTS
def test_malformed_body(openai_server: OpenAIServer, api: str, kind: str, transport: str) -> None:
    openai_server.plan.script["q1"] = [kind]
    err = call_error(openai_server, make_request(api=api), transport=transport)
    assert isinstance(err, TransientError) and err.cause == "malformed response"


@APIS
@TRANSPORTS
def test_wrong_key_is_final_and_scrubbed(openai_server: OpenAIServer, api: str, transport: str
                                         ) -> None:
    secret = "sk-proj-THIS-IS-A-SECRET-abcdef123456"
    err = call_error(openai_server, make_request(api=api), api_key=secret,
                     transport=transport)
    assert not isinstance(err, TransientError)
    assert err.cause == "http 401"
    assert openai_server.counts["401"] == 1
    text = " ".join([str(err), repr(err), err.message, err.cause,
                     "".join(traceback.format_exception(err))])
    assert secret not in text and "THIS-IS-A-SECRET" not in text
    assert "sk-***" in err.message  # the server echoed the key; the backend scrubbed it
    assert err.__context__ is None and err.__cause__ is None


@pytest.mark.parametrize("kind", ["429", "500", "hang", "reset", "malformed"])
@TRANSPORTS
def test_key_never_in_transient_errors(openai_server: OpenAIServer, kind: str, transport: str) -> None:
    openai_server.plan.script["q1"] = [kind]
    err = call_error(openai_server, make_request(), timeout=0.3, transport=transport)
    key = openai_server.api_key or ""
    text = " ".join([str(err), repr(err), err.message,
                     "".join(traceback.format_exception(err))])
    assert key not in text
    assert err.__context__ is None


def test_scrub() -> None:
    key = "sk-abc-123456789"
    assert scrub(f"bad key {key} here", key) == "bad key sk-*** here"
    assert "zzz" not in scrub("Authorization: Bearer zzzzzzzz", None)
    assert "sk-other" not in scrub("leaked sk-otherkey123456", key)
    assert repr(OpenAIBackend("m", api_key=key)).count("sk-") == 0
    assert repr(DirectBackend("m", api_key=key)).count("sk-") == 0


# -- concurrency and determinism --------------------------------------------------------------
@TRANSPORTS
def test_concurrent_pool(openai_server: OpenAIServer, transport: str) -> None:
    openai_server.latency = 0.05
    n, conc = 300, 60

    async def go() -> list[Completion]:
        backend = backend_for(openai_server, max_connections=conc, transport=transport)
        sem = asyncio.Semaphore(conc)

        async def one(i: int) -> Completion:
            async with sem:
                return await backend.complete(make_request(f"item-{i}"))
        try:
            return await asyncio.gather(*(one(i) for i in range(n)))
        finally:
            await backend.aclose()
    results = asyncio.run(go())
    assert len(results) == n and all(r.output_text == '{"ok": true}' for r in results)
    assert openai_server.counts["ok"] == n
    assert openai_server.max_in_flight >= conc // 2


def test_fault_plan_is_deterministic() -> None:
    plan = FaultPlan(p429=0.2, p500=0.1, reset=0.1, truncate=0.1, seed=7)
    body: dict[str, Any] = {}
    a = [plan.outcome(body, f"m{i}", k) for i in range(200) for k in (1, 2)]
    b = [plan.outcome(body, f"m{i}", k) for i in range(200) for k in (1, 2)]
    assert a == b
    assert 50 < a.count("429") < 110 and 160 < a.count("ok") < 240  # 400 draws
    other = FaultPlan(p429=0.2, p500=0.1, reset=0.1, truncate=0.1, seed=8)
    assert [other.outcome(body, f"m{i}", k) for i in range(200) for k in (1, 2)] != a


@TRANSPORTS
def test_faults_for_hook(openai_server: OpenAIServer, transport: str) -> None:
    openai_server.plan.faults_for = lambda body, attempt: "500" if attempt == 1 else None
    with pytest.raises(TransientError):
        call(openai_server, make_request("x"), transport=transport)
    assert call(openai_server, make_request("x"),
                transport=transport).output_text == '{"ok": true}'
    assert openai_server.log == [("x", 1, "500"), ("x", 2, "ok")]
