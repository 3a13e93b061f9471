"""Short stable digests of what scores depend on (records, graders' sources ...)."""

from __future__ import annotations

import hashlib
import inspect
import json
from typing import Any


def digest(value: Any) -> str:
    """Short stable digest of a JSON-able value (key order does not matter)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    # surrogatepass: a lone surrogate in a record digests (same bytes as before for any other text)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def callable_source(fn: Any) -> str:
    """Source of a registered Python grader, for its digest (its name when unavailable)."""
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return getattr(fn, "__qualname__", repr(fn))
