"""Where a pytest session keeps its pytest-rft state: the ``RftSession`` in the config's stash,
made (with the core it imports) when the first suite is found."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the core (numpy, pydantic, yaml, runner, backends) loads with the first suite
    from .session import RftSession

SESSION = pytest.StashKey["RftSession"]()


def rft_session(config: pytest.Config) -> RftSession:
    """The session state, created (with the imports it needs) when the first suite is found."""
    session = config.stash.get(SESSION, None)
    if session is None:
        from .session import RftSession

        session = config.stash[SESSION] = RftSession(config)
    return session


def started(config: pytest.Config) -> RftSession | None:
    """The session state if a suite was found, else None (hooks then have nothing to do)."""
    return config.stash.get(SESSION, None)


def is_worker(config: pytest.Config) -> bool:
    """Whether this process is an xdist worker (it hands its runs to the controller)."""
    return hasattr(config, "workerinput")
