"""Baseline files: what a suite scored with the model we ship, committed next to the suite.

A baseline is plain data (``Baseline``): per-item score statistics and pass counts, the suite
metrics, and digests of everything the scores depend on. It is written as reviewable,
diff-friendly JSON (sorted keys, one item per line), atomically; it is read back from a baseline
file or from an earlier ``--rft-report`` JSON. Comparing against it is ``compare.py``'s job.
"""

from __future__ import annotations

import datetime
import hashlib
import inspect
import json
import os
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import RftError

SCHEMA_VERSION = 1
KIND = "pytest-rft-baseline"
DIGEST_PARTS = ("dataset", "prompt", "response_schema", "graders", "sampling", "repeats",
                "tools", "judges")
OPTIONAL_PARTS = ("tools",)
"""Digests only suites that use them have: one side lacking it is a change too (``judges``
is compared only when both sides have it: baselines made before it existed lack it)."""


@dataclass
class BaselineItem:
    """One item as the baseline run saw it."""

    scores: dict[str, dict[str, float]]
    """score name -> {mean, std, min, max, n}."""
    passes: int
    """Repeats whose primary score reached the pass threshold."""
    n: int
    """Repeats with a primary score."""
    errors: int = 0
    digest: str = ""
    """Digest of the item's data (empty when unknown): a changed record is named, not mixed in."""
    labels: dict[str, list[int]] | None = None
    """label -> [true positives, predicted, true], summed over repeats (classification suites)."""
    rows: list[float] | None = None
    """[rows, sum of row precision, recall, F1] for the samples_* metrics."""
    stability: str = ""
    """stable-pass / stable-fail / flaky / unknown / no-score, from passes of n (for review)."""
    confirm: list[int] | None = None
    """[passes, n] of the item's confirmation repeats (``item_repeats``), drawn beyond the main
    ones: they count in its regression test only, never in the suite's numbers."""

    def all_passes(self) -> tuple[int, int]:
        """Passing repeats and repeats, main and confirmation together."""
        extra = self.confirm or (0, 0)
        return self.passes + int(extra[0]), self.n + int(extra[1])


@dataclass
class Baseline:
    suite: str
    model: str
    repeats: int
    primary: str
    pass_threshold: float
    items: dict[str, BaselineItem]
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    """metric -> {value, ci_low, ci_high, n}."""
    digests: dict[str, str] = field(default_factory=dict)
    created: str = ""
    plugin_version: str = ""
    source: str = "pytest-rft"
    """Where the scores come from: a pytest-rft run, a report, an imported OpenAI eval run."""
    judges: dict[str, str] = field(default_factory=dict)
    """Score name -> the judge model that scored it (score_model / label_model graders)."""
    partial_updates: list[dict[str, Any]] = field(default_factory=list)
    """Runs that updated only some items since the last full update (``-k``, ``--rft-limit``):
    ``{created, model, repeats, items}`` each. The model, metrics and digests above are the
    last full update's; a full update empties this."""
    path: str | None = None
    """The file it was read from (not written)."""


# --------------------------------------------------------------------------------------------
# Digests


