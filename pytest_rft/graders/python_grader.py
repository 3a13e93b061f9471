"""``python`` graders (OpenAI source defining ``grade(sample, item) -> float``) and Python
function graders registered with ``@grader``.

The grader source is the user's own code. At load it is compiled here (a syntax error is a
located error at once) and run in a child process under the grader limits (``LOAD_LIMITS``:
the time limit covers loading, so a top-level loop or sleep is an error, and an ``os._exit`` or
a crash ends that process, not the run). It runs in the pytest process only when it grades
there (isolation off), once, after passing that check. A raised exception or a non-number
result is recorded as a grader error, never a 0. Inside :func:`compile_only` (``pytest-rft
import`` checks imported graders this way) the source is compiled and read with ``ast`` but
never run, not even in a child process.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..core.errors import RftError
from . import isolation, source_check
from .base import Grader, read_threshold
from .function import FunctionGrader
from .python_rules import (DEFAULT_MEMORY, DEFAULT_TIMEOUT, check_compiles, check_source,
                           load_source, missing_fix)
from .registry import register_type

_COMPILE_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar("rft_compile_only",
                                                                     default=False)


@contextlib.contextmanager
def compile_only() -> Iterator[None]:
    """Build ``python`` graders without running their source: the syntax is checked and
    ``grade(sample, item)`` found with ``ast``; grading such a grader is an error."""
    token = _COMPILE_ONLY.set(True)
    try:
        yield
    finally:
        _COMPILE_ONLY.reset(token)


def _not_run(sample: Any, item: Any) -> float:
    raise RuntimeError("this grader was checked without running its source (pytest-rft import); "
                       "it runs when the suite runs")


LOAD_LIMITS: contextvars.ContextVar[tuple[float, int | None]] = contextvars.ContextVar(
    "rft_grader_load_limits", default=(DEFAULT_TIMEOUT, DEFAULT_MEMORY))
"""(seconds, bytes of memory) for loading a python grader's source (``--rft-grader-timeout``,
``--rft-grader-memory``; the plugin sets them while it collects)."""


@contextlib.contextmanager
def load_limits(timeout: float, memory: int | None) -> Iterator[None]:
    token = LOAD_LIMITS.set((timeout, memory))
    try:
        yield
    finally:
        LOAD_LIMITS.reset(token)


class PythonGrader(FunctionGrader):
    """OpenAI ``python`` grader: ``source`` checked at load in a child process (see the module
    docstring), run in a worker process per sample, or here (loaded once) when isolation is
    off."""

    def __init__(self, name: str, source: str, *, where: str):
        if _COMPILE_ONLY.get():
            check_source(name, source, where=where)
            super().__init__(name, _not_run, filename=f"<rft python grader '{name}' (not run)>",
                             isolated=True)
            self.source, self._where, self._is_async = source, where, False
            return
        check_compiles(name, source, where)
        timeout, memory = LOAD_LIMITS.get()
        problem, is_async = source_check.check(name, source, timeout=timeout, memory=memory)
        if problem is not None:
            missing = re.search(r"No module named '([\w.]+)'", problem)
            raise RftError(problem, where=where, fix=missing_fix(ModuleNotFoundError(
                name=missing.group(1))) if missing else
                "define grade(sample, item) -> float; keep work at the top level of the source "
                "short (it runs once per process)")
        super().__init__(name, _unloaded, isolated=True)
        self.source = source
        self._where = where
        self._is_async = is_async

    @property  # type: ignore[override]
    def fn(self) -> Callable[..., Any]:
        """``grade``, loaded into this process the first time a sample is graded here."""
        if self._fn is _unloaded:
            self._fn, self._filename = load_source(self.name, self.source, where=self._where)
        return self._fn

    @fn.setter
    def fn(self, value: Callable[..., Any]) -> None:
        self._fn = value

    def call_spec(self) -> isolation.CallSpec:
        """A worker compiles the source itself (once per worker)."""
        if self._spec is None:
            self._spec = isolation.CallSpec.source(self.name, self.source)
        return self._spec


def _unloaded(sample: Any, item: Any) -> float:  # pragma: no cover - replaced when loaded
    raise RuntimeError("not loaded")


def _build(name: str, definition: Mapping[str, Any], *, base_dir: Path, where: str) -> Grader:
    grader = PythonGrader(name, definition["source"], where=where)
    grader.pass_threshold = read_threshold(definition, name, where)
    return grader


register_type(
    "python",
    _build,
    required={"source"},
    optional={"pass_threshold"},
    ignored={"image_tag"},
    default=True,
)
