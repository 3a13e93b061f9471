"""Calling a model beyond one attempt: the adaptive concurrency limit, retries with backoff and
jitter, the deadline of a call, and the counting of calls and their failures.

The session makes one :class:`CallContext` per sampling and gives it to the sampler and to the
judges, so judge calls share the run's budget, retries and random source. Backends make one
attempt per call; everything here is about the attempts around it.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import random
import time
from dataclasses import dataclass

from ..core.records import NOT_SENT, CallStats, Completion, Request, SampleResult
from ..core.secrets import scrub
from .base import Backend, CallError, TransientError


@dataclass
class RunSettings:
    concurrency: int = 16
    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    seed: int = 0
    timeout: float | None = None
    """Deadline of one call, whatever the transport does (a server dripping bytes included)."""
    max_answer: int | None = None
    """Characters of one answer (its text, tool calls and refusal) past which it is an error."""


STOPPING_CAUSES = frozenset({"no api key", "http 401", "http 403", "http 404", "bad api",
                             "cache unreadable"})
"""Errors that will be the same for every call of a model (wrong key, unknown model, an
endpoint that doesn't speak the API): the first stops that model's calls."""

UNREACHABLE_CAUSES = frozenset({"connection"})
"""Transient errors that stop a model's calls when its first call to fail for good with one
comes before any answer from it: a server that is not there (connection refused, unknown
host) would otherwise be retried in full for every sample. Once the model has answered, the
same errors are a flaky server and only fail the calls they hit."""


class AdaptiveLimiter:
    """A semaphore whose size halves when the server throttles (429) and grows back by one per
    ``limit`` successful calls (AIMD). Throttles from calls started before the last cut are
    ignored, so one burst of 429s halves the budget once, not once per call."""

    def __init__(self, limit: int):
        self.ceiling = max(1, limit)
        self.limit = float(self.ceiling)
        self.lowest = self.ceiling
        self.active = 0
        self.epoch = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def acquire(self) -> int:
        if self.active < int(self.limit) and not self._waiters:
            self.active += 1
            return self.epoch
        future = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release_slot()
            raise
        return self.epoch

    def release(self, epoch: int, *, ok: bool, throttled: bool) -> None:
        if throttled and epoch == self.epoch:
            self.limit = max(1.0, self.limit / 2)
            self.lowest = min(self.lowest, int(self.limit))
            self.epoch += 1
        elif ok and self.limit < self.ceiling:
            self.limit = min(float(self.ceiling), self.limit + 1.0 / self.limit)
        self._release_slot()

    def _release_slot(self) -> None:
        self.active -= 1
        while self._waiters and self.active < int(self.limit):
            future = self._waiters.popleft()
            if not future.done():
                self.active += 1
                future.set_result(None)


class CallContext:
    """What every model call of one sampling shares: the settings, one limiter and one random
    source for the jitter. The sampler and the judges call through the same context."""

    def __init__(self, settings: RunSettings | None = None):
        self.settings = settings or RunSettings()
        self.limiter = AdaptiveLimiter(self.settings.concurrency)
        self.rng = random.Random(self.settings.seed)
        self.answered: set[str] = set()
        """Models that have answered at least once (see ``UNREACHABLE_CAUSES``)."""

    async def call(self, backend: Backend, request: Request, stats: CallStats,
                   result: SampleResult) -> Completion | None:
        """One model call with the run's retries; None when it failed for good (``result``
        then holds the error, counted in ``stats``). An agent loop's calls add up their
        attempts and latencies in ``result``."""
        settings, limiter = self.settings, self.limiter
        before = result.attempts
        for attempt in range(1, settings.max_retries + 2):
            result.attempts = before + attempt
            epoch = await limiter.acquire()
            if request.model in stats.stopped:  # fail fast: say it once, don't send it again
                limiter.release(epoch, ok=False, throttled=False)
                result.attempts = before + attempt - 1
                fail(result, stats, "not sent", NOT_SENT + stats.stopped[request.model])
                return None
            stats.calls += 1
            started = time.perf_counter()
            try:
                completion = await deadline(backend.complete(request), settings.timeout)
            except TransientError as exc:
                limiter.release(epoch, ok=False, throttled=exc.throttled)
                if attempt > settings.max_retries:
                    fail(result, stats, exc.cause, f"{exc.message} (after {attempt} attempt"
                                                   f"{'' if attempt == 1 else 's'})")
                    if exc.cause in UNREACHABLE_CAUSES and request.model not in self.answered:
                        stats.stopped.setdefault(
                            request.model, f"{exc.cause}: {result.error}; the model never "
                                           "answered, so its other calls were not sent")
                    return None
                stats.retries += 1
                stats.retried_causes[exc.cause] += 1
                await asyncio.sleep(backoff(attempt, exc.retry_after, settings, self.rng))
                continue
            except CallError as exc:
                limiter.release(epoch, ok=False, throttled=False)
                fail(result, stats, exc.cause, exc.message)
                if exc.cause in STOPPING_CAUSES:
                    stats.stopped.setdefault(request.model, f"{exc.cause}: {result.error}")
                return None
            except Exception as exc:  # a Python model that raised: an error, never a zero
                limiter.release(epoch, ok=False, throttled=False)
                fail(result, stats, "model raised", f"{type(exc).__name__}: {exc}")
                return None
            limiter.release(epoch, ok=True, throttled=False)
            self.answered.add(request.model)
            latency = time.perf_counter() - started
            result.latency_s = (result.latency_s or 0.0) + latency
            stats.latencies.append(latency)
            size = answer_size(completion)
            if settings.max_answer and size > settings.max_answer:
                fail(result, stats, "answer too large",
                     f"the answer is {size:,} characters, more than {settings.max_answer:,} "
                     "(--rft-max-answer-size)")
                return None
            return completion
        raise AssertionError("unreachable")


DEADLINE_GRACE = float(os.environ.get("PYTEST_RFT_DEADLINE_GRACE", "1.0"))
"""Seconds the deadline allows past the timeout: the backend's own timeout ends ordinary slow
calls first, with its own error; the deadline ends what it can't (a server dripping one byte at
a time resets a per-read timeout forever) without cutting calls still queued in a busy client.
(The environment variable lets tests of the transports' own timeouts keep the deadline out of
their way on a loaded machine.)"""


_timeout = getattr(asyncio, "timeout", None)


async def deadline(call, timeout: float | None):
    """``call`` within about ``timeout`` seconds (connect, headers, body and all reads)."""
    if timeout is None:
        return await call
    try:
        if _timeout is not None:  # 3.11+: no extra task per call, unlike wait_for
            async with _timeout(timeout + DEADLINE_GRACE):
                return await call
        return await asyncio.wait_for(call, timeout + DEADLINE_GRACE)
    except asyncio.TimeoutError:
        raise TransientError("timeout", f"no complete answer within {timeout:g}s "
                                        "(--rft-timeout)") from None


def backoff(attempt: int, retry_after: float | None, settings: RunSettings,
            rng: random.Random) -> float:
    """Exponential backoff with full jitter; the server's Retry-After wins when it gives one."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), settings.backoff_cap)
    ceiling = min(settings.backoff_cap, settings.backoff_base * 2 ** (attempt - 1))
    return rng.uniform(ceiling / 2, ceiling)


def answer_size(completion: Completion) -> int:
    size = len(completion.output_text or "") + len(completion.refusal or "")
    if completion.tool_calls:
        size += len(json.dumps(completion.tool_calls, default=str))
    return size


def fail(result: SampleResult, stats: CallStats, cause: str, message: str) -> None:
    """Record a failed sample (its cause and scrubbed message) and count it."""
    result.error_cause = cause
    result.error = scrub(message)
    stats.errors[cause] += 1
