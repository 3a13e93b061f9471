"""A run's ``sampling_params`` (and an RFT job's tools) -> the suite's keys.

Every key either maps (``sampling:``, ``response_format:``, ``tools:``, ``tool_choice:``,
``parallel_tool_calls:``) or becomes a MIGRATION.md note with the fix that is right for that
key; none is dropped silently.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from .output import Output
from .platform_data import count, kind, number, one_line

EFFORTS = ("minimal", "low", "medium", "high")

MAX_TOKENS_KEYS = ("max_completions_tokens", "max_completion_tokens", "max_output_tokens",
                   "max_tokens")
"""Spellings of the output-token limit (``max_completions_tokens`` is the one OpenAI's eval
runs and graders use)."""

_NO_EFFECT = {
    "user": "an end-user id for OpenAI's abuse monitoring",
    "metadata": "labels stored with the request",
    "store": "whether OpenAI stored the completion",
    "service_tier": "OpenAI's processing tier (latency and price, not the answer)",
    "stream": "how the answer was delivered",
    "stream_options": "how the answer was delivered",
    "background": "how the answer was delivered",
}
"""Keys that do not change what the model answers: noted, nothing to do."""

_WRAP = ("register a Python model (@pytest_rft.model) that calls the API with it, or leave it "
         "out (the model's default applies)")
_UNSENT = {
    "frequency_penalty": _WRAP, "presence_penalty": _WRAP, "logit_bias": _WRAP, "stop": _WRAP,
    "logprobs": "nothing to do: pytest-rft grades the text, not log-probabilities",
    "top_logprobs": "nothing to do: pytest-rft grades the text, not log-probabilities",
    "truncation": _WRAP, "prediction": _WRAP, "modalities": "pytest-rft samples text only",
    "audio": "pytest-rft samples text only; keep audio cases on a harness that sends audio",
    "include": "nothing to do unless a grader reads the extra output; then " + _WRAP,
    "web_search_options": "describe the search results in the items, or " + _WRAP,
}
"""Keys pytest-rft does not send, with the fix for each."""


@dataclass
class Mapped:
    sampling: dict[str, Any] = field(default_factory=dict)
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    repeats: int | None = None
    hosted: list[str] = field(default_factory=list)
    """Hosted tools the run offered (``mcp``, ``web_search_preview`` ...): not offered here."""


def map_sampling(params: Any, out: Output, where: str) -> Mapped:
    """OpenAI ``sampling_params`` (eval run) -> the suite's keys; the rest noted."""
    mapped = Mapped()
    if params is None:
        return mapped
    if not isinstance(params, dict):
        out.note(f"{where}: not an object", f"got {kind(params)}; the run's sampling settings "
                 "are unknown", "set 'sampling:' in the suite by hand")
        return mapped
    for key, value in params.items():
        if value is None:
            continue
        _map_key(str(key), value, mapped, out, where)
    mapped.sampling = dict(sorted(mapped.sampling.items()))
    return mapped


