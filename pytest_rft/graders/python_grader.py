"""``python`` graders (OpenAI source defining ``grade(sample, item) -> float``) and Python
function graders registered with ``@grader``.

The grader source is the user's own code and is compiled and executed once at load, as OpenAI
runs it. A raised exception or a non-number result is recorded as a grader error, never a 0.
"""

from __future__ import annotations

import asyncio
import builtins
import inspect
import itertools
import linecache
import math
import numbers
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import GraderError, RftError
from ..records import Grades
from .base import Grader
from .registry import register_type

_counter = itertools.count(1)
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


class FunctionGrader(Grader):
    """A Python callable ``fn(sample, item) -> float``, sync or async."""

    def __init__(self, name: str, fn: Callable[..., Any], *, filename: str | None = None):
        self.name = name
        self.fn = fn
        code = getattr(inspect.unwrap(fn), "__code__", None)
        self._filename = filename or (code.co_filename if code is not None else None)
        self._is_async = inspect.iscoroutinefunction(inspect.unwrap(fn))

    def _result(self, call: Callable[[], Any]) -> Grades:
        try:
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

    async def agrade(self, sample: Mapping[str, Any], item: Mapping[str, Any]) -> Grades:
        if not self._is_async:
            return self.grade(sample, item)
        try:
            value = await self.fn(plain(sample), plain(item))
        except (Exception, SystemExit) as exc:
            return Grades(errors={self.name: describe_exception(self.name, exc, self._filename)})
        return self._scored(value)


def load_source(name: str, source: str, *, where: str) -> tuple[Callable[..., Any], str]:
    """Compile and run grader source once; return its ``grade`` and the source's filename."""
    if not isinstance(source, str) or not source.strip():
        raise RftError(f"python grader '{name}' has an empty \"source\"", where=where,
                       fix="give Python source defining grade(sample, item) -> float")
    filename = f"<rft python grader '{name}' #{next(_counter)}>"
    try:
        code = compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = (exc.text or "").strip()
        raise RftError(
            f"python grader '{name}' source has a syntax error on line {exc.lineno}: {exc.msg}"
            + (f"\n    {line}" if line else ""),
            where=where,
            fix="fix the Python in \"source\"",
        ) from None
    # Lets tracebacks (and describe_exception) show the grader's own lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {"__name__": f"rft_grader_{name}", "__builtins__": builtins}
    try:
        exec(code, namespace)  # the user's grader source, run as OpenAI runs it
    except (Exception, SystemExit) as exc:
        raise RftError(
            "python grader source failed while loading: "
            + describe_exception(name, exc, filename),
            where=where,
        ) from None
    fn = namespace.get("grade")
    if not callable(fn):
        raise RftError(
            f"python grader '{name}' source defines no grade(sample, item) function",
            where=where,
            fix="define: def grade(sample: dict, item: dict) -> float",
        )
    try:
        inspect.signature(fn).bind(None, None)
    except TypeError:
        raise RftError(
            f"python grader '{name}': grade{inspect.signature(fn)} cannot take (sample, item)",
            where=where,
            fix="define: def grade(sample: dict, item: dict) -> float",
        ) from None
    except ValueError:
        pass
    return fn, filename


class PythonGrader(FunctionGrader):
    """OpenAI ``python`` grader: ``source`` compiled once, ``grade`` called per sample."""

    def __init__(self, name: str, source: str, *, where: str):
        fn, filename = load_source(name, source, where=where)
        super().__init__(name, fn, filename=filename)
        self.source = source


def _build(name: str, definition: Mapping[str, Any], *, base_dir: Path, where: str) -> Grader:
    return PythonGrader(name, definition["source"], where=where)


register_type(
    "python",
    _build,
    required={"source"},
    ignored={"image_tag", "pass_threshold"},
    default=True,
)
