"""Python graders in worker processes: a pool with per-call time and memory limits.

``python`` graders (and ``@grader(..., isolated=True)`` functions) run in worker processes while
a pool is active (``activate``): one worker per core, started lazily from a ``forkserver``
(``spawn`` where there is none). Calls are queued and shipped to idle workers in batches, so
isolation costs little throughput; the event loop only awaits futures.

One supervisor thread per worker sends a batch, then waits for the answer while watching the
worker: a worker that dies (``os._exit``, a segfault, the kernel's OOM killer) or overruns the
time limit is killed with its process group and replaced; the call it was running becomes a
grader error with the cause (exit code or signal, and the Python traceback ``faulthandler``
wrote, when there is one); the other calls of its batch are sent again.

What this does **not** give: no network or file-system sandbox (a grader can open sockets and
read files as the user running pytest), no CPU-share limit beyond one worker per core. The
source of a ``python`` grader is also run once in the pytest process at load, to check that it
defines ``grade``.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import hashlib
import importlib
import math
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..core.sizes import parse_size
from ..core.records import Grades
from . import _worker  # imported here, early: the Process target must be this very module

# Everything starting a worker pickles must be the module object in sys.modules; pytester's
# inline runs drop modules first imported during a run, so import them with this module.
for _name in ("heap", "sharedctypes", "spawn", "forkserver", "popen_forkserver",
              "popen_spawn_posix", "popen_spawn_win32", "resource_tracker", "reduction"):
    with contextlib.suppress(ImportError):
        importlib.import_module(f"multiprocessing.{_name}")

DEFAULT_TIMEOUT = 120.0
"""Seconds per grader call (OpenAI documents the same limit for its python graders)."""
DEFAULT_MEMORY = 2 << 30
"""Bytes of address space per worker (``RLIMIT_AS``)."""
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


class _Call:
    __slots__ = ("spec", "blob", "future", "deaths")

    def __init__(self, spec: CallSpec, blob: bytes):
        self.spec = spec
        self.blob = blob
        """``(sample, item)`` pickled once; the worker unpickles a fresh copy per grader."""
        self.future: concurrent.futures.Future[Grades] = concurrent.futures.Future()
        self.deaths = 0

    def done(self, ok: bool, value: Any) -> None:
        if self.future.done():
            return
        grades = Grades()
        if self.spec.payload[0] == "group" and ok:
            for name, (sub_ok, sub_value) in zip(self.spec.names, value):
                (grades.scores if sub_ok else grades.errors)[name] = sub_value
        elif ok:
            grades.scores[self.spec.name] = value
        else:
            grades.errors.update({name: value for name in self.spec.names})
        self.future.set_result(grades)


def _context() -> Any:
    """``forkserver`` where there is one (no copy of pytest's threads and sockets; workers fork
    from a small server that has imported the worker module once), else ``spawn``. As with any
    multiprocessing start method but ``fork``, a script that starts a pool must guard its
    top-level code with ``if __name__ == "__main__":``."""
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(["pytest_rft.graders._worker"])
    return ctx


class _Slot:
    """One worker process and the thread supervising it."""

    def __init__(self, pool: "GraderPool", index: int):
        self.pool = pool
        self.index = index
        self.proc: Any = None
        self.conn: Any = None
        self.progress: Any = None
        self.loaded: set[str] = set()
        fd, self.fault_file = tempfile.mkstemp(prefix="rft-grader-", suffix=".log")
        os.close(fd)
        self.fault_offset = 0
        self.thread = threading.Thread(target=self.loop, name=f"rft-grader-{index}", daemon=True)

    # -- process lifecycle -------------------------------------------------------------
    def start(self) -> None:
        ctx = self.pool.ctx
        parent, child = ctx.Pipe(duplex=True)
        self.progress = ctx.RawArray("d", 2)
        settings = {"timeout": self.pool.settings.timeout, "memory": self.pool.settings.memory,
                    "sys_path": list(sys.path), "fault_file": self.fault_file}
        proc = ctx.Process(target=_worker.main, args=(child, self.progress, settings),
                           name=f"rft-grader-{self.index}", daemon=True)
        proc.start()
        child.close()
        self.pool.started += 1
        self.proc, self.conn, self.loaded = proc, parent, set()

    def kill(self) -> None:
        """End the worker and whatever its graders started (its process group: a grader's
        child process never outlives the run, even when the worker itself exited)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        _kill_group(proc)
        with contextlib.suppress(OSError):
            self.conn.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.is_alive():
            with contextlib.suppress(OSError, ValueError):
                self.conn.send(None)
            self.proc.join(0.5)
        self.kill()
        with contextlib.suppress(OSError):
            os.unlink(self.fault_file)

    def traceback(self) -> str:
        """What faulthandler wrote since the last look (a crash or a hang), trimmed."""
        try:
            with open(self.fault_file, encoding="utf-8", errors="replace") as fh:
                fh.seek(self.fault_offset)
                text = fh.read()
                self.fault_offset = fh.tell()
        except OSError:
            return ""
        lines = [line.rstrip() for line in text.splitlines() if line.strip()]
        frames = [line.strip() for line in lines if line.lstrip().startswith("File ")]
        keep = [f for f in frames if "rft python grader" in f or "_worker.py" not in f]
        keep = [f for f in keep if "multiprocessing" not in f and '"<string>"' not in f]
        return "; ".join(keep[:4])

    # -- the supervisor loop -----------------------------------------------------------
    def loop(self) -> None:
        pool = self.pool
        while True:
            batch = pool.take_batch()
            if batch is None:
                return
            try:
                self.run(batch)
            except BaseException as exc:  # noqa: BLE001 - never lose futures
                for call in batch:
                    call.done(False, f"grader '{call.spec.name}': the grader pool failed: "
                                     f"{type(exc).__name__}: {exc}")
                self.kill()

    def run(self, batch: list[_Call]) -> None:
        if self.proc is None or not self.proc.is_alive():
            if self.proc is not None:
                self.kill()
            try:
                self.start()
            except Exception as exc:  # noqa: BLE001
                for call in batch:
                    call.done(False, f"grader '{call.spec.name}': could not start a grader "
                                     f"worker process: {type(exc).__name__}: {exc}")
                return
        definitions = {c.spec.key: c.spec.payload for c in batch if c.spec.key not in self.loaded}
        message = (definitions, [(c.spec.key, c.blob) for c in batch])
        try:
            self.conn.send(message)
        except (OSError, EOFError):
            self.died(batch)
            return
        self.loaded.update(definitions)
        limit = self.pool.settings.timeout
        grace = 1.0 + 0.05 * limit
        conn, sentinel = self.conn, self.proc.sentinel
        while True:
            ready = multiprocessing.connection.wait([conn, sentinel], timeout=min(0.25, limit))
            if conn in ready:
                try:
                    results = conn.recv()
                except (EOFError, OSError):
                    self.died(batch)
                    return
                for call, result in zip(batch, results):
                    if isinstance(result, list):  # a group: one (ok, value) per member
                        call.done(True, result)
                    else:
                        call.done(*result)
                return
            if sentinel in ready:
                self.died(batch)
                return
            started = self.progress[1]
            if started and time.time() - started > limit + grace:
                self.overran(batch)
                return

    def running(self) -> int | None:
        """Index of the call the worker was in when it stopped, if it was in one."""
        return int(self.progress[0]) if self.progress is not None and self.progress[1] else None

    def died(self, batch: list[_Call]) -> None:
        index = self.running()
        proc = self.proc
        if proc is not None:
            proc.join(2)
        cause = _exit_cause(proc.exitcode if proc is not None else None)
        self.kill()
        trace = self.traceback()
        blamed = batch[index] if index is not None and index < len(batch) else None
        self.pool.replaced += 1
        if blamed is not None:
            blamed.done(False, f"grader '{blamed.spec.name}' crashed its worker process: {cause}"
                               + (f" (at {trace})" if trace else "")
                               + "; the worker was replaced")
        self.pool.retry([c for c in batch if c is not blamed], cause)

    def overran(self, batch: list[_Call]) -> None:
        index = self.running()
        proc = self.proc
        if proc is not None and proc.pid and hasattr(signal, "SIGUSR1"):
            with contextlib.suppress(OSError):
                os.kill(proc.pid, signal.SIGUSR1)  # faulthandler dumps where it is stuck
            time.sleep(0.2)
        self.kill()
        trace = self.traceback()
        blamed = batch[index] if index is not None and index < len(batch) else None
        limit = self.pool.settings.timeout
        self.pool.replaced += 1
        if blamed is not None:
            blamed.done(False, f"grader '{blamed.spec.name}' timed out after {limit:g} s "
                               "(--rft-grader-timeout) and did not stop; its worker was killed "
                               "and replaced" + (f" (stuck at {trace})" if trace else ""))
        self.pool.retry([c for c in batch if c is not blamed], "timed out")


