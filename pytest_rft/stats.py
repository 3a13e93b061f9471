"""Aggregation of sample results: per-item score statistics, suite metrics with bootstrap
confidence intervals, and multi-label classification metrics (scikit-learn definitions).

Conventions:

* Errors are never zeros. A sample whose model call failed contributes no score at all, and a
  score a grader could not compute (listed in ``grader_errors``, or NaN) is left out of that
  score's statistics. Errors are counted separately (``n_errors``, ``n_grader_errors``,
  ``error_rate``).
* Suite metrics weigh every *item* once, whatever its number of successful repeats.
* Confidence intervals are percentile bootstrap intervals over *items* (for label metrics, over
  ``groups``: all repeats of one item move together). Resampling is seeded
  (``numpy.random.default_rng(seed)``), vectorized and done in chunks of bounded size. All
  metrics computed by one call share the same resamples.
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, NamedTuple

import numpy as np

from .records import SampleResult

__all__ = [
    "ScoreStats",
    "ItemStats",
    "Metric",
    "LabelScore",
    "LabelMetrics",
    "item_stats",
    "all_item_stats",
    "stability",
    "suite_metrics",
    "label_metrics",
    "extract_labels",
]

Stability = Literal["always-pass", "always-fail", "mixed", "no-score"]

_CHUNK_ELEMS = 500_000
"""Upper bound on resamples x units drawn at once (about 4 MB per int64/float64 array)."""


# --------------------------------------------------------------------------------------------
# Per-item statistics


@dataclass(slots=True)
class ScoreStats:
    """Statistics of one score over the samples of one item that have it."""

    mean: float
    max: float
    min: float
    std: float
    """Population standard deviation (ddof=0)."""
    n: int


@dataclass(slots=True)
class ItemStats:
    """Aggregated results of all repeats of one item."""

    item_id: str
    scores: dict[str, ScoreStats]
    """Score name -> statistics over the samples that have a value for it."""
    n_samples: int
    n_errors: int
    """Samples whose model call failed (they have no scores)."""
    n_grader_errors: int
    """Samples (whose model call succeeded) with at least one grader error."""
    primary_values: list[float]
    """Primary score of each sample that has one, in input order."""
    passed: bool | None
    """Mean primary score >= pass_threshold; None when no sample has a primary score."""
    primary: str = ""
    pass_threshold: float = 0.0


def _score_stats(values: list[float]) -> ScoreStats:
    n = len(values)
    mean = math.fsum(values) / n
    var = math.fsum((v - mean) ** 2 for v in values) / n
    return ScoreStats(mean=mean, max=max(values), min=min(values), std=math.sqrt(var), n=n)


def item_stats(
    item_id: str, results: Sequence[SampleResult], primary: str, pass_threshold: float
) -> ItemStats:
    """Aggregate the samples of one item.

    Failed samples and grader-errored (or NaN) scores are excluded, never counted as 0.
    """
    values: dict[str, list[float]] = {}
    n_errors = n_grader_errors = 0
    for r in results:
        if r.item_id != item_id:
            raise ValueError(f"result of item {r.item_id!r} passed to item_stats({item_id!r})")
        if r.error is not None:
            n_errors += 1
            continue
        errs = r.grader_errors
        if errs:
            n_grader_errors += 1
        for name, v in r.scores.items():
            if v is None or (errs and name in errs):
                continue
            v = float(v)
            if v != v:  # NaN: could not be computed
                continue
            lst = values.get(name)
            if lst is None:
                values[name] = [v]
            else:
                lst.append(v)
    scores = {name: _score_stats(v) for name, v in values.items()}
    primary_values = values.get(primary, [])
    ps = scores.get(primary)
    return ItemStats(
        item_id=item_id,
        scores=scores,
        n_samples=len(results),
        n_errors=n_errors,
        n_grader_errors=n_grader_errors,
        primary_values=primary_values,
        passed=None if ps is None else ps.mean >= pass_threshold,
        primary=primary,
        pass_threshold=pass_threshold,
    )


def all_item_stats(
    results: Iterable[SampleResult], primary: str, pass_threshold: float
) -> list[ItemStats]:
    """``item_stats`` for every item of ``results``, in order of first appearance."""
    by_item: dict[str, list[SampleResult]] = {}
    for r in results:
        by_item.setdefault(r.item_id, []).append(r)
    return [item_stats(i, rs, primary, pass_threshold) for i, rs in by_item.items()]


def stability(item: ItemStats) -> Stability:
    """Classify an item by each sample's primary score vs the item's pass threshold."""
    vals = item.primary_values
    if not vals:
        return "no-score"
    n_pass = sum(1 for v in vals if v >= item.pass_threshold)
    if n_pass == len(vals):
        return "always-pass"
    if n_pass == 0:
        return "always-fail"
    return "mixed"


# --------------------------------------------------------------------------------------------
# Bootstrap machinery


@dataclass(slots=True)
class Metric:
    """A suite-level value with its bootstrap confidence interval."""

    name: str
    value: float | None
    """None when there is nothing to compute it over."""
    ci_low: float | None
    ci_high: float | None
    n: int
    """Number of units (items, or groups for label metrics) the value is over."""


def _resampled_sums(columns: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Column sums of ``columns`` (units x K) under ``n_boot`` resamples of its rows.

    Each resample draws n row indices uniformly with replacement; the draws are turned into
    per-row counts (multinomial weights) chunk by chunk and applied with one matrix product,
    so memory stays bounded by ``_CHUNK_ELEMS`` whatever n_boot.
    """
    n, k = columns.shape
    out = np.empty((n_boot, k), dtype=np.float64)
    if n_boot == 0:
        return out
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, _CHUNK_ELEMS // max(n, 1)))
    for start in range(0, n_boot, chunk):
        c = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(c, n))
        idx += (np.arange(c) * n)[:, None]
        weights = np.bincount(idx.ravel(), minlength=c * n).reshape(c, n).astype(np.float64)
        del idx
        out[start : start + c] = weights @ columns
    return out


