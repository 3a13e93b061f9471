"""``python`` graders (OpenAI source defining ``grade(sample, item) -> float``) and Python
function graders registered with ``@grader``.

The grader source is the user's own code and is compiled and executed once at load, as OpenAI
runs it. A raised exception or a non-number result is recorded as a grader error, never a 0.
"""

from __future__ import annotations

import builtins
import inspect
import itertools
import linecache
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import RftError
from . import isolation
from .base import Grader, read_threshold
from .function import FunctionGrader, coerce_score, describe_exception, plain  # noqa: F401
from .registry import register_type

_counter = itertools.count(1)


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
        super().__init__(name, fn, filename=filename, isolated=True)
        self.source = source

    def call_spec(self) -> isolation.CallSpec:
        """A worker compiles the source itself (once per worker)."""
        if self._spec is None:
            self._spec = isolation.CallSpec.source(self.name, self.source)
        return self._spec


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
