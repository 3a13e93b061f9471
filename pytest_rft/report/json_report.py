"""The JSON report: every sample with its output, scores, usage, latency and errors."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import io
import json
import math
import os
import tempfile
from pathlib import Path
from collections.abc import Iterable, Iterator
from typing import Any

from ..core.version import __version__
from ..store.baseline import dump_chunks
from ..analysis.compare import Comparison
from ..core.records import CallStats, SuiteRun
from ..core import files, secrets
from ..analysis.summary import SuiteSummary, to_baseline


_SCALARS = (str, int, bool, type(None))
_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(value: Any) -> tuple[str, ...] | None:
    """A dataclass instance's field names (cached per class), else None."""
    kind = type(value)
    names = _FIELDS.get(kind)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(value))
    return names


def _plain(value: Any) -> Any:
    """JSON-ready copy: dataclasses as dicts, numpy values as Python, NaN/inf as None."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is float:
        return value if math.isfinite(value) else None  # JSON has no NaN/inf
    names = _field_names(value)
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _plain(value.tolist())
    return value


SCHEMA_VERSION = 3
"""2: baselines (per run ``baseline`` snapshot, ``comparison``, ``versus``, per-item deltas);
3: three verdicts per gate (``verdict``, ``reason``, corrected p-values), deltas with their
method and level, items tested for a regression with their p-values."""


def delta_json(d: Any) -> dict[str, Any]:
    """A ``PairedDelta`` as the report shows it."""
    est = d.estimate
    return _plain({"metric": d.metric, "n": d.n, "current": d.current, "baseline": d.baseline,
                   "delta": d.delta, "ci_low": d.ci_low, "ci_high": d.ci_high, "level": d.level,
                   "p_worse": d.p_value, "method": est.method, "reason": est.reason,
                   "correlation": d.correlation})


GATE_FIELDS = ("label", "metric", "kind", "verdict", "passed", "value", "ci", "baseline",
               "delta", "delta_ci", "level", "p_value", "p_adjusted", "correction", "family",
               "reason", "rules_out", "detail")


def gate_json(g: Any) -> dict[str, Any]:
    return _plain({name: getattr(g, name) for name in GATE_FIELDS})


def comparison(c: Comparison | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"baseline": {"model": c.baseline.model, "created": c.baseline.created,
                         "repeats": c.baseline.repeats, "source": c.baseline.source,
                         "path": c.baseline.path},
            "digest_changes": c.digest_changes, "added": c.added, "removed": c.removed,
            "changed": c.changed, "paired": len(c.paired), "regressed": c.regressed,
            "dropped": c.dropped, "item_p": _plain(c.item_p), "item_family": c.item_family,
            "correction": c.correction, "flipped_down": c.flipped_down,
            "improved": c.improved, "deltas": {k: delta_json(d) for k, d in c.deltas.items()}}


def build(pairs: list[tuple[SuiteRun, SuiteSummary | None]], calls: CallStats | None,
          *, exitstatus: int, judge: Any = None,
          encoded: Spool | dict[tuple[str, str], str] | None = None) -> dict[str, Any]:
    """The report for :func:`write`: plain data, except each suite's ``items`` (an iterator, so
    one item at a time is encoded) and ``baseline`` (the baseline file's JSON text).
    ``encoded``: (run key, item id) -> :func:`encode_item` of that item, done beforehand."""
    suites = []
    for run, summary in pairs:
        repeats = run.repeats
        item_deltas = summary.comparison.item_deltas if summary and summary.comparison else {}
        suites.append({
            "suite": run.suite.name,
            "file": str(run.suite.path),
            "model": run.model,
            "repeats": repeats,
            "complete": len(run.items) == len(run.suite.items)
                        and all(len(run.results.get(i.id, [])) == repeats for i in run.items),
            "selected_items": len(run.items),
            "dataset_items": len(run.suite.items),
            "passed": summary.passed if summary else None,
            "verdict": summary.verdict if summary else None,
            "gates_judged": summary.judged if summary else False,
            "metrics": _plain(summary.metrics) if summary else None,
            "gates": [gate_json(g) for g in summary.gates] if summary else None,
            "per_label": _plain(summary.per_label) if summary else None,
            "flaky": summary.flaky if summary else None,
            "warnings": summary.warnings if summary else None,
            "comparison": comparison(summary.comparison) if summary else None,
            "baseline_problem": summary.baseline_problem if summary else None,
            "versus": comparison(summary.versus) if summary else None,
            # the object a baseline file holds, so ``--rft-baseline report.json`` reads it
            "baseline": RawChunks(dump_chunks(to_baseline(run, summary, lazy=True)))
                        if summary else None,
            "items": _items(run, summary, item_deltas, encoded or {}),
        })
    report = {"schema_version": SCHEMA_VERSION, "plugin_version": __version__,
              "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
              "exitstatus": exitstatus, "suites": suites}
    if calls is not None:
        report["calls"] = {**_plain({k: v for k, v in vars(calls).items() if k != "latencies"}),
                           "latency": calls.latency_percentiles()}
    if judge is not None and (judge.stats.planned or judge.cached):
        stats = judge.stats  # score_model / label_model calls, counted apart from the model's
        report["judge_calls"] = {
            **_plain({k: v for k, v in vars(stats).items() if k != "latencies"}),
            "cached": judge.cached, "latency": stats.latency_percentiles()}
    return report


def _items(run: SuiteRun, summary: SuiteSummary | None, item_deltas: dict[str, float],
           encoded: Spool | dict[tuple[str, str], str]) -> Iterator[Any]:
    for item in run.items:
        text = encoded.get((run.key, item.id))
        if text is not None:
            yield RawJSON(text)
        else:
            yield _item(item.id, summary.items.get(item.id) if summary else None,
                        item_deltas.get(item.id), run.results.get(item.id, []),
                        run.confirm.get(item.id))


def _item(item_id: str, stats: Any, delta: float | None, samples: list[Any],
          confirm: list[Any] | None = None) -> dict[str, Any]:
    entry = {"id": item_id, "stats": stats, "delta_vs_baseline": delta, "samples": samples}
    if confirm:  # confirmation repeats: the item's regression test only
        entry["confirm_samples"] = confirm
    return entry


def encode_item(run: SuiteRun, item_id: str, stats: Any) -> str:
    """An item's entry in the report, once nothing in it can change (its repeats are all in, no
    baseline delta to wait for): the session encodes it while the model still answers for
    other items."""
    return _encode(_item(item_id, stats, None, run.results.get(item_id, [])))


class RawJSON(str):
    """JSON text written into the report as it is."""


class RawChunks:
    """JSON text written into the report as it is, piece by piece (a baseline snapshot)."""

    def __init__(self, chunks: Iterable[str]):
        self.chunks = chunks


class Spool:
    """Items' report entries encoded ahead of the report (while the model still answers),
    kept in a temporary file rather than in memory: a 200,000-item run's outputs would
    otherwise stay in memory to the end. ``spool[key] = text``; ``spool.get(key)``."""

    def __init__(self) -> None:
        self._file: Any = None
        self._where: dict[Any, tuple[int, int]] = {}
        self._end = 0

    def __setitem__(self, key: Any, text: str) -> None:
        data = text.encode("utf-8")
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="rft-report-")
        if self._file.tell() != self._end:
            self._file.seek(self._end)
        self._file.write(data)
        self._where[key] = (self._end, len(data))
        self._end += len(data)

    def get(self, key: Any) -> str | None:
        where = self._where.get(key)
        if where is None:
            return None
        self._file.seek(where[0])
        return self._file.read(where[1]).decode("utf-8")

    def __len__(self) -> int:
        return len(self._where)

    def close(self) -> None:
        file, self._file = self._file, None
        self._where.clear()
        if file is not None:
            file.close()


def write(path: Path, pairs, calls, *, exitstatus: int, judge=None, encoded=None) -> None:
    """Write atomically (a reader never sees half a report), compact, and item by item: each
    piece goes through json.dumps's C encoder (json.dump, or any indent, runs the pure-Python
    one, several times slower), and only one item's plain copy exists at a time (items that
    reported while sampling went on come as the text encoded then), so a 30,000-sample report
    adds little to the peak memory. Secrets are scrubbed from every piece,
    and the file gets normal permissions (mkstemp makes it 0600)."""
    data = build(pairs, calls, exitstatus=exitstatus, judge=judge, encoded=encoded)
    device = files.open_device(path)
    if device is not None:  # /dev/null: written to, never renamed over
        with io.TextIOWrapper(device, encoding="utf-8") as handle:
            _stream(handle, data)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            _stream(handle, data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _encode(value: Any) -> str:
    """``value`` as compact JSON, secrets scrubbed before encoding. The C encoder walks the
    value itself (dataclasses and numpy values through ``default``); a NaN or an odd key falls
    back to the ``_plain`` copy (NaN/inf become null, keys strings). Text that may hold a secret
    (or a lone surrogate) is encoded again from a scrubbed copy (``secrets.suspect``)."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_default,
                          allow_nan=False)
    except (ValueError, TypeError):
        text = None
    if text is None or secrets.suspect(text):
        text = json.dumps(secrets.scrub_data(_plain(value)), ensure_ascii=False,
                          separators=(",", ":"), default=str)
    return text


