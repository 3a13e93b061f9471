"""Aggregation of sample results: per-item score statistics, item stability, and suite metrics
with confidence intervals. (Label metrics are in ``labels.py``, paired comparisons in
``paired.py``.)

Conventions:

* Errors are never zeros. A sample whose model call failed contributes no score at all, and a
  score a grader could not compute (listed in ``grader_errors``, or NaN) is left out of that
  score's statistics. Errors are counted separately (``n_errors``, ``n_grader_errors``,
  ``error_rate``).
* Suite metrics weigh every *item* once, whatever its number of successful repeats.
* Thresholds are compared with a tolerance of ``TOLERANCE`` (``[0.6, 0.8, 1.0]`` has mean 0.8,
  even though floating point says 0.7999999999999999).
* Confidence intervals: proportions (``pass_rate``, ``error_rate``) use the Wilson score
  interval; other metrics the percentile bootstrap over *items*, widened by sqrt(n / (n - 1))
  around the value to undo the bootstrap's small-sample narrowness (for label metrics, over
  ``groups``: all repeats of one item move together). There is no interval over fewer than two
  items (``ci_low``/``ci_high`` are None: shown as n/a). Resampling is seeded
  (``numpy.random.default_rng(seed)``), vectorized and done in chunks of bounded size. All
  metrics computed by one call share the same resamples. Coverage is checked by simulation in
  ``benchmarks/gate_calibration.py``.
* Per-item spread is the *sample* standard deviation (ddof=1), as in OpenAI's RFT variance
  study; it is 0 for a single sample.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist
from typing import Literal

from .lazy_numpy import np
from .records import SampleResult

__all__ = [
    "TOLERANCE",
    "ScoreStats",
    "ItemStats",
    "Metric",
    "item_stats",
    "all_item_stats",
    "at_least",
    "wilson",
    "stability",
    "suite_metrics",
]

TOLERANCE = 1e-9
"""Slack when comparing a score with a threshold (float rounding of means)."""

Stability = Literal["stable-pass", "stable-fail", "flaky", "unknown", "no-score"]
STABILITIES: tuple[Stability, ...] = ("stable-pass", "stable-fail", "flaky", "unknown", "no-score")
STABILITY_CONFIDENCE = 0.95
"""One-sided confidence of the Wilson bound that classifies items (see ``stability``)."""

_CHUNK_ELEMS = 500_000
"""Upper bound on resamples x units drawn at once (about 4 MB per int64/float64 array)."""


def at_least(value: float, bound: float) -> bool:
    """``value >= bound`` up to float rounding."""
    return value >= bound - TOLERANCE * max(1.0, abs(bound))


def at_most(value: float, bound: float) -> bool:
    return value <= bound + TOLERANCE * max(1.0, abs(bound))


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


# --------------------------------------------------------------------------------------------
# Per-item statistics


@dataclass(slots=True)
class ScoreStats:
    """Statistics of one score over the samples of one item that have it."""

    mean: float
    max: float
    min: float
    std: float
    """Sample standard deviation (ddof=1); 0 when n == 1."""
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

    @property
    def n_pass(self) -> int:
        """Samples whose own primary score reaches the threshold."""
        return sum(1 for v in self.primary_values if at_least(v, self.pass_threshold))


def _score_stats(values: list[float]) -> ScoreStats:
    n = len(values)
    mean = math.fsum(values) / n
    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
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
            if not math.isfinite(v):  # NaN (could not be computed) or inf: not a score
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
        passed=None if ps is None else at_least(ps.mean, pass_threshold),
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


@lru_cache(maxsize=4096)  # a few (passes, repeats) pairs, asked for every item
def classify(n_pass: int, n: int, confidence: float = STABILITY_CONFIDENCE) -> Stability:
    """Stability of an item from how many of its n repeats passed.

    stable-pass: the one-sided Wilson lower bound of the per-repeat pass rate is above 1/2 (it
    passes in a clear majority of repeats, with ``confidence``); stable-fail: the upper bound is
    below 1/2; flaky: neither, with passes and fails both seen; unknown: neither, all repeats
    agreeing but too few of them to tell (at 95%, 3 agreeing repeats are needed; 9 of 10 is
    still stable).
    """
    if n == 0:
        return "no-score"
    low, high = wilson(n_pass, n, confidence, two_sided=False)
    if low > 0.5:
        return "stable-pass"
    if high < 0.5:
        return "stable-fail"
    return "flaky" if 0 < n_pass < n else "unknown"


def stability(item: ItemStats) -> Stability:
    """Classify an item by each sample's primary score vs the item's pass threshold."""
    return classify(item.n_pass, len(item.primary_values))


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
    bounds: tuple[float, float] = (-math.inf, math.inf),
) -> Metric:
    """Metric with the percentile interval of the finite bootstrap values, widened by
    sqrt(n / (n - 1)) around the value (the bootstrap's variance is (n - 1) / n of the truth),
    and kept within ``bounds`` (what the metric can be: a mean lies between the values it
    averages).

    No interval over fewer than 2 units; with all units identical (``degenerate``) the interval
    is the value itself.
    """
    if value is None:
        return Metric(name, None, None, None, n)
    if n <= 1:
        return Metric(name, value, None, None, n)
    if degenerate:
        return Metric(name, value, value, value, n)
    if boot is None:
        return Metric(name, value, None, None, n)
    finite = boot[np.isfinite(boot)]
    if finite.size == 0:
        return Metric(name, value, None, None, n)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.percentile(finite, [100.0 * alpha, 100.0 * (1.0 - alpha)])
    widen = math.sqrt(n / (n - 1))
    lo = max(value + (lo - value) * widen, bounds[0])
    hi = min(value + (hi - value) * widen, bounds[1])
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
    thresholds: Mapping[str, float] | None = None,
) -> dict[str, Metric]:
    """Suite metrics over items, each item counting once.

    ``thresholds`` (score name -> a grader's own ``pass_threshold``) adds ``<score>.pass_rate``:
    the share of the items having that score whose mean reaches the threshold (Wilson interval).

    Keys: ``<score>.mean`` / ``.max`` / ``.min`` (mean over the items having the score of the
    per-item mean / max (best-of-N) / min; bootstrap CIs over items), ``pass_rate`` (items
    passed / items with a primary score) and ``error_rate`` (failed samples + successful samples
    with any grader error, over all samples), both with Wilson intervals.
    """
    n = len(items)
    out: dict[str, Metric] = {}
    cols: list[np.ndarray] = []
    specs: list[tuple[str, float | None, int, int, bool, tuple[float, float]]] = []

    for score in score_names:
        present = np.array([score in it.scores for it in items], dtype=bool)
        units = int(present.sum())
        for k in ("mean", "max", "min"):
            v = np.array([getattr(it.scores[score], k) for it in items if score in it.scores],
                         dtype=np.float64)
            value = math.fsum(v.tolist()) / units if units else None
            col = np.zeros(n, dtype=np.float64)
            col[present] = v
            cols += [col, present.astype(np.float64)]
            degenerate = bool(v.size) and bool(v.min() == v.max())
            bounds = (float(v.min()), float(v.max())) if v.size else (-math.inf, math.inf)
            specs.append((f"{score}.{k}", value, units, len(cols) - 2, degenerate, bounds))

    boot: np.ndarray | None = None
    if n > 1 and n_boot > 0 and cols:
        boot = _resampled_sums(np.column_stack(cols), n_boot, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        for name, value, units, col, degenerate, bounds in specs:
            b = None if boot is None else _divnan(boot[:, col], boot[:, col + 1])
            out[name] = _metric(name, value, units, b, confidence, degenerate, bounds)

    for score, bound in (thresholds or {}).items():
        means = [it.scores[score].mean for it in items if score in it.scores]
        out[f"{score}.pass_rate"] = proportion(
            f"{score}.pass_rate", sum(1 for m in means if at_least(m, bound)), len(means),
            confidence)
    known = [it for it in items if it.passed is not None]
    out["pass_rate"] = proportion("pass_rate", sum(1 for it in known if it.passed), len(known),
                                  confidence)
    errors = sum(it.n_errors + it.n_grader_errors for it in items)
    samples = sum(it.n_samples for it in items)
    out["error_rate"] = proportion("error_rate", errors, samples, confidence, units=n)
    return out


def proportion(name: str, k: int, n: int, confidence: float = 0.95, *,
               units: int | None = None) -> Metric:
    """k/n with its Wilson interval (no interval over fewer than 2 units)."""
    units = n if units is None else units
    if n == 0:
        return Metric(name, None, None, None, units)
    if units <= 1:
        return Metric(name, k / n, None, None, units)
    low, high = wilson(k, n, confidence)
    return Metric(name, k / n, low, high, units)
