"""Baseline files: what a suite scored with the model we ship, committed next to the suite.

A baseline is plain data (``Baseline``): per-item score statistics and pass counts, the suite
metrics, and digests of everything the scores depend on. It is written as reviewable,
diff-friendly JSON (sorted keys, one item per line), atomically; it is read back from a baseline
file or from an earlier ``--rft-report`` JSON. Comparing against it is ``compare.py``'s job.
"""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from collections.abc import Iterator
from typing import Any

from ..core import files, secrets
from ..core.digests import digest
from ..core.errors import RftError

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
