"""Shared fixtures: pytester for end-to-end runs and the local OpenAI-compatible server."""

pytest_plugins = ["pytester"]

from tests.openai_server import openai_server  # noqa: E402,F401  (fixture)
