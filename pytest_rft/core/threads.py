"""Daemon threads for sync user code (models, graders, tools) called from the event loop: a
call that never returns keeps its daemon thread, which can't keep pytest from exiting, where
``asyncio.to_thread``'s executor threads are joined when the loop closes and at exit (a tool
that blocks forever would hang the run after its timeout)."""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any, Callable


class DaemonThreads:
    """Daemon threads running sync calls, each reused once its call returns. A call that never
    returns keeps its thread (a daemon: it can't keep pytest from exiting) and a new thread
    serves the next call; ``close`` lets the idle ones end."""

    def __init__(self, name: str):
        self._name = name
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._started = 0

    def run(self, fn: Callable[[Any], Any], request: Any) -> "asyncio.Future[Any]":
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        with self._lock:
            if self._idle:
                self._idle -= 1
            else:
                self._started += 1
                threading.Thread(target=self._work, name=f"{self._name}-{self._started}",
                                 daemon=True).start()
        self._jobs.put((fn, request, loop, future))
        return future

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, request, loop, future = job
            try:
                result: tuple[bool, Any] = (True, fn(request))
            except BaseException as exc:  # noqa: BLE001  (handed to the awaiting task)
                result = (False, exc)
            try:
                loop.call_soon_threadsafe(_settle, future, *result)
            except RuntimeError:  # the loop is gone: the call was abandoned
                pass
            del job, fn, request, loop, future, result
            with self._lock:
                self._idle += 1

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, 0
        for _ in range(idle):
            self._jobs.put(None)


def _settle(future: "asyncio.Future[Any]", ok: bool, value: Any) -> None:
    if not future.done():
        (future.set_result if ok else future.set_exception)(value)
