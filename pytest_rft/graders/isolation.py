"""Python graders in worker processes: a pool with per-call time and memory limits.

``python`` graders (and ``@grader(..., isolated=True)`` functions) run in worker processes when
the runner's grading context has a pool (``graders.base.GradingContext``): one worker per core,
started lazily from a ``forkserver`` (``spawn`` where there is none). Calls are queued and shipped to idle workers in batches, so
isolation costs little throughput; the event loop only awaits futures.

One supervisor thread per worker (``supervisor.py``) sends a batch, then waits for the answer
while watching the worker: a worker that dies or overruns the time limit is killed and
replaced, the call it was running becomes a grader error with the cause, and the other calls of
its batch are sent again. What a python grader may be is ``python_rules.py``; the worker process
is ``_worker.py``; the check of a source at load is ``source_check.py``.

What this does **not** give: no network or file-system sandbox (a grader can open sockets and
read files as the user running pytest), no CPU-share limit beyond one worker per core. The
source of a ``python`` grader is also run once in the pytest process at load, to check that it
defines ``grade``.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import hashlib
import math
import os
import pickle
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core.records import Grades
from ..core.sizes import parse_size
from .python_rules import DEFAULT_MEMORY, DEFAULT_TIMEOUT, plain
from .supervisor import Call, Slot, start_context

MAX_BATCH = 256
MAX_DEATHS = 2
"""A call whose worker died this often without being blamed gets an error, not a third try."""


@dataclass(frozen=True)
class PoolSettings:
    timeout: float = DEFAULT_TIMEOUT
    memory: int | None = DEFAULT_MEMORY
    workers: int | None = None
    """Default: one per usable core."""
    max_batch: int = MAX_BATCH


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))  # type: ignore[attr-defined]
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class CallSpec:
    """What a worker needs to run one grader: a stable key and its payload
    (``("source", name, source)`` or ``("function", name, pickled function)``)."""

    key: str
    payload: tuple[str, str, Any]

    @property
    def name(self) -> str:
        return self.payload[1]

    @property
    def names(self) -> list[str]:
        """The score names this call produces (a group: one per member)."""
        if self.payload[0] == "group":
            return [p[1] for _, p in self.payload[2]]
        return [self.payload[1]]

    @classmethod
    def group(cls, name: str, members: list["CallSpec"]) -> "CallSpec":
        """Several graders run one after the other on the same sample in one call (a multi
        grader's python sub-graders: the sample crosses to the worker once)."""
        key = "grp:" + hashlib.sha1("\0".join(m.key for m in members).encode()).hexdigest()
        return cls(key, ("group", name, [(m.key, m.payload) for m in members]))

    @classmethod
    def source(cls, name: str, source: str) -> "CallSpec":
        digest = hashlib.sha1(f"{name}\0{source}".encode()).hexdigest()
        return cls(f"src:{digest}", ("source", name, source))

    @classmethod
    def function(cls, name: str, fn: Any) -> "CallSpec":
        """Raises ``pickle.PicklingError`` (or TypeError/AttributeError) when ``fn`` cannot be
        sent by reference (a lambda, a closure, a function defined inside another)."""
        body = pickle.dumps(fn)
        return cls(f"fn:{name}:{hashlib.sha1(body).hexdigest()}", ("function", name, body))


class GraderPool:
    """Worker processes for isolated graders. Thread-safe ``submit``; ``agrade`` for asyncio."""

    def __init__(self, settings: PoolSettings | None = None):
        self.settings = settings or PoolSettings()
        self.size = self.settings.workers or usable_cores()
        self.ctx = start_context()
        self._pending: collections.deque[Call] = collections.deque()
        self._cond = threading.Condition()
        self._slots: list[Slot] = []
        self._closed = False
        self.started = 0
        """Worker processes started (replacements included)."""
        self.replaced = 0
        """Workers killed or lost because a grader crashed or overran."""
        self.calls = 0

    def submit(self, spec: CallSpec, sample: Mapping[str, Any], item: Mapping[str, Any]
               ) -> concurrent.futures.Future[Grades]:
        try:
            blob = pickle.dumps((sample, item), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - exotic mappings: send plain copies
            blob = pickle.dumps((plain(sample), plain(item)), protocol=pickle.HIGHEST_PROTOCOL)
        call = Call(spec, blob)
        with self._cond:
            self.calls += 1
            if self._closed:
                raise RuntimeError("the grader pool is closed")
            if not self._slots:
                self._slots = [Slot(self, i) for i in range(self.size)]
                for slot in self._slots:
                    slot.thread.start()
            self._pending.append(call)
            self._cond.notify()
        return call.future

    async def agrade(self, spec: CallSpec, sample: Mapping[str, Any],
                     item: Mapping[str, Any]) -> Grades:
        return await asyncio.wrap_future(self.submit(spec, sample, item))

    def summary_line(self) -> str | None:
        """One line for the terminal when isolated graders ran."""
        if not self.calls:
            return None
        limit = self.settings.memory
        memory = f"{limit / (1 << 30):g} GB" if limit else "no memory limit"
        return (f"rft: isolated graders: {self.calls} call(s) in {self.size} worker process(es) "
                f"({self.settings.timeout:g} s, {memory} each); {self.replaced} worker(s) "
                "replaced after a crash or timeout")

    def take_batch(self) -> list[Call] | None:
        with self._cond:
            while not self._pending and not self._closed:
                self._cond.wait()
            if not self._pending:
                return None
            # share the queue between the workers, in batches of at most max_batch
            size = min(self.settings.max_batch, max(1, math.ceil(len(self._pending) / self.size)))
            return [self._pending.popleft() for _ in range(min(size, len(self._pending)))]

    def retry(self, calls: list[Call], cause: str) -> None:
        """Calls of a batch whose worker died while running another call: send them again."""
        again = []
        for call in calls:
            call.deaths += 1
            if call.deaths >= MAX_DEATHS:
                call.done(False, f"grader '{call.spec.name}': its worker process died "
                                 f"{call.deaths} times while grading this sample ({cause})")
            else:
                again.append(call)
        with self._cond:
            if self._closed:
                for call in again:
                    call.done(False, f"grader '{call.spec.name}': the run stopped before it "
                                     "was graded")
                return
            self._pending.extendleft(reversed(again))
            self._cond.notify_all()

    def close(self) -> None:
        """Stop the workers; calls not yet graded get an error."""
        with self._cond:
            self._closed = True
            pending = list(self._pending)
            self._pending.clear()
            self._cond.notify_all()
        for call in pending:
            call.done(False, f"grader '{call.spec.name}': the run stopped before it was graded")
        for slot in self._slots:
            slot.thread.join(1.0)
            slot.stop()

    def __enter__(self) -> "GraderPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def pool_from_options(isolation: str, timeout: float, memory: str | int | None
                      ) -> GraderPool | None:
    """The pool for ``--rft-grader-isolation`` / ``--rft-grader-timeout`` /
    ``--rft-grader-memory`` (None when isolation is off)."""
    if isolation == "off":
        return None
    return GraderPool(PoolSettings(timeout=float(timeout), memory=parse_size(memory)))
