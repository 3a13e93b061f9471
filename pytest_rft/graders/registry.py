"""Grader registry: OpenAI grader types, ``@grader`` Python functions, and ``build_grader``.

``build_grader`` turns one suite entry into a :class:`Grader`. The entry may be OpenAI grader
JSON (a dict with ``type``), ``{"file": "graders/f1.json"}``, the name of a function registered
with ``@grader``, or ``"module:attr"``. Grader families register themselves with
:func:`register_type`; a later ``register_type`` call for the same type replaces the built-in
one (this is how model-backed ``score_model`` / ``label_model`` graders get plugged in).

The registry is a leaf: it imports no grader family. Each family module registers itself when
imported, and ``graders/__init__.py`` imports them all.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import difflib
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, overload

from ..core.errors import RftError
from ..core.files import path_problem, read_text, shown_path
from .base import Grader
from .function import FunctionGrader


class BuildFn(Protocol):
    """Builds one grader from its (key-checked) definition."""

    def __call__(
        self, name: str, definition: Mapping[str, Any], *, base_dir: Path, where: str
    ) -> Grader: ...


@dataclass(frozen=True)
class GraderType:
    """One OpenAI grader ``type`` and the keys its JSON may have."""

    name: str
    build: BuildFn
    required: frozenset[str]
    optional: frozenset[str]
    """Documented keys that are used when present."""
    ignored: frozenset[str]
    """Documented keys that mean nothing when run locally (accepted, not used)."""

    def allowed(self) -> frozenset[str]:
        return self.required | self.optional | self.ignored | _COMMON_KEYS


_COMMON_KEYS = frozenset({"type", "name"})
_TYPES: dict[str, GraderType] = {}
_FUNCTIONS: dict[str, Callable[..., Any]] = {}
_ISOLATED: set[str] = set()

F = TypeVar("F", bound=Callable[..., Any])


def register_type(
    type_name: str,
    build: BuildFn,
    *,
    required: Iterable[str] = (),
    optional: Iterable[str] = (),
    ignored: Iterable[str] = (),
    default: bool = False,
) -> None:
    """Register (or replace) the builder for an OpenAI grader ``type``.

    ``default=True`` registers only if the type is not registered yet (used by built-ins so a
    plugin's registration always wins, whatever the import order).
    """
    if default and type_name in _TYPES:
        return
    _TYPES[type_name] = GraderType(
        type_name, build, frozenset(required), frozenset(optional), frozenset(ignored)
    )


def known_types() -> list[str]:
    """Every registered OpenAI grader type, sorted."""
    return sorted(_TYPES)


def grader_type(type_name: str) -> GraderType | None:
    """The registration of a type, or None."""
    return _TYPES.get(type_name)


@overload
def grader(name: F) -> F: ...
@overload
def grader(name: str | None = None, *, isolated: bool = False) -> Callable[[F], F]: ...
def grader(name: Any = None, *, isolated: bool = False) -> Any:
    """Register ``fn(sample, item) -> float`` (sync or async) as a grader usable by name.

    Use as ``@grader("exact")`` or bare ``@grader`` (the function's name is used).
    ``isolated=True`` runs it in a grader worker process, like ``python`` graders (with the
    time and memory limits); it must then be a module-level function (sent by reference).
    """
    if callable(name):
        return grader(None)(name)

    def decorate(fn: F) -> F:
        key = name or fn.__name__
        old = _FUNCTIONS.get(key)
        if old is not None and _qualname(old) != _qualname(fn):
            raise RftError(
                f"grader '{key}' is registered twice: by {_qualname(old)} and {_qualname(fn)}",
                fix="give one of them another name: @grader('other_name')",
            )
        _FUNCTIONS[key] = fn
        if isolated:
            _ISOLATED.add(key)
        else:
            _ISOLATED.discard(key)
        return fn

    return decorate


def _qualname(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def registered_graders() -> dict[str, Callable[..., Any]]:
    """Functions registered with ``@grader``, by name (a copy)."""
    return dict(_FUNCTIONS)


def unregister_grader(name: str) -> None:
    """Forget a ``@grader`` function (tests use this)."""
    _FUNCTIONS.pop(name, None)
    _ISOLATED.discard(name)


def build_grader(
    name: str, definition: Mapping[str, Any] | str, *, base_dir: Path, where: str
) -> Grader:
    """Build the grader a suite calls ``name`` (its ``Grader.name`` is ``name``).

    ``where`` locates the definition in errors (e.g. ``"suites/triage.yaml: graders.f1"``);
    relative ``file`` paths are resolved against ``base_dir``.
    """
    if isinstance(definition, str):
        return _from_string(name, definition, base_dir=base_dir, where=where)
    if not isinstance(definition, Mapping):
        raise RftError(
            f"grader '{name}' must be OpenAI grader JSON, {{file: ...}} or a name, "
            f"not {type(definition).__name__}",
            where=where,
        )
    if "file" in definition and "type" not in definition:
        extra = sorted(set(definition) - {"file"})
        if extra:
            raise RftError(
                f"unknown key '{extra[0]}' next to 'file' in grader '{name}'",
                where=where,
                fix="put the whole grader JSON in the file; {file: ...} takes no other keys",
            )
        data, file_where, file_dir = load_grader_file(definition["file"], base_dir, where)
        with nested(where, file_dir / Path(definition["file"]).name):
            return build_grader(name, data, base_dir=file_dir, where=file_where)
    with nested(where):
        return _from_json(name, definition, base_dir=base_dir, where=where)


def load_grader_file(file: Any, base_dir: Path, where: str) -> tuple[dict[str, Any], str, Path]:
    """Read a grader JSON file: (content, where-string for it, its directory)."""
    if not isinstance(file, str) or not file:
        raise RftError("'file' must be a path to a grader JSON file", where=where)
    path = Path(file)
    if not path.is_absolute():
        path = base_dir / path
    shown = file
    problem = path_problem(path)
    if problem:
        raise RftError(f"grader file {shown_path(file)!r}: {problem}", where=where,
                       fix="give a shorter, plain path")
    if not path.exists():
        raise RftError(
            f"grader file '{shown}' not found (looked for {path})",
            where=where,
            fix="check the path; it is relative to " + str(base_dir),
        )
    try:
        text = read_text(path, MAX_GRADER_FILE_BYTES)
    except RftError as exc:
        raise RftError(f"grader file '{shown}': {exc.message}", where=where, fix=exc.fix) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RftError(
            f"invalid JSON in grader file: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            where=f"{shown}:{exc.lineno}:{exc.colno}",
            fix=f"fix the JSON (the file is used by {where})",
        ) from None
    except RecursionError:
        raise RftError(f"grader file '{shown}' is nested too deeply to read", where=where,
                       fix="a grader needs a few levels of nesting at most") from None
    if not isinstance(data, dict):
        raise RftError(
            f"grader file '{shown}' must hold one JSON object (a grader with \"type\"), "
            f"not {type(data).__name__}",
            where=where,
        )
    return data, shown, path.parent


MAX_GRADER_FILE_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 32
"""Grader definitions nested deeper than this (multi graders in multi graders, file references
in files) are refused: no real grader needs it, and a file naming itself would never end."""
_CHAIN: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("rft_grader_chain",
                                                                        default=())


@contextlib.contextmanager
def nested(where: str, file: Path | None = None) -> Iterator[None]:
    """One level deeper into a grader definition (``file``: the grader file entered): an
    RftError when the definitions nest past MAX_DEPTH or a file refers back to itself."""
    chain = _CHAIN.get()
    if file is not None:
        real = str(file.resolve())
        files_in = [c for c in chain if c]
        if real in files_in:
            names = [os.path.basename(c) for c in files_in[files_in.index(real):]] + \
                [os.path.basename(real)]
            raise RftError(f"grader file refers back to itself: {' -> '.join(names)}",
                           where=where, fix="break the cycle of {file: ...} references")
    else:
        real = ""
    if len(chain) >= MAX_DEPTH:
        raise RftError(f"grader definitions nest more than {MAX_DEPTH} levels deep",
                       where=where, fix="flatten the multi graders / file references")
    token = _CHAIN.set(chain + (real,))
    try:
        yield
    finally:
        _CHAIN.reset(token)


def _from_json(name: str, definition: Mapping[str, Any], *, base_dir: Path, where: str) -> Grader:
    type_name = definition.get("type")
    if not isinstance(type_name, str):
        raise RftError(
            f"grader '{name}' has no \"type\"",
            where=where,
            fix="give an OpenAI grader type: " + ", ".join(sorted(_TYPES)),
        )
    spec = _TYPES.get(type_name)
    if spec is None:
        close = difflib.get_close_matches(type_name, sorted(_TYPES), n=1)
        raise RftError(
            f"unknown grader type '{type_name}'; known types: {', '.join(sorted(_TYPES))}",
            where=where,
            fix=f"did you mean '{close[0]}'?" if close else None,
        )
    allowed = spec.allowed()
    for key in definition:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            raise RftError(
                f"unknown key '{key}' in {type_name} grader '{name}'",
                where=where,
                fix=(f"did you mean '{close[0]}'? " if close else "")
                + f"{type_name} graders take: {', '.join(sorted(allowed))}",
            )
    missing = sorted(spec.required - set(definition))
    if missing:
        raise RftError(
            f"{type_name} grader '{name}' needs '{missing[0]}'",
            where=where,
            fix=f"{type_name} graders need: {', '.join(sorted(spec.required))}",
        )
    return spec.build(name, definition, base_dir=base_dir, where=where)


def _from_string(name: str, ref: str, *, base_dir: Path, where: str) -> Grader:
    if ref in _FUNCTIONS:
        return FunctionGrader(name, _FUNCTIONS[ref], isolated=ref in _ISOLATED)
    if ":" in ref:
        return _from_object(name, _import_ref(ref, base_dir, where), ref, base_dir, where)
    known = ", ".join(sorted(_FUNCTIONS)) or "none"
    if ref.lower().endswith((".json", ".yaml", ".yml")) or "/" in ref:
        raise RftError(f"grader '{name}' is given as a bare path {ref!r}", where=where,
                       fix=f"write {{file: {ref}}} to load the grader JSON in that file")
    close = difflib.get_close_matches(ref, sorted(_FUNCTIONS), n=1)
    raise RftError(
        f"unknown grader '{ref}' (registered graders: {known})",
        where=where,
        fix=(f"did you mean '{close[0]}'? " if close else "")
        + f"register it with @pytest_rft.grader('{ref}') in conftest.py, "
        "write 'module:function', or give OpenAI grader JSON",
    )


def _import_ref(ref: str, base_dir: Path, where: str) -> Any:
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise RftError(f"bad grader reference '{ref}'", where=where, fix="write 'module:attr'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name.split(".")[0] or str(base_dir) in sys.path:
            raise RftError(f"cannot import '{module_name}': {exc}", where=where) from None
        sys.path.insert(0, str(base_dir))  # let suites reference modules next to them
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc2:
            raise RftError(f"cannot import '{module_name}': {exc2}", where=where) from None
    except Exception as exc:  # the module itself failed while importing
        raise RftError(
            f"importing '{module_name}' failed: {type(exc).__name__}: {exc}", where=where
        ) from None
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise RftError(
                f"'{module_name}' has no attribute '{attr}'", where=where
            ) from None
    return obj


def _from_object(name: str, obj: Any, ref: str, base_dir: Path, where: str) -> Grader:
    if isinstance(obj, Grader):
        if obj.name == name:
            return obj
        renamed = copy.copy(obj)
        renamed.name = name
        return renamed
    if isinstance(obj, Mapping):
        return build_grader(name, obj, base_dir=base_dir, where=f"{where} ({ref})")
    if callable(obj) and not isinstance(obj, type):
        return FunctionGrader(name, obj)
    raise RftError(
        f"'{ref}' is a {type(obj).__name__}, not a grader",
        where=where,
        fix="point at a function fn(sample, item) -> float, a Grader instance or grader JSON",
    )

