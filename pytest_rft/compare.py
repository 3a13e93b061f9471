"""Comparing a run with a baseline, both as ``Baseline`` records: what changed since the
baseline (digests, items), paired deltas of suite metrics, and items that flipped.

The same comparison serves a committed baseline and the checkpoint table (each model against
the first, or ``--rft-baseline-model``): a run is turned into a ``Baseline`` first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from . import stats
from .baseline import DIGEST_PARTS, OPTIONAL_PARTS, Baseline, BaselineItem
from .lazy_numpy import np
from .paired import PairedDelta, compare_labels, compare_values
from .suite import LABEL_METRICS


@dataclass
class Comparison:
    baseline: Baseline
    digest_changes: list[str] = field(default_factory=list)
    """Parts the scores depend on that differ from the baseline's (prompt, graders ...)."""
    judge_changes: list[str] = field(default_factory=list)
    """``"Polite: o3-mini -> gpt-5-mini"`` for each judge that differs from the baseline's."""
    added: list[str] = field(default_factory=list)
    """Items of the run that the baseline does not have."""
    removed: list[str] = field(default_factory=list)
    """Baseline items no longer in the dataset."""
    changed: list[str] = field(default_factory=list)
    """Items whose record changed since the baseline (not paired)."""
    paired: list[str] = field(default_factory=list)
    deltas: dict[str, PairedDelta] = field(default_factory=dict)
    flipped_down: list[str] = field(default_factory=list)
    """Stable-pass in the baseline, stable-fail now (reported)."""
    regressed: list[str] = field(default_factory=list)
    """Flipped down *and* confirmed (see ``confirm_regressions``): these fail their test."""
    improved: list[str] = field(default_factory=list)
    """Stable-fail in the baseline, stable-pass now."""
    item_deltas: dict[str, float] = field(default_factory=dict)
    """Primary mean score, current - baseline, per paired item."""

    def changes_text(self) -> str:
        """One line on what differs from the baseline beyond the scores, or ''."""
        parts = []
        if self.digest_changes:
            changed = [f"judges ({', '.join(self.judge_changes)})"
                       if part == "judges" and self.judge_changes else part
                       for part in self.digest_changes]
            parts.append(f"changed since the baseline: {', '.join(changed)}")
        for name, ids in (("added", self.added), ("removed", self.removed),
                          ("changed records", self.changed)):
            if ids:
                shown = ", ".join(ids[:5]) + (f" (+{len(ids) - 5} more)" if len(ids) > 5 else "")
                parts.append(f"{len(ids)} item(s) {name} since the baseline, not compared: {shown}")
        return "; ".join(parts)


def item_stability(item: BaselineItem) -> stats.Stability:
    return stats.classify(item.passes, item.n)


def compare(current: Baseline, baseline: Baseline, metrics: Iterable[str], *,
            dataset_ids: Sequence[str] | None = None, labels: Sequence[str] | None = None,
            confidence: dict[str, float] | None = None, n_boot: int = 1000,
            seed: int = 0) -> Comparison:
    """Compare ``current`` with ``baseline`` over the items both have (with unchanged records).

    ``dataset_ids``: every item id of the suite's dataset now (a baseline item missing from it was
    removed; one merely not selected is neither). ``labels``: the label set of label metrics
    (default: every label either run saw). ``confidence``: per metric (default 0.95).
    """
    result = Comparison(baseline=baseline)
    result.digest_changes = [
        part for part in DIGEST_PARTS
        if (part in baseline.digests and part in current.digests
            or part in OPTIONAL_PARTS and baseline.digests)
        and baseline.digests.get(part) != current.digests.get(part)]
    if "judges" in result.digest_changes:
        result.judge_changes = [f"{name}: {baseline.judges.get(name, '?')} -> {model}"
                                for name, model in sorted(current.judges.items())
                                if baseline.judges.get(name) != model]
    in_dataset = set(dataset_ids) if dataset_ids is not None else set(current.items)
    result.added = sorted(i for i in current.items if i not in baseline.items)
    result.removed = sorted(i for i in baseline.items if i not in in_dataset)
    for item_id, item in current.items.items():
        old = baseline.items.get(item_id)
        if old is None:
            continue
        if item.digest and old.digest and item.digest != old.digest:
            result.changed.append(item_id)
        else:
            result.paired.append(item_id)
    result.changed.sort()
    pairs = [(current.items[i], baseline.items[i]) for i in result.paired]

    for metric in dict.fromkeys([f"{current.primary}.mean", *metrics]):
        conf = (confidence or {}).get(metric, 0.95)
        delta = _metric_delta(metric, current, baseline, result.paired, labels, conf,
                              n_boot=n_boot, seed=seed)
        if delta is not None:
            result.deltas[metric] = delta

    primary = current.primary
    for item_id, (now, then) in zip(result.paired, pairs):
        a, b = now.scores.get(primary), then.scores.get(baseline.primary)
        if a is not None and b is not None:
            result.item_deltas[item_id] = a["mean"] - b["mean"]
        before, after = item_stability(then), item_stability(now)
        if before == "stable-pass" and after == "stable-fail":
            result.flipped_down.append(item_id)
        elif before == "stable-fail" and after == "stable-pass":
            result.improved.append(item_id)
    suite_worse = result.deltas[f"{primary}.mean"].worse \
        if f"{primary}.mean" in result.deltas else False
    result.regressed = confirm_regressions(
        {i: (baseline.items[i].passes, baseline.items[i].n, current.items[i].passes,
             current.items[i].n) for i in result.paired},
        result.flipped_down, suite_worse)
    return result


