"""Estimates that can be tested against any bound: a value, its interval at any level, and the
one-sided p-values that the truth lies below or above a bound.

Gates ask one question of a statistic -- is it beyond this bound? -- so each method answers it
from the same numbers its interval comes from (an interval excludes a bound exactly when the
matching one-sided p-value is below its level). The methods, chosen by what the data are and
checked by simulation in ``benchmarks/gate_calibration.py``:

* ``TEstimate``: a mean with a standard error and Student's t on ``df`` degrees of freedom -- the
  paired t-test on per-item deltas (df n-1), cluster-robust CR1 errors with t on G-1 when items
  share documents or topics, or a bootstrap standard error for ratio metrics (micro/macro F1).
* ``PairedBinary``: two runs of 0/1 values on the same items (pass rates; 0/1 scores with one
  repeat). Tango's score interval and test for a paired difference of proportions, which keeps
  its level with few discordant pairs and never collapses to zero width (no discordant pair of
  n still leaves about 2.7/n of doubt); a claim that the current run is worse also needs the
  exact McNemar test (binomial on the discordant pairs) to agree.
* ``Unavailable``: no inference (too few units, no variation to learn from, a metric too rare to
  bound); it says why.

Nothing here turns a zero standard error into a zero-width interval or a p-value of 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from ..core.lazy_numpy import np


def z_value(confidence: float, *, two_sided: bool = True) -> float:
    tail = (1.0 - confidence) / (2.0 if two_sided else 1.0)
    return NormalDist().inv_cdf(1.0 - tail)


def wilson(k: float, n: float, confidence: float = 0.95, *, two_sided: bool = True
           ) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (good coverage near 0 and 1, unlike the
    bootstrap, which gives [0, 0] for 0 of 30)."""
    if n <= 0:
        return (0.0, 1.0)
    z = z_value(confidence, two_sided=two_sided)
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))

_NORMAL = NormalDist()


def _special():
    import scipy.special  # imported when statistics are first computed, not at collection

    return scipy.special


def t_cdf(x: float, df: float) -> float:
    if math.isinf(x):
        return 1.0 if x > 0 else 0.0
    return float(_special().stdtr(df, x))


def t_quantile(q: float, df: float) -> float:
    return float(_special().stdtrit(df, q))


@dataclass
class Estimate:
    """A statistic and what it allows one to say about its true value."""

    value: float | None
    n: int
    """Units the value is over (items, or clusters when items are clustered)."""
    method: str = ""
    reason: str | None = None
    """Why there is no interval or test (then every p-value and bound is None)."""

    def p_below(self, bound: float) -> float | None:
        """One-sided p-value against "the true value is at least ``bound``" (small when the
        data show it below)."""
        return None

    def p_above(self, bound: float) -> float | None:
        """One-sided p-value against "the true value is at most ``bound``"."""
        return None

    def interval(self, level: float) -> tuple[float | None, float | None]:
        """Two-sided interval at ``level`` (each side leaves out (1 - level) / 2)."""
        return None, None

    def lower(self, confidence: float) -> float | None:
        """One-sided lower confidence bound."""
        return self.interval(2 * confidence - 1)[0]

    def upper(self, confidence: float) -> float | None:
        return self.interval(2 * confidence - 1)[1]


@dataclass
class Unavailable(Estimate):
    pass


@dataclass
class TEstimate(Estimate):
    se: float = 0.0
    df: float = 1.0
    limits: tuple[float, float] = (-math.inf, math.inf)
    """What the true value can be (a mean of scores in [0, 1] lies in [0, 1]); bounds the
    interval, never the test."""
    bias: float = 0.0
    """Estimated bias of ``value`` (a bootstrap's, for ratios such as F1): the interval and the
    tests are centred on ``value - bias``."""

    @property
    def centre(self) -> float:
        assert self.value is not None
        return self.value - self.bias

    def _t(self, bound: float) -> float:
        assert self.se > 0
        return (self.centre - bound) / self.se

    def p_below(self, bound: float) -> float | None:
        return t_cdf(self._t(bound), self.df)

    def p_above(self, bound: float) -> float | None:
        return t_cdf(-self._t(bound), self.df)

    def interval(self, level: float) -> tuple[float | None, float | None]:
        half = t_quantile(1 - (1 - level) / 2, self.df) * self.se
        return (max(self.centre - half, self.limits[0]), min(self.centre + half, self.limits[1]))


