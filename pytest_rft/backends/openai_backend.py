"""OpenAI backend: one attempt per call through ``openai.AsyncOpenAI``, failures classified.

Retries, backoff and concurrency belong to the runner; the SDK's own retries are disabled
(``max_retries=0``). Every failure is raised as :class:`TransientError` (worth retrying) or
:class:`CallError` (final), with messages scrubbed of the API key.
"""

from __future__ import annotations

import asyncio
import email.utils
import importlib
import json
import math
import os
import re
import time
from typing import Any, Literal, Mapping

import openai
import pydantic
from openai.types.chat import ChatCompletion
from openai.types.responses import Response

from ..records import Completion, Request, Usage
from .base import CallError, TransientError

KNOWN_SAMPLING_KEYS: frozenset[str] = frozenset(
    {"temperature", "top_p", "seed", "max_output_tokens", "reasoning_effort"}
)
"""Sampling keys the backend understands; the suite loader should reject any other key."""

TRANSIENT_STATUS: frozenset[int] = frozenset({408, 409})
"""Non-5xx statuses worth retrying (429 is handled separately as throttling)."""

_SK_RE = re.compile(r"sk-[A-Za-z0-9_\-*.]{6,}")
_BEARER_RE = re.compile(r"(?i)bearer\s+[^\s\"',]+")
_MAX_MESSAGE = 300


def _httpx_module() -> Any:
    """The httpx flavour the installed SDK is built on (``httpx2`` for openai 3.x)."""
    for cls in openai.DefaultAsyncHttpxClient.__mro__:
        if cls.__name__ == "AsyncClient" and not cls.__module__.startswith("openai"):
            return importlib.import_module(cls.__module__.split(".")[0])
    for name in ("httpx2", "httpx"):  # pragma: no cover - fallback only
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError("neither httpx2 nor httpx is importable")  # pragma: no cover


def scrub(text: str, api_key: str | None) -> str:
    """Remove the API key (and anything that looks like a key or bearer token) from ``text``."""
    if api_key:
        text = text.replace(api_key, "sk-***")
    text = _BEARER_RE.sub("Bearer ***", text)
    return _SK_RE.sub("sk-***", text)


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    if headers is None:
        return None
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            delay = float(value)
        except ValueError:
            continue
        if math.isfinite(delay) and delay >= 0:
            return delay / divisor
    value = headers.get("retry-after")
    if value:
        try:
            parsed = email.utils.parsedate_tz(value)
            if parsed is not None:
                return max(0.0, float(email.utils.mktime_tz(parsed) - time.time()))
        except (TypeError, ValueError, OverflowError):
            return None
    return None


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """``getattr`` that also reads dicts (the SDK keeps unparseable sub-objects raw)."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _dump(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return dict(obj)
    if isinstance(obj, pydantic.BaseModel):
        return obj.model_dump(mode="json", exclude_unset=True)
    raise TypeError(f"unexpected {type(obj).__name__}")


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and its ``__cause__`` / ``__context__`` chain."""
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in chain and len(chain) < 10:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    return chain


def _aiohttp_connection_error(exc: BaseException) -> bool:
    """True when an aiohttp connection failure (reset, refused) was mapped to a timeout.

    The SDK's vendored aiohttp transport maps every ``ClientConnectionError`` to
    ``ConnectTimeout``; only genuine timeouts should be labelled ``timeout``.
    """
    try:
        import aiohttp
    except ImportError:  # pragma: no cover
        return False
    timeouts = (aiohttp.ServerTimeoutError, TimeoutError, asyncio.TimeoutError)
    return any(isinstance(c, aiohttp.ClientConnectionError) and not isinstance(c, timeouts)
               for c in _causes(exc))


class _Malformed(Exception):
    """Internal: the response body parsed but does not have the expected shape."""


