"""pytest-rft: eval-gated model regression testing in pytest.

Public API: register Python models and graders, and the plain data they receive/return.
"""


from typing import TYPE_CHECKING, Any

from .core.errors import GraderError, RftError
from .core.version import __version__

if TYPE_CHECKING:
    from .backends.python_backend import model
    from .graders import grader
    from .core.records import Completion, Grades, Request, SampleResult, Usage
    from .core.tools import ToolError, tool, tool_call

_LAZY = {"model": "backends.python_backend", "grader": "graders", "Completion": "core.records",
         "Grades": "core.records", "Request": "core.records", "SampleResult": "core.records",
         "Usage": "core.records", "tool": "core.tools", "tool_call": "core.tools",
         "ToolError": "core.tools"}
"""Imported on first use, so that pytest's start-up pays nothing for the plugin until a suite
(or a conftest using the API) needs it."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        # not cached here: pytester's in-process runs drop modules imported during a run, and
        # the registries (models, graders) must be those of the modules in sys.modules
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["model", "grader", "tool", "tool_call", "ToolError", "Request", "Completion", "Usage",
           "Grades", "SampleResult", "RftError", "GraderError"]
