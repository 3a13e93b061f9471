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
from typing import Literal

from ..core.lazy_numpy import np
from ..core.numbers import TOLERANCE, at_least, at_most  # noqa: F401  (stats.at_least ...)
from .estimates import t_quantile, wilson, z_value  # noqa: F401  (stats.wilson ...)
from ..core.records import ItemStats, SampleResult, ScoreStats

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

Stability = Literal["stable-pass", "stable-fail", "flaky", "unknown", "no-score"]
STABILITIES: tuple[Stability, ...] = ("stable-pass", "stable-fail", "flaky", "unknown", "no-score")
STABILITY_CONFIDENCE = 0.95
"""One-sided confidence of the Wilson bound that classifies items (see ``stability``)."""

_CHUNK_ELEMS = 500_000
"""Upper bound on resamples x units drawn at once (about 4 MB per int64/float64 array)."""


# --------------------------------------------------------------------------------------------
# Per-item statistics


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


def pass_counts(results: Iterable[SampleResult], primary: str, pass_threshold: float
                ) -> tuple[int, int]:
    """(repeats whose primary score reaches the threshold, repeats with a primary score)."""
    passes = n = 0
    for r in results:
        value = None if r.error is not None or primary in r.grader_errors else r.scores.get(primary)
        if value is None or not math.isfinite(value):
            continue
        n += 1
        passes += at_least(value, pass_threshold)
    return passes, n


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
    """A suite-level value with its confidence interval (None when there is none: ``note``
    says why)."""

    name: str
    value: float | None
    """None when there is nothing to compute it over."""
    ci_low: float | None
    ci_high: float | None
    n: int
    """Number of units (items, groups for label metrics, or clusters) the value is over."""
    note: str | None = None
    """Why there is no interval, when there is none."""


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
    bounds: tuple[float, float] = (-math.inf, math.inf),
    note: str | None = None,
) -> Metric:
    """Metric with a bias-corrected t interval from bootstrap values over ``n`` units: centred
    on the value less the bootstrap's bias (ratios such as F1 are biased low on few items),
    half-width t(n - 1) times the bootstrap standard error widened by sqrt(n / (n - 1)) (the
    bootstrap's variance is (n - 1) / n of the truth), kept within ``bounds``.

    No interval over fewer than 2 units, without bootstrap values, or with ``note`` (why not).
    """
    if value is None:
        return Metric(name, None, None, None, n, note=note or "nothing to compute it over")
    if note is not None or n <= 1 or boot is None:
        return Metric(name, value, None, None, n,
                      note=note or ("one unit: no interval" if n <= 1 else None))
    finite = boot[np.isfinite(boot)]
    if finite.size < 2:
        return Metric(name, value, None, None, n, note="undefined on resampled items")
    se = float(finite.std(ddof=1)) * math.sqrt(n / (n - 1))
    if se <= 1e-12:
        return Metric(name, value, None, None, n,
                      note="the same on every resample: no spread to estimate from")

    centre = value - (float(finite.mean()) - value)
    half = t_quantile(1 - (1 - confidence) / 2, n - 1) * se
    return Metric(name, value, max(centre - half, bounds[0]), min(centre + half, bounds[1]), n)


# --------------------------------------------------------------------------------------------
# Suite metrics


def suite_metrics(
    items: Sequence[ItemStats],
    score_names: Sequence[str],
    *,
    confidence: float = 0.95,
    thresholds: Mapping[str, float] | None = None,
    clusters: Mapping[str, object] | None = None,
) -> dict[str, Metric]:
    """Suite metrics over items, each item counting once.

    ``thresholds`` (score name -> a grader's own ``pass_threshold``) adds ``<score>.pass_rate``:
    the share of the items having that score whose mean reaches the threshold (Wilson interval).
    ``clusters`` (item id -> cluster): items of one cluster are not independent, and every
    interval becomes cluster-robust (CR1, t on clusters - 1).

    Keys: ``<score>.mean`` / ``.max`` / ``.min`` (mean over the items having the score of the
    per-item mean / max (best-of-N) / min; t intervals over items), ``pass_rate`` (items
    passed / items with a primary score) and ``error_rate`` (failed samples + successful samples
    with any grader error, over all samples), both with Wilson intervals (CR1 with clusters).
    """
    from .estimates import mean_estimate  # noqa: F811

    level = confidence
    out: dict[str, Metric] = {}

    def metric(name: str, units: Sequence[ItemStats], values: list[float]) -> Metric:
        groups = None if clusters is None else [clusters.get(it.item_id, it.item_id)
                                                for it in units]
        est = mean_estimate(values, clusters=groups)
        low, high = est.interval(level) if est.reason is None else (None, None)
        return Metric(name, est.value, low, high, est.n, note=est.reason)

    for score in score_names:
        having = [it for it in items if score in it.scores]
        for k in ("mean", "max", "min"):
            out[f"{score}.{k}"] = metric(f"{score}.{k}", having,
                                         [getattr(it.scores[score], k) for it in having])

    def rate(name: str, units: Sequence[ItemStats], passed: list[bool]) -> Metric:
        if clusters is not None and units:
            return metric(name, units, [float(p) for p in passed])
        return proportion(name, sum(passed), len(passed), confidence)

    for score, bound in (thresholds or {}).items():
        having = [it for it in items if score in it.scores]
        out[f"{score}.pass_rate"] = rate(f"{score}.pass_rate", having,
                                         [at_least(it.scores[score].mean, bound) for it in having])
    known = [it for it in items if it.passed is not None]
    out["pass_rate"] = rate("pass_rate", known, [bool(it.passed) for it in known])
    errors = sum(it.n_errors + it.n_grader_errors for it in items)
    samples = sum(it.n_samples for it in items)
    out["error_rate"] = proportion("error_rate", errors, samples, confidence, units=len(items))
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
