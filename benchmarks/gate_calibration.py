"""Calibration of the gates, the item verdicts and the intervals, checked by simulation.

Every verdict comes from the shipped code path: simulated per-sample scores become the records a
baseline file holds (``BaselineItem``: per-item mean, spread, passing repeats and confirmation
repeats), ``compare.compare`` pairs two runs, ``gates.check_gate`` works out each baseline gate,
``gates.judge_gates`` and ``compare.judge_items`` correct a suite's tests together (as
``plugin/summaries.py``'s ``Summaries.judge_build`` does), and ``stats.suite_metrics`` /
``labels.label_metrics`` give the intervals of single runs. Items are drawn afresh in every
simulated run, so the estimands are population quantities: E[mu] for ``<score>.mean``,
E[mu'] - E[mu] for a paired delta.

Populations (item true means mu, candidate mu' with latent correlation rho and a shift solved so
that E[mu'] - E[mu] is exactly the scenario's delta; samples around mu):

* ``continuous``: the example suite's spread (logit-normal item means, SD 0.245 around 0.62;
  Beta samples with within-item SD 0.164);
* ``binary``: 0/1 scores, item difficulty p ~ Beta(0.5, 0.5) (most items always or never pass);
* ``bimodal``: item means near 0.1 or 0.9 (Beta samples);
* ``heavy``: heavy-tailed item latents (Student t, 2 df), so a few items move a lot;
* ``clustered``: 20 clusters x 10 items whose change shares a cluster effect (ICC 0.1, 0.2).

Each row states its goal and whether it is met; rates come with their binomial standard error.

    python benchmarks/gate_calibration.py [--runs 1000] [--seed 0] [--workers 2] [--quick]
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
from dataclasses import dataclass, field, replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from tabulate import tabulate  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_rft.store.baseline import Baseline, BaselineItem  # noqa: E402
from pytest_rft.analysis.compare import PassView, compare, dropped, judge_items  # noqa: E402
from pytest_rft.analysis.gates import check_gate, judge_gates  # noqa: E402
from pytest_rft.analysis.labels import label_metrics  # noqa: E402
from pytest_rft.analysis.stats import ItemStats, ScoreStats, suite_metrics  # noqa: E402
from pytest_rft.suite.keys import Gate  # noqa: E402

THRESHOLD = 0.5
PRIMARY = "f1"
ITEM_ALPHA = 0.05
CONFIRM = 15  # the plugin's default item_repeats


def expit(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


# --------------------------------------------------------------------------------------------
# Populations


@dataclass(frozen=True)
class Population:
    kind: str
    """continuous / binary / bimodal / heavy."""
    rho: float = 0.8
    """Latent correlation of a candidate's item means with the baseline's."""
    icc: float = 0.0
    cluster_size: int = 10
    beta_k: float = 5.528
    """Concentration of Beta samples around an item's mean (within SD 0.164 at the example's
    spread)."""

    def latents(self, rng, size):
        if self.kind in ("continuous", "clustered"):
            return 0.6607 + 1.3606 * rng.standard_normal(size)
        if self.kind == "binary":
            p = np.clip(rng.beta(0.5, 0.5, size), 1e-6, 1 - 1e-6)
            return np.log(p / (1 - p))
        if self.kind == "bimodal":
            return np.where(rng.random(size) < 0.5, -2.2, 2.2) + 0.3 * rng.standard_normal(size)
        if self.kind == "heavy":
            return 0.5 + 1.2 * rng.standard_t(2, size)
        raise ValueError(self.kind)

    def candidate(self, z, rng, shift, clusters=None):
        noise = rng.standard_normal(z.shape)
        if clusters is not None and self.icc > 0:
            g = int(clusters.max()) + 1
            shared = rng.standard_normal(z.shape[:-1] + (g,))[..., clusters]
            noise = math.sqrt(1 - self.icc) * noise + math.sqrt(self.icc) * shared
        sd = _LATENT_SD[self.kind]
        return self.rho * z + math.sqrt(1 - self.rho ** 2) * sd * noise + shift

    def samples(self, mu, repeats, rng):
        """items x repeats scores."""
        if self.kind == "binary":
            return (rng.random(mu.shape + (repeats,)) < mu[..., None]).astype(float)
        m = np.clip(mu, 1e-6, 1 - 1e-6)[..., None]
        m = np.broadcast_to(m, mu.shape + (repeats,))
        return rng.beta(self.beta_k * m, self.beta_k * (1 - m))


_LATENT_SD: dict[str, float] = {}
_SHIFTS: dict[tuple, float] = {}


def _calibrate(pop: Population, delta: float) -> float:
    """The latent shift that makes E[mu'] - E[mu] = delta (a 400,000-item Monte Carlo)."""
    key = (pop.kind, pop.rho, pop.icc, delta)
    if key not in _SHIFTS:
        rng = np.random.default_rng(12345)
        z = pop.latents(rng, 400_000)
        _LATENT_SD.setdefault(pop.kind, float(z.std()) if pop.kind != "heavy" else 1.2)
        base = expit(z).mean()
        clusters = np.arange(z.size) // pop.cluster_size if pop.icc else None
        def gap(shift):
            r = np.random.default_rng(54321)
            return expit(pop.candidate(z, r, shift, clusters)).mean() - base - delta

        lo, hi = -15.0, 15.0
        for _ in range(60):
            mid = (lo + hi) / 2
            if gap(mid) < 0:
                lo = mid
            else:
                hi = mid
        _SHIFTS[key] = (lo + hi) / 2
    return _SHIFTS[key]


# --------------------------------------------------------------------------------------------
# One simulated run as the plugin records it


def as_items(scores: np.ndarray) -> dict[str, BaselineItem]:
    """items x repeats scores -> BaselineItem records (``summary.to_baseline``'s fields)."""
    r = scores.shape[1]
    means = scores.mean(axis=1).tolist()
    stds = (scores.std(axis=1, ddof=1) if r > 1 else np.zeros(len(scores))).tolist()
    lows, highs = scores.min(axis=1).tolist(), scores.max(axis=1).tolist()
    passes = (scores >= THRESHOLD - 1e-9).sum(axis=1).tolist()
    return {f"i{i:04d}": BaselineItem(
        scores={PRIMARY: {"mean": means[i], "std": stds[i], "min": lows[i], "max": highs[i],
                          "n": r}}, passes=passes[i], n=r) for i in range(len(means))}


def as_run(items: dict[str, BaselineItem], model: str, repeats: int) -> Baseline:
    return Baseline(suite="sim", model=model, repeats=repeats, primary=PRIMARY,
                    pass_threshold=THRESHOLD, items=items)


def item_stats(scores: np.ndarray) -> list[ItemStats]:
    r = scores.shape[1]
    means = scores.mean(axis=1).tolist()
    stds = (scores.std(axis=1, ddof=1) if r > 1 else np.zeros(len(scores))).tolist()
    rows = scores.tolist()
    return [ItemStats(item_id=f"i{i:04d}",
                      scores={PRIMARY: ScoreStats(means[i], max(row), min(row), stds[i], r)},
                      n_samples=r, n_errors=0, n_grader_errors=0, primary_values=row,
                      passed=means[i] >= THRESHOLD - 1e-9, primary=PRIMARY,
                      pass_threshold=THRESHOLD) for i, row in enumerate(rows)]


# --------------------------------------------------------------------------------------------
# Scenarios


@dataclass(frozen=True)
class Scenario:
    key: str
    pop: Population
    items: int
    repeats: int
    delta: float = 0.0
    same: bool = False
    """The candidate is the baseline model resampled (nothing changed)."""
    gates: tuple[Gate, ...] = (Gate(metric="f1.mean", baseline=True, max_drop=0.02),)
    models: int = 1
    """Candidates compared with the baseline in one build (all unchanged unless delta)."""
    broken: int = 0
    """Items that go from passing 90% of repeats to 10% (in the last model)."""
    confirm: int = 0
    """Confirmation repeats (item_repeats); 0: no item tests."""
    metric_ci: bool = False
    """Also the interval of the baseline run's own ``f1.mean`` (its coverage)."""
    suite_files: int = 1
    """Suite files in the project: each simulated suite's families count once per file, as
    the plugin counts them; a build is ``suite_files`` consecutive simulated suites."""

    def clusters(self):
        if not self.pop.icc:
            return None
        return np.arange(self.items) // self.pop.cluster_size


def simulate(sc: Scenario, runs: int, seed: int, chunk: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(hash(sc.key) % 2**31,
                                                                         chunk)))
    shift = 0.0 if sc.same else _calibrate(sc.pop, sc.delta)
    cl = sc.clusters()
    cl_map = None if cl is None else {f"i{i:04d}": int(c) for i, c in enumerate(cl)}
    out: dict[str, list] = {k: [] for k in (
        "fail", "pass", "inconclusive", "lo", "hi", "zero_width", "any_fail", "any_fail_raw",
        "item_fa", "broken_found", "broken_total", "extra_calls", "m_lo", "m_hi",
        "hint_items", "hint_detects", "reason_small")}
    for _ in range(runs):
        z = sc.pop.latents(rng, sc.items)
        mu_b = expit(z)
        s_b = sc.pop.samples(mu_b, sc.repeats, rng)
        results_b = as_items(s_b)
        if sc.confirm:  # a baseline being written: its passing items get confirmation repeats
            for i, item in enumerate(results_b.values()):
                if item.scores[PRIMARY]["mean"] >= THRESHOLD - 1e-9:
                    c = sc.pop.samples(mu_b[i:i + 1], sc.confirm, rng)[0]
                    item.confirm = [int((c >= THRESHOLD - 1e-9).sum()), sc.confirm]
        baseline = as_run(results_b, "base", sc.repeats)
        if sc.metric_ci:
            m = suite_metrics(item_stats(s_b), [PRIMARY], clusters=cl_map)[f"{PRIMARY}.mean"]
            out["m_lo"].append(np.nan if m.ci_low is None else m.ci_low)
            out["m_hi"].append(np.nan if m.ci_high is None else m.ci_high)
        gates, comparisons, broken_ids = [], [], []
        for k in range(sc.models):
            mu_c = mu_b if sc.same else expit(sc.pop.candidate(z, rng, shift, cl))
            broken = np.zeros(sc.items, bool)
            if sc.broken and k == sc.models - 1:
                broken[rng.choice(sc.items, sc.broken, replace=False)] = True
            mu_c = np.where(broken, 0.1, mu_c)
            if sc.broken:
                mu_b_k = np.where(broken, 0.9, mu_b)
                s_b_k = np.where(broken[:, None], sc.pop.samples(mu_b_k, sc.repeats, rng), s_b)
                base_items = as_items(s_b_k)
                for i, item in enumerate(base_items.values()):
                    if item.scores[PRIMARY]["mean"] >= THRESHOLD - 1e-9:
                        c = sc.pop.samples(mu_b_k[i:i + 1], sc.confirm, rng)[0]
                        item.confirm = [int((c >= THRESHOLD - 1e-9).sum()), sc.confirm]
                base_k = as_run(base_items, "base", sc.repeats)
            else:
                base_k = baseline
            s_c = sc.pop.samples(mu_c, sc.repeats, rng)
            current = as_items(s_c)
            if sc.confirm:  # confirmation repeats for the items compare.dropped picks
                for i, (item_id, item) in enumerate(current.items()):
                    then = base_k.items[item_id]
                    if dropped(PassView.of(then, PRIMARY), PassView.of(item, PRIMARY), THRESHOLD):
                        c = sc.pop.samples(mu_c[i:i + 1], sc.confirm, rng)[0]
                        item.confirm = [int((c >= THRESHOLD - 1e-9).sum()), sc.confirm]
                        out["extra_calls"].append(sc.confirm)
            cmp = compare(as_run(current, f"m{k}", sc.repeats), base_k,
                          [g.metric for g in sc.gates], clusters=cl_map,
                          confidence={g.metric: g.confidence for g in sc.gates})
            comparisons.append(cmp)
            gates += [check_gate(g, {}, cmp) for g in sc.gates]
            broken_ids.append({f"i{i:04d}" for i in np.flatnonzero(broken)})
        raw = [g.verdict == "FAIL" for g in gates]  # each gate alone (its own family)
        judge_gates(gates, len(gates) * sc.suite_files, "holm")
        if sc.confirm:
            for cmp in comparisons:  # each model's items over its own (the plugin's family)
                judge_items([cmp], sc.items * sc.suite_files, "holm", alpha=ITEM_ALPHA)
            fa = any(set(c.regressed) - b for c, b in zip(comparisons, broken_ids))
            out["item_fa"].append(fa)
            found = sum(len(set(c.regressed) & b) for c, b in zip(comparisons, broken_ids))
            out["broken_found"].append(found)
            out["broken_total"].append(sum(len(b) for b in broken_ids))
        first = gates[0]
        out["fail"].append(first.verdict == "FAIL")
        out["pass"].append(first.verdict == "PASS")
        out["inconclusive"].append(first.verdict == "INCONCLUSIVE")
        lo, hi = first.delta_ci
        out["lo"].append(np.nan if lo is None else lo)
        out["hi"].append(np.nan if hi is None else hi)
        out["zero_width"].append(lo is not None and hi is not None and hi - lo <= 1e-12)
        out["reason_small"].append("a verdict needs at least" in first.reason)
        out["any_fail"].append(any(g.verdict == "FAIL" for g in gates))
        out["any_fail_raw"].append(any(raw))
        hints = first.delta_info.hints(first.gate.max_drop) if first.delta_info else None
        out["hint_items"].append(np.nan if hints is None or hints.pass_items is None
                                 else hints.pass_items[0])
        out["hint_detects"].append(np.nan if hints is None else hints.detects)
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


