"""The small protocol every model backend implements."""

from __future__ import annotations

from typing import Protocol

from ..core.records import Completion, Request


class Backend(Protocol):
    """Turns one request into one completion. Concurrency and retries belong to the runner."""

    name: str

    async def complete(self, request: Request) -> Completion:
        """Return the completion, or raise TransientError / CallError."""
        ...

    async def aclose(self) -> None: ...


DEFAULT_MAX_ANSWER = 16 << 20
"""Bytes of one decoded answer a backend accepts (``--rft-max-answer-size``): a small gzip body
must not expand into gigabytes of memory."""


class CallError(Exception):
    """A model call that failed for good (retrying will not help): 400, 401, 404, ...

    ``cause`` is a short, stable label used to count errors by kind ('http 401', 'bad request').
    Messages must never contain the API key.
    """

    def __init__(self, cause: str, message: str = ""):
        self.cause = cause
        self.message = message or cause
        super().__init__(self.message)


class TransientError(CallError):
    """A failure worth retrying: 408/409/429/5xx, timeout, connection error, malformed body.

    ``retry_after`` (seconds) is the server's hint (Retry-After / retry-after-ms), if any;
    ``throttled`` is True for 429 so the runner can shrink its concurrency.
    """

    def __init__(self, cause: str, message: str = "", *, retry_after: float | None = None,
                 throttled: bool = False):
        super().__init__(cause, message)
        self.retry_after = retry_after
        self.throttled = throttled
