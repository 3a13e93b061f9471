"""Calibration of the baseline gate and of the reported intervals, checked by simulation.

Every number comes from the shipped code path: simulated per-sample scores become
``SampleResult`` objects, ``stats.all_item_stats`` and ``stats.suite_metrics`` aggregate them,
each run is turned into a ``Baseline`` record the way ``summary.to_baseline`` does, and
``compare.compare`` (paired bootstrap of ``paired.compare_values``; regressed items with
``stats.classify``) and ``gates.check_gate`` with a baseline gate
(``f1.mean``, ``max_drop: 0.02``, ``confidence: 0.95``) give the verdict. The bootstrap uses
the plugin's defaults (1000 resamples, seed 0).

The model (the spread measured on the example suite ``eurovoc-level1``: SD of true item means
0.245 around 0.62 -- the observed SD of 3-repeat means there is 0.264 -- and within-item SD
0.164, the root mean square of the items' sample SDs):

* item i has a true mean ``mu_i = expit(a + s * z_i)``, ``z_i ~ N(0, 1)`` (logit-normal), with
  ``a``, ``s`` solved by Gauss-Hermite quadrature so that E[mu] = 0.62 and SD[mu] = 0.245;
* one sample of item i scores ``Beta(k * mu_i, k * (1 - mu_i))``: in [0, 1], mean exactly
  ``mu_i``, variance ``mu_i (1 - mu_i) / (k + 1)`` with k chosen so the mean within-item
  variance is 0.164^2;
* a candidate model with item correlation rho and shift delta has
  ``mu'_i = expit(a' + s * (rho * z_i + sqrt(1 - rho^2) * e_i))``, ``e_i ~ N(0, 1)``, with
  ``a'`` solved (quadrature) so that E[mu'] = E[mu] + delta exactly; rho is the correlation on
  the latent (logit) scale, the correlation of the mu's is printed. "Same model" reuses mu_i
  and draws fresh samples.

Every simulated run draws fresh items from the population and fresh samples for both models,
so the estimands are population quantities (expectations over item sampling and sample noise):

* ``f1.mean``: E[mu] (the expected mean of item means);
* ``pass_rate``: P(mean of an item's r samples >= 0.5) for a random item (large Monte Carlo);
* paired delta of ``f1.mean``: E[mu'] - E[mu] = delta.

Checks: false alarms of the baseline gate when nothing changed, its power against a 5-point
drop, coverage of the 95% intervals, false "regressed" items of an unchanged model, and the
old absolute gate (f1.mean >= 0.50) for a model whose true F1 is 0.52. Rates come with their
binomial standard error; the run is deterministic for a given --seed.

    python benchmarks/gate_calibration.py [--runs 1000] [--boot 1000] [--seed 0] [--workers 2]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one thread per worker process

import argparse  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from tabulate import tabulate  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_rft.baseline import Baseline, BaselineItem  # noqa: E402
from pytest_rft.compare import compare  # noqa: E402
from pytest_rft.gates import check_gate  # noqa: E402
from pytest_rft.records import OK, SampleResult  # noqa: E402
from pytest_rft.stats import (  # noqa: E402
    TOLERANCE,
    ItemStats,
    all_item_stats,
    classify,
    suite_metrics,
)
from pytest_rft.suite import Gate  # noqa: E402

MEAN, SD_BETWEEN, SD_WITHIN = 0.62, 0.245, 0.164
PASS_THRESHOLD = 0.5
PRIMARY = "f1"
MAX_DROP, CONFIDENCE = 0.02, 0.95
BASELINE_GATE = Gate(metric="f1.mean", baseline=True, max_drop=MAX_DROP, confidence=CONFIDENCE)
OLD_GATE = Gate(metric="f1.mean", min=0.50)
OLD_TRUE_F1 = 0.52
CHUNK = 50
"""Runs per task: each task has its own seed, so results do not depend on scheduling."""

_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(161)
_GH_W = _GH_W / _GH_W.sum()  # E[f(Z)] for Z ~ N(0, 1) = sum(w * f(x))


def expit(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


# --------------------------------------------------------------------------------------------
# Population model


def _moments(a: float, s: float) -> tuple[float, float]:
    """Mean and SD of expit(a + s Z) by quadrature."""
    p = expit(a + s * _GH_X)
    m = float(_GH_W @ p)
    return m, math.sqrt(float(_GH_W @ (p - m) ** 2))


def _bisect(f, lo: float, hi: float, iters: int = 200) -> float:
    """Root of an increasing f on [lo, hi]."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def location_for(mean: float, s: float) -> float:
    """a with E[expit(a + s Z)] = mean."""
    return _bisect(lambda a: _moments(a, s)[0] - mean, -20.0, 20.0)


