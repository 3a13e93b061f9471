"""Multi-label classification metrics (scikit-learn definitions) with bootstrap CIs over items,
per-item label counts (what a baseline keeps to compare label metrics paired by item), and label
extraction from JSON paths."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..core.json_path import parse_path
from ..core.lazy_numpy import np
from .stats import Metric, _div0, _divnan, _metric, _resampled_sums

__all__ = ["LabelScore", "LabelMetrics", "label_metrics", "item_counts", "extract_labels", "prf",
           "supported", "MIN_LABEL_ITEMS"]

MIN_LABEL_ITEMS = 5
"""A macro average whose rarest label is on fewer items than this has no interval: F1 on a
handful of items is too biased and too skewed for one (coverage checked by simulation in
``benchmarks/gate_calibration.py``)."""

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
    """The label set the metrics are over (macro averages over those with support)."""
    n_rows: int
    macro_labels: list[str] = field(default_factory=list)
    """The labels macro averages are over: those some reference row has."""

    def metrics(self) -> dict[str, Metric]:
        """The nine averaged metrics by name (``micro_precision`` ...)."""
        return {
            f"{avg}_{m}": getattr(self, f"{avg}_{m}")
            for avg in ("micro", "macro", "samples")
            for m in ("precision", "recall", "f1")
        }


def supported(true_counts: np.ndarray) -> np.ndarray:
    """Indices of the labels with support (true count > 0): what macro averages are over. A
    label no reference has scores 0 by scikit-learn's convention whatever the model does, and
    would move the average by chance of which items were drawn."""
    return np.flatnonzero(np.asarray(true_counts) > 0)


def prf(tp: np.ndarray, pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, ...]:
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
    label_items: dict[str, int] | None = None,
) -> LabelMetrics:
    """Micro, macro and samples-averaged precision / recall / F1 of label sets.

    Matches ``sklearn.metrics.precision_recall_fscore_support(Y_true, Y_pred, average=...,
    zero_division=0)`` on MultiLabelBinarizer matrices: duplicates within a row count once;
    with ``labels`` every metric (micro and samples too) is restricted to those labels; without
    it the label set is the sorted union of labels in both. Macro averages are over the labels
    with support (some reference row has them; scikit-learn's ``labels=`` would also average in
    never-seen labels at 0). A row with no true and no predicted label scores 0 in the samples
    average. CIs (bias-corrected, ``stats._metric``) resample ``groups`` (the rows of one item,
    or of one cluster, together), or rows when ``groups`` is None; ``Metric.n`` is the number of
    groups. ``label_items``: label -> items having it; a macro average over a label on fewer than
    ``MIN_LABEL_ITEMS`` items gets no interval.
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
    lp, lr, lf = prf(l_tp, l_pred, l_true)
    per_label = [
        LabelScore(lab, float(lp[i]), float(lr[i]), float(lf[i]), int(l_true[i]), int(l_pred[i]))
        for i, lab in enumerate(label_list)
    ]
    mp, mr, mf = (float(x) for x in prf(l_tp.sum(), l_pred.sum(), l_true.sum()))
    rp, rr, rf = prf(row_tp, row_pred, row_true)
    keep = supported(l_true)
    macro = bool(n_rows) and keep.size > 0
    rare_note = _rarity(label_list, keep, label_items)

    values: dict[str, float | None] = {
        "micro_precision": mp if n_rows else None,
        "micro_recall": mr if n_rows else None,
        "micro_f1": mf if n_rows else None,
        "macro_precision": float(lp[keep].mean()) if macro else None,
        "macro_recall": float(lr[keep].mean()) if macro else None,
        "macro_f1": float(lf[keep].mean()) if macro else None,
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
            prf(b_tp.sum(axis=1), b_pred.sum(axis=1), b_true.sum(axis=1)),
        ):
            boots[name] = arr
        if keep.size:
            for name, arr in zip(("macro_precision", "macro_recall", "macro_f1"),
                                 prf(b_tp[:, keep], b_pred[:, keep], b_true[:, keep])):
                boots[name] = arr.mean(axis=1)
        rows_b = s[:, 3 * L + 3]
        with np.errstate(invalid="ignore", divide="ignore"):
            for j, name in enumerate(("samples_precision", "samples_recall", "samples_f1")):
                boots[name] = _divnan(s[:, 3 * L + j], rows_b)

    m = {
        name: _metric(name, value, n_groups, boots.get(name), confidence, bounds=(0.0, 1.0),
                      note=rare_note if name.startswith("macro_") else None)
        for name, value in values.items()
    }
    return LabelMetrics(**m, per_label=per_label, labels=label_list, n_rows=n_rows,
                        macro_labels=[label_list[i] for i in keep])


def _rarity(labels: list[str], keep: np.ndarray, label_items: dict[str, int] | None) -> str | None:
    """Why macro averages get no interval (a label on too few items), or None."""
    if label_items is None:
        return None
    rare = sorted((label_items.get(labels[i], 0), labels[i]) for i in keep
                  if label_items.get(labels[i], 0) < MIN_LABEL_ITEMS)
    if not rare:
        return None
    shown = ", ".join(f"{lab} ({k})" for k, lab in rare[:5]) + (" ..." if len(rare) > 5 else "")
    return (f"no interval: {len(rare)} label(s) on fewer than {MIN_LABEL_ITEMS} items "
            f"({shown}), too rare to bound a macro average")


# --------------------------------------------------------------------------------------------
# Label extraction from JSON

def extract_labels(value: Any, path: str) -> list[str]:
    """Labels found at ``path`` in a JSON value, e.g. ``level1[*].code`` or ``labels``.

    ``name`` selects a key, ``[*]`` maps over a list, ``[i]`` indexes it. A final list of
    strings is flattened. Missing keys, wrong shapes and non-string leaves are skipped;
    returns [] when nothing matches.
    """
    steps = parse_path(path)
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


def item_counts(predicted: Sequence[Sequence[str]], reference: Sequence[Sequence[str]],
                labels: Sequence[str]) -> np.ndarray:
    """One item's label counts over its rows (repeats), in the layout paired comparisons use:
    ``[tp(L), predicted(L), true(L), rows, sum of row precision, recall, F1]`` over ``labels``
    (labels outside the list are ignored, as in ``label_metrics``)."""
    n_labels = len(labels)
    index = {lab: i for i, lab in enumerate(labels)}
    out = np.zeros(3 * n_labels + 4, dtype=np.float64)
    for p_row, t_row in zip(predicted, reference):
        p = {index[x] for x in _as_row(p_row, "predicted") if x in index}
        t = {index[x] for x in _as_row(t_row, "reference") if x in index}
        both = p & t
        for i in both:
            out[i] += 1
        for i in p:
            out[n_labels + i] += 1
        for i in t:
            out[2 * n_labels + i] += 1
        out[3 * n_labels] += 1
        if p:
            out[3 * n_labels + 1] += len(both) / len(p)
        if t:
            out[3 * n_labels + 2] += len(both) / len(t)
        if p or t:
            out[3 * n_labels + 3] += 2 * len(both) / (len(p) + len(t))
    return out