def _div0(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den == 0 (scikit-learn's zero_division=0)."""
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _divnan(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where den == 0 (statistic undefined in that resample)."""
    out = np.full(np.broadcast(num, den).shape, np.nan, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _metric(
    name: str,
    value: float | None,
    n: int,
    boot: np.ndarray | None,
    confidence: float,
    degenerate: bool = False,
) -> Metric:
    """Metric with the percentile interval of the finite bootstrap values.

    With one unit (or ``degenerate``: all units identical) the interval is the value itself.
    """
    if value is None:
        return Metric(name, None, None, None, n)
    if n <= 1 or degenerate:
        return Metric(name, value, value, value, n)
    if boot is None:
        return Metric(name, value, None, None, n)
    finite = boot[np.isfinite(boot)]
    if finite.size == 0:
        return Metric(name, value, None, None, n)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.percentile(finite, [100.0 * alpha, 100.0 * (1.0 - alpha)])
    return Metric(name, value, float(lo), float(hi), n)


# --------------------------------------------------------------------------------------------
# Suite metrics


def suite_metrics(
    items: Sequence[ItemStats],
    score_names: Sequence[str],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Metric]:
    """Suite metrics over items, each item counting once, with bootstrap CIs over items.

    Keys: ``<score>.mean`` / ``.max`` / ``.min`` (mean over the items having the score of the
    per-item mean / max (best-of-N) / min), ``pass_rate`` (items passed / items with a primary
    score) and ``error_rate`` (failed samples + successful samples with any grader error, over
    all samples). The error_rate CI resamples items too (ratio of resampled sums).
    """
    n = len(items)
    stats_keys = ("mean", "max", "min")
    cols: list[np.ndarray] = []
    specs: list[tuple[str, float | None, int, int, int, bool]] = []
    # (name, value, n_units, numerator col, denominator col, degenerate)

    def add(name: str, num: np.ndarray, den: np.ndarray, degenerate: bool) -> None:
        d = float(den.sum()) if n else 0.0
        units = int(np.count_nonzero(den))
        value = math.fsum(num.tolist()) / d if d > 0 else None
        cols.append(num)
        cols.append(den)
        specs.append((name, value, units, len(cols) - 2, len(cols) - 1, degenerate))

    for score in score_names:
        present = np.zeros(n, dtype=np.float64)
        vals = {k: np.zeros(n, dtype=np.float64) for k in stats_keys}
        for i, it in enumerate(items):
            s = it.scores.get(score)
            if s is not None:
                present[i] = 1.0
                vals["mean"][i] = s.mean
                vals["max"][i] = s.max
                vals["min"][i] = s.min
        mask = present > 0
        for k in stats_keys:
            v = vals[k][mask]
            degenerate = bool(v.size) and bool(v.min() == v.max())
            add(f"{score}.{k}", vals[k], present, degenerate)

    known = np.array([it.passed is not None for it in items], dtype=np.float64)
    passed = np.array([it.passed is True for it in items], dtype=np.float64)
    add("pass_rate", passed, known, False)
    err = np.array([it.n_errors + it.n_grader_errors for it in items], dtype=np.float64)
    tot = np.array([it.n_samples for it in items], dtype=np.float64)
    add("error_rate", err, tot, False)

    boot: np.ndarray | None = None
    if n > 1 and n_boot > 0:
        boot = _resampled_sums(np.column_stack(cols), n_boot, seed)
    out: dict[str, Metric] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for name, value, units, inum, iden, degenerate in specs:
            b = None if boot is None else _divnan(boot[:, inum], boot[:, iden])
            out[name] = _metric(name, value, units, b, confidence, degenerate)
    return out


# --------------------------------------------------------------------------------------------
# Multi-label metrics


class LabelScore(NamedTuple):
    """Per-label precision / recall / F1 (zero_division=0) with true and predicted counts."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int


@dataclass(slots=True)
class LabelMetrics:
    """Multi-label classification metrics as scikit-learn defines them (zero_division=0)."""

    micro_precision: Metric
    micro_recall: Metric
    micro_f1: Metric
    macro_precision: Metric
    macro_recall: Metric
    macro_f1: Metric
    samples_precision: Metric
    samples_recall: Metric
    samples_f1: Metric
    per_label: list[LabelScore]
    labels: list[str]
    """The label set the metrics are over (macro averages over all of them)."""
    n_rows: int

    def metrics(self) -> dict[str, Metric]:
        """The nine averaged metrics by name (``micro_precision`` ...)."""
        return {
            f"{avg}_{m}": getattr(self, f"{avg}_{m}")
            for avg in ("micro", "macro", "samples")
            for m in ("precision", "recall", "f1")
        }


def _prf(tp: np.ndarray, pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, ...]:
    """Precision, recall, F1 from counts as scikit-learn computes them (zero_division=0)."""
    return _div0(tp, pred), _div0(tp, true), _div0(2.0 * tp, true + pred)


def _as_row(row: Sequence[str], what: str) -> Sequence[str]:
    if isinstance(row, (str, bytes)):
        raise TypeError(f"each {what} row must be a sequence of labels, not a string: {row!r}")
    return row


def label_metrics(
    predicted: Sequence[Sequence[str]],
    reference: Sequence[Sequence[str]],
    labels: Sequence[str] | None = None,
    *,
    groups: Sequence[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> LabelMetrics:
    """Micro, macro and samples-averaged precision / recall / F1 of label sets.

    Matches ``sklearn.metrics.precision_recall_fscore_support(Y_true, Y_pred, average=...,
    zero_division=0)`` on MultiLabelBinarizer matrices: duplicates within a row count once;
    with ``labels`` every metric (micro and samples too) is restricted to those labels and
    macro averages over all of them, including never-seen ones (which score 0); without it the
    label set is the sorted union of labels in both. A row with no true and no predicted label
    scores 0 in the samples average. CIs resample ``groups`` (rows of one item together), or
    rows when ``groups`` is None; ``Metric.n`` is the number of groups.
    """
    n_rows = len(predicted)
    if len(reference) != n_rows:
        raise ValueError(f"{n_rows} predicted rows but {len(reference)} reference rows")
    if groups is not None and len(groups) != n_rows:
        raise ValueError(f"{n_rows} rows but {len(groups)} groups")

    if labels is None:
        seen: set[str] = set()
        for row in predicted:
            seen.update(_as_row(row, "predicted"))
        for row in reference:
            seen.update(_as_row(row, "reference"))
        label_list = sorted(seen)
    else:
        label_list = list(labels)
        if len(set(label_list)) != len(label_list):
            raise ValueError("labels contains duplicates")
    n_labels = len(label_list)
    index = {lab: i for i, lab in enumerate(label_list)}

    # Group ids in order of first appearance.
    if groups is None:
        gid = np.arange(n_rows, dtype=np.int64)
        n_groups = n_rows
    else:
        gmap: dict[str, int] = {}
        gid = np.fromiter((gmap.setdefault(g, len(gmap)) for g in groups), np.int64, n_rows)
        n_groups = len(gmap)

    # Label indices of true positives, predictions and truths, row by row (each set once),
    # and per-row counts; they become per-(group, label) counts with one bincount each.
    tp_idx, pred_idx, true_idx = array("q"), array("q"), array("q")
    row_tp = np.zeros(n_rows, dtype=np.float64)
    row_pred = np.zeros(n_rows, dtype=np.float64)
    row_true = np.zeros(n_rows, dtype=np.float64)
    get = index.get
    for r in range(n_rows):
        p = set(map(get, _as_row(predicted[r], "predicted")))
        t = set(map(get, _as_row(reference[r], "reference")))
        p.discard(None)
        t.discard(None)
        both = p & t
        pred_idx.extend(p)  # type: ignore[arg-type]
        true_idx.extend(t)  # type: ignore[arg-type]
        tp_idx.extend(both)  # type: ignore[arg-type]
        row_tp[r], row_pred[r], row_true[r] = len(both), len(p), len(t)

    size = n_groups * n_labels

    def counts(idx: array, per_row: np.ndarray) -> np.ndarray:
        lab = np.frombuffer(idx, dtype=np.int64) if len(idx) else np.zeros(0, np.int64)
        flat = np.repeat(gid, per_row.astype(np.int64)) * n_labels + lab
        return np.bincount(flat, minlength=size).reshape(n_groups, n_labels).astype(np.float64)

    g_tp = counts(tp_idx, row_tp)
    g_pred = counts(pred_idx, row_pred)
    g_true = counts(true_idx, row_true)
    del tp_idx, pred_idx, true_idx

    # Per-label and averaged values on the full data.
    l_tp, l_pred, l_true = g_tp.sum(axis=0), g_pred.sum(axis=0), g_true.sum(axis=0)
    lp, lr, lf = _prf(l_tp, l_pred, l_true)
    per_label = [
        LabelScore(lab, float(lp[i]), float(lr[i]), float(lf[i]), int(l_true[i]), int(l_pred[i]))
        for i, lab in enumerate(label_list)
    ]
    mp, mr, mf = (float(x) for x in _prf(l_tp.sum(), l_pred.sum(), l_true.sum()))
    rp, rr, rf = _prf(row_tp, row_pred, row_true)

    values: dict[str, float | None] = {
        "micro_precision": mp if n_rows else None,
        "micro_recall": mr if n_rows else None,
        "micro_f1": mf if n_rows else None,
        "macro_precision": float(lp.mean()) if n_rows and n_labels else None,
        "macro_recall": float(lr.mean()) if n_rows and n_labels else None,
        "macro_f1": float(lf.mean()) if n_rows and n_labels else None,
        "samples_precision": float(rp.mean()) if n_rows else None,
        "samples_recall": float(rr.mean()) if n_rows else None,
        "samples_f1": float(rf.mean()) if n_rows else None,
    }

    boots: dict[str, np.ndarray] = {}
    if n_groups > 1 and n_boot > 0:
        g_rows = np.bincount(gid, minlength=n_groups).astype(np.float64)
        g_rp = np.bincount(gid, weights=rp, minlength=n_groups)
        g_rr = np.bincount(gid, weights=rr, minlength=n_groups)
        g_rf = np.bincount(gid, weights=rf, minlength=n_groups)
        cols = np.column_stack([g_tp, g_pred, g_true, g_rp, g_rr, g_rf, g_rows])
        del g_tp, g_pred, g_true
        s = _resampled_sums(cols, n_boot, seed)
        del cols
        L = n_labels
        b_tp, b_pred, b_true = s[:, :L], s[:, L : 2 * L], s[:, 2 * L : 3 * L]
        for name, arr in zip(
            ("micro_precision", "micro_recall", "micro_f1"),
            _prf(b_tp.sum(axis=1), b_pred.sum(axis=1), b_true.sum(axis=1)),
        ):
            boots[name] = arr
        if L:
            for name, arr in zip(
                ("macro_precision", "macro_recall", "macro_f1"), _prf(b_tp, b_pred, b_true)
            ):
                boots[name] = arr.mean(axis=1)
        rows_b = s[:, 3 * L + 3]
        with np.errstate(invalid="ignore", divide="ignore"):
            for j, name in enumerate(("samples_precision", "samples_recall", "samples_f1")):
                boots[name] = _divnan(s[:, 3 * L + j], rows_b)

    m = {
        name: _metric(name, value, n_groups, boots.get(name), confidence)
        for name, value in values.items()
    }
    return LabelMetrics(**m, per_label=per_label, labels=label_list, n_rows=n_rows)


# --------------------------------------------------------------------------------------------
# Label extraction from JSON

_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\*|-?\d+)\]|(\.)")


@lru_cache(maxsize=256)
def _parse_path(path: str) -> tuple[str | int | None, ...] | None:
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


def extract_labels(value: Any, path: str) -> list[str]:
    """Labels found at ``path`` in a JSON value, e.g. ``level1[*].code`` or ``labels``.

    ``name`` selects a key, ``[*]`` maps over a list, ``[i]`` indexes it. A final list of
    strings is flattened. Missing keys, wrong shapes and non-string leaves are skipped;
    returns [] when nothing matches.
    """
    steps = _parse_path(path)
    if steps is None:
        return []
    current: list[Any] = [value]
    for step in steps:
        nxt: list[Any] = []
        for v in current:
            if isinstance(step, str):
                if isinstance(v, dict) and step in v:
                    nxt.append(v[step])
            elif isinstance(v, list):
                if step is None:
                    nxt.extend(v)
                elif -len(v) <= step < len(v):
                    nxt.append(v[step])
        current = nxt
    out: list[str] = []
    for v in current:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, list):
            out.extend(x for x in v if isinstance(x, str))
    return out