def confirm_regressions(counts: dict[str, tuple[int, int, int, int]], flipped: list[str],
                        suite_worse: bool, alpha: float = 0.05) -> list[str]:
    """The flipped items that fail as regressed.

    With few repeats, items flip by chance: an item passing half its repeats goes 3/3 -> 0/3
    once in 64 runs, so an unchanged model flips at least one of 100 items in about a third of
    runs (``benchmarks/gate_calibration.py``). A flip is confirmed when the suite's primary mean
    is significantly lower than the baseline's (the suite-level test guards the item-level
    claims, so an unchanged model fails no item in more than ``alpha`` of runs), or when the
    item's own pass counts differ significantly (one-sided Fisher exact test, Holm-corrected
    over all paired items: needs about 7 or more repeats at 100 items).
    """
    if suite_worse:
        return list(flipped)
    m = len(counts)
    ranked = sorted((fisher_less(*counts[i]), i) for i in flipped)
    confirmed = []
    for rank, (p, item_id) in enumerate(ranked):
        if p > alpha / (m - rank):
            break
        confirmed.append(item_id)
    return [i for i in flipped if i in set(confirmed)]


def fisher_less(base_pass: int, base_n: int, cur_pass: int, cur_n: int) -> float:
    """One-sided Fisher exact p-value that the current pass rate is lower than the baseline's."""
    total, passes = base_n + cur_n, base_pass + cur_pass
    denominator = math.comb(total, base_n)
    upper = min(passes, base_n)
    return sum(math.comb(passes, x) * math.comb(total - passes, base_n - x)
               for x in range(base_pass, upper + 1)) / denominator


def _metric_delta(metric: str, current: Baseline, baseline: Baseline, ids: list[str],
                  labels: Sequence[str] | None, confidence: float, *, n_boot: int,
                  seed: int) -> PairedDelta | None:
    if metric in LABEL_METRICS:
        return _label_delta(metric, current, baseline, ids, labels, confidence, n_boot, seed)
    cur, base, within = [], [], []
    for item_id in ids:
        a = _item_value(metric, current.items[item_id], current)
        b = _item_value(metric, baseline.items[item_id], baseline)
        if a is None or b is None:
            continue
        cur.append(a[0])
        base.append(b[0])
        within.append(a[1] + b[1])
    return compare_values(metric, np.array(cur), np.array(base), within_var=np.array(within),
                          repeats=max(current.repeats, 1), n_boot=n_boot, seed=seed,
                          confidence=confidence)


def _item_value(metric: str, item: BaselineItem, run: Baseline) -> tuple[float, float] | None:
    """The item's contribution to ``metric`` and the sampling variance of that value."""
    if metric == "pass_rate":
        score = item.scores.get(run.primary)
        if score is None:
            return None
        return float(stats.at_least(score["mean"], run.pass_threshold)), 0.0
    name, _, reduction = metric.rpartition(".")
    score = item.scores.get(name)
    if score is None or reduction not in ("mean", "max", "min"):
        return None
    n = max(int(score.get("n", 1)), 1)
    variance = float(score.get("std", 0.0)) ** 2 / n if reduction == "mean" else 0.0
    return float(score[reduction]), variance


def _label_delta(metric: str, current: Baseline, baseline: Baseline, ids: list[str],
                 labels: Sequence[str] | None, confidence: float, n_boot: int,
                 seed: int) -> PairedDelta | None:
    ids = [i for i in ids if current.items[i].labels is not None
           and baseline.items[i].labels is not None]
    if not ids:
        return None
    if labels is None:
        seen: set[str] = set()
        for i in ids:
            seen.update(current.items[i].labels or {})
            seen.update(baseline.items[i].labels or {})
        labels = sorted(seen)

    def matrix(run: Baseline) -> np.ndarray:
        return np.array([counts_row(run.items[i], labels) for i in ids], dtype=np.float64)

    return compare_labels(metric, matrix(current), matrix(baseline), n_boot=n_boot, seed=seed,
                          confidence=confidence)


def counts_row(item: BaselineItem, labels: Sequence[str]) -> list[float]:
    """A BaselineItem's label counts in ``labels.item_counts`` layout."""
    counts = item.labels or {}
    zero = [0, 0, 0]
    tp = [counts.get(lab, zero)[0] for lab in labels]
    pred = [counts.get(lab, zero)[1] for lab in labels]
    true = [counts.get(lab, zero)[2] for lab in labels]
    rows = list(item.rows or [0, 0.0, 0.0, 0.0])
    return [*tp, *pred, *true, *rows]
