"""Models written in Python: registered with ``@pytest_rft.model`` or named ``module:attr``."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import inspect
import json
import re
from collections.abc import Callable
from typing import Any

from ..core.registry import REGISTRY
from ..core.errors import RftError
from .base import CallError, TransientError
from ..core.records import Completion, Request, Usage
from ..core.threads import DaemonThreads
from ..core.tools import normalize_calls

ModelFn = Callable[[Request], Any]

_MODELS: dict[str, ModelFn] = REGISTRY.models  # the one registry (core/registry.py)
_MODULE_ATTR = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def model(name: str) -> Callable[[ModelFn], ModelFn]:
    """Register ``fn(request) -> str | dict | Completion`` (sync or async) as model ``name``.

    With tools, ``request.tools`` holds them (Chat shape) and ``request.messages`` the
    conversation so far (tool results included); call tools by returning
    ``Completion(tool_calls=[pytest_rft.tool_call("name", {...}), ...])``."""

    def register(fn: ModelFn) -> ModelFn:
        _MODELS[name] = fn
        return fn

    return register


def registered_models() -> dict[str, ModelFn]:
    return dict(_MODELS)


def find_python_model(name: str) -> ModelFn | None:
    """The registered model ``name``, or the object at ``module:attr``; None if neither."""
    if name in _MODELS:
        return _MODELS[name]
    if not _MODULE_ATTR.match(name):
        return None
    module_name, attr = name.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    fn = getattr(module, attr, None)
    if fn is None or not callable(fn):
        raise RftError(f"model {name!r}: module {module_name!r} has no callable {attr!r}",
                       fix="name a function that takes a request and returns text")
    return fn


def to_completion(value: Any, turn: int = 0) -> Completion:
    """Normalise what a Python model returned: a Completion's fields are checked (a wrong type
    is the model's error, not a crash later); its tool calls in OpenAI's shape, numbered
    ``call_<turn>_<n>`` when they have no id."""
    if isinstance(value, Completion):
        checks = (("output_text", str), ("tool_calls", list), ("finish_reason", (str, type(None))),
                  ("refusal", (str, type(None))), ("usage", (Usage, type(None))),
                  ("choices", (list, type(None))), ("empty", bool))
        for name, kind in checks:
            if not isinstance(getattr(value, name), kind):
                raise TypeError(f"the model returned a Completion whose {name} is a "
                                f"{type(getattr(value, name)).__name__}")
        if not all(isinstance(call, dict) for call in value.tool_calls):
            raise TypeError("the model returned a Completion whose tool_calls are not dicts")
        if value.tool_calls:
            value = dataclasses.replace(
                value, tool_calls=normalize_calls(value.tool_calls, f"call_{turn}"),
                finish_reason=value.finish_reason or "tool_calls")
        return value
    if isinstance(value, str):
        return Completion(output_text=value, finish_reason="stop")
    if isinstance(value, (dict, list)):
        return Completion(output_text=json.dumps(value, ensure_ascii=False), finish_reason="stop")
    if hasattr(value, "model_dump_json"):  # a pydantic model instance
        return Completion(output_text=value.model_dump_json(), finish_reason="stop")
    raise TypeError(f"a model must return str, dict, a pydantic model or Completion, "
                    f"not {type(value).__name__}")


class PythonBackend:
    """Calls a Python function. A sync function runs on a daemon thread (the run's limiter
    bounds how many at once; threads are reused between calls), so a model that blocks on I/O
    still gets concurrent calls, and one that never returns can't keep pytest from exiting
    after its timeout."""

    def __init__(self, name: str, fn: ModelFn, *, max_workers: int = 16,
                 timeout: float | None = None):
        self.name = name
        self._fn = fn
        self._timeout = timeout
        self._is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None))
        self._threads = DaemonThreads(f"rft-model-{name}")

    async def complete(self, request: Request) -> Completion:
        call = self._fn(request) if self._is_async else self._threads.run(self._fn, request)
        try:
            value = await asyncio.wait_for(call, self._timeout)
        except asyncio.TimeoutError:
            # not retried: the call can't be stopped (its thread keeps running), and a retry
            # of code that hung would leave one more thread spinning per attempt
            raise CallError("timeout", f"model {self.name!r} took longer than "
                                       f"{self._timeout:g}s (--rft-timeout); not retried: "
                                       "its call is left running") from None
        return to_completion(value, request.turn)

    async def aclose(self) -> None:
        self._threads.close()


