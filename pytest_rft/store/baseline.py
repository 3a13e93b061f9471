"""Baseline files: what a suite scored with the model we ship, committed next to the suite.

A baseline is plain data (``baseline_record.py``): per-item score statistics and pass counts,
the suite metrics, and digests of everything the scores depend on. It is written here as
reviewable, diff-friendly JSON (sorted keys, one item per line), atomically; it is read back
from a baseline file or from an earlier ``--rft-report`` JSON (checked by ``baseline_parse.py``).
Comparing against it is ``compare.py``'s job. The record's names are re-exported: callers use
this module for baselines.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from collections.abc import Iterator
from typing import Any

from ..core import files, secrets
from ..core.errors import RftError
from .baseline_parse import from_dict
from .baseline_record import (DIGEST_PARTS, KIND, OPTIONAL_PARTS, SCHEMA_VERSION, Baseline,
                              BaselineItem, item_digest, now, partial_update, suite_digests)

__all__ = ["DIGEST_PARTS", "KIND", "OPTIONAL_PARTS", "SCHEMA_VERSION", "Baseline", "BaselineItem",
           "default_path", "dump_chunks", "dumps", "from_dict", "from_report", "item_digest",
           "now", "partial_update", "read", "read_any", "suite_digests", "write"]


# --------------------------------------------------------------------------------------------
# Writing


def default_path(suite_path: Path, suite_name: str, baseline_dir: str | Path | None = None) -> Path:
    """``baselines/<suite>.json`` next to the suite file, or in ``baseline_dir``; the suite
    name made a safe file name (no ``/``, ``..`` or control characters: a name can't put the
    baseline outside its folder)."""
    folder = Path(baseline_dir) if baseline_dir else suite_path.parent / "baselines"
    return folder / files.safe_filename(suite_name, ".json")


def dumps(baseline: Baseline) -> str:
    """Diff-friendly JSON: sorted keys, one metric and one item per line."""
    return "".join(dump_chunks(baseline))


def dump_chunks(baseline: Baseline) -> Iterator[str]:
    """:func:`dumps` piece by piece, an item at a time (``baseline.items`` may build each item
    when it is read: a 200,000-item snapshot never exists whole)."""
    data = _fields(baseline)  # shallow: json.dumps walks the rest (asdict's deep copy is slow)
    data.pop("path", None)
    if not data["partial_updates"]:
        del data["partial_updates"]  # a full update's file is as before
    items = data.pop("items")
    metrics = data.pop("metrics")
    if not data.get("judges"):
        data.pop("judges", None)  # suites without judge graders: the file as before
    data["schema_version"] = SCHEMA_VERSION
    data["kind"] = KIND

    def line(value: Any) -> str:  # secrets scrubbed before encoding, NaN refused
        return secrets.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "),
                             allow_nan=False)

    def key(name: str) -> str:
        return json.dumps(secrets.scrub(name))

    head = [f"  {key(k)}: {line(v)}" for k, v in sorted(data.items())]
    metric_lines = [f"    {key(k)}: {line(metrics[k])}" for k in sorted(metrics)]
    yield "{\n" + ",\n".join(head) + ",\n  \"items\": {\n"
    for n, k in enumerate(sorted(items)):
        yield f"{',' if n else ''}\n    {key(k)}: {line(_compact(_fields(items[k])))}"[0 if n else 1:]
    yield ("\n  }" + ",\n  \"metrics\": {\n" + ",\n".join(metric_lines) + "\n  }\n}\n")


def _fields(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _compact(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if v is not None}


def write(path: Path, baseline: Baseline) -> None:
    """Write atomically (the old file stays whole until the new one is complete), with normal
    permissions (a baseline is committed and shared, not private)."""
    files.write_atomic(path, dumps(baseline))


# --------------------------------------------------------------------------------------------
# Reading


def read(path: Path) -> Baseline:
    """A baseline file, or a ``--rft-report`` JSON holding exactly one suite run."""
    data = _load_json(path)
    if data.get("kind") == KIND:
        return from_dict(data, path)
    raise RftError("not a pytest-rft baseline file", where=str(path),
                   fix="write it with 'pytest --rft-baseline-update', or pass a --rft-report JSON "
                       "with --rft-baseline")


def read_any(path: Path, suite: str, model: str | None = None) -> Baseline | None:
    """``path`` as a baseline file (of ``suite``) or a report (its run of ``suite``)."""
    data = _load_json(path)
    if data.get("kind") == KIND:
        return from_dict(data, path) if data.get("suite") == suite else None
    return from_report(path, suite, model)


def from_report(path: Path, suite: str, model: str | None = None) -> Baseline | None:
    """The baseline of ``suite`` held in a ``--rft-report`` JSON (the run of ``model``, else the
    first run of that suite); None when the report has no run of that suite."""
    data = _load_json(path)
    if "suites" not in data:
        raise RftError("not a pytest-rft report (no 'suites')", where=str(path),
                       fix="pass the JSON written by --rft-report, or a baseline file")
    suites = data["suites"] if isinstance(data["suites"], list) else []
    runs = [s for s in suites if isinstance(s, dict) and s.get("suite") == suite
            and isinstance(s.get("baseline"), dict)]
    if model is not None:
        runs = [s for s in runs if s.get("model") == model] or runs[:0]
    if not runs:
        return None
    return from_dict(runs[0]["baseline"], path)


def _load_json(path: Path) -> dict[str, Any]:
    try:
        text = files.read_text(path)
    except RftError as exc:
        message = "baseline file not found" if exc.message == "file not found" else \
            f"cannot read the baseline: {exc.message}"
        raise RftError(message, where=exc.where, fix=exc.fix) from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise RftError(f"invalid JSON: {exc}", where=str(path),
                       fix="restore it from version control or re-create it with "
                           "'pytest --rft-baseline-update'") from None
    if not isinstance(data, dict):
        raise RftError("expected a JSON object", where=str(path))
    return data
