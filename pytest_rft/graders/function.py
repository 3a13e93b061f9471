"""Python callables as graders: ``fn(sample, item) -> float`` (sync or async), and the rules every
Python grader follows: plain copies in, a finite number out, an exception is an error with its
line, never a 0. A leaf module: the registry and the ``python`` grader type both use it."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import math
import numbers
import os
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..core.errors import GraderError
from ..core.records import Grades
from . import isolation
from .base import Grader

_MAX_MESSAGE = 300


def plain(value: Any) -> Any:
    """A deep copy made of plain dicts and lists, so grader code can't mutate shared data."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def coerce_score(value: Any, name: str) -> float:
    """A grader's return value as a float; GraderError for bools, non-numbers, NaN and inf."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        raise GraderError(
            f"grader '{name}' returned a bool ({value}); return a number such as 1.0 or 0.0"
        )
    if not isinstance(value, numbers.Real):
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        raise GraderError(
            f"grader '{name}' returned {type(value).__name__} {shown}, not a number"
        )
    score = float(value)
    if not math.isfinite(score):
        raise GraderError(f"grader '{name}' returned {score}, not a finite number")
    return score


def describe_exception(name: str, exc: BaseException, filename: str | None) -> str:
    """``grader 'x' raised ValueError: msg (line 3: <code>)`` using the last frame in
    ``filename`` (the grader's own source)."""
    text = str(exc)
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 3] + "..."
    message = f"grader '{name}' raised {type(exc).__name__}" + (f": {text}" if text else "")
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if filename is not None and f.filename == filename]
    if own:
        frame = own[-1]
        code = (frame.line or "").strip()
        message += f" (line {frame.lineno}" + (f": {code})" if code else ")")
    return message


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
    """Run in a worker process while a grader pool is active (``isolation.activate``)."""

    def __init__(self, name: str, fn: Callable[..., Any], *, filename: str | None = None,
                 isolated: bool = False):
        self.name = name
        self.fn = fn
        self.isolated = isolated
        self._spec: isolation.CallSpec | None = None
        code = getattr(inspect.unwrap(fn), "__code__", None)
        self._filename = filename or (code.co_filename if code is not None else None)
        self._is_async = inspect.iscoroutinefunction(inspect.unwrap(fn))

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

    async def agrade(self, sample: Mapping[str, Any], item: Mapping[str, Any]) -> Grades:
        pool = isolation.current_pool() if self.isolated else None
        if pool is not None:
            try:
                spec = self.call_spec()
            except Exception as exc:  # noqa: BLE001 - a lambda, a closure: not sendable
                return Grades(errors={self.name: (
                    f"grader '{self.name}' is isolated but cannot be sent to a worker process "
                    f"({type(exc).__name__}: {exc}); define it at module level, or register "
                    "it without isolated=True")})
            return await pool.agrade(spec, sample, item)
        if not self._is_async:
            return self.grade(sample, item)
        try:
            value = await self.fn(plain(sample), plain(item))
        except (Exception, SystemExit) as exc:
            return Grades(errors={self.name: describe_exception(self.name, exc, self._filename)})
        return self._scored(value)