class OpenAIBackend:
    """Backend for the OpenAI Chat Completions and Responses APIs (and compatible servers)."""

    name = "openai"

    def __init__(self, model: str, *, api_key: str | None = None, base_url: str | None = None,
                 timeout: float = 60, max_connections: int = 100,
                 transport: Literal["httpx", "aiohttp"] = "httpx"):
        """``transport="aiohttp"`` uses the SDK's ``DefaultAioHttpClient`` (about 40% less CPU
        per call than the default httpx2 pool); failures are classified the same way."""
        if transport not in ("httpx", "aiohttp"):
            raise ValueError(f"transport must be 'httpx' or 'aiohttp', not {transport!r}")
        self.model = model
        self.transport = transport
        self._api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.base_url = base_url
        self.timeout = float(timeout)
        self.max_connections = int(max_connections)
        self._client: openai.AsyncOpenAI | None = None

    def __repr__(self) -> str:
        return f"OpenAIBackend(model={self.model!r}, base_url={self.base_url!r})"

    # -- client ---------------------------------------------------------------------------
    def _get_client(self) -> openai.AsyncOpenAI:
        if self._client is None:
            if not self._api_key:
                raise CallError("no api key",
                                "set OPENAI_API_KEY (or pass api_key=) to call OpenAI")
            httpx = _httpx_module()
            n = self.max_connections
            factory = (openai.DefaultAioHttpClient if self.transport == "aiohttp"
                       else openai.DefaultAsyncHttpxClient)
            http_client = factory(
                limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
                timeout=self.timeout,
            )
            self._client = openai.AsyncOpenAI(
                api_key=self._api_key, base_url=self.base_url, max_retries=0,
                timeout=self.timeout, http_client=http_client,
            )
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP connection pool (safe to call twice or before any call)."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    # -- request building -----------------------------------------------------------------
    def _check_sampling(self, sampling: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(sampling) - KNOWN_SAMPLING_KEYS)
        if unknown:
            raise CallError("bad sampling", f"unknown sampling keys: {', '.join(unknown)}")
        return {k: v for k, v in sampling.items() if v is not None}

    def chat_params(self, request: Request) -> dict[str, Any]:
        """Keyword arguments of ``chat.completions.create`` for ``request``."""
        s = self._check_sampling(request.sampling)
        params: dict[str, Any] = {"model": request.model or self.model,
                                  "messages": request.messages}
        for key in ("temperature", "top_p", "seed", "reasoning_effort"):
            if key in s:
                params[key] = s[key]
        if "max_output_tokens" in s:
            params["max_completion_tokens"] = s["max_output_tokens"]
        if request.response_schema is not None:
            params["response_format"] = {"type": "json_schema",
                                         "json_schema": request.response_schema}
        return params

    def responses_params(self, request: Request) -> dict[str, Any]:
        """Keyword arguments of ``responses.create`` for ``request`` (``seed`` is dropped)."""
        s = self._check_sampling(request.sampling)
        params: dict[str, Any] = {"model": request.model or self.model, "input": request.messages}
        for key in ("temperature", "top_p", "max_output_tokens"):
            if key in s:
                params[key] = s[key]
        if "reasoning_effort" in s:
            params["reasoning"] = {"effort": s["reasoning_effort"]}
        schema = request.response_schema
        if schema is not None:
            fmt: dict[str, Any] = {"type": "json_schema", "name": schema.get("name", "output"),
                                   "schema": schema.get("schema", {}),
                                   "strict": schema.get("strict", True)}
            if schema.get("description"):
                fmt["description"] = schema["description"]
            params["text"] = {"format": fmt}
        return params

    # -- the call -------------------------------------------------------------------------
    async def complete(self, request: Request) -> Completion:
        """Make exactly one attempt; raise TransientError / CallError on failure."""
        if request.api not in ("chat", "responses"):
            raise CallError("bad api", f"unknown api {request.api!r} (chat or responses)")
        client = self._get_client()
        error: CallError | None = None
        resp: Any = None
        try:
            if request.api == "chat":
                resp = await client.chat.completions.create(**self.chat_params(request))
            else:
                resp = await client.responses.create(**self.responses_params(request))
        except CallError:
            raise
        except Exception as exc:  # classified below; unknown errors propagate unchanged
            error = self._classify(exc)
            if error is None:
                raise
        if error is None:
            try:
                if request.api == "chat":
                    if not isinstance(resp, ChatCompletion):
                        raise _Malformed(f"unexpected {type(resp).__name__} body")
                    return self._from_chat(resp)
                if not isinstance(resp, Response):
                    raise _Malformed(f"unexpected {type(resp).__name__} body")
                return self._from_responses(resp)
            except _Malformed as exc:
                error = TransientError("malformed response", f"malformed response: {exc}")
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                error = TransientError("malformed response",
                                       f"malformed response: {type(exc).__name__}")
        # Raised outside the except block: no __context__ holding the SDK request/headers.
        raise error

    def _classify(self, exc: BaseException) -> CallError | None:
        """Map an SDK / parsing exception to TransientError or CallError (None: unknown)."""
        if isinstance(exc, openai.APIStatusError):
            code = exc.status_code
            retry_after = parse_retry_after(exc.response.headers)
            msg = self._msg(exc)
            if code == 429:
                return TransientError("http 429", msg, retry_after=retry_after, throttled=True)
            if code in TRANSIENT_STATUS or (code >= 500 and code not in (501, 505)):
                return TransientError(f"http {code}", msg, retry_after=retry_after)
            return CallError(f"http {code}", msg)
        if isinstance(exc, openai.APITimeoutError) and not _aiohttp_connection_error(exc):
            return TransientError("timeout", f"no response within {self.timeout:g} s")
        if isinstance(exc, openai.APIConnectionError):
            chain = _causes(exc)
            detail = f": {type(chain[-1]).__name__}" if len(chain) > 1 else ""
            where = self.base_url or "https://api.openai.com/v1"
            return TransientError("connection", f"connection error{detail} (to {where})")
        if isinstance(exc, (openai.APIResponseValidationError, json.JSONDecodeError,
                            pydantic.ValidationError, UnicodeDecodeError)):
            return TransientError("malformed response",
                                  f"malformed response: {type(exc).__name__}")
        if isinstance(exc, openai.OpenAIError):
            return CallError("openai error", self._msg(exc))
        return None

    def _msg(self, exc: BaseException) -> str:
        text = scrub(str(exc), self._api_key)
        return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "..."

    # -- response mapping -----------------------------------------------------------------
    def _from_chat(self, resp: Any) -> Completion:
        choices = resp.choices
        if not isinstance(choices, list):
            raise _Malformed("no choices list")
        usage = None
        if resp.usage is not None:
            u = resp.usage
            usage = Usage(
                input_tokens=_int(_get(u, "prompt_tokens")),
                output_tokens=_int(_get(u, "completion_tokens")),
                reasoning_tokens=_int(_get(_get(u, "completion_tokens_details"),
                                           "reasoning_tokens")),
                cached_tokens=_int(_get(_get(u, "prompt_tokens_details"), "cached_tokens")),
            )
        dumped = [_dump(c) for c in choices]
        if not choices:
            return Completion(usage=usage, choices=[], empty=True)
        choice = choices[0]
        message = _get(choice, "message")
        if message is None:
            raise _Malformed("choice without message")
        tool_calls = [_dump(tc) for tc in (_get(message, "tool_calls") or [])]
        content = _get(message, "content")
        return Completion(
            output_text=content if isinstance(content, str) else "",
            tool_calls=tool_calls,
            finish_reason=_get(choice, "finish_reason"),
            refusal=_get(message, "refusal"),
            usage=usage,
            choices=dumped,
        )

    def _from_responses(self, resp: Any) -> Completion:
        status = resp.status
        if status == "failed":
            err = resp.error
            code = _get(err, "code")
            msg = scrub(str(_get(err, "message") or "response failed"), self._api_key)
            if code in ("server_error", "rate_limit_exceeded"):
                raise TransientError("response failed", msg)
            raise CallError("response failed", msg)
        output = resp.output
        if not isinstance(output, list):
            raise _Malformed("no output list")
        usage = None
        if resp.usage is not None:
            u = resp.usage
            usage = Usage(
                input_tokens=_int(_get(u, "input_tokens")),
                output_tokens=_int(_get(u, "output_tokens")),
                reasoning_tokens=_int(_get(_get(u, "output_tokens_details"), "reasoning_tokens")),
                cached_tokens=_int(_get(_get(u, "input_tokens_details"), "cached_tokens")),
            )
        texts: list[str] = []
        refusals: list[str] = []
        tool_calls: list[dict[str, Any]] = []
        for item in output:
            kind = _get(item, "type")
            if kind == "message":
                for part in _get(item, "content") or []:
                    ptype = _get(part, "type")
                    if ptype == "output_text" and isinstance(_get(part, "text"), str):
                        texts.append(_get(part, "text"))
                    elif ptype == "refusal" and isinstance(_get(part, "refusal"), str):
                        refusals.append(_get(part, "refusal"))
            elif kind == "function_call":
                tool_calls.append({
                    "id": _get(item, "call_id") or _get(item, "id"),
                    "type": "function",
                    "function": {"name": _get(item, "name"), "arguments": _get(item, "arguments")},
                })
        reason = _get(resp.incomplete_details, "reason")
        finish: str | None
        if not output:
            finish = None
        elif status == "incomplete":
            finish = "length" if reason == "max_output_tokens" else (reason or "incomplete")
        elif tool_calls:
            finish = "tool_calls"
        else:
            finish = "stop"
        return Completion(
            output_text="".join(texts),
            tool_calls=tool_calls,
            finish_reason=finish,
            refusal="".join(refusals) or None,
            usage=usage,
            choices=None,
            empty=not output,
        )
