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

import ast
import builtins
import contextlib
import contextvars
import inspect
import itertools
import linecache
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..core.errors import RftError
from . import isolation
from .base import Grader, read_threshold
from .function import FunctionGrader, coerce_score, describe_exception, plain  # noqa: F401
from .registry import register_type

_counter = itertools.count(1)
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


def check_source(name: str, source: str, *, where: str) -> None:
    """What :func:`load_source` checks, without running anything: the source compiles and
    defines ``grade`` taking (sample, item) at its top level."""
    if not isinstance(source, str) or not source.strip():
        raise RftError(f"python grader '{name}' has an empty \"source\"", where=where,
                       fix="give Python source defining grade(sample, item) -> float")
    try:
        tree = ast.parse(source, f"<rft python grader '{name}'>")
    except (SyntaxError, ValueError) as exc:  # ValueError: NUL bytes
        line = (getattr(exc, "text", None) or "").strip()
        raise RftError(
            f"python grader '{name}' source has a syntax error on line "
            f"{getattr(exc, 'lineno', '?')}: {getattr(exc, 'msg', exc)}"
            + (f"\n    {line}" if line else ""),
            where=where, fix="fix the Python in \"source\"") from None
    except RecursionError:
        raise RftError(f"python grader '{name}' source is nested too deeply to read",
                       where=where) from None
    defined = [node for node in tree.body
               if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
               and node.name == "grade"]
    assigned = any(isinstance(node, (ast.Assign, ast.AnnAssign, ast.ImportFrom, ast.Import))
                   and "grade" in _bound_names(node) for node in tree.body)
    if not defined and not assigned:
        raise RftError(f"python grader '{name}' source defines no grade(sample, item) function",
                       where=where, fix="define: def grade(sample: dict, item: dict) -> float")
    if defined and not assigned:
        args = defined[-1].args
        positional = len(args.posonlyargs) + len(args.args)
        required_kw = [a for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None]
        if (positional < 2 and args.vararg is None) or required_kw or \
                positional - len(args.defaults) > 2:
            raise RftError(f"python grader '{name}': grade(...) cannot take (sample, item)",
                           where=where, fix="define: def grade(sample: dict, item: dict) -> float")


def _bound_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]  # type: ignore
    return {t.id for t in targets if isinstance(t, ast.Name)}


def _not_run(sample: Any, item: Any) -> float:
    raise RuntimeError("this grader was checked without running its source (pytest-rft import); "
                       "it runs when the suite runs")


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
            where=where, fix=_missing_fix(exc),
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


def _missing_fix(exc: BaseException) -> str | None:
    """For a module that is not installed: the exact ``pip install`` when OpenAI's grader image
    had it."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    from .grader_image import IMAGE_TAG, pip_install

    top = exc.name.split(".")[0]
    line = pip_install([top])
    if line:
        return f"{line}   (the version OpenAI's python-grader image {IMAGE_TAG} had)"
    return f"install the package that provides '{top}'"


LOAD_LIMITS: contextvars.ContextVar[tuple[float, int | None]] = contextvars.ContextVar(
    "rft_grader_load_limits", default=(isolation.DEFAULT_TIMEOUT, isolation.DEFAULT_MEMORY))
"""(seconds, bytes of memory) for loading a python grader's source (``--rft-grader-timeout``,
``--rft-grader-memory``; the plugin sets them while it collects)."""


@contextlib.contextmanager
def load_limits(timeout: float, memory: int | None) -> Iterator[None]:
    token = LOAD_LIMITS.set((timeout, memory))
    try:
        yield
    finally:
        LOAD_LIMITS.reset(token)


def _compile_only(name: str, source: str, where: str) -> None:
    """The checks that run no grader code: a non-empty source that compiles."""
    if not isinstance(source, str) or not source.strip():
        raise RftError(f"python grader '{name}' has an empty \"source\"", where=where,
                       fix="give Python source defining grade(sample, item) -> float")
    try:
        compile(source, f"<rft python grader '{name}'>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = (exc.text or "").strip()
        raise RftError(
            f"python grader '{name}' source has a syntax error on line {exc.lineno}: {exc.msg}"
            + (f"\n    {line}" if line else ""),
            where=where,
            fix="fix the Python in \"source\"",
        ) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        raise RftError(f"python grader '{name}' source can't be compiled: "
                       f"{type(exc).__name__}: {exc}", where=where,
                       fix="fix the Python in \"source\"") from None


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
        _compile_only(name, source, where)
        timeout, memory = LOAD_LIMITS.get()
        problem, is_async = isolation.check_source(name, source, timeout=timeout, memory=memory)
        if problem is not None:
            missing = re.search(r"No module named '([\w.]+)'", problem)
            raise RftError(problem, where=where, fix=_missing_fix(ModuleNotFoundError(
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
