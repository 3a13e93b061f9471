"""Tools: the function tools a suite offers the model, and what answers the model's calls.

Definitions are OpenAI function tools, kept in the Chat Completions shape
``{"type": "function", "function": {"name", "description", "parameters", "strict"}}``; the
Responses shape ``{"type": "function", "name", ...}`` is accepted and converted (``wire.py``
converts back for the Responses API). Calls are kept as OpenAI's graders see them in
``sample.output_tools``: ``{"id", "type": "function", "function": {"name", "arguments"}}`` with
``arguments`` a JSON string.

A call is answered (in an agent loop, ``agent.py``) by, in order: the result recorded for it in
the item's ``tool_results``, else the tool's implementation (a Python callable registered with
``@pytest_rft.tool`` or named ``module:attr`` in the suite's ``tool_implementations``). What the
model got wrong (an unknown tool, arguments that are not JSON or don't fit the function, a call
nobody recorded, a :class:`ToolError` the implementation raised) is told to the model as the
tool's result, as Inspect AI does; an implementation that crashes is a sample error.
"""

from __future__ import annotations

import asyncio
import difflib
import inspect
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from .registry import REGISTRY
from .errors import RftError
from .secrets import scrub
from .threads import DaemonThreads

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""OpenAI's rule for function names."""
CHOICES = ("auto", "none", "required")
_FUNCTION_KEYS = frozenset({"name", "description", "parameters", "strict"})

F = TypeVar("F", bound=Callable[..., Any])


class ToolError(Exception):
    """Raise it from a tool implementation to answer the model with an error (an unknown order
    id, a refused action): the message becomes the tool's result, and the trajectory marks it.
    Any other exception from a tool is an error of the sample, never a score."""


class ToolCrash(Exception):
    """A tool implementation raised (not a ToolError): the sample is an error."""


_TOOLS: dict[str, Callable[..., Any]] = REGISTRY.tools  # the one registry (core/registry.py)


def tool(name: Any = None) -> Any:
    """Register ``fn(**arguments)`` (sync or async) as the implementation of tool ``name``.

    Use as ``@pytest_rft.tool("get_order")`` or bare ``@pytest_rft.tool`` (the function's name).
    The model's arguments are passed as keyword arguments; a keyword-only parameter ``item``
    receives the item being sampled, ``call`` the call itself. Return text, or any JSON value.
    """
    if callable(name):
        return tool(None)(name)

    def register(fn: F) -> F:
        key = name or fn.__name__
        old = _TOOLS.get(key)
        if old is not None and _qualname(old) != _qualname(fn):
            raise RftError(f"tool {key!r} is registered twice: by {_qualname(old)} and "
                           f"{_qualname(fn)}", fix="give one of them another name: "
                                                   "@pytest_rft.tool('other_name')")
        _TOOLS[key] = fn
        return fn

    return register


