"""Paths into JSON values (``a.b[*].c[0]``): where labels are read in items and outputs."""

import re
from functools import lru_cache

_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\*|-?\d+)\]|(\.)")


@lru_cache(maxsize=256)
def parse_path(path: str) -> tuple[str | int | None, ...] | None:
    """``a.b[*].c[0]`` -> ("a", "b", None, "c", 0) (None = every element); None if malformed."""
    p = path.strip()
    if p.startswith("$"):
        p = p[1:]
    steps: list[str | int | None] = []
    pos = 0
    for m in _SEGMENT.finditer(p):
        if m.start() != pos:
            return None
        pos = m.end()
        key, sub, _dot = m.groups()
        if key is not None:
            steps.append(key)
        elif sub is not None:
            steps.append(None if sub == "*" else int(sub))
    return tuple(steps) if pos == len(p) else None