# --------------------------------------------------------------------------------------------
# Label metrics (macro F1 with rare labels)

PREVALENCE = np.array([0.4, 0.3, 0.25, 0.2, 0.15, 0.1, 0.08, 0.06, 0.05, 0.04, 0.03, 0.02])
RECALL = np.linspace(0.9, 0.5, len(PREVALENCE))
FALSE_POSITIVE = 0.03


def _label_rows(rng, n, repeats):
    L = len(PREVALENCE)
    truth = rng.random((n, L)) < PREVALENCE
    difficulty = rng.normal(0, 1, (n, 1))
    logit = np.log(RECALL / (1 - RECALL))
    rows = []
    for _ in range(repeats):
        recall = expit(logit + 0.8 * difficulty + 0.5 * rng.normal(0, 1, (n, L)))
        hit = truth & (rng.random((n, L)) < recall)
        false = ~truth & (rng.random((n, L)) < FALSE_POSITIVE)
        rows.append(hit | false)
    return truth, rows


def _f1(tp, pred, true):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(true + pred > 0, 2 * tp / (true + pred), 0.0)


_LABEL_TRUTH: dict[str, np.ndarray] = {}


def label_truth() -> np.ndarray:
    """Per-label population F1 (a 400,000-item Monte Carlo of the same generator)."""
    if "f1" not in _LABEL_TRUTH:
        rng = np.random.default_rng(777)
        truth, (pred,) = _label_rows(rng, 400_000, 1)
        _LABEL_TRUTH["f1"] = _f1((truth & pred).sum(0), pred.sum(0), truth.sum(0))
    return _LABEL_TRUTH["f1"]