def _map_key(key: str, value: Any, mapped: Mapped, out: Output, where: str) -> None:
    shown = one_line(json.dumps(value, default=str), 80)
    if key in ("temperature", "top_p"):
        found = number(value)
        if found is None or found < 0:
            out.note(f"{where}.{key}: {shown}", "not a non-negative number",
                     f"set sampling.{key} in the suite by hand, or leave it out")
        else:
            mapped.sampling[key] = value
    elif key == "seed":
        found = number(value)
        if found is None or found != int(found):
            out.note(f"{where}.seed: {shown}", "not a whole number",
                     "set sampling.seed in the suite by hand, or leave it out")
        else:
            mapped.sampling["seed"] = int(found)
    elif key in MAX_TOKENS_KEYS:
        found = count(value)
        if not found:
            out.note(f"{where}.{key}: {shown}", "not a positive whole number",
                     "set sampling.max_output_tokens in the suite by hand")
        else:
            mapped.sampling["max_output_tokens"] = found
    elif key == "reasoning_effort":
        _effort(value, mapped, out, f"{where}.reasoning_effort")
    elif key == "reasoning" and isinstance(value, dict):
        for sub, inner in value.items():
            if sub == "effort":
                _effort(inner, mapped, out, f"{where}.reasoning.effort")
            elif inner is not None:
                out.note(f"{where}.reasoning.{one_line(sub, 40)}", f"value {shown}",
                         "nothing to do: pytest-rft keeps the answer, not the reasoning summary")
    elif key == "response_format":
        mapped.response_format = map_response_format(value, out, f"{where}.response_format")
    elif key == "text":
        inner = value if isinstance(value, dict) else {}
        mapped.response_format = map_response_format(inner.get("format"), out,
                                                      f"{where}.text.format")
        for sub in inner:
            if sub != "format":
                out.note(f"{where}.text.{one_line(sub, 40)}",
                         f"value {one_line(json.dumps(inner[sub], default=str), 80)}", _WRAP)
        if not isinstance(value, dict):
            out.note(f"{where}.text", f"{kind(value)}, not an object", "leave it out")
    elif key == "tools":
        mapped.tools += map_tools(value, out, f"{where}.tools", mapped.hosted)
    elif key == "tool_choice":
        mapped.tool_choice = _tool_choice(value, out, f"{where}.tool_choice")
    elif key == "parallel_tool_calls":
        if isinstance(value, bool):
            mapped.parallel_tool_calls = value
        else:
            out.note(f"{where}.parallel_tool_calls: {shown}", "not true or false",
                     "set parallel_tool_calls in the suite by hand")
    elif key == "n":
        found = count(value)
        if found and found > 1:
            mapped.repeats = found
        elif found != 1:
            out.note(f"{where}.n: {shown}", "not a positive whole number", "set repeats: by hand")
    elif key in _NO_EFFECT:
        out.note(f"{where}.{key}", f"{_NO_EFFECT[key]} ({shown}); it does not change the "
                 "answers", "nothing to do")
    elif key in _UNSENT:
        out.note(f"{where}.{key}: {shown}", "pytest-rft does not send this parameter",
                 _UNSENT[key])
    else:
        out.note(f"{where}: unknown parameter {one_line(key, 60)!r}", f"value {shown}",
                 "pytest-rft has no such sampling option: " + _WRAP)


def _effort(value: Any, mapped: Mapped, out: Output, where: str) -> None:
    if value in EFFORTS:
        mapped.sampling["reasoning_effort"] = value
    elif value in ("default", "auto"):
        return  # the model's default: nothing to send
    else:
        out.note(f"{where}: {one_line(json.dumps(value, default=str), 40)}",
                 f"pytest-rft sends one of {', '.join(EFFORTS)}",
                 "set sampling.reasoning_effort to the closest of those, or leave it out for the "
                 "model's default")