def _exit_cause(code: int | None) -> str:
    if code is None:
        return "it stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = {"SIGSEGV": " (a segmentation fault)", "SIGKILL": " (killed: out of memory?)",
                "SIGABRT": " (aborted)", "SIGBUS": " (a bus error)"}.get(name, "")
        return f"killed by {name}{hint}"
    return f"it exited with code {code} (os._exit or a crash in native code)"


class GraderPool:
    """Worker processes for isolated graders. Thread-safe ``submit``; ``agrade`` for asyncio."""

    def __init__(self, settings: PoolSettings | None = None):
        self.settings = settings or PoolSettings()
        self.size = self.settings.workers or usable_cores()
        self.ctx = _context()
        self._pending: collections.deque[_Call] = collections.deque()
        self._cond = threading.Condition()
        self._slots: list[_Slot] = []
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
            from .function import plain

            blob = pickle.dumps((plain(sample), plain(item)), protocol=pickle.HIGHEST_PROTOCOL)
        call = _Call(spec, blob)
        with self._cond:
            self.calls += 1
            if self._closed:
                raise RuntimeError("the grader pool is closed")
            if not self._slots:
                self._slots = [_Slot(self, i) for i in range(self.size)]
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

    def take_batch(self) -> list[_Call] | None:
        with self._cond:
            while not self._pending and not self._closed:
                self._cond.wait()
            if not self._pending:
                return None
            # share the queue between the workers, in batches of at most max_batch
            size = min(self.settings.max_batch, max(1, math.ceil(len(self._pending) / self.size)))
            return [self._pending.popleft() for _ in range(min(size, len(self._pending)))]

    def retry(self, calls: list[_Call], cause: str) -> None:
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


