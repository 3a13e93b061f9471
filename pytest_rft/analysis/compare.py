"""Comparing a run with a baseline, both as ``Baseline`` records: what changed since the
baseline (digests, items), paired deltas of suite metrics, and items that flipped.

The same comparison serves a committed baseline and the checkpoint table (each model against
the first, or ``--rft-baseline-model``): a run is turned into a ``Baseline`` first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from . import stats
from .estimates import adjust, fisher_less
from ..store.baseline_record import DIGEST_PARTS, OPTIONAL_PARTS, Baseline, BaselineItem
from ..core.lazy_numpy import np
from .paired import PairedDelta, compare_labels, compare_values
from ..suite.suite import LABEL_METRICS


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
    dropped: list[str] = field(default_factory=list)
    """Passed in the baseline, fail now, and lost at least half their passing repeats: the
    items tested for a regression (``dropped``), each on its own evidence."""
    item_p: dict[str, float] = field(default_factory=dict)
    """Dropped item -> one-sided Fisher exact p-value that it passes less often now, over every
    repeat of both runs (main and confirmation)."""
    regressed: list[str] = field(default_factory=list)
    """Dropped items whose p-value stays below the level after the correction over the suite's
    items (``confirm_regressions``): these fail their test."""
    item_family: int = 0
    """Items the correction was over (0: this comparison's paired items)."""
    suite_files: int = 1
    """The project's suite files the level is shared among (``item_family`` counts this run's
    items once per suite file: Holm with the other files' tests at p = 1)."""
    correction: str = "holm"
    improved: list[str] = field(default_factory=list)
    """Stable-fail in the baseline, stable-pass now."""
    item_deltas: dict[str, float] = field(default_factory=dict)
    """Primary mean score, current - baseline, per paired item."""

    def family_text(self) -> str:
        """What the item correction was over, as the reports say it."""
        family = self.item_family or len(self.paired)
        if self.suite_files <= 1:
            return f"{family} items"
        return (f"{family} items ({family // self.suite_files} of this run for each of the "
                f"project's {self.suite_files} suite files)")

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
            seed: int = 0, clusters: dict[str, object] | None = None) -> Comparison:
    """Compare ``current`` with ``baseline`` over the items both have (with unchanged records).

    ``dataset_ids``: every item id of the suite's dataset now (a baseline item missing from it was
    removed; one merely not selected is neither). ``labels``: the label set of label metrics
    (default: every label either run saw). ``confidence``: per metric (default 0.95).
    ``clusters``: item id -> cluster, when items share documents or topics (every interval and
    test is then cluster-robust).
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
                              n_boot=n_boot, seed=seed, clusters=clusters)
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
        if dropped(PassView.of(then, baseline.primary), PassView.of(now, primary),
                   baseline.pass_threshold):
            result.dropped.append(item_id)
            result.item_p[item_id] = fisher_less(*then.all_passes(), *now.all_passes())
    result.regressed = confirm_regressions(result.item_p, len(result.paired))
    return result


@dataclass(frozen=True)
class PassView:
    """What an item's regression test looks at: its mean primary score and passing repeats."""

    mean: float | None
    passes: int
    n: int

    @classmethod
    def of(cls, item: BaselineItem, primary: str) -> "PassView":
        score = item.scores.get(primary)
        return cls(None if score is None else score.get("mean"), item.passes, item.n)

    def passed(self, threshold: float) -> bool:
        return self.mean is not None and stats.at_least(self.mean, threshold)


def dropped(then: PassView, now: PassView, threshold: float) -> bool:
    """Whether an item is tested for a regression: it passed in the baseline, fails now, and
    the share of its repeats that pass fell by at least half (2 of 3 -> 0 of 3 does, 3 of 3 ->
    2 of 3 doesn't). Only the main repeats decide, so the choice can't favour a test that then
    uses every repeat (a p-value computed on all of them stays valid: choosing not to test an
    item only ever removes a rejection)."""
    if then.n == 0 or now.n == 0 or now.mean is None:
        return False
    return (then.passed(threshold) and not now.passed(threshold)
            and then.passes / then.n - now.passes / now.n >= 0.5 - 1e-9)


def judge_items(comparisons: list[Comparison], family: int, correction: str,
                undecided: list[Comparison] | None = None, alpha: float = 0.05) -> None:
    """Decide a build's item tests together (every comparison's ``item_p``), corrected over
    ``family`` items; only ``undecided`` comparisons (default: all) get their ``regressed``."""
    tested = [(c, i) for c in comparisons for i in c.item_p]
    adjusted = adjust([c.item_p[i] for c, i in tested], family, correction)
    for comparison in (comparisons if undecided is None else undecided):
        comparison.regressed = [i for (c, i), p in zip(tested, adjusted)
                                if c is comparison and p < alpha]
        comparison.item_family, comparison.correction = family, correction


def confirm_regressions(item_p: dict[str, float], family: int, alpha: float = 0.05,
                        correction: str = "holm") -> list[str]:
    """The tested items that fail as regressed: p-value below ``alpha`` after ``correction``
    over ``family`` items (every item of the build that could be tested, selected as a test
    or not, so a verdict doesn't change with -k; the untested count as p = 1)."""
    ids = list(item_p)
    adjusted = adjust([item_p[i] for i in ids], family, correction)
    return [i for i, p in zip(ids, adjusted) if p < alpha]


def _metric_delta(metric: str, current: Baseline, baseline: Baseline, ids: list[str],
                  labels: Sequence[str] | None, confidence: float, *, n_boot: int,
                  seed: int, clusters: dict[str, object] | None) -> PairedDelta | None:
    if metric in LABEL_METRICS:
        return _label_delta(metric, current, baseline, ids, labels, confidence, n_boot, seed,
                            clusters)
    cur, base, within, used = [], [], [], []
    for item_id in ids:
        a = _item_value(metric, current.items[item_id], current)
        b = _item_value(metric, baseline.items[item_id], baseline)
        if a is None or b is None:
            continue
        cur.append(a[0])
        base.append(b[0])
        within.append(a[1] + b[1])
        used.append(item_id)
    return compare_values(metric, np.array(cur), np.array(base), within_var=np.array(within),
                          repeats=max(current.repeats, 1), confidence=confidence,
                          clusters=_groups(used, clusters))


def _groups(ids: list[str], clusters: dict[str, object] | None) -> list[object] | None:
    """The clusters of ``ids`` (an item missing from the map is its own cluster)."""
    if clusters is None:
        return None
    return [clusters.get(i, ("item", i)) for i in ids]


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
                 seed: int, clusters: dict[str, object] | None) -> PairedDelta | None:
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
                          confidence=confidence, clusters=_groups(ids, clusters))


def counts_row(item: BaselineItem, labels: Sequence[str]) -> list[float]:
    """A BaselineItem's label counts in ``labels.item_counts`` layout."""
    counts = item.labels or {}
    zero = [0, 0, 0]
    tp = [counts.get(lab, zero)[0] for lab in labels]
    pred = [counts.get(lab, zero)[1] for lab in labels]
    true = [counts.get(lab, zero)[2] for lab in labels]
    rows = list(item.rows or [0, 0.0, 0.0, 0.0])
    return [*tp, *pred, *true, *rows]