@dataclass(frozen=True)
class Population:
    a: float
    s: float
    k: float
    """Beta concentration of one sample around its item's mean."""

    @classmethod
    def fit(cls) -> "Population":
        s = _bisect(lambda s: _moments(location_for(MEAN, s), s)[1] - SD_BETWEEN, 0.01, 10.0)
        a = location_for(MEAN, s)
        m, sd = _moments(a, s)
        mean_item_var = m - (sd * sd + m * m)  # E[mu (1 - mu)]
        return cls(a=a, s=s, k=mean_item_var / SD_WITHIN**2 - 1.0)


@dataclass(frozen=True)
class Scenario:
    key: str
    items: int
    repeats: int
    rho: float | None = None
    """Item correlation of the candidate (latent scale); None: the same model resampled."""
    delta: float = 0.0
    base_mean: float = MEAN
    compare: bool = True
    """Also simulate a candidate and compare it with the baseline (else one model only)."""

    def label(self) -> str:
        if not self.compare:
            return f"one model, true F1 {self.base_mean:.2f}"
        if self.rho is None:
            return "same model resampled"
        what = "same mean" if self.delta == 0 else f"true delta {self.delta:+.2f}"
        return f"{what}, item corr {self.rho:g}"


def draw_means(pop: Population, sc: Scenario, rng: np.random.Generator, n: int
               ) -> tuple[np.ndarray, np.ndarray | None]:
    """True item means of the baseline model and of the candidate (None: one model only)."""
    a = pop.a if sc.base_mean == MEAN else location_for(sc.base_mean, pop.s)
    z = rng.standard_normal(n)
    mu = expit(a + pop.s * z)
    if not sc.compare:
        return mu, None
    if sc.rho is None:
        return mu, mu
    a_c = location_for(sc.base_mean + sc.delta, pop.s)
    z_c = sc.rho * z + math.sqrt(1.0 - sc.rho**2) * rng.standard_normal(n)
    return mu, expit(a_c + pop.s * z_c)


def draw_scores(pop: Population, mu: np.ndarray, repeats: int, rng: np.random.Generator
                ) -> np.ndarray:
    """items x repeats sample scores, Beta around each item's mean."""
    m = np.clip(mu, 1e-9, 1 - 1e-9)[:, None]
    shape = (len(mu), repeats)
    out = rng.beta(np.broadcast_to(pop.k * m, shape), np.broadcast_to(pop.k * (1 - m), shape))
    if not np.all(np.isfinite(out)):  # pragma: no cover - numpy's beta with tiny parameters
        raise RuntimeError("non-finite Beta draw")
    return out


# --------------------------------------------------------------------------------------------
# One simulated run through the plugin's code


def _items(scores: np.ndarray, model: str) -> list[ItemStats]:
    results = [SampleResult(f"item-{i:03d}", k, model, kind=OK, scores={PRIMARY: float(v)})
               for i, row in enumerate(scores.tolist()) for k, v in enumerate(row)]
    return all_item_stats(results, PRIMARY, PASS_THRESHOLD)


def _r(value: float) -> float:
    return round(float(value), 10)  # as summary.to_baseline rounds