# -- tools ------------------------------------------------------------------------------------
def map_tools(value: Any, out: Output, where: str,
              hosted: list[str] | None = None) -> list[dict[str, Any]]:
    """OpenAI tool definitions -> function tools in the chat form
    ``{type: function, function: {name, description, parameters, strict}}``.

    Hosted tools (web search, file search, code interpreter ...) have no local equivalent and
    are noted; a tool served by an endpoint on the platform (agentic RFT) keeps its definition
    and is noted with what it needs locally. Endpoint credentials (``headers``) are never
    written anywhere. Hosted tools' types are appended to ``hosted``."""
    if not isinstance(value, list):
        out.note(f"{where}: not a list", f"got {kind(value)}", "write 'tools:' by hand")
        return []
    tools: list[dict[str, Any]] = []
    names: set[str] = set()
    for n, tool in enumerate(value):
        at = f"{where}[{n}]"
        if not isinstance(tool, dict):
            out.note(f"{at}: not a tool object", f"got {kind(tool)}", "write it by hand")
            continue
        kind_ = tool.get("type", "function")
        if kind_ != "function":
            out.note(f"{at}: hosted tool {one_line(kind_, 40)!r}",
                     "a tool OpenAI runs on its side; pytest-rft calls only function tools",
                     "describe what it returned in the items, or give the model a function tool "
                     "with a Python implementation")
            if hosted is not None:
                hosted.append(one_line(kind_, 40))
            continue
        spec = tool.get("function") if isinstance(tool.get("function"), dict) else tool
        name = spec.get("name")
        if not isinstance(name, str) or not name or len(name) > 64 or not all(
                c.isalnum() or c in "_-" for c in name):
            out.note(f"{at}: a function tool without a valid name",
                     f"name {one_line(json.dumps(name, default=str), 60)}",
                     "names are letters, digits, '_' and '-' (at most 64)")
            continue
        if name in names:
            out.note(f"{at}: tool '{name}' is defined twice", "the first one is kept",
                     "remove the duplicate")
            continue
        names.add(name)
        function: dict[str, Any] = {"name": name}
        if isinstance(spec.get("description"), str):
            function["description"] = spec["description"]
        if isinstance(spec.get("parameters"), dict):
            function["parameters"] = spec["parameters"]
        if isinstance(spec.get("strict"), bool):
            function["strict"] = spec["strict"]
        tools.append({"type": "function", "function": function})
        served = tool.get("server_url") or tool.get("url") or spec.get("server_url")
        if isinstance(served, str) and served:
            out.note(f"Tool '{name}' ran on an endpoint",
                     f"on the platform, calls to '{name}' went to {_shown_endpoint(served)}"
                     + (" (with headers, not copied: they hold credentials)"
                        if tool.get("headers") or spec.get("headers") else ""),
                     f"give '{name}' an implementation: a function registered with "
                     f"@pytest_rft.tool('{name}') named under the suite's tool_implementations:, "
                     f"or recorded results in the records (tool_results: {{{name}: ...}}); "
                     "until then a sample ends at its first tool calls, which are its output")
    return tools


def _tool_choice(value: Any, out: Output, where: str) -> Any:
    if value in ("auto", "none", "required"):
        return value
    if isinstance(value, dict):
        name = value.get("name")
        if isinstance(value.get("function"), dict):
            name = value["function"].get("name")
        if isinstance(name, str) and name:
            return {"type": "function", "function": {"name": name}}
    out.note(f"{where}: {one_line(json.dumps(value, default=str), 60)}",
             "not a tool_choice pytest-rft can send (auto, none, required or a function name)",
             "set tool_choice: in the suite by hand")
    return None


def _shown_endpoint(url: str) -> str:
    """scheme://host/path of an endpoint: no credentials, no query string."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or "?"
        return one_line(f"{parts.scheme}://{host}{parts.path}", 120)
    except ValueError:
        return "an endpoint URL"


def map_response_format(value: Any, out: Output, where: str) -> dict[str, Any] | None:
    """A chat ``response_format`` or responses ``text.format`` -> the suite's inline
    ``{name, schema, strict}`` (None for plain text)."""
    if value is None or (isinstance(value, dict) and value.get("type") in (None, "text")):
        return None
    if isinstance(value, dict) and value.get("type") == "json_schema":
        spec = value.get("json_schema", value)
        if isinstance(spec, dict) and isinstance(spec.get("schema"), dict):
            name = spec.get("name")
            return {"name": name if isinstance(name, str) and name else "output",
                    "schema": spec["schema"], "strict": spec.get("strict") is True}
    shown = one_line(value.get("type"), 40) if isinstance(value, dict) else kind(value)
    out.note(f"{where}: response format {shown!r}",
             "pytest-rft asks for JSON with a JSON schema (structured outputs); JSON mode without "
             "a schema has no equivalent", "add 'response_format:' with a JSON schema to the suite")
    return None
