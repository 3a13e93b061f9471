"""What a python grader may be, checked the same way wherever it runs: in the pytest process,
in a grader worker process, or in the child process that checks a source at load.

The source of a ``python`` grader must compile and define ``grade(sample, item)`` at its top
level; running it gives that ``grade`` (``load_source``). Every Python grader gets plain copies
of the sample and the item, and must return a finite number (``coerce_score``); an exception is
an error with the grader's own line (``describe_exception``), never a 0. A leaf module (it
imports nothing else of graders/ but the grader image's package table, when a module is
missing): the worker process imports it, not the registry nor the grader families.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import itertools
import linecache
import math
import numbers
import os
import traceback
from collections.abc import Callable, Mapping
from types import CodeType
from typing import Any

from ..core.errors import GraderError, RftError
from ..core.secrets import scrub_data

DEFAULT_TIMEOUT = 120.0
"""Seconds per grader call (OpenAI documents the same limit for its python graders)."""
DEFAULT_MEMORY = 2 << 30
"""Bytes of address space per worker (``RLIMIT_AS``)."""
OUTPUT_LIMIT = 1 << 20
"""Bytes a grader may write to stdout/stderr per call (captured, then discarded)."""

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
        shown = repr(scrub_data(value))  # masked before it is cut: no half secret shown
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
    ``filename`` (the grader's own source; ``(conftest.py:3: <code>)`` for a function's file,
    relative to the working directory)."""
    text = str(exc)
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 3] + "..."
    message = f"grader '{name}' raised {type(exc).__name__}" + (f": {text}" if text else "")
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if filename is not None and f.filename == filename]
    if own:
        frame = own[-1]
        code = (frame.line or "").strip()
        # a registered function's own file is named; a JSON grader's source has no file
        where = ("line " if filename.startswith("<")
                 else f"{os.path.relpath(filename) if os.path.isabs(filename) else filename}:")
        message += f" ({where}{frame.lineno}" + (f": {code})" if code else ")")
    return message


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


def load_source(name: str, source: str, *, where: str) -> tuple[Callable[..., Any], str]:
    """Compile and run grader source once; return its ``grade`` and the source's filename."""
    filename = f"<rft python grader '{name}' #{next(_counter)}>"
    code = compiled(name, source, where, filename)
    # Lets tracebacks (and describe_exception) show the grader's own lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {"__name__": f"rft_grader_{name}", "__builtins__": builtins}
    try:
        exec(code, namespace)  # the user's grader source, run as OpenAI runs it
    except (Exception, SystemExit) as exc:
        raise RftError(
            "python grader source failed while loading: "
            + describe_exception(name, exc, filename),
            where=where, fix=missing_fix(exc),
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


def missing_fix(exc: BaseException) -> str | None:
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


def check_compiles(name: str, source: str, where: str) -> None:
    """The checks that run no grader code: a non-empty source that compiles."""
    compiled(name, source, where)


def compiled(name: str, source: str, where: str, filename: str | None = None) -> CodeType:
    """The source compiled (not run); an empty source, a syntax error, NUL bytes or absurd
    nesting are one located error."""
    if not isinstance(source, str) or not source.strip():
        raise RftError(f"python grader '{name}' has an empty \"source\"", where=where,
                       fix="give Python source defining grade(sample, item) -> float")
    try:
        return compile(source, filename or f"<rft python grader '{name}'>", "exec",
                       dont_inherit=True)
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