def _baseline(items: list[ItemStats], model: str, repeats: int) -> Baseline:
    """A run as ``summary.to_baseline`` records it (without digests)."""
    return Baseline(
        suite="sim", model=model, repeats=repeats, primary=PRIMARY,
        pass_threshold=PASS_THRESHOLD,
        items={it.item_id: BaselineItem(
            scores={name: {"mean": _r(s.mean), "std": _r(s.std), "min": _r(s.min),
                           "max": _r(s.max), "n": s.n} for name, s in it.scores.items()},
            passes=it.n_pass, n=len(it.primary_values)) for it in items})


FIELDS = ("f1", "f1_lo", "f1_hi", "pr", "pr_lo", "pr_hi", "gate_fail", "d", "d_lo", "d_hi", "p",
          "n_regressed", "n_flipped", "sd_items", "sd_diff")


def simulate(pop: Population, sc: Scenario, runs: int, n_boot: int, entropy: int,
             spawn_key: tuple[int, ...]) -> dict[str, np.ndarray]:
    """``runs`` simulated runs of scenario ``sc``; per run: the baseline model's f1.mean and
    pass_rate with their intervals, and the gate / paired delta / regressed items."""
    rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=spawn_key))
    out = {f: np.full(runs, np.nan) for f in FIELDS}
    for j in range(runs):
        mu_b, mu_c = draw_means(pop, sc, rng, sc.items)
        s_b = draw_scores(pop, mu_b, sc.repeats, rng)
        items_b = _items(s_b, "baseline")
        m_b = suite_metrics(items_b, [PRIMARY], n_boot=n_boot, seed=0)
        f1, pr = m_b[f"{PRIMARY}.mean"], m_b["pass_rate"]
        out["f1"][j], out["f1_lo"][j], out["f1_hi"][j] = f1.value, f1.ci_low, f1.ci_high
        out["pr"][j], out["pr_lo"][j], out["pr_hi"][j] = pr.value, pr.ci_low, pr.ci_high
        means_b = s_b.mean(axis=1)
        out["sd_items"][j] = means_b.std(ddof=1)
        if mu_c is None:
            continue
        s_c = draw_scores(pop, mu_c, sc.repeats, rng)
        items_c = _items(s_c, "candidate")
        m_c = suite_metrics(items_c, [PRIMARY], n_boot=n_boot, seed=0)
        cmp = compare(_baseline(items_c, "candidate", sc.repeats),
                      _baseline(items_b, "baseline", sc.repeats),
                      [BASELINE_GATE.metric], n_boot=n_boot, seed=0,
                      confidence={BASELINE_GATE.metric: BASELINE_GATE.confidence})
        gate = check_gate(BASELINE_GATE, m_c, cmp)
        delta = cmp.deltas[BASELINE_GATE.metric]
        # The gate's rule, spelled out: significantly worse and the drop above max_drop.
        assert gate.passed == (not (delta.worse and -delta.delta > MAX_DROP + 1e-9))
        # Flipped items, spelled out: stable-pass in the baseline, stable-fail now; the
        # confirmed ones (compare.confirm_regressions) are those that fail their test.
        passes_b = (s_b >= PASS_THRESHOLD - TOLERANCE).sum(axis=1)
        passes_c = (s_c >= PASS_THRESHOLD - TOLERANCE).sum(axis=1)
        flagged = sum(1 for pb, pc in zip(passes_b.tolist(), passes_c.tolist())
                      if classify(pb, sc.repeats) == "stable-pass"
                      and classify(pc, sc.repeats) == "stable-fail")
        assert flagged == len(cmp.flipped_down)
        assert set(cmp.regressed) <= set(cmp.flipped_down)
        out["gate_fail"][j] = not gate.passed
        out["d"][j], out["d_lo"][j], out["d_hi"][j] = delta.delta, delta.ci_low, delta.ci_high
        out["p"][j] = delta.p_value
        out["n_regressed"][j] = len(cmp.regressed)
        out["n_flipped"][j] = len(cmp.flipped_down)
        out["sd_diff"][j] = (s_c.mean(axis=1) - means_b).std(ddof=1)
    return out


