"""The grader worker process: grades batches of calls sent by ``isolation.GraderPool``.

Runs in a child process started with the ``forkserver`` (POSIX) or ``spawn`` context. Limits
applied here, once per worker: its own session (process group, so the supervisor can kill
grandchildren too), ``RLIMIT_AS`` (memory), stdout/stderr file descriptors sent to /dev/null
(Python-level output is captured per call and bounded), ``faulthandler`` writing to a file the
supervisor reads when the worker dies, and a forked child that exits at once.

Per call: a soft time limit (``SIGALRM`` raises ``GraderTimeout``, a ``BaseException`` so that
``except Exception`` in grader code does not swallow it); the supervisor enforces a hard limit
by killing the worker. ``progress`` (shared memory: index of the running call, its start time)
tells the supervisor which call was running when the worker died or hung.

Messages: in ``(definitions, calls)``, ``definitions`` = {key: payload} for graders this worker
has not seen, ``calls`` = [(key, pickled (sample, item))]; out: one list with, per call,
``(ok, score_or_message)`` (a group: a list of them, one per member).
``None`` in asks the worker to exit.
"""

from __future__ import annotations

import asyncio
import faulthandler
import inspect
import io
import os
import pickle
import signal
import sys
import time
from typing import Any

from ..core.errors import GraderError, RftError
from .python_rules import OUTPUT_LIMIT, coerce_score, describe_exception, load_source


class GraderTimeout(BaseException):
    """Raised inside the grader when its time limit passes."""


class OutputLimit(BaseException):
    """Raised inside the grader when it writes more than ``OUTPUT_LIMIT`` bytes."""


class _Capture(io.TextIOBase):
    """A bounded stdout/stderr for one call: keeps the tail, raises past the limit."""

    def __init__(self) -> None:
        self.size = 0
        self.tail = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.size += len(text)
        if self.size > OUTPUT_LIMIT:
            raise OutputLimit()
        self.tail = (self.tail + text)[-400:]
        return len(text)


_forked = False


def _before_fork() -> None:
    global _forked
    _forked = True


def _child_exits() -> None:
    os._exit(0)  # a grader's fork: the child must never run worker code (or write to the pipe)


def _on_alarm(signum: int, frame: Any) -> None:
    raise GraderTimeout()


def _setup(settings: dict[str, Any]) -> None:
    # one worker per core already: numeric libraries imported by graders stay single-threaded
    # (and OpenBLAS's per-thread buffers would not fit the address-space limit on big machines)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if hasattr(os, "setsid"):
        try:
            os.setsid()
        except OSError:
            pass
    if settings.get("sys_path"):
        sys.path[:] = settings["sys_path"]  # the pytest process's (conftest folders included)
    memory = settings.get("memory")
    if memory:
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        except (ImportError, ValueError, OSError):
            pass  # not on this platform: documented
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        try:
            os.dup2(devnull, fd)
        except OSError:
            pass
    if settings.get("fault_file"):
        fault = open(settings["fault_file"], "a", buffering=1)  # noqa: SIM115 (the worker's)
        faulthandler.enable(file=fault, all_threads=False)
        if hasattr(signal, "SIGUSR1"):
            faulthandler.register(signal.SIGUSR1, file=fault, all_threads=False)
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _on_alarm)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(before=_before_fork, after_in_child=_child_exits)


def _load(payload: tuple[Any, ...]) -> tuple[str, Any, str | None]:
    """(name, grade function, filename of its code) from a definition payload."""
    kind, name, body = payload
    if kind == "source":
        fn, filename = load_source(name, body, where=f"grader '{name}'")
        return name, fn, filename
    fn = pickle.loads(body)
    code = getattr(inspect.unwrap(fn), "__code__", None)
    return name, fn, code.co_filename if code is not None else None