@dataclass
class PairedBinary(Estimate):
    """current - baseline share of 1s over n paired items with 0/1 values in both runs."""

    down: int = 0
    """Items 1 in the baseline and 0 now."""
    up: int = 0
    """Items 0 in the baseline and 1 now."""

    def _z(self, d0: float) -> float:
        """Tango's score statistic for H0: delta = d0 (Tango 1998, Stat Med 17:891)."""
        n, up, down = self.n, self.up, self.down
        d0 = min(max(d0, -1 + 1e-12), 1 - 1e-12)
        a = 2.0 * n
        b = -up - down + (2.0 * n - up + down) * d0
        c = -down * d0 * (1 - d0)
        q = (math.sqrt(max(b * b - 4 * a * c, 0.0)) - b) / (2 * a)  # restricted MLE of P(down)
        var = n * (2 * q + d0 * (1 - d0))
        diff = up - down - n * d0
        if var <= 0:
            return 0.0 if diff == 0 else math.copysign(math.inf, diff)
        return diff / math.sqrt(var)

    def p_tango(self, bound: float) -> float:
        """Tango's one-sided p-value alone, against "the delta is at least ``bound``"."""
        return _normal_cdf(self._z(bound))

    def p_below(self, bound: float) -> float | None:
        p = self.p_tango(bound)
        if bound <= 0:  # "worse than the baseline" also needs the exact McNemar test
            p = max(p, mcnemar_worse(self.down, self.up))
        return p

    def p_above(self, bound: float) -> float | None:
        return _normal_cdf(-self._z(bound))

    def interval(self, level: float) -> tuple[float | None, float | None]:
        z = _NORMAL.inv_cdf(1 - (1 - level) / 2)
        est = (self.up - self.down) / self.n
        return (_root(lambda d: self._z(d) - z, -1.0, est),
                _root(lambda d: self._z(d) + z, est, 1.0))


def _normal_cdf(z: float) -> float:
    if math.isinf(z):
        return 1.0 if z > 0 else 0.0
    return _NORMAL.cdf(z)


def _root(f, lo: float, hi: float) -> float:
    """Where a decreasing ``f`` crosses 0 on [lo, hi] (an end when it doesn't)."""
    if f(lo) <= 0:
        return lo
    if f(hi) >= 0:
        return hi
    for _ in range(60):
        mid = (lo + hi) / 2
        if f(mid) > 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def mcnemar_worse(down: int, up: int) -> float:
    """Exact one-sided McNemar p-value that items fall more often than they rise: P(at least
    ``down`` of the down + up discordant pairs fall, if each were a fair coin)."""
    total = down + up
    if total == 0:
        return 1.0
    # exact integers, one correctly rounded division (floats overflow past ~1,000 pairs)
    return sum(math.comb(total, k) for k in range(down, total + 1)) / 2 ** total


def fisher_less(base_pass: int, base_n: int, cur_pass: int, cur_n: int) -> float:
    """One-sided Fisher exact p-value that the current pass rate is lower than the baseline's."""
    total, passes = base_n + cur_n, base_pass + cur_pass
    upper = min(passes, base_n)
    return sum(math.comb(passes, x) * math.comb(total - passes, base_n - x)
               for x in range(base_pass, upper + 1)) / math.comb(total, base_n)


# --------------------------------------------------------------------------------------------
# Building estimates from values

MIN_UNITS = 2


def _binary(values) -> bool:
    return bool(np.all((values == 0.0) | (values == 1.0)))


def mean_estimate(values: Sequence[float], *, clusters: Sequence[object] | None = None,
                  method: str = "") -> Estimate:
    """The mean of per-item values with a t interval (CR1 over ``clusters`` when given).

    With no spread to learn from: 0/1 values that all agree are a proportion (Wilson's
    interval, as pass rates get); any other constant has no interval.
    """
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n == 0:
        return Unavailable(None, 0, reason="no item has a value")
    value = float(x.mean())
    limits = _limits(x)
    if n < MIN_UNITS:
        return Unavailable(value, n, reason="one item: no interval")
    se, df, units, label = _se(x, clusters)
    if units < MIN_UNITS:
        return Unavailable(value, units, reason="one cluster: no interval")
    if se <= 1e-12:
        if _binary(x):
            return WilsonEstimate(value, n, method="Wilson score (all items agree)",
                                  k=int(round(x.sum())))
        return Unavailable(value, units,
                           reason=f"every item has the same value ({value:.4g}): no spread to "
                                  "estimate the uncertainty from")
    return TEstimate(value, units, method=method or label, se=se, df=df, limits=limits)


def _limits(x) -> tuple[float, float]:
    """Scores in [0, 1] have means in [0, 1]; others are unbounded."""
    if x.size and float(x.min()) >= 0.0 and float(x.max()) <= 1.0:
        return 0.0, 1.0
    return -math.inf, math.inf