def _qualname(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def registered_tools() -> dict[str, Callable[..., Any]]:
    return dict(_TOOLS)


# -- definitions ----------------------------------------------------------------------------

def function_tool(entry: Any, where: str) -> dict[str, Any]:
    """One tool definition (Chat or Responses shape) in the Chat shape; RftError if it isn't
    an OpenAI function tool."""
    example = ('{type: function, function: {name: get_order, description: ..., parameters: '
               '{type: object, properties: {...}}}}')
    if not isinstance(entry, Mapping):
        raise RftError(f"a tool must be an OpenAI function tool, not {type(entry).__name__}",
                       where=where, fix=f"write {example}, or 'module:Model' (a pydantic model)")
    kind = entry.get("type", "function")
    if kind != "function":
        raise RftError(f"tool type {kind!r} is not supported: pytest-rft offers function tools "
                       "(hosted tools such as web_search run on OpenAI's side)", where=where,
                       fix="describe the tool as a function and give it an implementation")
    if "function" in entry:  # Chat Completions shape
        extra = sorted(set(entry) - {"type", "function"})
        fn = entry["function"]
        if extra or not isinstance(fn, Mapping):
            raise RftError(f"unexpected {'key ' + repr(extra[0]) if extra else 'function'} in "
                           "a chat-shaped tool", where=where, fix=f"write {example}")
        spec = dict(fn)
    else:  # Responses shape: strict defaults to true there, made explicit
        spec = {k: v for k, v in entry.items() if k != "type"}
        spec.setdefault("strict", True)
    unknown = sorted(set(spec) - _FUNCTION_KEYS)
    if unknown:
        raise RftError(f"unknown key {unknown[0]!r} in tool {spec.get('name')!r}", where=where,
                       fix="a function tool has: " + ", ".join(sorted(_FUNCTION_KEYS)))
    name = spec.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise RftError(f"tool name {name!r} is not a valid function name", where=where,
                       fix="use 1-64 letters, digits, '_' or '-'")
    if "parameters" in spec and not isinstance(spec["parameters"], Mapping):
        raise RftError(f"'parameters' of tool {name!r} must be a JSON schema object",
                       where=where, fix="e.g. {type: object, properties: {id: {type: string}}}")
    if "strict" in spec and not isinstance(spec["strict"], bool):
        raise RftError(f"'strict' of tool {name!r} must be true or false", where=where)
    if "description" in spec and not isinstance(spec["description"], str):
        raise RftError(f"'description' of tool {name!r} must be text", where=where)
    return {"type": "function", "function": spec}


def tool_list(value: Any, where: str, convert: Callable[[Any, str], Any] | None = None
              ) -> list[dict[str, Any]]:
    """A list of tool definitions, each checked; names must be unique. ``convert`` turns an
    entry that is not a dict (a ``module:Model`` name, a ``{file: ...}``) into definitions."""
    if isinstance(value, Mapping):  # one tool (or one {file: ...})
        value = [value]
    if not isinstance(value, list):
        raise RftError(f"'tools' must be a list of function tools, not {type(value).__name__}",
                       where=where, fix="write tools: [{type: function, function: {...}}]")
    tools: list[dict[str, Any]] = []
    for i, entry in enumerate(value):
        here = f"{where}[{i}]"
        expanded = convert(entry, here) if convert is not None else entry
        for one in expanded if isinstance(expanded, list) else [expanded]:
            tools.append(function_tool(one, here))
    seen: set[str] = set()
    for t in tools:
        name = t["function"]["name"]
        if name in seen:
            raise RftError(f"tool {name!r} is defined twice", where=where,
                           fix="give each tool its own name")
        seen.add(name)
    return tools


def merged(suite_tools: list[dict[str, Any]], item_tools: list[dict[str, Any]]
           ) -> list[dict[str, Any]]:
    """The suite's tools with the item's added; an item tool replaces the suite's of its name."""
    own = {t["function"]["name"]: t for t in item_tools}
    out = [own.pop(t["function"]["name"], t) for t in suite_tools]
    return out + list(own.values())


def tool_choice(value: Any, names: set[str], where: str) -> Any:
    """``auto`` / ``none`` / ``required`` or a named function (``{type: function, function:
    {name}}``, ``{type: function, name}``, or just the tool's name), in the Chat shape."""
    if value in CHOICES:
        return value
    name = None
    if isinstance(value, str):
        name = value
    elif isinstance(value, Mapping) and value.get("type", "function") == "function":
        fn = value.get("function")
        name = fn.get("name") if isinstance(fn, Mapping) else value.get("name")
    if not isinstance(name, str):
        raise RftError(f"tool_choice {value!r} is not auto, none, required or a function",
                       where=where, fix="e.g. tool_choice: required, or tool_choice: get_order")
    if name not in names:
        close = difflib.get_close_matches(name, sorted(names), n=1)
        raise RftError(f"tool_choice names {name!r}, which is not one of the tools "
                       f"({', '.join(sorted(names)) or 'none'})", where=where,
                       fix=f"did you mean {close[0]!r}?" if close else "name one of the tools")
    return {"type": "function", "function": {"name": name}}


# -- calls ----------------------------------------------------------------------------------

def tool_call(name: str, arguments: Any = None, id: str | None = None) -> dict[str, Any]:
    """A call as OpenAI returns it (``arguments`` a JSON string): what a Python model puts in
    ``Completion.tool_calls``, e.g. ``tool_call("get_order", {"order_id": "A1"})``."""
    if arguments is None:
        arguments = {}
    text = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return {"id": id or "", "type": "function", "function": {"name": name, "arguments": text}}


def normalize_calls(calls: Any, prefix: str = "call") -> list[dict[str, Any]]:
    """Calls in OpenAI's shape, whatever a backend or Python model gave: ``{"id", "type",
    "function": {"name", "arguments"}}`` or ``{"name", "arguments"}`` (arguments a string or a
    JSON value). Calls without an id get ``<prefix>_<n>``."""
    out: list[dict[str, Any]] = []
    for n, call in enumerate(calls or []):
        if not isinstance(call, Mapping):
            raise TypeError(f"a tool call must be a dict, not {type(call).__name__}")
        fn = call.get("function") if isinstance(call.get("function"), Mapping) else call
        name = fn.get("name")
        if not isinstance(name, str):
            raise TypeError(f"tool call without a name: {call!r}")
        normal = tool_call(name, fn.get("arguments"), call.get("id") or call.get("call_id")
                           or f"{prefix}_{n}")
        out.append(normal)
    return out


def parse_arguments(call: Mapping[str, Any]) -> tuple[Any, str | None]:
    """A call's arguments parsed: (value, None), or (None, why they are not JSON)."""
    text = (call.get("function") or {}).get("arguments")
    if text is None or text == "":
        return {}, None
    if not isinstance(text, str):
        return text, None
    try:
        return json.loads(text), None
    except ValueError as exc:
        return None, f"arguments are not valid JSON ({exc})"


def as_text(value: Any) -> str:
    """A tool's result as message content: text as is, anything else as JSON."""
    if isinstance(value, str):
        return value
    if hasattr(value, "model_dump_json"):
        return value.model_dump_json()
    return json.dumps(value, ensure_ascii=False, default=str)


# -- answering calls ------------------------------------------------------------------------

def check_recorded(value: Any, names: set[str], where: str) -> None:
    """An item's ``tool_results``: tool name -> result for every call, or a list of
    ``{arguments, output}`` (``arguments`` left out: any other call)."""
    if not isinstance(value, Mapping):
        raise RftError("'tool_results' must map tool names to results", where=where,
                       fix='e.g. "tool_results": {"get_order": {"status": "shipped"}}')
    for name, entry in value.items():
        if name not in names:
            close = difflib.get_close_matches(str(name), sorted(names), n=1)
            raise RftError(f"'tool_results' names {name!r}, which is not one of the tools "
                           f"({', '.join(sorted(names)) or 'none'})", where=where,
                           fix=f"did you mean {close[0]!r}?" if close else
                           "record results for the tools the suite or the item offers")
        if _by_call(entry) and not all(isinstance(e, Mapping) and "output" in e for e in entry):
            raise RftError(f"'tool_results.{name}' mixes recorded calls and other values",
                           where=where, fix='write [{"arguments": {...}, "output": ...}, ...]')


def _by_call(entry: Any) -> bool:
    return isinstance(entry, list) and bool(entry) and any(
        isinstance(e, Mapping) and "output" in e for e in entry)


def _same(recorded: Any, arguments: Any) -> bool:
    if isinstance(recorded, str):
        try:
            recorded = json.loads(recorded)
        except ValueError:
            return False
    return recorded == arguments


def recorded_result(recorded: Mapping[str, Any] | None, name: str, arguments: Any
                    ) -> tuple[bool, Any]:
    """(found, result) of a call in an item's ``tool_results``."""
    if not recorded or name not in recorded:
        return False, None
    entry = recorded[name]
    if not _by_call(entry):
        return True, entry
    for call in entry:
        if "arguments" in call and _same(call["arguments"], arguments):
            return True, call["output"]
    for call in entry:
        if "arguments" not in call:
            return True, call["output"]
    return False, None


@dataclass
class ToolOutcome:
    """The result the model gets for one call, and why it is an error (None: it is not)."""

    content: str
    error: str | None = None


class Toolbox:
    """Answers one item's calls: its recorded results, then the implementations."""

    def __init__(self, names: set[str], implementations: Mapping[str, Callable[..., Any]],
                 recorded: Mapping[str, Any] | None, item: Mapping[str, Any],
                 timeout: float | None = None):
        self.names = names
        self.implementations = implementations
        self.recorded = recorded
        self.item = item
        self.timeout = timeout

    def ends_episode(self, call: Mapping[str, Any]) -> bool:
        """A call of an offered tool that nothing answers for this item (no implementation,
        nothing recorded): such calls are the sample's output, like a ``submit`` tool."""
        name = (call.get("function") or {}).get("name")
        return name in self.names and name not in self.implementations and not (
            self.recorded and name in self.recorded)

    async def run(self, call: Mapping[str, Any]) -> ToolOutcome:
        """The outcome of one call; raises ToolCrash when an implementation crashes."""
        name = (call.get("function") or {}).get("name")
        if name not in self.names:
            return _refused(f"there is no tool named {name!r} (tools: "
                            f"{', '.join(sorted(self.names)) or 'none'})")
        arguments, problem = parse_arguments(call)
        if problem is not None:
            return _refused(problem)
        found, value = recorded_result(self.recorded, name, arguments)
        if found:
            return ToolOutcome(as_text(value))
        fn = self.implementations.get(name)
        if fn is None:
            return _refused(f"no result was recorded for this call of {name!r} "
                            f"(arguments {json.dumps(arguments, ensure_ascii=False)[:200]})")
        if not isinstance(arguments, Mapping):
            return _refused(f"arguments must be a JSON object, not {type(arguments).__name__}")
        return await _call(fn, name, dict(arguments), call, self.item, self.timeout)


_THREADS = DaemonThreads("rft-tool")


def _refused(why: str) -> ToolOutcome:
    return ToolOutcome(f"Error: {why}", why)


async def _call(fn: Callable[..., Any], name: str, arguments: dict[str, Any],
                call: Mapping[str, Any], item: Mapping[str, Any], timeout: float | None
                ) -> ToolOutcome:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        signature = None
    extra = {}
    if signature is not None:
        for key, value in (("item", item), ("call", call)):
            parameter = signature.parameters.get(key)
            if parameter is not None and parameter.kind is inspect.Parameter.KEYWORD_ONLY:
                extra[key] = json.loads(json.dumps(value, default=str))  # a copy to play with
        try:
            signature.bind(**arguments, **extra)
        except TypeError as exc:  # the model's arguments don't fit the function
            return _refused(f"bad arguments for {name!r}: {exc}")
    try:
        if inspect.iscoroutinefunction(fn):
            value = await asyncio.wait_for(fn(**arguments, **extra), timeout)
        else:
            # a daemon thread: one that never returns can't hang the loop's close or the exit
            value = await asyncio.wait_for(
                _THREADS.run(lambda _: fn(**arguments, **extra), None), timeout)
    except ToolError as exc:
        return _refused(str(exc) or type(exc).__name__)
    except asyncio.TimeoutError:
        raise ToolCrash(f"tool {name!r} took longer than {timeout:g}s (--rft-timeout)") from None
    except Exception as exc:
        text = str(exc)
        text = scrub(text)  # masked before it is cut: no half secret
        raise ToolCrash(f"tool {name!r} raised {type(exc).__name__}"
                        + (f": {text[:300]}" if text else "")) from None
    return ToolOutcome(as_text(value))
