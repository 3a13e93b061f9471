"""Keeping API keys out of everything the plugin writes or prints.

Any value of an environment variable whose name ends in ``_API_KEY`` or ``_TOKEN`` (and
``OPENAI_API_KEY`` itself), plus any ``sk-...``-looking token, is replaced by ``***`` in text
that reaches the terminal, reports, JUnit XML, the step summary and caches, whatever raised it.
"""

from __future__ import annotations

import os
import re

_TOKEN = re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}")
_MIN_SECRET = 8
_cache: tuple[tuple, tuple[str, ...], re.Pattern[str] | None] = ((), (), None)


def _secret_values() -> tuple[str, ...]:
    names = [k for k in os.environ if k.endswith(("_API_KEY", "_TOKEN")) or k == "OPENAI_API_KEY"]
    values = {os.environ[k] for k in names if len(os.environ[k]) >= _MIN_SECRET}
    return tuple(sorted(values, key=len, reverse=True))


def _secrets() -> tuple[tuple[str, ...], re.Pattern[str] | None]:
    """The secrets and their pattern, rebuilt only when the environment changed (scrub runs
    per test and per report item)."""
    global _cache
    environ = tuple(getattr(os.environ, "_data", os.environ).items())  # raw: no decoding
    if environ != _cache[0]:
        values = _secret_values()
        _cache = (environ, values,
                  re.compile("|".join(map(re.escape, values))) if values else None)
    return _cache[1], _cache[2]


def scrub(text: str) -> str:
    """``text`` with every known secret replaced by ``***``."""
    if not text:
        return text
    values, pattern = _secrets()
    if pattern is not None and any(value in text for value in values):  # `in` is much faster
        text = pattern.sub("***", text)
    return _TOKEN.sub("sk-***", text) if "sk-" in text else text