def _se(x, clusters: Sequence[object] | None) -> tuple[float, float, int, str]:
    """Standard error of the mean of ``x``, its degrees of freedom and units, and the method."""
    n = len(x)
    if clusters is None:
        return float(x.std(ddof=1)) / math.sqrt(n), n - 1, n, f"t on {n - 1} df"
    ids: dict[object, int] = {}
    index = np.fromiter((ids.setdefault(c, len(ids)) for c in clusters), np.int64, n)
    g = len(ids)
    if g < MIN_UNITS:
        return 0.0, 0, g, "CR1"
    sums = np.bincount(index, weights=x - x.mean(), minlength=g)
    var = float((sums ** 2).sum()) / n ** 2 * g / (g - 1)  # CR1: the G / (G - 1) correction
    return math.sqrt(var), g - 1, g, f"cluster-robust (CR1) t on {g - 1} df, {g} clusters"


@dataclass
class WilsonEstimate(Estimate):
    """A proportion k/n: Wilson's score interval and test."""

    k: int = 0

    def _z(self, p0: float) -> float:
        p0 = min(max(p0, 1e-12), 1 - 1e-12)
        return (self.k / self.n - p0) / math.sqrt(p0 * (1 - p0) / self.n)

    def p_below(self, bound: float) -> float | None:
        if bound <= 0:
            return 1.0
        if bound > 1:
            return 0.0
        return _NORMAL.cdf(self._z(bound))

    def p_above(self, bound: float) -> float | None:
        if bound >= 1:
            return 1.0
        if bound < 0:
            return 0.0
        return 1.0 - _NORMAL.cdf(self._z(bound))

    def interval(self, level: float) -> tuple[float | None, float | None]:

        return wilson(self.k, self.n, level)


def paired_estimate(current: Sequence[float], baseline: Sequence[float], *,
                    clusters: Sequence[object] | None = None) -> Estimate:
    """current - baseline over paired items: Tango/McNemar for 0/1 values without clusters,
    else the paired t (CR1 with clusters); with no spread at all, scores in [0, 1] are judged
    as 0/1 values that never disagreed (any item could still move, by up to 1)."""
    cur = np.asarray(current, dtype=np.float64)
    base = np.asarray(baseline, dtype=np.float64)
    n = len(cur)
    if n == 0:
        return Unavailable(None, 0, reason="no item has a value in both runs")
    d = cur - base
    value = float(d.mean())
    if clusters is None and _binary(cur) and _binary(base):
        return PairedBinary(value, n, method="Tango score interval, exact McNemar",
                            down=int(np.count_nonzero(d < 0)), up=int(np.count_nonzero(d > 0)))
    if n < MIN_UNITS:
        return Unavailable(value, n, reason="one paired item: no interval")
    se, df, units, label = _se(d, clusters)
    if units < MIN_UNITS:
        return Unavailable(value, units, reason="one cluster: no interval")
    if se <= 1e-12:
        bounded = _limits(np.concatenate([cur, base])) == (0.0, 1.0)
        if bounded and value == 0.0:
            return PairedBinary(0.0, n, method="no item moved: Tango bound for 0 of n discordant",
                                down=0, up=0)
        return Unavailable(value, units, reason="every paired item moved by the same amount: "
                                                "no spread to estimate the uncertainty from")
    bounded = _limits(np.concatenate([cur, base])) == (0.0, 1.0)
    return TEstimate(value, units, method=f"paired {label}", se=se, df=df,
                     limits=(-1.0, 1.0) if bounded else (-math.inf, math.inf))


# --------------------------------------------------------------------------------------------
# Many tests at once


def adjust(pvalues: Sequence[float], family: int, method: str) -> list[float]:
    """``pvalues`` adjusted for a family of ``family`` tests (the ones not given count as
    p = 1: a worker under xdist, or a partial run, sees only some). ``method``: holm
    (family-wise error), bh (false discovery rate, Benjamini-Hochberg) or none."""
    m = len(pvalues)
    family = max(family, m)
    if method == "none" or m == 0:
        return [min(1.0, p) for p in pvalues]
    order = sorted(range(m), key=lambda i: pvalues[i])
    out = [1.0] * m
    if method == "holm":
        running = 0.0
        for rank, i in enumerate(order):
            running = max(running, min(1.0, (family - rank) * pvalues[i]))
            out[i] = running
        return out
    if method == "bh":
        running = 1.0
        for rank in range(m - 1, -1, -1):
            i = order[rank]
            running = min(running, min(1.0, family * pvalues[i] / (rank + 1)))
            out[i] = running
        return out
    raise ValueError(f"unknown correction {method!r}")