def simulate_labels(n: int, repeats: int, runs: int, seed: int, chunk: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(n, repeats, chunk)))
    names = [f"L{i:02d}" for i in range(len(PREVALENCE))]
    f1 = label_truth()
    out: dict[str, list] = {"shown": [], "covered": []}
    for _ in range(runs):
        truth, rows = _label_rows(rng, n, repeats)
        predicted, reference, groups = [], [], []
        for r, pred in enumerate(rows):
            for i in range(n):
                predicted.append([names[j] for j in np.flatnonzero(pred[i])])
                reference.append([names[j] for j in np.flatnonzero(truth[i])])
                groups.append(i)
        support = {names[j]: int(truth[:, j].sum()) for j in range(len(names))}
        m = label_metrics(predicted, reference, names, groups=groups, n_boot=1000, seed=0,
                          label_items=support).macro_f1
        supported = [j for j in range(len(names)) if truth[:, j].any()]
        target = float(f1[supported].mean())
        shown = m.ci_low is not None
        out["shown"].append(shown)
        out["covered"].append(shown and m.ci_low <= target <= m.ci_high)
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


# --------------------------------------------------------------------------------------------
# The table

G = Gate  # short


def scenarios(quick: bool) -> list[tuple[str, Scenario, list]]:
    """(check, scenario, [(measure, goal text, predicate)])."""
    m02 = (G(metric="f1.mean", baseline=True, max_drop=0.02),)
    build_gates = (G(metric="f1.mean", baseline=True, max_drop=0.02),
                   G(metric="f1.mean", baseline=True, max_drop=0.0),
                   G(metric="pass_rate", baseline=True, max_drop=0.05),
                   G(metric="pass_rate", baseline=True, max_drop=0.0),
                   G(metric="f1.max", baseline=True, max_drop=0.02),
                   G(metric="f1.min", baseline=True, max_drop=0.0))
    cont, binary = Population("continuous"), Population("binary")
    rows = []
    at_margin = [("FAIL", "<= 3.5% (2.5% nominal)", lambda x: x <= 0.035),
                 ("PASS", "<= 3.5% (2.5% nominal)", lambda x: x <= 0.035),
                 ("coverage", "93-97%", lambda x: 0.93 <= x <= 0.97)]
    for pop, shapes in ((cont, [(30, 3), (100, 3), (400, 3)]),
                        (binary, [(30, 1), (100, 1), (100, 3)]),
                        (Population("bimodal"), [(30, 3), (100, 3)]),
                        (Population("heavy"), [(30, 3), (100, 3)])):
        for n, r in shapes:
            rows.append(("truth exactly at the margin 0.02", Scenario(
                f"margin-{pop.kind}-{n}x{r}", pop, n, r, delta=-0.02, gates=m02), at_margin))
    for icc in (0.1, 0.2):
        pop = Population("clustered", icc=icc)
        rows.append((f"clustered items, ICC {icc} (20 clusters x 10)", Scenario(
            f"cluster-{icc}", pop, 200, 3, delta=-0.02, gates=m02), at_margin))
        rows.append((f"clustered items, ICC {icc}: nothing changed (margin 0)", Scenario(
            f"cluster0-{icc}", pop, 200, 3, delta=0.0, metric_ci=True,
            gates=(G(metric="f1.mean", baseline=True, max_drop=0.0),)),
            [("FAIL", "<= 5.5%", lambda x: x <= 0.055),
             ("coverage", "93-97%", lambda x: 0.93 <= x <= 0.97),
             ("metric coverage", "93-97%", lambda x: 0.93 <= x <= 0.97)]))
    metric = [("metric coverage", "93-97%", lambda x: 0.93 <= x <= 0.97)]
    tiny = [("FAIL", "<= 5.5%", lambda x: x <= 0.055),
            ("INCONCLUSIVE", "- (info)", None),
            ("zero-width CIs", "0", lambda x: x == 0),
            ("coverage", "93-97% where shown", lambda x: 0.93 <= x <= 0.97)]
    for pop, r in ((cont, 3), (binary, 1), (binary, 3)):
        for n in (5, 10, 20, 30):
            rows.append(("tiny suite, nothing changed (margin 0)", Scenario(
                f"tiny-{pop.kind}-{n}x{r}", pop, n, r, delta=0.0, metric_ci=True,
                gates=(G(metric="f1.mean", baseline=True, max_drop=0.0),)), tiny + metric))
    build = [("any gate FAIL", "<= 5.5%", lambda x: x <= 0.055),
             ("any gate FAIL, uncorrected", "- (info: no correction)", None)]
    for pop, r in ((cont, 3), (binary, 1)):
        rows.append(("build: 6 gates x 6 models, nothing changed", Scenario(
            f"build-{pop.kind}", pop, 100, r, same=True, gates=build_gates, models=6), build))
        rows.append(("build: 6 gates x 6 models, other models of equal mean", Scenario(
            f"build2-{pop.kind}", pop, 100, r, delta=0.0, gates=build_gates, models=6), build))
        rows.append(("build: 3 suite files x (6 gates x 6 models), nothing changed", Scenario(
            f"build3-{pop.kind}", pop, 100, r, same=True, gates=build_gates, models=6,
            suite_files=3), [("any gate FAIL in the build", "<= 5.5%", lambda x: x <= 0.055)]))
    items = [("unchanged item fails (builds)", "<= 5%", lambda x: x <= 0.05),
             ("broken item (0.9 -> 0.1) fails", ">= 80%", lambda x: x >= 0.80),
             ("extra calls per main call", "- (info)", None)]
    for n, r, models in ((100, 3, 1), (100, 3, 6), (100, 5, 1), (300, 3, 1), (30, 3, 1)):
        rows.append((f"broken items (10 of {n}; 1 if fewer than 100)", Scenario(
            f"broken-{n}x{r}x{models}", binary, n, r, same=True, models=models,
            broken=10 if n >= 100 else 1, confirm=CONFIRM), items))
        rows.append(("unchanged items only", Scenario(
            f"noitems-{n}x{r}x{models}", Population("continuous"), n, r, same=True,
            models=models, confirm=CONFIRM), items[:1] + items[2:]))
    hints = [("hint", "", None)]
    for pop, n, r in ((cont, 30, 3), (cont, 100, 3), (binary, 100, 1)):
        rows.append(("size hints", Scenario(f"hint-{pop.kind}-{n}x{r}", pop, n, r, delta=0.0,
                                            gates=m02), hints))
    if quick:
        rows = [row for row in rows if row[1].items <= 100 and row[1].models == 1][:12]
    return rows


