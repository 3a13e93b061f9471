"""OpenAI backend: one attempt per call through ``openai.AsyncOpenAI``, failures classified.

Retries, backoff and concurrency belong to the runner; the SDK's own retries are disabled
(``max_retries=0``). Every failure is raised as :class:`TransientError` (worth retrying) or
:class:`CallError` (final), with messages scrubbed of the API key.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
from typing import Any, Literal

import openai
import pydantic
from openai.types.chat import ChatCompletion
from openai.types.responses import Response

from ..core.records import Completion, Request
from .base import DEFAULT_MAX_ANSWER, CallError, TransientError
from .wire import (KNOWN_SAMPLING_KEYS, TRANSIENT_STATUS, Malformed, chat_body, from_chat,
                   from_responses, parse_retry_after, responses_body, scrub, short, status_error)


__all__ = ["OpenAIBackend", "KNOWN_SAMPLING_KEYS", "TRANSIENT_STATUS", "scrub",
           "parse_retry_after"]

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


class OpenAIBackend:
    """Backend for the OpenAI Chat Completions and Responses APIs (and compatible servers)."""

    name = "openai"

    def __init__(self, model: str, *, api_key: str | None = None, base_url: str | None = None,
                 timeout: float = 60, max_connections: int = 100,
                 transport: Literal["httpx", "aiohttp"] = "httpx",
                 max_answer_bytes: int | None = DEFAULT_MAX_ANSWER):
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
        self.max_answer_bytes = max_answer_bytes
        """The SDK reads whole bodies: the runner checks the answer's size once decoded."""
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
    def chat_params(self, request: Request) -> dict[str, Any]:
        """Keyword arguments of ``chat.completions.create`` for ``request`` (= the body)."""
        return chat_body(request, self.model)

    def responses_params(self, request: Request) -> dict[str, Any]:
        """Keyword arguments of ``responses.create`` for ``request`` (``seed`` is dropped)."""
        return responses_body(request, self.model)

    def request_body(self, request: Request) -> dict[str, Any]:
        """The JSON body this backend sends for ``request`` (the cache key uses it)."""
        return self.chat_params(request) if request.api == "chat" else self.responses_params(request)

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
                        raise Malformed(f"unexpected {type(resp).__name__} body")
                    return self._from_chat(resp)
                if not isinstance(resp, Response):
                    raise Malformed(f"unexpected {type(resp).__name__} body")
                return self._from_responses(resp)
            except Malformed as exc:
                error = TransientError("malformed response", f"malformed response: {exc}")
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                error = TransientError("malformed response",
                                       f"malformed response: {type(exc).__name__}")
        # Raised outside the except block: no __context__ holding the SDK request/headers.
        raise error

    def _classify(self, exc: BaseException) -> CallError | None:
        """Map an SDK / parsing exception to TransientError or CallError (None: unknown)."""
        if isinstance(exc, openai.APIStatusError):
            return status_error(exc.status_code, self._msg(exc),
                                parse_retry_after(exc.response.headers))
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
        return short(scrub(str(exc), self._api_key))

    # -- response mapping -----------------------------------------------------------------
    def _from_chat(self, resp: Any) -> Completion:
        return from_chat(resp)

    def _from_responses(self, resp: Any) -> Completion:
        return from_responses(resp, self._api_key)
