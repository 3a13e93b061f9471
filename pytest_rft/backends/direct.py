"""The direct transport (the default): OpenAI request JSON built here (``wire.py``), sent with
aiohttp, answers read with ``json.loads``. No openai SDK on this path: it is not imported.

One attempt per call; retries, backoff and concurrency belong to the runner. Failures are
classified exactly as the SDK path (``openai_backend.py``) classifies them:

* HTTP 429 -> TransientError(throttled), 408/409/5xx -> TransientError, other >= 400 -> CallError,
  each with the server's ``retry-after-ms`` / ``Retry-After`` hint;
* no complete answer within ``timeout`` seconds -> TransientError("timeout"): the timeout is a
  deadline for the whole call (connect, send, wait, read), aiohttp ``ClientTimeout(total=...)``;
* connection refused / reset / closed mid-body -> TransientError("connection"), naming the
  URL tried;
* a 2xx body that is not JSON or not the expected shape -> TransientError("malformed response").

Messages never contain the API key (``wire.scrub``), and errors are raised outside ``except``
blocks, so no ``__context__`` carries the request or its headers.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import aiohttp

from ..core.version import __version__
from ..core.records import Completion, Request
from .base import DEFAULT_MAX_ANSWER, CallError, TransientError
from .wire import (PATHS, Malformed, from_chat, from_responses, parse_retry_after, request_body,
                   scrub, short, status_error)

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def status_message(status: int, raw: bytes) -> str:
    """What the SDK puts in an ``APIStatusError``: ``Error code: 429 - <error.message>``."""
    message = f"Error code: {status}"
    try:
        body = json.loads(raw)
    except ValueError:
        return message
    error = body.get("error", body) if isinstance(body, dict) else None
    text = error.get("message") if isinstance(error, dict) else None
    if isinstance(text, str) and text:
        message += f" - {text}"
    return message


def connection_message(exc: BaseException, url: str) -> str:
    """``connection error: ClientConnectorError: Connection refused (to URL)``: the error,
    its operating-system reason when there is one, and the URL tried (the SDK transport names
    its base URL), so a wrong ``--rft-base-url`` or a server that is down is recognisable."""
    os_error = getattr(exc, "os_error", None)
    errno = getattr(os_error, "errno", None)
    reason = (os.strerror(errno) if isinstance(errno, int) and errno > 0
              else getattr(os_error, "strerror", None) or str(os_error or exc))
    detail = f": {short(reason)}" if reason else ""
    return f"connection error: {type(exc).__name__}{detail} (to {url})"


class DirectBackend:
    """OpenAI Chat Completions / Responses (and compatible servers) over a pooled aiohttp
    session: ``max_connections`` keep-alive connections, one per call in flight."""

    name = "openai"
    transport = "direct"

    def __init__(self, model: str, *, api_key: str | None = None, base_url: str | None = None,
                 timeout: float = 60, max_connections: int = 100,
                 max_answer_bytes: int | None = DEFAULT_MAX_ANSWER):
        self.model = model
        self._api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL")
                         or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = float(timeout)
        self.max_connections = int(max_connections)
        self.max_answer_bytes = max_answer_bytes
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"DirectBackend(model={self.model!r}, base_url={self.base_url!r})"

    def headers(self) -> dict[str, str]:
        """Headers of every call: bearer auth, JSON, and the SDK's organization / project
        headers from ``OPENAI_ORG_ID`` / ``OPENAI_PROJECT_ID`` when set."""
        headers = {"Authorization": f"Bearer {self._api_key}",
                   "Content-Type": "application/json", "Accept": "application/json",
                   "User-Agent": f"pytest-rft/{__version__}"}
        for env, header in (("OPENAI_ORG_ID", "OpenAI-Organization"),
                            ("OPENAI_PROJECT_ID", "OpenAI-Project")):
            if os.environ.get(env):
                headers[header] = os.environ[env]
        return headers

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            if not self._api_key:
                raise CallError("no api key",
                                "set OPENAI_API_KEY (or pass api_key=) to call OpenAI")
            connector = aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=0,
                                             ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector, headers=self.headers(),
                timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def aclose(self) -> None:
        """Close the connection pool (safe to call twice or before any call)."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def request_body(self, request: Request) -> dict[str, Any]:
        """The JSON body sent for ``request`` (what the SDK would send for the same call)."""
        return request_body(request, self.model)

    async def complete(self, request: Request) -> Completion:
        """Make exactly one attempt; raise TransientError / CallError on failure."""
        body = request_body(request, self.model)  # bad api / sampling: before any I/O
        session = self._get_session()
        url = self.base_url + PATHS[request.api]
        error: CallError | None = None
        status, raw, headers = 0, b"", None
        try:
            async with session.post(url, data=json.dumps(body).encode()) as resp:
                status, headers = resp.status, resp.headers
                raw = await self._read(resp)
        except (asyncio.TimeoutError, TimeoutError):  # aiohttp's timeouts subclass these
            error = TransientError("timeout", f"no response within {self.timeout:g} s")
        except AnswerTooLarge as exc:
            error = CallError("answer too large", str(exc))
        except aiohttp.InvalidURL:
            error = CallError("bad base url", f"invalid URL {scrub(url, self._api_key)!r}")
        except (aiohttp.ClientError, OSError) as exc:
            error = TransientError("connection", connection_message(exc, scrub(url, self._api_key)))
        if error is None:
            if status >= 400:
                error = status_error(status, short(scrub(status_message(status, raw),
                                                         self._api_key)),
                                     parse_retry_after(headers))
            else:
                try:
                    data = json.loads(raw)
                    if not isinstance(data, dict):
                        raise Malformed(f"unexpected {type(data).__name__} body")
                    if request.api == "chat":
                        return from_chat(data)
                    return from_responses(data, self._api_key)
                except Malformed as exc:
                    error = TransientError("malformed response", f"malformed response: {exc}")
                except (AttributeError, KeyError, TypeError, ValueError) as exc:
                    error = TransientError("malformed response",
                                           f"malformed response: {type(exc).__name__}")
        # Raised outside the except blocks: no __context__ holding the request or headers.
        raise error

    async def _read(self, resp: aiohttp.ClientResponse) -> bytes:
        """The body, decoded (gzip, deflate ...), read up to ``max_answer_bytes``."""
        limit = self.max_answer_bytes
        if not limit:
            return await resp.read()
        body = bytearray()
        async for chunk in resp.content.iter_chunked(1 << 16):
            body += chunk
            if len(body) > limit:
                raise AnswerTooLarge(f"the answer is larger than {limit:,} bytes decoded "
                                     "(--rft-max-answer-size)")
        return bytes(body)


class AnswerTooLarge(Exception):
    """A body past the size limit (read no further)."""
