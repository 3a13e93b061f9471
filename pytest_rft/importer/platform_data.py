"""Platform answers whose types are not guaranteed, read safely (an object, an array, a string,
a finite number, a count; else one clean RftError or None), and platform text made safe for one
line, a name or a file."""

from __future__ import annotations

import datetime
import json
import math
import re
from typing import Any

from ..core.errors import RftError
from ..core.secrets import scrub

_UUID_SUFFIX = re.compile(r"-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def one_line(value: Any, limit: int = 300) -> str:
    """Platform text made safe for one line of a comment, a note, a name or the terminal:
    control characters (newlines, escape sequences) become spaces, lone surrogates U+FFFD, and
    it is cut at ``limit``."""
    text = _CONTROL.sub(" ", value if isinstance(value, str) else str(value))
    text = _SURROGATE.sub("\ufffd", text)  # a lone surrogate cannot be written as UTF-8
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def strip_uuid(name: str) -> str:
    """``"Exact match-2eaf2d8d-d649-4335-8148-9535a7ca73c2"`` -> ``"Exact match"``."""
    return _UUID_SUFFIX.sub("", name)


def slug(text: str, default: str = "suite") -> str:
    """A file- and test-id-friendly name: lowercase letters, digits, ``-`` and ``_``."""
    # masked first: lowercased and cut, a secret would no longer be found in the name
    value = re.sub(r"[^a-z0-9_]+", "-", scrub(text).lower()).strip("-_")
    return value[:60].rstrip("-_") or default


def unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    taken.add(candidate)
    return candidate


def iso_utc(timestamp: Any) -> str:
    """A platform Unix timestamp as ISO-8601 UTC ('' when absent or not a usable number)."""
    value = number(timestamp)
    if value is None:
        return ""
    try:
        return datetime.datetime.fromtimestamp(int(value), datetime.timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        return ""


def obj(parent: Any, key: str, where: str) -> dict[str, Any]:
    """``parent[key]`` as an object: {} when absent or null, one RftError for another type."""
    value = parent.get(key) if isinstance(parent, dict) else None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RftError(f"{where}: '{key}' is {kind(value)}, not an object",
                       fix="check --base-url / the saved files: the platform answered "
                           "something else")
    return value


def arr(parent: Any, key: str, where: str) -> list[Any]:
    """``parent[key]`` as an array: [] when absent or null, one RftError for another type."""
    value = parent.get(key) if isinstance(parent, dict) else None
    if value is None:
        return []
    if not isinstance(value, list):
        raise RftError(f"{where}: '{key}' is {kind(value)}, not an array",
                       fix="check --base-url / the saved files: the platform answered "
                           "something else")
    return value


def text(value: Any) -> str:
    """A string field ('' when absent or not a string)."""
    return value if isinstance(value, str) else ""


def number(value: Any) -> float | None:
    """A finite number (bools are not numbers here), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value) if math.isfinite(value) else None
    except OverflowError:  # an int too large for a float
        return None


def count(value: Any) -> int | None:
    """A non-negative whole number (``3`` or ``3.0``), else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    found = number(value)
    return int(found) if found is not None and found >= 0 and found == int(found) else None


def kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RftError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", where=where,
                       fix="the platform file is damaged or not a JSONL file: download it "
                           "again") from None


def parse_jsonl(data: bytes, where: str) -> list[Any]:
    """The records of a JSONL file (blank lines skipped); a broken line is one RftError."""
    rows = []
    for number_, line in enumerate(decode(data, where).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError as exc:
            raise RftError(f"invalid JSON on line {number_}: {str(exc)[:200]}", where=where,
                           fix="the platform file is damaged: download it again") from None
        except RecursionError:
            raise RftError(f"line {number_} is nested too deeply to read", where=where,
                           fix="the platform file is damaged: download it again") from None
    return rows
