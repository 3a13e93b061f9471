"""Python callables as graders: ``fn(sample, item) -> float`` (sync or async), graded here or,
when isolated and a pool is active, in a worker process. The rules every Python grader follows
(plain copies in, a finite number out, an exception is an error with its line, never a 0) are
``python_rules``; the registry and the ``python`` grader type both build on this class."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..core.errors import GraderError
from ..core.records import Grades
from . import isolation
from .base import Grader, GradingContext
from .python_rules import coerce_score, describe_exception, plain


@contextlib.contextmanager
def _no_exit(active: bool) -> Iterator[None]:
    """While a grader meant for a worker process runs in this one (isolation off), its
    ``os._exit`` raises SystemExit (a grader error) instead of ending pytest with status 0."""
    if not active or os._exit is not _REAL_EXIT:
        yield
        return

    def refuse(code: int = 0) -> None:
        raise SystemExit(f"os._exit({code}) called in the pytest process (isolation is off)")

    os._exit = refuse
    try:
        yield
    finally:
        os._exit = _REAL_EXIT


_REAL_EXIT = os._exit


class FunctionGrader(Grader):
    """A Python callable ``fn(sample, item) -> float``, sync or async."""

    isolated: bool = False
    """Run in a worker process when the grading context has a pool."""

    def __init__(self, name: str, fn: Callable[..., Any], *, filename: str | None = None,
                 isolated: bool = False):
        self.name = name
        self.fn = fn
        self.isolated = isolated
        self._spec: isolation.CallSpec | None = None
        code = getattr(inspect.unwrap(fn), "__code__", None)
        self._filename = filename or (code.co_filename if code is not None else None)
        self._is_async = inspect.iscoroutinefunction(inspect.unwrap(fn))
        self._serial: Any = None

    def _result(self, call: Callable[[], Any]) -> Grades:
        try:
            with _no_exit(self.isolated):
                value = call()
        except (Exception, SystemExit) as exc:
            return Grades(errors={self.name: describe_exception(self.name, exc, self._filename)})
        return self._scored(value)

    def _scored(self, value: Any) -> Grades:
        try:
            return Grades(scores={self.name: coerce_score(value, self.name)})
        except GraderError as exc:
            return Grades(errors={self.name: str(exc)})

    def grade(self, sample: Mapping[str, Any], item: Mapping[str, Any]) -> Grades:
        s, i = plain(sample), plain(item)
        if self._is_async:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return self._result(lambda: asyncio.run(self.fn(s, i)))
            return Grades(
                errors={self.name: f"grader '{self.name}' is async; call agrade() instead"}
            )
        return self._result(lambda: self.fn(s, i))

    def call_spec(self) -> isolation.CallSpec:
        """How a worker process finds this grader (the function, pickled by reference)."""
        if self._spec is None:
            self._spec = isolation.CallSpec.function(self.name, self.fn)
        return self._spec

    async def agrade(self, sample: Mapping[str, Any], item: Mapping[str, Any],
                     context: GradingContext | None = None) -> Grades:
        pool = context.pool if context is not None and self.isolated else None
        if pool is not None:
            try:
                spec = self.call_spec()
            except Exception as exc:  # noqa: BLE001 - a lambda, a closure: not sendable
                return Grades(errors={self.name: (
                    f"grader '{self.name}' is isolated but cannot be sent to a worker process "
                    f"({type(exc).__name__}: {exc}); define it at module level, or register "
                    "it without isolated=True")})
            return await pool.agrade(spec, sample, item)
        timeout = context.timeout if context is not None else None
        if not self._is_async:
            if timeout is None:
                return self.grade(sample, item)
            return await self._on_thread(sample, item, timeout)
        try:
            value = await asyncio.wait_for(self.fn(plain(sample), plain(item)), timeout)
        except asyncio.TimeoutError:
            return self._late(timeout)
        except (Exception, SystemExit) as exc:
            return Grades(errors={self.name: describe_exception(self.name, exc, self._filename)})
        return self._scored(value)

    async def _on_thread(self, sample: Mapping[str, Any], item: Mapping[str, Any],
                         timeout: float) -> Grades:
        """A sync grader in this process, one call at a time as on the event loop, but on a
        daemon thread: one that blocks is a grader error after ``timeout``, not a hung run."""
        loop = asyncio.get_running_loop()
        if self._serial is None or self._serial[0] is not loop:
            from ..core.threads import DaemonThreads

            self._serial = (loop, asyncio.Lock(), DaemonThreads(f"rft-grader-{self.name}"))
        _, lock, threads = self._serial
        async with lock:
            try:
                return await asyncio.wait_for(
                    threads.run(lambda _: self.grade(sample, item), None), timeout)
            except asyncio.TimeoutError:
                return self._late(timeout)

    def _late(self, timeout: float) -> Grades:
        return Grades(errors={self.name: (
            f"grader '{self.name}' did not finish within {timeout:g} s "
            "(--rft-grader-timeout); it is left running in this process: make it faster, "
            "raise the limit, or run it isolated")})