def digest(value: Any) -> str:
    """Short stable digest of a JSON-able value (key order does not matter)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    # surrogatepass: a lone surrogate in a record digests (same bytes as before for any other text)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def suite_digests(suite: Any, sampling: dict[str, Any], repeats: int) -> dict[str, str]:
    """Digests of what a suite's scores depend on: dataset, prompt, response schema, graders,
    sampling (for the model run), the number of repeats (pass_rate, .max, .min depend on it),
    for an agent suite its tools, and for a suite with judge graders the judge models."""
    graders = suite.grader_definitions
    if getattr(suite.config, "errors_as_zero", False):
        graders = [graders, "errors_as_zero"]
    digests = {
        "dataset": digest([[item.id, _record_fields(item), item.messages] for item in suite.items]),
        "prompt": digest(suite.prompt),
        "response_schema": digest(suite.response_schema),
        "graders": digest(graders),
        "sampling": digest(sampling),
        "repeats": str(repeats),
    }
    if getattr(suite, "tools", None) is not None or getattr(suite, "item_tools", None):
        digests["tools"] = digest({
            "tools": suite.tools, "tool_choice": suite.tool_choice,
            "parallel_tool_calls": suite.config.parallel_tool_calls,
            "max_turns": suite.max_turns,
            "implementations": dict(sorted(suite.implementation_sources.items()))})
    judges = suite.judge_models() if hasattr(suite, "judge_models") else {}
    if judges:
        digests["judges"] = digest(judges)
    return digests


def item_digest(item: Any) -> str:
    """The record's digest, worked out once per item (items don't change)."""
    known = item._digest
    if known is None:
        known = item._digest = digest([_record_fields(item), item.messages])[:8]
    return known


def _record_fields(item: Any) -> Any:
    """The item's fields without the copy of its messages that RFT rows keep in them (the
    digest stays what it was before rows kept their messages in the item)."""
    data = item.data
    if item.messages is not None and data.get("messages") is item.messages:
        return {k: v for k, v in data.items() if k != "messages"}
    return data


def callable_source(fn: Any) -> str:
    """Source of a registered Python grader, for its digest (its name when unavailable)."""
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return getattr(fn, "__qualname__", repr(fn))


def partial_update(old: Baseline, new: Baseline, dataset_ids: set[str]) -> Baseline:
    """``old`` with the items of a partial run (``new``: -k, --rft-limit) replaced, and the other
    items of the dataset kept. The suite-level fields (model, repeats, metrics, digests, date)
    stay the last full update's: metrics of a subset would misdescribe the file's items, and
    the kept items' spread is not in this run to recompute them. The run is recorded under
    ``partial_updates`` instead, so a reviewer sees which runs the items come from."""
    items = {k: v for k, v in old.items.items() if k in dataset_ids}
    items.update(new.items)
    record = {"created": new.created, "model": new.model, "repeats": new.repeats,
              "items": len(new.items)}
    return Baseline(suite=old.suite, model=old.model, repeats=old.repeats, primary=old.primary,
                    pass_threshold=old.pass_threshold, items=items, metrics=old.metrics,
                    digests=old.digests, created=old.created, plugin_version=old.plugin_version,
                    source=old.source, partial_updates=[*old.partial_updates, record],
                    judges=old.judges)


# --------------------------------------------------------------------------------------------
# Writing


def default_path(suite_path: Path, suite_name: str, baseline_dir: str | Path | None = None) -> Path:
    """``baselines/<suite>.json`` next to the suite file, or in ``baseline_dir``."""
    folder = Path(baseline_dir) if baseline_dir else suite_path.parent / "baselines"
    return folder / f"{suite_name}.json"


def dumps(baseline: Baseline) -> str:
    """Diff-friendly JSON: sorted keys, one metric and one item per line."""
    data = _fields(baseline)  # shallow: json.dumps walks the rest (asdict's deep copy is slow)
    data.pop("path", None)
    if not data["partial_updates"]:
        del data["partial_updates"]  # a full update's file is as before
    items = {k: _fields(v) for k, v in data.pop("items").items()}
    metrics = data.pop("metrics")
    if not data.get("judges"):
        data.pop("judges", None)  # suites without judge graders: the file as before
    data["schema_version"] = SCHEMA_VERSION
    data["kind"] = KIND

    def line(value: Any) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))

    head = [f"  {json.dumps(k)}: {line(v)}" for k, v in sorted(data.items())]
    metric_lines = [f"    {json.dumps(k)}: {line(metrics[k])}" for k in sorted(metrics)]
    item_lines = [f"    {json.dumps(k)}: {line(_compact(items[k]))}" for k in sorted(items)]
    return ("{\n" + ",\n".join(head)
            + ",\n  \"items\": {\n" + ",\n".join(item_lines) + "\n  }"
            + ",\n  \"metrics\": {\n" + ",\n".join(metric_lines) + "\n  }\n}\n")


def _fields(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _compact(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if v is not None}


def write(path: Path, baseline: Baseline) -> None:
    """Write atomically: the old file stays whole until the new one is complete."""
    text = dumps(baseline)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


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


def from_dict(data: dict[str, Any], path: Path | None = None) -> Baseline:
    where = str(path) if path else "baseline"
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise RftError(f"baseline schema_version {version!r} is not supported (this plugin reads "
                       f"{SCHEMA_VERSION})", where=where,
                       fix="re-create it with 'pytest --rft-baseline-update'")
    try:
        items = {str(k): BaselineItem(**v) for k, v in data["items"].items()}
        return Baseline(
            suite=data["suite"], model=data["model"], repeats=int(data["repeats"]),
            primary=data["primary"], pass_threshold=float(data["pass_threshold"]), items=items,
            metrics=data.get("metrics", {}), digests=data.get("digests", {}),
            created=data.get("created", ""), plugin_version=data.get("plugin_version", ""),
            source=data.get("source", "pytest-rft"),
            partial_updates=list(data.get("partial_updates") or []),
            path=str(path) if path else None,
            judges={str(k): str(v) for k, v in (data.get("judges") or {}).items()})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RftError(f"malformed baseline ({type(exc).__name__}: {exc})", where=where,
                       fix="re-create it with 'pytest --rft-baseline-update'") from None


def from_report(path: Path, suite: str, model: str | None = None) -> Baseline | None:
    """The baseline of ``suite`` held in a ``--rft-report`` JSON (the run of ``model``, else the
    first run of that suite); None when the report has no run of that suite."""
    data = _load_json(path)
    if "suites" not in data:
        raise RftError("not a pytest-rft report (no 'suites')", where=str(path),
                       fix="pass the JSON written by --rft-report, or a baseline file")
    runs = [s for s in data["suites"] if s.get("suite") == suite and s.get("baseline")]
    if model is not None:
        runs = [s for s in runs if s.get("model") == model] or runs[:0]
    if not runs:
        return None
    return from_dict(runs[0]["baseline"], path)


def _load_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RftError("baseline file not found", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RftError(f"cannot read the baseline: {exc}", where=str(path)) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RftError(f"invalid JSON: {exc}", where=str(path),
                       fix="restore it from version control or re-create it with "
                           "'pytest --rft-baseline-update'") from None
    if not isinstance(data, dict):
        raise RftError("expected a JSON object", where=str(path))
    return data
