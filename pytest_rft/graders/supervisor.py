"""One grader worker process and the thread supervising it (for ``isolation.GraderPool``).

The thread sends a batch of calls, then waits for the answer while watching the worker: a
worker that dies (``os._exit``, a segfault, the kernel's OOM killer) or overruns the time limit
is killed with its process group and replaced; the call it was running becomes a grader error
with the cause (exit code or signal, and the Python traceback ``faulthandler`` wrote, when there
is one); the other calls of its batch go back to the pool to be sent again.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import tempfile
import threading
import time
from typing import Any

from ..core.records import Grades
from . import _worker  # imported here, early: the Process target must be this very module

# Everything starting a worker pickles must be the module object in sys.modules; pytester's
# inline runs drop modules first imported during a run, so import them with this module.
for _name in ("heap", "sharedctypes", "spawn", "forkserver", "popen_forkserver",
              "popen_spawn_posix", "popen_spawn_win32", "resource_tracker", "reduction"):
    with contextlib.suppress(ImportError):
        importlib.import_module(f"multiprocessing.{_name}")


class Call:
    """One grading call: its ``isolation.CallSpec``, the pickled sample and item, and the
    future its Grades go to."""

    __slots__ = ("spec", "blob", "future", "deaths")

    def __init__(self, spec: Any, blob: bytes):
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


def start_context() -> Any:
    """``forkserver`` where there is one (no copy of pytest's threads and sockets; workers fork
    from a small server that has imported the worker module once), else ``spawn``. As with any
    multiprocessing start method but ``fork``, a script that starts a pool must guard its
    top-level code with ``if __name__ == "__main__":``."""
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(["pytest_rft.graders._worker"])
    return ctx


class Slot:
    """One worker process of ``pool`` (an ``isolation.GraderPool``) and the thread supervising
    it: it takes batches from the pool until the pool closes."""

    def __init__(self, pool: Any, index: int):
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
        kill_group(proc)
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

    def run(self, batch: list[Call]) -> None:
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

    def died(self, batch: list[Call]) -> None:
        index = self.running()
        proc = self.proc
        if proc is not None:
            proc.join(2)
        cause = exit_cause(proc.exitcode if proc is not None else None)
        self.kill()
        trace = self.traceback()
        blamed = batch[index] if index is not None and index < len(batch) else None
        self.pool.replaced += 1
        if blamed is not None:
            blamed.done(False, f"grader '{blamed.spec.name}' crashed its worker process: {cause}"
                               + (f" (at {trace})" if trace else "")
                               + "; the worker was replaced")
        self.pool.retry([c for c in batch if c is not blamed], cause)

    def overran(self, batch: list[Call]) -> None:
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


def exit_cause(code: int | None) -> str:
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


def kill_group(proc: Any) -> None:
    """End ``proc`` and every process it started (its own process group)."""
    if proc.pid and hasattr(os, "killpg"):
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(OSError, ValueError):
        proc.kill()
    proc.join(5)