def _task(args: tuple) -> tuple[int, int, dict[str, np.ndarray]]:
    pop, si, ci, sc, runs, n_boot, entropy = args
    return si, ci, simulate(pop, sc, runs, n_boot, entropy, (si, ci))


# --------------------------------------------------------------------------------------------
# Population truths (large Monte Carlo)


def population_report(pop: Population, rng: np.random.Generator, n: int) -> dict[str, float]:
    """Realised spread of the generator and the truths of the estimands, from n items."""
    z = rng.standard_normal(n)
    mu = expit(pop.a + pop.s * z)
    s3 = draw_scores(pop, mu, 3, rng)
    sd3 = s3.std(axis=1, ddof=1)
    truth: dict[str, float | tuple[float, float]] = {
        "E[mu]": (float(mu.mean()), float(mu.std() / math.sqrt(n))), "SD[mu]": float(mu.std()),
        "SD of 3-repeat item means": float(s3.mean(axis=1).std()),
        "within SD (RMS of items' sample SDs)": float(math.sqrt(np.mean(sd3**2))),
        "within SD (mean of items' sample SDs)": float(sd3.mean()),
        "share of items with mu in [0.3, 0.7]": float(np.mean((mu > 0.3) & (mu < 0.7))),
    }
    for r in (1, 3):
        s = s3[:, :r]
        p = float(np.mean(s.mean(axis=1) >= PASS_THRESHOLD - TOLERANCE))
        truth[f"pass_rate truth r={r}"] = (p, math.sqrt(p * (1 - p) / n))
    for rho in (0.95, 0.8, 0.5):
        for delta in (0.0, -0.05):
            a_c = location_for(MEAN + delta, pop.s)
            mu_c = expit(a_c + pop.s * (rho * z + math.sqrt(1 - rho**2)
                                        * rng.standard_normal(n)))
            diff = mu_c - mu
            truth[f"rho={rho:g} delta={delta:+.2f}: E[mu']-E[mu] (quadrature {delta:+.4f})"] = (
                float(diff.mean()), float(diff.std() / math.sqrt(n)))
            truth[f"rho={rho:g} delta={delta:+.2f}: corr(mu, mu')"] = float(
                np.corrcoef(mu, mu_c)[0, 1])
    a_old = location_for(OLD_TRUE_F1, pop.s)
    mu_old = expit(a_old + pop.s * z)
    truth[f"old-gate model E[mu] (quadrature {OLD_TRUE_F1})"] = (
        float(mu_old.mean()), float(mu_old.std() / math.sqrt(n)))
    return truth


# --------------------------------------------------------------------------------------------
# Table


