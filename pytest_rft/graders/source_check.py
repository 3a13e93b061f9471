"""A python grader's source checked at load in a child process under the grader limits: the
source never runs in the pytest process before it passed here (a top-level loop, a sleep, an
``os._exit(0)`` or a crash ends that child, not the run)."""

from __future__ import annotations

import asyncio
import multiprocessing
import sys

from ..core.errors import RftError
from . import _worker
from .isolation import CallSpec
from .python_rules import DEFAULT_MEMORY, DEFAULT_TIMEOUT, load_source
from .supervisor import exit_cause, kill_group, start_context

_CHECKED: dict[str, tuple[str | None, bool]] = {}


def check(name: str, source: str, *, timeout: float = DEFAULT_TIMEOUT,
          memory: int | None = DEFAULT_MEMORY) -> tuple[str | None, bool]:
    """Load a python grader's ``source`` in a child process under the grader limits (the time
    limit covers loading); (None, whether ``grade`` is async) when it defines a usable
    ``grade``, else (why not, False). Checked once per source and process."""
    key = CallSpec.source(name, source).key + f":{timeout}:{memory}"
    if key not in _CHECKED:
        if multiprocessing.current_process().daemon:  # a grader worker (it may not have
            try:                                         # children): isolated already
                fn, _ = load_source(name, source, where="")
                _CHECKED[key] = (None, asyncio.iscoroutinefunction(fn))
            except RftError as exc:
                _CHECKED[key] = (exc.message, False)
        else:
            _CHECKED[key] = _in_child(name, source, timeout, memory)
    return _CHECKED[key]


def _in_child(name: str, source: str, timeout: float, memory: int | None
              ) -> tuple[str | None, bool]:
    ctx = start_context()
    parent, child = ctx.Pipe(duplex=False)
    settings = {"timeout": timeout, "memory": memory, "sys_path": list(sys.path)}
    proc = ctx.Process(target=_worker.check_source, args=(child, name, source, settings),
                       name=f"rft-grader-check-{name}", daemon=True)
    proc.start()
    child.close()
    try:
        if parent.poll(timeout + 1.0 + 0.05 * timeout):
            try:
                return parent.recv()
            except (EOFError, OSError):  # the source ended the process: os._exit, a crash
                proc.join(5)
                return (f"python grader '{name}' source ended its process while loading: "
                        f"{exit_cause(proc.exitcode)}", False)
        return (f"python grader '{name}' source did not finish loading within {timeout:g} s "
                "(--rft-grader-timeout) and did not stop; its process was killed", False)
    finally:
        parent.close()
        kill_group(proc)
