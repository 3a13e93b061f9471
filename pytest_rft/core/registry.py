"""What users register by name: Python models (``@pytest_rft.model``), grader functions
(``@pytest_rft.grader``) and tool implementations (``@pytest_rft.tool``), in one object.

A session's conftest files register into it; the plugin takes a ``snapshot`` before they load
and ``restore``s it when the session ends, so a later session in the same process (pytester,
IDEs) starts without them. The tables are changed in place, never replaced: the modules that
read them (``backends.python_backend``, ``graders.registry``, ``core.tools``) hold them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Snapshot:
    models: dict[str, Callable[..., Any]]
    graders: dict[str, Callable[..., Any]]
    isolated_graders: frozenset[str]
    tools: dict[str, Callable[..., Any]]


@dataclass
class Registry:
    models: dict[str, Callable[..., Any]] = field(default_factory=dict)
    graders: dict[str, Callable[..., Any]] = field(default_factory=dict)
    isolated_graders: set[str] = field(default_factory=set)
    """Graders registered with ``isolated=True`` (run in a worker process)."""
    tools: dict[str, Callable[..., Any]] = field(default_factory=dict)

    def snapshot(self) -> Snapshot:
        return Snapshot(dict(self.models), dict(self.graders), frozenset(self.isolated_graders),
                        dict(self.tools))

    def restore(self, snapshot: Snapshot) -> None:
        """Back to ``snapshot``: what was registered since is forgotten, what was replaced
        comes back."""
        for table, saved in ((self.models, snapshot.models), (self.graders, snapshot.graders),
                             (self.tools, snapshot.tools)):
            table.clear()
            table.update(saved)
        self.isolated_graders.clear()
        self.isolated_graders.update(snapshot.isolated_graders)


REGISTRY = Registry()
"""The process's registrations."""
