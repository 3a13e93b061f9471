"""The suite's ``tools:`` section: function tools from the suite, files, pydantic models and the
records, checked recorded results, ``tool_choice``, and the implementations that answer calls."""

from __future__ import annotations

import difflib
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core import tools as tools_mod
from ..core.digests import callable_source
from ..core.errors import RftError
from ..graders.registry import _import_ref
from .dataset import Item, read_text
from .keys import SuiteConfig
from .references import MAX_SUITE_BYTES, confined, pydantic_model, strict_schema


def load_tools(config: SuiteConfig, items: list[Item], base: Path,
                roots: tuple[Path, ...] | None, where: Callable[..., str],
                resolve: bool = True) -> dict[str, Any]:
    """The suite's tools, the records' own tools and recorded results (checked), tool_choice
    and the implementations, as keyword arguments of :class:`Suite`."""
    suite_tools = None
    if config.tools is not None:
        value: Any = config.tools
        if isinstance(value, dict) and set(value) == {"file"}:
            value = _tools_file(value["file"], base, roots, where("tools"))
        suite_tools = tools_mod.tool_list(
            value, where("tools"), convert=lambda e, w: _tool_entry(e, base, roots, w))
    dataset = base / config.dataset
    item_tools: dict[str, list[dict[str, Any]]] = {}
    names = {t["function"]["name"] for t in suite_tools or []}
    recorded = False
    for item in items:
        own = item.data.get("tools")
        if own is not None and (suite_tools is not None or _looks_like_tools(own)):
            listed = tools_mod.tool_list(own, f"{dataset}:{item.line} tools")
            item_tools[item.id] = tools_mod.merged(suite_tools or [], listed)
            names.update(t["function"]["name"] for t in listed)
        results = item.data.get("tool_results")
        if results is not None:
            offered = item_tools.get(item.id, suite_tools) or []
            tools_mod.check_recorded(results, {t["function"]["name"] for t in offered},
                                     f"{dataset}:{item.line} tool_results")
            recorded = True
    if not names:
        for key in ("tool_choice", "parallel_tool_calls", "tool_implementations", "max_turns"):
            if getattr(config, key) is not None:
                raise RftError(f"'{key}' needs tools, and this suite offers none",
                               where=where(key), fix="add 'tools:' (OpenAI function tools)")
        return {}
    choice = None
    if config.tool_choice is not None:
        choice = tools_mod.tool_choice(config.tool_choice, names, where("tool_choice"))
    implementations: dict[str, Any] = {}
    spec = config.tool_implementations or {}
    pairs = [(n, n) for n in spec] if isinstance(spec, list) else list(spec.items())
    for name, ref in pairs:
        here = where("tool_implementations", name)
        if name not in names:
            close = difflib.get_close_matches(name, sorted(names), n=1)
            raise RftError(f"implementation for {name!r}, which is not one of the tools "
                           f"({', '.join(sorted(names))})", where=here,
                           fix=f"did you mean {close[0]!r}?" if close else "name a tool")
        try:
            implementations[name] = _implementation(ref, base, here)
        except RftError:
            if resolve:
                raise
            implementations[name] = None
    note = None
    if config.max_turns is not None and config.max_turns > 1 and not (implementations or recorded):
        # an imported agentic RFT job (its tools were endpoints): still loads and scores
        note = (f"max_turns is {config.max_turns} but nothing answers tool calls (no "
                "tool_implementations, no records' tool_results): each sample ends at its "
                "first tool calls, which are its output")
    sources = {k: callable_source(v) for k, v in implementations.items() if v is not None}
    return {"tools": suite_tools, "item_tools": item_tools, "tool_choice": choice,
            "implementations": implementations, "implementation_sources": sources,
            "recorded_tools": recorded, "tools_note": note}


def _looks_like_tools(value: Any) -> bool:
    """A record's ``tools`` holding OpenAI function tools (not a field that happens to be
    called ``tools``)."""
    return isinstance(value, list) and bool(value) and all(
        isinstance(t, dict) and t.get("type") == "function" for t in value)


def _tools_file(file: Any, base: Path, roots: tuple[Path, ...] | None, where: str) -> Any:
    """A JSON file of tools: a list, one tool, or ``{"tools": [...]}``."""
    if not isinstance(file, str):
        raise RftError("'file' must be a path to a JSON file of tools", where=where)
    path = confined(base, file, roots, where, "tools file")
    if not path.is_file():
        raise RftError(f"tools file not found: {path}", where=where,
                       fix="the path is relative to the suite file")
    try:
        data = json.loads(read_text(path, MAX_SUITE_BYTES))
    except ValueError as exc:
        raise RftError(f"invalid JSON in tools file: {exc}", where=str(path)) from None
    if isinstance(data, dict) and "tools" in data:
        data = data["tools"]
    return data


def _tool_entry(entry: Any, base: Path, roots: tuple[Path, ...] | None, where: str) -> Any:
    """A ``tools:`` entry as definitions: ``module:Model`` (a pydantic model, like OpenAI's
    ``pydantic_function_tool``: its class name, docstring and strict schema) or
    ``{file: ...}``; a dict is a definition already."""
    if isinstance(entry, dict) and set(entry) == {"file"}:
        return _tools_file(entry["file"], base, roots, where)
    if not isinstance(entry, str):
        return entry
    confined(base, entry.partition(":")[0].replace(".", "/") + ".py", roots, where,
             "tool model module")
    model = pydantic_model(entry, base, where)
    doc = inspect.cleandoc(model.__doc__) if model.__doc__ else None
    spec = {"name": model.__name__, "parameters": strict_schema(model.model_json_schema()),
            "strict": True}
    if doc:
        spec["description"] = doc
    return {"type": "function", "function": spec}


def _implementation(ref: Any, base: Path, where: str) -> Any:
    """A tool registered with ``@pytest_rft.tool``, or the callable at ``module:attr``."""
    registered = tools_mod.registered_tools()
    if isinstance(ref, str) and ref in registered:
        return registered[ref]
    if isinstance(ref, str) and ":" in ref:
        fn = _import_ref(ref, base, where)
        if not callable(fn):
            raise RftError(f"{ref!r} is not callable", where=where,
                           fix="name a function that takes the tool's arguments")
        return fn
    known = ", ".join(sorted(registered)) or "none"
    raise RftError(f"unknown tool implementation {ref!r} (registered tools: {known})",
                   where=where, fix=f"register it with @pytest_rft.tool({ref!r}) in conftest.py, "
                                    "or write 'module:function'")