def _grade(index: int, entry: Any, blob: bytes, settings: dict[str, Any],
           progress: Any) -> tuple[bool, Any]:
    global _forked
    payload, loaded = entry
    name = payload[1]
    capture = _Capture()
    saved = sys.stdout, sys.stderr
    timeout = settings["timeout"]
    _forked = False
    progress[0] = index
    progress[1] = time.time()
    sys.stdout = sys.stderr = capture
    if hasattr(signal, "setitimer"):
        signal.setitimer(signal.ITIMER_REAL, timeout)
    filename = None
    try:
        if loaded[0] is None:
            loaded[0] = _load(payload)
        _, fn, filename = loaded[0]
        sample, item = pickle.loads(blob)  # a fresh copy for every grader
        value = fn(sample, item)
        if inspect.isawaitable(value):
            value = asyncio.run(_await(value))
    except GraderTimeout as exc:
        message = describe_exception(name, exc, filename).replace(
            "raised GraderTimeout", f"timed out after {timeout:g} s (--rft-grader-timeout)")
        return False, message
    except OutputLimit:
        return False, (f"grader '{name}' wrote more than {OUTPUT_LIMIT >> 20} MB to stdout/stderr "
                       "(output is captured and discarded; return a score instead)")
    except MemoryError as exc:
        return False, (describe_exception(name, exc, filename)
                       + f" (memory limit {_size(settings.get('memory'))} per grader process, "
                       "--rft-grader-memory)")
    except RftError as exc:  # the source failed to load in the worker
        return False, str(exc)
    except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt too: errors
        message = describe_exception(name, exc, filename)
        if capture.tail.strip():
            message += f"; its output ended: {capture.tail.strip()[-200:]!r}"
        return False, message
    finally:
        if hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout, sys.stderr = saved
        progress[1] = 0.0
    if _forked:
        return False, (f"grader '{name}' called os.fork(); isolated graders may not fork "
                       "(the child was stopped)")
    try:
        return True, coerce_score(value, name)
    except GraderError as exc:
        return False, str(exc)


async def _await(value: Any) -> Any:
    return await value


def _size(n: int | None) -> str:
    if not n:
        return "none"
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


def check_source(conn: Any, name: str, source: str, settings: dict[str, Any]) -> None:
    """A child process's one job (``source_check.check``): run a python grader's source
    under the grader limits, and say whether it defines a usable ``grade``. The source never
    runs in the pytest process before it passed here: a top-level loop, a sleep or an
    ``os._exit(0)`` ends this process, not the run."""
    _setup(settings)
    timeout = settings["timeout"]
    if hasattr(signal, "setitimer"):
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        _, fn, _ = _load(("source", name, source))
        result: tuple[str | None, bool] = (None, inspect.iscoroutinefunction(fn))
    except RftError as exc:
        result = (exc.message, False)
    except GraderTimeout:
        result = (f"python grader '{name}' source did not finish loading within {timeout:g} s "
                  "(--rft-grader-timeout)", False)
    except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt, MemoryError ...
        result = ("python grader source failed while loading: "
                  + describe_exception(name, exc, None), False)
    finally:
        if hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)
    conn.send(result)
    conn.close()


def main(conn: Any, progress: Any, settings: dict[str, Any]) -> None:
    """The worker loop (the ``Process`` target)."""
    _setup(settings)
    pid = os.getpid()
    graders: dict[str, tuple[Any, list[Any]]] = {}
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        definitions, calls = message
        for key, payload in definitions.items():
            if payload[0] == "group":
                for sub_key, sub_payload in payload[2]:
                    graders.setdefault(sub_key, (sub_payload, [None]))
                graders[key] = ("group", [graders[k] for k, _ in payload[2]])  # type: ignore
            else:
                graders[key] = (payload, [None])
        results: list[Any] = []
        for i, (key, blob) in enumerate(calls):
            entry = graders[key]
            if entry[0] == "group":
                results.append([_grade(i, sub, blob, settings, progress) for sub in entry[1]])
            else:
                results.append(_grade(i, entry, blob, settings, progress))
        if os.getpid() != pid:  # pragma: no cover - a child that survived: never answer
            os._exit(0)
        conn.send(results)
