"""Paired comparisons of two runs over the items both have: the delta of a suite metric, its
confidence interval, a one-sided p-value for "the candidate is worse", the correlation of item
scores, and the smallest drop the data could detect.

The test is a paired bootstrap over items (the project's resampler, ``stats._resampled_sums``):
each resample draws items with replacement and recomputes the metric for *both* runs on the same
items, so the item-to-item spread that both runs share cancels. One method serves every metric:
means of per-item scores, pass rates, and ratio metrics such as micro/macro F1 where no t-test
applies. Bootstrap deviations are widened by sqrt(n / (n - 1)) (the bootstrap variance of a mean
is (n - 1) / n of the truth). False alarms, power and coverage are measured by simulation in
``benchmarks/gate_calibration.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .labels import prf
from .lazy_numpy import np
from .stats import _resampled_sums, z_value

POWER = 0.80
"""Power used for the smallest detectable drop."""


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
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    """One-sided: probability of a delta this low if the candidate were not worse."""
    correlation: float | None
    """Pearson correlation of the per-item values of the two runs."""
    se: float | None
    """Standard error of the delta."""
    detectable: float | None
    """Smallest drop this comparison detects with 80% power at ``confidence``."""
    confidence: float = 0.95
    within_var: float | None = None
    """Mean per-item sampling variance of the delta (both runs' repeats): the part more
    repeats would shrink."""
    repeats: int = 1

    @property
    def worse(self) -> bool:
        """Significantly worse at the comparison's confidence."""
        return self.p_value is not None and self.p_value < 1.0 - self.confidence

    def needed(self, drop: float) -> tuple[int | None, int | None]:
        """Roughly how many items (at these repeats) and how many repeats (at these items, in
        both runs) would detect ``drop`` with 80% power; None when no number of them would."""
        if self.se is None or not drop > 0 or self.n < 2:
            return None, None
        k = z_value(self.confidence, two_sided=False) + z_value(POWER, two_sided=False)
        target_var = self.n * (drop / k) ** 2  # per-item variance of the delta that would do
        items = math.ceil(self.n * (k * self.se / drop) ** 2)
        repeats = None
        if self.within_var is not None:
            total_var = self.se ** 2 * self.n
            between = max(total_var - self.within_var, 0.0)
            per_repeat = self.within_var * self.repeats  # within variance with one repeat
            if per_repeat > 0 and target_var > between:
                repeats = max(1, math.ceil(per_repeat / (target_var - between)))
        return items, repeats


def compare_values(metric: str, current: np.ndarray, baseline: np.ndarray, *,
                   within_var: np.ndarray | None = None, repeats: int = 1,
                   n_boot: int = 1000, seed: int = 0, confidence: float = 0.95) -> PairedDelta:
    """Paired delta of a mean of per-item values (``<score>.mean``, ``pass_rate`` ...).

    ``within_var``: per item, the sampling variance of its delta (s_c^2/r_c + s_b^2/r_b), used
    only to say how many repeats would help.
    """
    current = np.asarray(current, dtype=np.float64)
    baseline = np.asarray(baseline, dtype=np.float64)
    n = len(current)
    cols = np.column_stack([current, baseline]) if n else np.zeros((0, 2))

    def values(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return sums[..., 0] / n, sums[..., 1] / n

    diffs = current - baseline
    span = (float(diffs.min()), float(diffs.max())) if n else (-1.0, 1.0)
    return _compare(metric, cols, values, _corr(current, baseline), n_boot=n_boot, seed=seed,
                    confidence=confidence, span=span,
                    within_var=None if within_var is None or not n else float(np.mean(within_var)),
                    repeats=repeats)


def compare_labels(metric: str, current: np.ndarray, baseline: np.ndarray, *,
                   n_boot: int = 1000, seed: int = 0, confidence: float = 0.95) -> PairedDelta:
    """Paired delta of a label metric (``micro_f1``, ``macro_recall``, ``samples_f1`` ...).

    ``current`` / ``baseline``: per item, ``[tp(L), predicted(L), true(L), rows, sum of row
    precision, recall, F1]`` (``labels.item_counts`` rows), over the same L labels.
    """
    n, width = current.shape
    n_labels = (width - 4) // 3
    measure = metric.rsplit("_", 1)[1]
    average = metric.split("_", 1)[0]
    pick = {"precision": 0, "recall": 1, "f1": 2}[measure]

    def one(s: np.ndarray) -> np.ndarray:
        L = n_labels
        tp, pred, true = s[..., :L], s[..., L:2 * L], s[..., 2 * L:3 * L]
        if average == "micro":
            return prf(tp.sum(-1), pred.sum(-1), true.sum(-1))[pick]
        if average == "macro":
            return prf(tp, pred, true)[pick].mean(-1) if L else np.zeros(s.shape[:-1])
        rows = s[..., 3 * L]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(rows > 0, s[..., 3 * L + 1 + pick] / np.where(rows > 0, rows, 1), 0.0)

    def values(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return one(sums[..., :width]), one(sums[..., width:])

    per_item = (one(current), one(baseline))
    cols = np.concatenate([current, baseline], axis=1)
    return _compare(metric, cols, values, _corr(*per_item), n_boot=n_boot, seed=seed,
                    confidence=confidence, span=(-1.0, 1.0))


def _compare(metric: str, cols: np.ndarray,
             values: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
             correlation: float | None, *, n_boot: int, seed: int, confidence: float,
             span: tuple[float, float], within_var: float | None = None,
             repeats: int = 1) -> PairedDelta:
    n = cols.shape[0]
    if n == 0:
        return PairedDelta(metric, 0, None, None, None, None, None, None, None, None, None,
                           confidence)
    cur, base = (float(v) for v in values(cols.sum(axis=0)))
    delta = cur - base
    result = PairedDelta(metric, n, cur, base, delta, None, None, None, correlation, None, None,
                         confidence, within_var, repeats)
    if n < 2 or n_boot <= 0:
        return result
    boot_cur, boot_base = values(_resampled_sums(cols, n_boot, seed))
    deltas = boot_cur - boot_base
    deltas = deltas[np.isfinite(deltas)]
    if deltas.size == 0:
        return result
    deltas = delta + (deltas - delta) * math.sqrt(n / (n - 1))
    alpha = (1.0 - confidence) / 2.0
    low, high = np.percentile(deltas, [100 * alpha, 100 * (1 - alpha)])
    # the widening must not claim more than the data allow (a mean of per-item deltas lies
    # between the smallest and the largest of them)
    result.ci_low, result.ci_high = float(max(low, span[0])), float(min(high, span[1]))
    result.se = float(deltas.std(ddof=1))
    if result.se <= 1e-12:  # every item moved by the same amount: no doubt about the sign
        result.p_value = 1.0 if delta >= 0 else 0.0
    else:
        result.p_value = float((np.count_nonzero(deltas >= 0) + 1) / (deltas.size + 1))
    k = z_value(confidence, two_sided=False) + z_value(POWER, two_sided=False)
    result.detectable = k * result.se
    return result


def _corr(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 3 or float(np.std(a)) == 0.0 or float(np.std(b)) == 0.0:
        return None
    return float(np.corrcoef(a, b)[0, 1])