def _default(value: Any) -> Any:
    """What the C encoder can't encode by itself: one level at a time (it walks the rest)."""
    names = _field_names(value)
    if names is not None:
        return {name: getattr(value, name) for name in names}
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    return str(value)


def _stream(handle: Any, value: Any) -> None:
    """Write ``value`` as JSON: opened up only down to the item iterators, every other value
    encoded in one piece."""
    if isinstance(value, RawJSON):  # encoded by _encode or baseline.dumps: scrubbed already
        handle.write(value)
    elif isinstance(value, RawChunks):
        for chunk in value.chunks:
            handle.write(chunk)
    elif isinstance(value, Iterator) or isinstance(value, list) and _lazy(value):
        handle.write("[")
        for n, item in enumerate(value):
            if n:
                handle.write(",")
            _stream(handle, item)
        handle.write("]")
    elif isinstance(value, dict) and _lazy(value):
        handle.write("{")
        for n, (key, item) in enumerate(value.items()):
            handle.write(("," if n else "") + _encode(str(key)) + ":")
            _stream(handle, item)
        handle.write("}")
    else:
        handle.write(_encode(value))


def _lazy(value: Any) -> bool:
    """Whether ``value`` holds an iterator or raw JSON (the suites do; a suite holds them)."""
    if isinstance(value, (Iterator, RawJSON, RawChunks)):
        return True
    if isinstance(value, dict):
        return any(isinstance(v, (Iterator, RawJSON, RawChunks)) or isinstance(v, list) and _lazy(v)
                   for v in value.values())
    if isinstance(value, list):
        return any(isinstance(v, dict) and _lazy(v) for v in value)
    return False
