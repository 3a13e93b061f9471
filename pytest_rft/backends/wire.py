"""The OpenAI wire format without the openai package: request bodies, response parsing,
error hints. Shared by the direct transport (``direct.py``) and the SDK path
(``openai_backend.py``), so both send the same bodies and read answers the same way.

Everything here is pure: dicts in, dicts / :class:`Completion` out, no I/O, no imports of
``openai`` or ``pydantic``.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from typing import Any, Mapping

from ..core.records import Completion, Request, Usage
from ..core.tools import normalize_calls, tool_call
from .base import CallError, TransientError

KNOWN_SAMPLING_KEYS: frozenset[str] = frozenset(
    {"temperature", "top_p", "seed", "max_output_tokens", "reasoning_effort"}
)
"""Sampling keys the backends understand; the suite loader should reject any other key."""

TRANSIENT_STATUS: frozenset[int] = frozenset({408, 409})
"""Non-5xx statuses worth retrying (429 is handled separately as throttling)."""

PATHS = {"chat": "/chat/completions", "responses": "/responses"}
"""Endpoint of each API, relative to the base URL (``.../v1``)."""

_SK_RE = re.compile(r"sk-[A-Za-z0-9_\-*.]{6,}")
_BEARER_RE = re.compile(r"(?i)bearer\s+[^\s\"',]+")
MAX_MESSAGE = 300


def scrub(text: str, api_key: str | None) -> str:
    """Remove the API key (and anything that looks like a key or bearer token) from ``text``."""
    if api_key:
        text = text.replace(api_key, "sk-***")
    text = _BEARER_RE.sub("Bearer ***", text)
    return _SK_RE.sub("sk-***", text)


def short(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "..."


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    if headers is None:
        return None
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            delay = float(value)
        except ValueError:
            continue
        if math.isfinite(delay) and delay >= 0:
            return delay / divisor
    value = headers.get("retry-after")
    if value:
        try:
            parsed = email.utils.parsedate_tz(value)
            if parsed is not None:
                return max(0.0, float(email.utils.mktime_tz(parsed) - time.time()))
        except (TypeError, ValueError, OverflowError):
            return None
    return None


def status_error(code: int, message: str, retry_after: float | None) -> CallError:
    """The error for an HTTP status >= 400: 429 throttles, 408/409/5xx retry (but 501 Not
    Implemented and 505 won't change on a retry), others are final."""
    if code == 429:
        return TransientError("http 429", message, retry_after=retry_after, throttled=True)
    if code in TRANSIENT_STATUS or (code >= 500 and code not in (501, 505)):
        return TransientError(f"http {code}", message, retry_after=retry_after)
    return CallError(f"http {code}", message)


# -- request bodies -----------------------------------------------------------------------
def check_sampling(sampling: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(sampling) - KNOWN_SAMPLING_KEYS)
    if unknown:
        raise CallError("bad sampling", f"unknown sampling keys: {', '.join(unknown)}")
    return {k: v for k, v in sampling.items() if v is not None}


def chat_body(request: Request, default_model: str = "") -> dict[str, Any]:
    """The Chat Completions body (= keyword arguments of ``chat.completions.create``)."""
    s = check_sampling(request.sampling)
    body: dict[str, Any] = {"model": request.model or default_model,
                            "messages": request.messages}
    for key in ("temperature", "top_p", "seed", "reasoning_effort"):
        if key in s:
            body[key] = s[key]
    if "max_output_tokens" in s:
        body["max_completion_tokens"] = s["max_output_tokens"]
    if request.response_schema is not None:
        body["response_format"] = {"type": "json_schema",
                                   "json_schema": request.response_schema}
    if request.tools:  # the API refuses tool_choice / parallel_tool_calls without tools
        body["tools"] = request.tools
        if request.tool_choice is not None:
            body["tool_choice"] = request.tool_choice
        if request.parallel_tool_calls is not None:
            body["parallel_tool_calls"] = request.parallel_tool_calls
    return body


def responses_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A Chat-shaped function tool in the Responses shape. ``strict`` is sent as written; a
    tool that leaves it out gets ``false``, its meaning on Chat (Responses defaults to true)."""
    fn = tool["function"]
    return {"type": "function", **fn, "strict": fn.get("strict", False)}


def responses_tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        return {"type": "function", "name": choice["function"].get("name")}
    return choice


def responses_input(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat messages as Responses input items: an assistant message's ``tool_calls`` become
    ``function_call`` items, a ``tool`` message a ``function_call_output``."""
    items: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "assistant" and message.get("tool_calls"):
            if message.get("content"):
                items.append({"role": "assistant", "content": message["content"]})
            for call in message["tool_calls"]:
                fn = call.get("function") or {}
                items.append({"type": "function_call", "call_id": call.get("id"),
                              "name": fn.get("name"), "arguments": fn.get("arguments") or "{}"})
        elif role == "tool":
            content = message.get("content")
            items.append({"type": "function_call_output", "call_id": message.get("tool_call_id"),
                          "output": content if isinstance(content, str) else
                          json.dumps(content, ensure_ascii=False)})
        else:
            items.append(message)
    return items


def responses_body(request: Request, default_model: str = "") -> dict[str, Any]:
    """The Responses body (= keyword arguments of ``responses.create``; ``seed`` is dropped)."""
    s = check_sampling(request.sampling)
    messages = request.messages
    if any(m.get("role") == "tool" or m.get("tool_calls") for m in messages):
        messages = responses_input(messages)
    body: dict[str, Any] = {"model": request.model or default_model, "input": messages}
    for key in ("temperature", "top_p", "max_output_tokens"):
        if key in s:
            body[key] = s[key]
    if "reasoning_effort" in s:
        body["reasoning"] = {"effort": s["reasoning_effort"]}
    schema = request.response_schema
    if schema is not None:
        fmt: dict[str, Any] = {"type": "json_schema", "name": schema.get("name", "output"),
                               "schema": schema.get("schema", {}),
                               "strict": schema.get("strict", True)}
        if schema.get("description"):
            fmt["description"] = schema["description"]
        body["text"] = {"format": fmt}
    if request.tools:
        body["tools"] = [responses_tool(t) for t in request.tools]
        if request.tool_choice is not None:
            body["tool_choice"] = responses_tool_choice(request.tool_choice)
        if request.parallel_tool_calls is not None:
            body["parallel_tool_calls"] = request.parallel_tool_calls
    return body


def request_body(request: Request, default_model: str = "") -> dict[str, Any]:
    """The JSON body sent for ``request`` (chat or responses)."""
    if request.api == "chat":
        return chat_body(request, default_model)
    if request.api == "responses":
        return responses_body(request, default_model)
    raise CallError("bad api", f"unknown api {request.api!r} (chat or responses)")


# -- response parsing ---------------------------------------------------------------------
class Malformed(Exception):
    """The response body parsed but does not have the expected shape."""


def get(obj: Any, name: str, default: Any = None) -> Any:
    """``getattr`` that also reads dicts (JSON bodies, and sub-objects the SDK keeps raw)."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _dump(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return dict(obj)
    dump = getattr(obj, "model_dump", None)
    if dump is not None:
        return dump(mode="json", exclude_unset=True)
    raise TypeError(f"unexpected {type(obj).__name__}")


def from_chat(resp: Any) -> Completion:
    """A chat completion (JSON dict or SDK object) as a :class:`Completion`."""
    choices = get(resp, "choices")
    if not isinstance(choices, list):
        raise Malformed("no choices list")
    usage = None
    u = get(resp, "usage")
    if u is not None:
        usage = Usage(
            input_tokens=_int(get(u, "prompt_tokens")),
            output_tokens=_int(get(u, "completion_tokens")),
            reasoning_tokens=_int(get(get(u, "completion_tokens_details"), "reasoning_tokens")),
            cached_tokens=_int(get(get(u, "prompt_tokens_details"), "cached_tokens")),
        )
    dumped = [_dump(c) for c in choices]
    if not choices:
        return Completion(usage=usage, choices=[], empty=True)
    choice = choices[0]
    message = get(choice, "message")
    if message is None or isinstance(message, (str, int, float, list, bool)):
        raise Malformed("a choice without a message object")
    content = get(message, "content")
    if content is not None and not isinstance(content, str):
        raise Malformed(f"message content is a {type(content).__name__}, not text")
    raw_calls = get(message, "tool_calls") or []
    if not isinstance(raw_calls, list):
        raise Malformed("tool_calls is not a list")
    tool_calls = normalize_calls([_dump(tc) for tc in raw_calls])
    refusal = get(message, "refusal")
    finish = get(choice, "finish_reason")
    if refusal is not None and not isinstance(refusal, str) or \
            finish is not None and not isinstance(finish, str):
        raise Malformed("refusal / finish_reason is not text")
    if content is None and not tool_calls and refusal is None and not _has(message, "content"):
        raise Malformed("a message without content, tool calls or refusal")
    return Completion(
        output_text=content or "",
        tool_calls=tool_calls,
        finish_reason=finish,
        refusal=refusal,
        usage=usage,
        choices=dumped,
        empty=content is None and not tool_calls and refusal is None,
    )


def _has(obj: Any, name: str) -> bool:
    """Whether a JSON object (or SDK object) has the key at all (null counts)."""
    if isinstance(obj, dict):
        return name in obj
    return name in (getattr(obj, "model_fields_set", None) or ()) or hasattr(obj, name)


def from_responses(resp: Any, api_key: str | None = None) -> Completion:
    """A Responses API response (JSON dict or SDK object) as a :class:`Completion`; a
    ``failed`` response raises TransientError (server_error, rate limit) or CallError."""
    status = get(resp, "status")
    if status == "failed":
        err = get(resp, "error")
        code = get(err, "code")
        msg = scrub(str(get(err, "message") or "response failed"), api_key)
        if code in ("server_error", "rate_limit_exceeded"):
            raise TransientError("response failed", msg)
        raise CallError("response failed", msg)
    output = get(resp, "output")
    if not isinstance(output, list):
        raise Malformed("no output list")
    usage = None
    u = get(resp, "usage")
    if u is not None:
        usage = Usage(
            input_tokens=_int(get(u, "input_tokens")),
            output_tokens=_int(get(u, "output_tokens")),
            reasoning_tokens=_int(get(get(u, "output_tokens_details"), "reasoning_tokens")),
            cached_tokens=_int(get(get(u, "input_tokens_details"), "cached_tokens")),
        )
    texts: list[str] = []
    refusals: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for item in output:
        if item is None or isinstance(item, (str, int, float, list, bool)):
            raise Malformed("an output item that is not an object")
        kind = get(item, "type")
        if kind == "message":
            for part in get(item, "content") or []:
                ptype = get(part, "type")
                if ptype == "output_text" and isinstance(get(part, "text"), str):
                    texts.append(get(part, "text"))
                elif ptype == "refusal" and isinstance(get(part, "refusal"), str):
                    refusals.append(get(part, "refusal"))
        elif kind == "function_call":
            tool_calls.append(tool_call(get(item, "name"), get(item, "arguments") or "{}",
                                        get(item, "call_id") or get(item, "id")))
    reason = get(get(resp, "incomplete_details"), "reason")
    finish: str | None
    if not output:
        finish = None
    elif status == "incomplete":
        finish = "length" if reason == "max_output_tokens" else (reason or "incomplete")
    elif tool_calls:
        finish = "tool_calls"
    else:
        finish = "stop"
    return Completion(
        output_text="".join(texts),
        tool_calls=tool_calls,
        finish_reason=finish,
        refusal="".join(refusals) or None,
        usage=usage,
        choices=None,
        empty=not output,
    )