def _t_quantile(p: float, df: int) -> float:
    """Student t quantile (Cornish-Fisher expansion; plenty for df >= 20)."""
    from statistics import NormalDist
    z = NormalDist().inv_cdf(p)
    return (z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000, help="simulated runs per row (1000)")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples (1000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--truth-items", type=int, default=2_000_000,
                    help="items of the Monte Carlo for the truths (2,000,000)")
    args = ap.parse_args()
    t0 = time.perf_counter()

    pop = Population.fit()
    m, sd = _moments(pop.a, pop.s)
    print(f"item means: mu = expit({pop.a:.4f} + {pop.s:.4f} z), E[mu] = {m:.4f}, "
          f"SD[mu] = {sd:.4f} (quadrature); samples Beta(k mu, k (1 - mu)), k = {pop.k:.3f}")
    truth = population_report(pop, np.random.default_rng(
        np.random.SeedSequence(args.seed, spawn_key=(999,))), args.truth_items)
    print(f"realised over {args.truth_items:,} items (targets: SD[mu] {SD_BETWEEN}, "
          f"within SD {SD_WITHIN} RMS; example suite: 3-repeat SD 0.264, mean within SD 0.110):")
    for key, value in truth.items():
        if isinstance(value, tuple):
            print(f"  {key}: {value[0]:.4f} (MC SE {value[1]:.4f})")
        else:
            print(f"  {key}: {value:.4f}")

    S = [
        Scenario("same", 100, 3),
        Scenario("b08", 100, 3, rho=0.8),
        Scenario("c05", 100, 3, rho=0.5),
        Scenario("p095", 100, 3, rho=0.95, delta=-0.05),
        Scenario("p08", 100, 3, rho=0.8, delta=-0.05),
        Scenario("p095_49", 49, 3, rho=0.95, delta=-0.05),
        Scenario("p08_49", 49, 3, rho=0.8, delta=-0.05),
        Scenario("s30", 30, 1, rho=0.8, delta=-0.05),
        Scenario("same5", 100, 5),
        Scenario("old", 100, 3, base_mean=OLD_TRUE_F1, compare=False),
        Scenario("old49", 49, 3, base_mean=OLD_TRUE_F1, compare=False),
    ]
    tasks = []
    for si, sc in enumerate(S):
        for ci, start in enumerate(range(0, args.runs, CHUNK)):
            tasks.append((pop, si, ci, sc, min(CHUNK, args.runs - start), args.boot, args.seed))
    parts: dict[int, dict[int, dict[str, np.ndarray]]] = {}
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as pool:
            for si, ci, out in pool.map(_task, tasks, chunksize=1):
                parts.setdefault(si, {})[ci] = out
    else:
        for t in tasks:
            si, ci, out = _task(t)
            parts.setdefault(si, {})[ci] = out
    R = {S[si].key: {f: np.concatenate([chunks[c][f] for c in sorted(chunks)]) for f in FIELDS}
         for si, chunks in parts.items()}
    by_key = {sc.key: sc for sc in S}

    rows: list[list[str]] = []
    notes: list[str] = []

    def shape(key: str) -> str:
        sc = by_key[key]
        return f"{sc.items}x{sc.repeats}"

    def add(check: str, key: str, scenario: str, x: np.ndarray, goal: str,
            ok: bool | None, rate: bool = True) -> None:
        n = x.size
        value = float(x.mean())
        se = math.sqrt(value * (1 - value) / n) if rate else float(x.std(ddof=1) / math.sqrt(n))
        shown = f"{value:.1%}" if rate else f"{value:.3f}"
        se_shown = f"{se:.1%}" if rate else f"{se:.3f}"
        verdict = "info" if ok is None else ("OK" if ok else "MISS")
        rows.append([check, scenario, shape(key), n, shown, se_shown, goal, verdict])

    def covered(lo: np.ndarray, hi: np.ndarray, truth_value: float, key: str, what: str
                ) -> np.ndarray:
        below, above = np.mean(hi < truth_value), np.mean(lo > truth_value)
        notes.append(f"{what} [{shape(key)}]: interval entirely below the truth {below:.1%}, "
                     f"above {above:.1%}; mean width {np.mean(hi - lo):.4f}")
        return ((lo <= truth_value) & (truth_value <= hi)).astype(float)

    # 1. False alarms
    for key, name in (("same", "(a) same model resampled"),
                      ("b08", "(b) other model, same mean, item corr 0.8"),
                      ("c05", "(c) other model, same mean, item corr 0.5")):
        x = R[key]["gate_fail"]
        add("false alarm, baseline gate f1.mean", key, name, x, "<= 5.5%", x.mean() <= 0.055)
        notes.append(f"{name} [{shape(key)}]: p < 0.05 in {np.mean(R[key]['p'] < 0.05):.1%} "
                     f"of runs (the gate also needs a drop > {MAX_DROP})")

    # 2. Power
    for key, goal in (("p095", 0.90), ("p08", 0.75), ("p095_49", None), ("p08_49", None)):
        x = R[key]["gate_fail"]
        add("power vs true drop 0.05", key, by_key[key].label(), x,
            f">= {goal:.0%}" if goal else "- (info)", None if goal is None else x.mean() >= goal)

    # 3. Coverage
    cov = "93-97%"
    f1_truth = truth["E[mu]"][0]
    for key in ("same", "s30"):
        sc = by_key[key]
        x = covered(R[key]["f1_lo"], R[key]["f1_hi"], MEAN, key, "f1.mean CI")
        add("coverage 95% CI f1.mean (bootstrap)", key,
            f"truth E[mu] = {MEAN} (MC {f1_truth:.4f})", x, cov, 0.93 <= x.mean() <= 0.97)
        t = _t_quantile(0.975, sc.items - 1)
        half = t * R[key]["sd_items"] / math.sqrt(sc.items)
        tc = np.mean(np.abs(R[key]["f1"] - MEAN) <= half)
        notes.append(f"  f1.mean [{shape(key)}]: a Student-t interval (mean +- t * sd / sqrt(n)) "
                     f"would cover {tc:.1%}")
    for key in ("same", "s30"):
        pt = truth[f"pass_rate truth r={by_key[key].repeats}"][0]
        x = covered(R[key]["pr_lo"], R[key]["pr_hi"], pt, key, "pass_rate CI")
        add("coverage 95% CI pass_rate (Wilson)", key,
            f"truth P(item mean >= 0.5) = {pt:.4f}", x, cov, 0.93 <= x.mean() <= 0.97)
    for key in ("same", "p08", "s30"):
        sc = by_key[key]
        x = covered(R[key]["d_lo"], R[key]["d_hi"], sc.delta, key, "paired delta CI")
        add("coverage 95% CI paired delta", key,
            f"{sc.label()}; truth {sc.delta:+.2f}", x, cov, 0.93 <= x.mean() <= 0.97)
        t = _t_quantile(0.975, sc.items - 1)
        half = t * R[key]["sd_diff"] / math.sqrt(sc.items)
        tc = np.mean(np.abs(R[key]["d"] - sc.delta) <= half)
        notes.append(f"  paired delta [{shape(key)}]: a paired Student-t interval would cover "
                     f"{tc:.1%}")

    # 4. Items of an unchanged model that flip (reported) and fail as regressed (confirmed)
    for key in ("same", "same5"):
        n_flip, n_reg = R[key]["n_flipped"], R[key]["n_regressed"]
        add("flipped items (reported): runs with >= 1", key, "same model resampled",
            (n_flip > 0).astype(float), "- (info)", None)
        add("flipped items (reported): per run", key, "same model resampled", n_flip,
            "- (info)", None, rate=False)
        add("false 'regressed' (item fails): runs >= 1", key, "same model resampled",
            (n_reg > 0).astype(float), "<= 5.5%", float((n_reg > 0).mean()) <= 0.055)

    # 5. The old absolute gate
    for key in ("old", "old49"):
        x = np.array([not OLD_GATE.passes(v) for v in R[key]["f1"]], dtype=float)
        add("old gate f1.mean >= 0.50 fails", key, by_key[key].label(), x,
            "- (22% before)", None)

    elapsed = time.perf_counter() - t0
    print()
    print(tabulate(rows, headers=["check", "scenario", "items x repeats", "runs", "measured",
                                  "+-SE", "goal", "verdict"]))
    print()
    for line in notes:
        print(line)
    print(f"\nestimands: f1.mean -> E[mu] over the item population and sample noise (items "
          f"drawn afresh every run); pass_rate -> P(mean of an item's r samples >= "
          f"{PASS_THRESHOLD}) for a random item; paired delta -> E[mu'] - E[mu]")
    print(f"bootstrap {args.boot} resamples (seed 0, as the plugin), simulation seed "
          f"{args.seed}, {args.workers} worker(s); elapsed {elapsed:.1f} s")


if __name__ == "__main__":
    main()
