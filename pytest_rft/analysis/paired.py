"""Paired comparisons of two runs over the items both have: the delta of a suite metric as an
``Estimate`` (interval and one-sided tests at any bound, ``estimates.py``), the correlation of
item values, and how many items or repeats a verdict would take.

Means of per-item values (``<score>.mean``, ``pass_rate`` ...) are compared item by item:
Tango/McNemar for 0/1 values, else the paired t on the per-item deltas, cluster-robust when items
share a cluster. Ratio metrics (micro/macro F1 ...) have no per-item delta: a paired bootstrap
over items (whole clusters when clustered) recomputes the metric for *both* runs on the same
resampled items, and its standard error feeds a t interval. False alarms, power and coverage
are measured by simulation in ``benchmarks/gate_calibration.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .estimates import (Estimate, PairedBinary, TEstimate, Unavailable, paired_estimate,
                        t_quantile)
from .labels import MIN_LABEL_ITEMS, prf, supported
from ..core.lazy_numpy import np
from .stats import _resampled_sums, z_value

POWER = 0.80
"""Power the size hints are for."""
MIN_PAIRED = 10
"""Fewer paired items than this give no verdict (INCONCLUSIVE), whatever the interval says."""


@dataclass
class PairedDelta:
    metric: str
    n: int
    """Items in both runs (with a value in both)."""
    current: float | None
    """The metric over those items in the current run."""
    baseline: float | None
    delta: float | None
    """current - baseline (negative = worse for higher-is-better metrics)."""
    estimate: Estimate
    confidence: float = 0.95
    """Level of the two-sided interval; each one-sided claim read from it (worse than, no worse
    than a bound) errs with probability (1 - confidence) / 2."""
    correlation: float | None = None
    """Pearson correlation of the per-item values of the two runs."""
    spread: float | None = None
    """Standard deviation of the per-item deltas (cluster-level when clustered): what the
    size hints scale."""
    within_var: float | None = None
    """Mean per-item sampling variance of the delta (both runs' repeats): the part more repeats
    would shrink."""
    repeats: int = 1

    @property
    def level(self) -> float:
        return self.confidence

    @property
    def ci_low(self) -> float | None:
        return self.estimate.interval(self.level)[0] if self.estimate.reason is None else None

    @property
    def ci_high(self) -> float | None:
        return self.estimate.interval(self.level)[1] if self.estimate.reason is None else None

    @property
    def p_value(self) -> float | None:
        """One-sided p-value that the current run is worse (no margin), uncorrected."""
        return self.estimate.p_below(0.0) if self.estimate.reason is None else None

    def hints(self, margin: float, family: int = 1) -> "SizeHints | None":
        """Items (at these repeats) and repeats (at these items) for an 80%-power verdict."""
        if self.spread is None or self.n < 2:
            return None
        floor, discordant = 0, None
        if isinstance(self.estimate, PairedBinary):
            discordant = (self.estimate.down + self.estimate.up) / self.n
            if margin > 0:  # with no discordant item at all, Tango's bound is z^2 / (n + z^2)
                z = z_value(self.confidence)
                floor = math.ceil(z * z * (1 - margin) / margin)
        return size_hints(self.spread, self.n, margin, self.confidence, family,
                          within_var=self.within_var, repeats=self.repeats, floor=floor,
                          discordant=discordant)


@dataclass
class SizeHints:
    """What a suite of this spread would need (``POWER`` chance, each):

    * ``pass_items``: items for a model as good as the baseline to PASS the margin;
    * ``detects``: the drop this suite FAILs (at its current size, after the build's
      correction);
    * ``pass_repeats``: repeats (in both runs) for ``pass_items``'s goal at today's items, or
      None when repeats can't get there (the items themselves differ too much).

    Ranges (low, high) come from the uncertainty of the spread at small n.
    """

    pass_items: tuple[int, int] | None
    detects: float
    pass_repeats: int | None


def size_hints(spread: float, n: int, margin: float, confidence: float, family: int = 1, *,
               within_var: float | None = None, repeats: int = 1, floor: int = 0,
               discordant: float | None = None) -> SizeHints:
    """``discordant``: for 0/1 values, the share of items that moved (the spread of a drop X
    is then that of its own discordant items too: sqrt(share + X))."""
    k_pass = z_value(confidence) + z_value(POWER, two_sided=False)
    alpha_fail = (1 - confidence) / 2 / max(family, 1)
    k_fail = z_value(1 - alpha_fail, two_sided=False) + z_value(POWER, two_sided=False)
    se = spread / math.sqrt(n)
    detects = margin + k_fail * se * _t_inflation(n - 1)
    if discordant is not None:
        for _ in range(50):  # X = m + k * sqrt((share + X) / n), by fixed point
            detects = margin + k_fail * math.sqrt((discordant + detects) / n)
    pass_items = None
    if margin > 0:
        low_sd, high_sd = _spread_range(spread, n)
        pass_items = (max(floor, _items_for(low_sd, margin, k_pass)),
                      max(floor, _items_for(high_sd, margin, k_pass)))
    pass_repeats = None
    if margin > 0 and within_var is not None and within_var > 0 and discordant != 0:
        target = n * (margin / k_pass) ** 2  # per-item variance of the delta that would do
        between = max(spread ** 2 - within_var, 0.0)
        if target > between:
            pass_repeats = max(1, math.ceil(within_var * repeats / (target - between)))
    return SizeHints(pass_items, detects, pass_repeats)


def _items_for(spread: float, margin: float, k: float) -> int:
    n = max(2, math.ceil((k * spread / margin) ** 2))
    return max(2, math.ceil((k * _t_inflation(n - 1) * spread / margin) ** 2))


def _t_inflation(df: float) -> float:
    """How much wider t is than the normal at the hints' quantiles (a small-n correction)."""
    if df < 1:
        return 2.0
    return t_quantile(0.975, df) / z_value(0.95)


def _spread_range(spread: float, n: int) -> tuple[float, float]:
    """An 80% interval for the true spread (chi-square on n - 1 df); narrow at large n."""
    if n < 3:
        return spread, spread
    from scipy.special import chdtri  # the chi-square quantile: chdtri(df, 1 - q)

    df = n - 1
    return (spread * math.sqrt(df / chdtri(df, 0.1)), spread * math.sqrt(df / chdtri(df, 0.9)))


# --------------------------------------------------------------------------------------------


def compare_values(metric: str, current: np.ndarray, baseline: np.ndarray, *,
                   within_var: np.ndarray | None = None, repeats: int = 1,
                   clusters: Sequence[object] | None = None,
                   confidence: float = 0.95) -> PairedDelta:
    """Paired delta of a mean of per-item values (``<score>.mean``, ``pass_rate`` ...).

    ``within_var``: per item, the sampling variance of its delta (s_c^2/r_c + s_b^2/r_b), used
    only to say how many repeats would help.
    """
    current = np.asarray(current, dtype=np.float64)
    baseline = np.asarray(baseline, dtype=np.float64)
    n = len(current)
    estimate = paired_estimate(current, baseline, clusters=clusters)
    if n == 0:
        return PairedDelta(metric, 0, None, None, None, estimate, confidence)
    cur, base = float(current.mean()), float(baseline.mean())
    return PairedDelta(metric, n, cur, base, cur - base, estimate, confidence,
                       correlation=_corr(current, baseline),
                       spread=_spread(estimate, current - baseline),
                       within_var=None if within_var is None else float(np.mean(within_var)),
                       repeats=repeats)


def _spread(estimate: Estimate, diffs: np.ndarray) -> float | None:
    """The per-unit spread the estimate's standard error implies (sd of deltas, or of cluster
    totals scaled to items), for the size hints."""
    if isinstance(estimate, TEstimate):
        return estimate.se * math.sqrt(len(diffs))
    if isinstance(estimate, PairedBinary):
        return math.sqrt((estimate.down + estimate.up) / estimate.n)  # unchanged: sd of d
    return None


def compare_labels(metric: str, current: np.ndarray, baseline: np.ndarray, *,
                   clusters: Sequence[object] | None = None, n_boot: int = 1000, seed: int = 0,
                   confidence: float = 0.95) -> PairedDelta:
    """Paired delta of a label metric (``micro_f1``, ``macro_recall``, ``samples_f1`` ...).

    ``current`` / ``baseline``: per item, ``[tp(L), predicted(L), true(L), rows, sum of row
    precision, recall, F1]`` (``labels.item_counts`` rows), over the same L labels. Macro
    averages are over the labels some paired item has (``labels.supported``).
    """
    n, width = current.shape
    n_labels = (width - 4) // 3
    measure = metric.rsplit("_", 1)[1]
    average = metric.split("_", 1)[0]
    pick = {"precision": 0, "recall": 1, "f1": 2}[measure]
    keep = supported(baseline[:, 2 * n_labels:3 * n_labels].sum(axis=0)) if n else []

    def one(s: np.ndarray) -> np.ndarray:
        L = n_labels
        tp, pred, true = s[..., :L], s[..., L:2 * L], s[..., 2 * L:3 * L]
        if average == "micro":
            return prf(tp.sum(-1), pred.sum(-1), true.sum(-1))[pick]
        if average == "macro":
            if not len(keep):
                return np.full(s.shape[:-1], np.nan)
            return prf(tp[..., keep], pred[..., keep], true[..., keep])[pick].mean(-1)
        rows = s[..., 3 * L]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(rows > 0, s[..., 3 * L + 1 + pick] / np.where(rows > 0, rows, 1), 0.0)

    if n == 0:
        return PairedDelta(metric, 0, None, None, None,
                           Unavailable(None, 0, reason="no paired item"), confidence)
    cur, base = (float(v) for v in (one(current.sum(axis=0)), one(baseline.sum(axis=0))))
    delta = cur - base
    correlation = _corr(one(current), one(baseline))
    items_per_label = (baseline[:, 2 * n_labels:3 * n_labels] > 0).sum(axis=0)
    rare = [i for i in keep if items_per_label[i] < MIN_LABEL_ITEMS] if average == "macro" else []
    if rare:
        reason = (f"{len(rare)} label(s) on fewer than {MIN_LABEL_ITEMS} paired items: too rare "
                  "to bound a macro average")
        return PairedDelta(metric, n, cur, base, delta, Unavailable(delta, n, reason=reason),
                           confidence, correlation=correlation)
    if _no_item_moved(current, baseline):
        reason = ("no item's labels changed between the runs: the delta is 0 on these items, "
                  "and nothing in the data bounds how other items would move")
        return PairedDelta(metric, n, cur, base, delta, Unavailable(delta, n, reason=reason),
                           confidence, correlation=correlation)
    estimate = _bootstrap_estimate(
        delta, np.concatenate([current, baseline], axis=1),
        lambda s: one(s[..., :width]) - one(s[..., width:]), clusters, n_boot, seed)
    spread = estimate.se * math.sqrt(estimate.n) if isinstance(estimate, TEstimate) else None
    return PairedDelta(metric, n, cur, base, delta, estimate, confidence,
                       correlation=correlation, spread=spread)


def _no_item_moved(current: np.ndarray, baseline: np.ndarray) -> bool:
    return bool(np.array_equal(current, baseline))


def _bootstrap_estimate(value: float, cols: np.ndarray, statistic: Callable[[np.ndarray], np.ndarray],
                        clusters: Sequence[object] | None, n_boot: int, seed: int) -> Estimate:
    """A t estimate whose standard error is the bootstrap's over units (items, or whole
    clusters), widened by sqrt(G / (G - 1)) (the bootstrap variance of a mean is (G - 1) / G of
    the truth)."""
    units = cols
    if clusters is not None:
        ids: dict[object, int] = {}
        index = np.fromiter((ids.setdefault(c, len(ids)) for c in clusters), np.int64, len(cols))
        units = np.zeros((len(ids), cols.shape[1]))
        np.add.at(units, index, cols)
    g = units.shape[0]
    if not math.isfinite(value):
        return Unavailable(None, g, reason="undefined on these items")
    if g < 2 or n_boot <= 0:
        return Unavailable(value, g, reason="too few items for an interval")
    boot = statistic(_resampled_sums(units, n_boot, seed))
    boot = boot[np.isfinite(boot)]
    if boot.size < 2:
        return Unavailable(value, g, reason="undefined on resampled items")
    se = float(boot.std(ddof=1)) * math.sqrt(g / (g - 1))
    if se <= 1e-12:
        return Unavailable(value, g, reason="no spread over resampled items")
    kind = f"bias-corrected paired bootstrap over {'clusters' if clusters is not None else 'items'}"
    return TEstimate(value, g, method=f"{kind}, t on {g - 1} df", se=se, df=g - 1,
                     limits=(-1.0, 1.0), bias=float(boot.mean()) - value)


def _corr(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 3 or float(np.std(a)) == 0.0 or float(np.std(b)) == 0.0:
        return None
    return float(np.corrcoef(a, b)[0, 1])