def _run_chunk(args):
    sc, runs, seed, chunk = args
    return sc.key, simulate(sc, runs, seed, chunk)


def _label_chunk(args):
    n, r, runs, seed, chunk = args
    return (n, r), simulate_labels(n, r, runs, seed, chunk)


def _merge(parts):
    keys = parts[0].keys()
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


def run_all(tasks, fn, workers):
    results: dict = {}
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            for key, out in pool.map(fn, tasks, chunksize=1):
                results.setdefault(key, []).append(out)
    else:
        for task in tasks:
            key, out = fn(task)
            results.setdefault(key, []).append(out)
    return {k: _merge(v) for k, v in results.items()}


def _rate(x) -> tuple[float, float]:
    x = x[~np.isnan(x)]
    if x.size == 0:
        return float("nan"), float("nan")
    v = float(x.mean())
    return v, math.sqrt(max(v * (1 - v), 1e-12) / x.size)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000, help="simulated builds per row (1000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="a few rows at 200 runs (a smoke test)")
    ap.add_argument("--only", metavar="TEXT", help="only the checks whose name contains TEXT")
    args = ap.parse_args()
    runs = 200 if args.quick else args.runs
    t0 = time.perf_counter()
    rows_spec = [row for row in scenarios(args.quick) if not args.only or args.only in row[0]]
    chunk = 50
    tasks = [(sc, min(chunk, runs - s), args.seed, s // chunk)
             for _, sc, _ in rows_spec for s in range(0, runs, chunk)]
    R = run_all(tasks, _run_chunk, args.workers)
    label_shapes = [(30, 1), (100, 1), (100, 3), (300, 1), (300, 3)]
    if args.quick:
        label_shapes = label_shapes[:2]
    ltasks = [(n, r, min(chunk, runs - s), args.seed, s // chunk)
              for n, r in label_shapes for s in range(0, runs, chunk)]
    L = run_all(ltasks, _label_chunk, args.workers)

    table = []

    def add(check, scenario, shape, value, se, goal, ok, fmt="{:.1%}"):
        shown = "n/a" if value != value else fmt.format(value)
        verdict = "info" if ok is None else ("met" if ok else "NOT MET")
        table.append([check, scenario, shape, shown, "" if se != se else fmt.format(se), goal,
                      verdict])

    for check, sc, measures in rows_spec:
        r = R[sc.key]
        shape = f"{sc.items}x{sc.repeats}" + (f", {sc.models} models" if sc.models > 1 else "")
        scenario = f"{sc.pop.kind}{f' ICC {sc.pop.icc}' if sc.pop.icc else ''}, " + (
            "same model" if sc.same else f"true delta {sc.delta:+.2f}")
        for what, goal, ok in measures:
            if what in ("coverage", "metric coverage"):
                lo, hi = (r["lo"], r["hi"]) if what == "coverage" else (r["m_lo"], r["m_hi"])
                truth = sc.delta if what == "coverage" else float("nan")
                if what == "metric coverage":
                    rng = np.random.default_rng(1)
                    truth = float(expit(sc.pop.latents(rng, 2_000_000)).mean())
                shown = ~np.isnan(lo)
                x = ((lo <= truth) & (truth <= hi)).astype(float)[shown]
                v, se = _rate(x)
                add(f"{check}: {what}", scenario, shape, v, se, goal, None if ok is None
                    else (v == v and ok(v)))
                continue
            if what == "hint":
                hint = int(np.nanmedian(r["hint_items"]))
                detects = float(np.nanmedian(r["hint_detects"]))
                for label, target in ((f"an unchanged model PASSes at the hinted {hint} items",
                                       replace(sc, key=sc.key + "-n", items=hint)),
                                      (f"FAIL at the hinted detectable drop {detects:.3f}",
                                       replace(sc, key=sc.key + "-d", delta=-detects))):
                    out = run_all([(target, min(chunk, runs - s), args.seed + 7, s // chunk)
                                   for s in range(0, runs, chunk)], _run_chunk, args.workers)
                    x = out[target.key]["pass" if "PASS" in label else "fail"]
                    v, se = _rate(x)
                    add(f"{check}: {label}", scenario, shape, v, se, "75-85%",
                        0.75 <= v <= 0.85)
                continue
            if what == "FAIL":
                x = r["fail"]
            elif what == "PASS":
                x = r["pass"]
            elif what == "INCONCLUSIVE":
                x = r["inconclusive"]
            elif what == "zero-width CIs":
                v = float(r["zero_width"].sum())
                add(f"{check}: {what}", scenario, shape, v, float("nan"), goal, ok(v), "{:.0f}")
                continue
            elif what == "any gate FAIL":
                x = r["any_fail"]
            elif what == "any gate FAIL in the build":  # S consecutive suites make one build
                whole = len(r["any_fail"]) // sc.suite_files * sc.suite_files
                x = r["any_fail"][:whole].reshape(-1, sc.suite_files).max(axis=1)
            elif what == "any gate FAIL, uncorrected":
                x = r["any_fail_raw"]
            elif what.startswith("unchanged item fails"):
                x = r["item_fa"]
            elif what.startswith("broken item"):
                total = r["broken_total"].sum()
                v = float(r["broken_found"].sum() / total) if total else float("nan")
                se = math.sqrt(v * (1 - v) / total) if total else float("nan")
                add(f"{check}: {what}", scenario, shape, v, se, goal, ok(v))
                continue
            elif what.startswith("extra calls"):
                v = float(r["extra_calls"].sum()) / (runs * sc.items * sc.repeats * sc.models)
                add(f"{check}: {what}", scenario, shape, v, float("nan"), goal, None)
                continue
            else:
                raise ValueError(what)
            v, se = _rate(x)
            add(f"{check}: {what}", scenario, shape, v, se, goal, None if ok is None else ok(v))
    for (n, r), out in L.items():
        v, se = _rate(out["shown"])
        add("macro_f1 with rare labels: interval shown", "12 labels, prevalence 0.40..0.02",
            f"{n}x{r}", v, se, "- (info)", None)
        x = out["covered"][out["shown"] > 0]
        v, se = _rate(x)
        add("macro_f1 with rare labels: coverage where shown",
            "12 labels, prevalence 0.40..0.02", f"{n}x{r}", v, se, "93-97%",
            v != v or 0.93 <= v <= 0.97)

    print(tabulate(table, headers=["check", "scenario", "items x repeats", "measured", "+-SE",
                                   "goal", "verdict"], disable_numparse=True))
    met = sum(1 for row in table if row[-1] == "met")
    missed = [row for row in table if row[-1] == "NOT MET"]
    print(f"\n{met} goals met, {len(missed)} not met; {runs} simulated builds per row, seed "
          f"{args.seed}, {args.workers} worker(s), {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