_ACTIVE: list[GraderPool] = []


def current_pool() -> GraderPool | None:
    """The pool isolated graders use now (None: they run in this process)."""
    return _ACTIVE[-1] if _ACTIVE else None


@contextlib.contextmanager
def activate(pool: GraderPool | None) -> Iterator[GraderPool | None]:
    """Make ``pool`` the current one for the duration (``None``: isolation off); closes it."""
    if pool is None:
        _ACTIVE.append(None)  # type: ignore[arg-type]
        try:
            yield None
        finally:
            _ACTIVE.pop()
        return
    _ACTIVE.append(pool)
    try:
        yield pool
    finally:
        _ACTIVE.pop()
        pool.close()


_CHECKED: dict[str, tuple[str | None, bool]] = {}


def check_source(name: str, source: str, *, timeout: float = DEFAULT_TIMEOUT,
                 memory: int | None = DEFAULT_MEMORY) -> tuple[str | None, bool]:
    """Load a python grader's ``source`` in a child process under the grader limits (the time
    limit covers loading); (None, whether ``grade`` is async) when it defines a usable
    ``grade``, else (why not, False). Checked once per source and process."""
    key = CallSpec.source(name, source).key + f":{timeout}:{memory}"
    if key not in _CHECKED:
        if multiprocessing.current_process().daemon:  # a grader worker (it may not have
            from ..core.errors import RftError           # children): isolated already
            from .python_grader import load_source

            try:
                fn, _ = load_source(name, source, where="")
                _CHECKED[key] = (None, asyncio.iscoroutinefunction(fn))
            except RftError as exc:
                _CHECKED[key] = (exc.message, False)
        else:
            _CHECKED[key] = _check_in_child(name, source, timeout, memory)
    return _CHECKED[key]


def _check_in_child(name: str, source: str, timeout: float, memory: int | None
                    ) -> tuple[str | None, bool]:
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    settings = {"timeout": timeout, "memory": memory, "sys_path": list(sys.path)}
    proc = ctx.Process(target=_worker.check_source, args=(child, name, source, settings),
                       name=f"rft-grader-check-{name}", daemon=True)
    proc.start()
    child.close()
    try:
        if parent.poll(timeout + 1.0 + 0.05 * timeout):
            try:
                return parent.recv()
            except (EOFError, OSError):  # the source ended the process: os._exit, a crash
                proc.join(5)
                return (f"python grader '{name}' source ended its process while loading: "
                        f"{_exit_cause(proc.exitcode)}", False)
        return (f"python grader '{name}' source did not finish loading within {timeout:g} s "
                "(--rft-grader-timeout) and did not stop; its process was killed", False)
    finally:
        parent.close()
        _kill_group(proc)


def _kill_group(proc: Any) -> None:
    """End ``proc`` and every process it started (its own process group)."""
    if proc.pid and hasattr(os, "killpg"):
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(OSError, ValueError):
        proc.kill()
    proc.join(5)


def pool_from_options(isolation: str, timeout: float, memory: str | int | None
                      ) -> GraderPool | None:
    """The pool for ``--rft-grader-isolation`` / ``--rft-grader-timeout`` /
    ``--rft-grader-memory`` (None when isolation is off)."""
    if isolation == "off":
        return None
    return GraderPool(PoolSettings(timeout=float(timeout), memory=parse_size(memory)))
