"""A baseline read back from its JSON with every value checked (types, finite numbers, counts
that add up): the first wrong one is an RftError naming the file and the field."""

from __future__ import annotations

import json
import math
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..core.errors import RftError
from .baseline_record import SCHEMA_VERSION, Baseline, BaselineItem


def from_dict(data: dict[str, Any], path: Path | None = None) -> Baseline:
    """A baseline from its JSON; every value is checked (types, finite numbers), and the first
    wrong one is an RftError naming the file and the field: a hand-edited NaN never passes a
    gate, a string where a count goes never crashes the run."""
    where = str(path) if path else "baseline"
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise RftError(f"baseline schema_version {version!r} is not supported (this plugin reads "
                       f"{SCHEMA_VERSION})", where=where,
                       fix="re-create it with 'pytest --rft-baseline-update'")
    try:
        items = _mapping(data, "items", "items")
        return Baseline(
            suite=_text(data.get("suite"), "suite"), model=_text(data.get("model"), "model"),
            repeats=_count(data.get("repeats"), "repeats", low=1),
            primary=_text(data.get("primary"), "primary"),
            pass_threshold=_real(data.get("pass_threshold"), "pass_threshold"),
            items={_text(k, "items key"): _item(v, f"items[{json.dumps(k)}]")
                   for k, v in items.items()},
            metrics={_text(k, "metrics key"): _metric(v, f"metrics[{json.dumps(k)}]")
                     for k, v in _mapping(data, "metrics", "metrics", {}).items()},
            digests={_text(k, "digests key"): _text(v, f"digests.{k}")
                     for k, v in _mapping(data, "digests", "digests", {}).items()},
            created=_text(data.get("created", ""), "created"),
            plugin_version=_text(data.get("plugin_version", ""), "plugin_version"),
            source=_text(data.get("source", "pytest-rft"), "source"),
            partial_updates=[_mapping({"u": u}, "u", f"partial_updates[{n}]")
                             for n, u in enumerate(_list_of(data, "partial_updates"))],
            path=str(path) if path else None,
            judges={_text(k, "judges key"): _text(v, f"judges.{k}")
                    for k, v in _mapping(data, "judges", "judges", {}).items()})
    except _Bad as exc:
        raise RftError(f"malformed baseline: {exc.field}: {exc.problem}", where=where,
                       fix="re-create it with 'pytest --rft-baseline-update' (or restore it "
                           "from version control)") from None


class _Bad(Exception):
    def __init__(self, field_name: str, problem: str):
        super().__init__(f"{field_name}: {problem}")
        self.field = field_name
        self.problem = problem


def _shown(value: Any) -> str:
    return json.dumps(value, default=str)[:40] if not isinstance(value, float) else repr(value)


def _mapping(data: Any, key: str, field_name: str, default: Any = None) -> dict[str, Any]:
    value = data.get(key, default)
    if not isinstance(value, dict):
        raise _Bad(field_name, f"expected an object, got {_shown(value)}")
    return value


def _list_of(data: Any, key: str) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise _Bad(key, f"expected a list, got {_shown(value)}")
    return value


def _text(value: Any, field_name: str) -> str:
    if not isinstance(value, str):
        raise _Bad(field_name, f"expected a string, got {_shown(value)}")
    return value


def _count(value: Any, field_name: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _Bad(field_name, f"expected a whole number >= {low}, got {_shown(value)}")
    return value


def _real(value: Any, field_name: str, *, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Bad(field_name, f"expected a finite number, got {_shown(value)}")
    return float(value)


_SCORE_KEYS = ("mean", "std", "min", "max")


def _item(value: Any, where: str) -> BaselineItem:
    if not isinstance(value, dict):
        raise _Bad(where, f"expected an object, got {_shown(value)}")
    scores = _mapping(value, "scores", f"{where}.scores")
    checked: dict[str, dict[str, Any]] = {}
    for name, score in scores.items():
        at = f"{where}.scores.{name}"
        if not isinstance(score, dict):
            raise _Bad(at, f"expected an object, got {_shown(score)}")
        entry: dict[str, Any] = {k: _real(score.get(k), f"{at}.{k}") for k in _SCORE_KEYS
                                 if k in score}
        if "mean" not in entry:
            raise _Bad(f"{at}.mean", "missing")
        entry["n"] = _count(score.get("n", 1), f"{at}.n")
        checked[str(name)] = entry
    n = _count(value.get("n"), f"{where}.n")
    passes = _count(value.get("passes"), f"{where}.passes")
    if passes > n:
        raise _Bad(f"{where}.passes", f"{passes} passes of {n} repeats")
    labels = value.get("labels")
    if labels is not None:
        labels = {str(k): [_count(c, f"{where}.labels.{k}") for c in _list(v, 3, f"{where}.labels.{k}")]
                  for k, v in _mapping(value, "labels", f"{where}.labels").items()}
    rows = value.get("rows")
    if rows is not None:
        rows = [_real(v, f"{where}.rows") for v in _list(rows, 4, f"{where}.rows")]
    confirm = value.get("confirm")
    if confirm is not None:
        confirm = [_count(c, f"{where}.confirm") for c in _list(confirm, 2, f"{where}.confirm")]
        if confirm[0] > confirm[1]:
            raise _Bad(f"{where}.confirm", f"{confirm[0]} passes of {confirm[1]} repeats")
    unknown = set(value) - _ITEM_KEYS
    if unknown:
        raise _Bad(f"{where}.{sorted(unknown)[0]}", "unknown key")
    return BaselineItem(scores=checked, passes=passes, n=n,
                        errors=_count(value.get("errors", 0), f"{where}.errors"),
                        digest=_text(value.get("digest", ""), f"{where}.digest"), labels=labels,
                        rows=rows, stability=_text(value.get("stability", ""), f"{where}.stability"),
                        confirm=confirm)


_ITEM_KEYS = frozenset(f.name for f in fields(BaselineItem))


def _list(value: Any, length: int, where: str) -> list[Any]:
    if not isinstance(value, list) or len(value) != length:
        raise _Bad(where, f"expected a list of {length} numbers, got {_shown(value)}")
    return value


def _metric(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(where, f"expected an object, got {_shown(value)}")
    out = {k: _real(value.get(k), f"{where}.{k}", optional=True)
           for k in ("value", "ci_low", "ci_high") if k in value}
    if value.get("n") is not None:
        out["n"] = _count(value["n"], f"{where}.n")
    elif "n" in value:
        out["n"] = None
    return out
