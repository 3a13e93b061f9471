"""Shared fixtures: pytester for end-to-end runs and the local OpenAI-compatible server."""

pytest_plugins = ["pytester"]

from tests.support.openai_server import openai_server  # noqa: E402,F401  (fixture)

# The plugin imports its core (pydantic, the session ...) only when a suite is found, and numpy
# only when statistics are computed. Load them up front: pytester's in-process runs drop modules
# first imported during a run, and numpy (scipy too) cannot be imported twice in one process.
import numpy  # noqa: E402,F401
import scipy.special  # noqa: E402,F401  (statistics: t and chi-square quantiles; same reason)
import pytest_rft.plugin.session  # noqa: E402,F401
