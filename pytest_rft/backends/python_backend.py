"""Models written in Python: registered with ``@pytest_rft.model`` or named ``module:attr``."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import inspect
import json
import re
import threading
from collections.abc import Callable
from typing import Any

from ..errors import RftError
from .base import TransientError
from ..records import Completion, Request
from ..tools import normalize_calls

ModelFn = Callable[[Request], Any]

_MODELS: dict[str, ModelFn] = {}
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
    """Normalise what a Python model returned (its tool calls in OpenAI's shape, numbered
    ``call_<turn>_<n>`` when they have no id)."""
    if isinstance(value, Completion):
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
    """Calls a Python function. A sync function runs in a daemon thread per call (the run's
    limiter bounds how many), so a model that blocks on I/O still gets concurrent calls, and one
    that never returns can't keep pytest from exiting after its timeout."""

    def __init__(self, name: str, fn: ModelFn, *, max_workers: int = 16,
                 timeout: float | None = None):
        self.name = name
        self._fn = fn
        self._timeout = timeout
        self._is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None))

    async def complete(self, request: Request) -> Completion:
        call = self._fn(request) if self._is_async else _in_daemon_thread(self._fn, request)
        try:
            value = await asyncio.wait_for(call, self._timeout)
        except asyncio.TimeoutError:
            raise TransientError("timeout", f"model {self.name!r} took longer than "
                                            f"{self._timeout:g}s (--rft-timeout)") from None
        return to_completion(value, request.turn)

    async def aclose(self) -> None:
        pass


def _in_daemon_thread(fn: ModelFn, request: Request) -> "asyncio.Future[Any]":
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if not future.done():
            (future.set_result if ok else future.set_exception)(value)

    def work() -> None:
        try:
            result: tuple[bool, Any] = (True, fn(request))
        except BaseException as exc:  # noqa: BLE001  (handed to the awaiting task)
            result = (False, exc)
        try:
            loop.call_soon_threadsafe(settle, *result)
        except RuntimeError:  # the loop is gone: the call was abandoned
            pass

    threading.Thread(target=work, name=f"rft-model-{request.item_id}", daemon=True).start()
    return future
