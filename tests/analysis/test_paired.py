"""Paired comparisons, baseline files and the baseline gate's verdicts, without pytest runs."""

import json

import numpy as np
import pytest

from pytest_rft.store import baseline as baseline_io
from pytest_rft.store.baseline import Baseline, BaselineItem
from pytest_rft.analysis.compare import compare, counts_row
from pytest_rft.core.errors import RftError
from pytest_rft.analysis.gates import check_gate
from pytest_rft.analysis.labels import item_counts, label_metrics
from pytest_rft.analysis.paired import compare_labels, compare_values
from pytest_rft.suite.keys import Gate


def _data():
    rng = np.random.default_rng(7)
    base = rng.uniform(0, 1, 200)
    cur = np.clip(base + rng.normal(-0.03, 0.1, 200), 0, 1)
    return cur, base


# scipy 1.17.1, computed once on _data() (d = cur - base):
#   scipy.stats.ttest_rel(cur, base).confidence_interval(0.95)
#   scipy.stats.ttest_rel(cur, base, alternative="less").pvalue
#   scipy.stats.ttest_1samp(d, -0.02, alternative="less").pvalue      (drop beyond 0.02?)
#   scipy.stats.ttest_1samp(d, -0.05, alternative="greater").pvalue   (no drop beyond 0.05?)
#   numpy.corrcoef(cur, base)[0, 1]
SCIPY_DELTA = -0.031967556888704146
SCIPY_CI95 = (-0.04473158978009593, -0.019203523997312365)
SCIPY_P_LESS = 8.307619464789351e-07
SCIPY_P_BEYOND_002 = 0.03297737180445912
SCIPY_P_WITHIN_005 = 0.00292714266632498
CORRELATION = 0.9521778584373201


def test_paired_delta_is_the_paired_t_test():
    cur, base = _data()
    d = compare_values("acc.mean", cur, base)
    assert d.n == 200 and d.delta == pytest.approx(SCIPY_DELTA)
    assert d.correlation == pytest.approx(CORRELATION)
    assert d.level == pytest.approx(0.95)
    assert (d.ci_low, d.ci_high) == pytest.approx(SCIPY_CI95, rel=1e-9)
    assert d.p_value == pytest.approx(SCIPY_P_LESS, rel=1e-6)
    assert d.estimate.p_below(-0.02) == pytest.approx(SCIPY_P_BEYOND_002, rel=1e-9)
    assert d.estimate.p_above(-0.05) == pytest.approx(SCIPY_P_WITHIN_005, rel=1e-9)
    assert d.estimate.method == "paired t on 199 df"


def test_no_spread_is_never_a_zero_width_interval():
    values = np.linspace(0, 1, 50)
    same = compare_values("acc.mean", values, values)
    # scores in [0, 1] that never moved: as 0 of 50 items discordant (Tango), not [0, 0]
    assert same.delta == 0 and same.p_value == 1.0
    assert same.ci_low == pytest.approx(-same.ci_high) and same.ci_high > 0.04
    drop = compare_values("acc.mean", values - 0.1, values)
    assert drop.delta == pytest.approx(-0.1)
    assert drop.ci_low is None and drop.p_value is None
    assert "moved by the same amount" in drop.estimate.reason


def test_no_items_and_one_item():
    empty = compare_values("acc.mean", np.array([]), np.array([]))
    assert empty.n == 0 and empty.delta is None and empty.p_value is None
    one = compare_values("acc.mean", np.array([0.2]), np.array([0.9]))
    assert one.n == 1 and one.delta == pytest.approx(-0.7)
    assert one.ci_low is None and one.p_value is None


def test_binary_values_take_tango_and_exact_mcnemar():
    from pytest_rft.analysis.estimates import PairedBinary, mcnemar_worse

    base = np.array([1.0] * 40 + [0.0] * 10)
    cur = base.copy()
    cur[:7] = 0.0   # 7 items fell
    cur[40:42] = 1.0  # 2 rose
    d = compare_values("pass_rate", cur, base)
    est = d.estimate
    assert isinstance(est, PairedBinary) and (est.down, est.up) == (7, 2)
    # at 0 Tango's statistic is McNemar's (c - b) / sqrt(b + c)
    assert est._z(0.0) == pytest.approx((2 - 7) / np.sqrt(9))
    # "worse" also needs the exact McNemar test; scipy 1.17.1, computed once:
    #   scipy.stats.binomtest(7, 9, 0.5, alternative="greater").pvalue = 0.08984375
    assert mcnemar_worse(7, 2) == pytest.approx(0.08984375)
    assert d.p_value == pytest.approx(max(0.08984375, 0.5 * (1 + erf_(-5 / 3 / np.sqrt(2)))))
    low, high = d.ci_low, d.ci_high
    assert low < d.delta < high and est._z(low) == pytest.approx(1.959964, abs=1e-6)
    # all three consecutive too few discordant pairs: exact p is 0.125, never below 0.05
    assert mcnemar_worse(3, 0) == pytest.approx(0.125)
    # thousands of discordant pairs: exact integers, no float overflow; scipy 1.17.1, once:
    #   scipy.stats.binomtest(1100, 2100, 0.5, alternative="greater").pvalue
    assert mcnemar_worse(1100, 1000) == pytest.approx(0.015360353932121245, rel=1e-9)


def erf_(x):
    import math

    return math.erf(x)


def test_tango_statistic_uses_the_restricted_mle():
    """Independent check of the closed form: maximise the multinomial likelihood of (down, up,
    rest) numerically under p_up - p_down = d0 and recompute the score statistic."""
    from scipy.optimize import minimize_scalar

    from pytest_rft.analysis.estimates import PairedBinary

    n, down, up = 60, 9, 3
    for d0 in (-0.2, -0.05, 0.0, 0.1):
        def nll(q):  # q = P(down); P(up) = q + d0
            return -(down * np.log(q) + up * np.log(q + d0) + (n - down - up) * np.log(1 - 2 * q - d0))
        lo = max(1e-9, -d0 + 1e-9)
        q = minimize_scalar(nll, bounds=(lo, (1 - d0) / 2 - 1e-9), method="bounded",
                            options={"xatol": 1e-12}).x
        z = (up - down - n * d0) / np.sqrt(n * (2 * q + d0 * (1 - d0)))
        assert PairedBinary(0.0, n, down=down, up=up)._z(d0) == pytest.approx(z, rel=1e-5)


def test_size_hints_scale_with_the_spread():
    rng = np.random.default_rng(3)
    base = rng.uniform(0, 1, 40)
    cur = base + rng.normal(0, 0.2, 40)
    # all of the spread comes from repeats: more repeats can fix it
    noisy = compare_values("acc.mean", cur, base, within_var=np.full(40, 0.04), repeats=3)
    hints = noisy.hints(0.02)
    assert hints.pass_items[0] > 40 and hints.pass_items[0] <= hints.pass_items[1]
    assert hints.pass_repeats is not None and hints.pass_repeats > 3
    assert hints.detects > 0.02
    # none of it does: only more items help
    stable = compare_values("acc.mean", cur, base, within_var=np.zeros(40), repeats=3)
    assert stable.hints(0.02).pass_repeats is None
    assert stable.hints(0.02).pass_items == hints.pass_items
    # more tests in the build: a drop must be larger to be detected
    assert stable.hints(0.02, family=36).detects > stable.hints(0.02).detects


def test_label_deltas_equal_the_difference_of_label_metrics():
    rng = np.random.default_rng(5)
    labels = ["a", "b", "c", "d"]
    truth = [[lab for lab in labels if rng.random() < 0.4] for _ in range(30)]

    def guess(p_keep):
        return [[lab for lab in labels if (lab in t) == (rng.random() < p_keep)] for t in truth]

    now, then = guess(0.7), guess(0.85)
    cur = np.array([item_counts([p], [t], labels) for p, t in zip(now, truth)])
    base = np.array([item_counts([p], [t], labels) for p, t in zip(then, truth)])
    a, b = label_metrics(now, truth, labels), label_metrics(then, truth, labels)
    for name in ("micro_f1", "macro_f1", "micro_precision", "samples_recall"):
        d = compare_labels(name, cur, base)
        assert d.current == pytest.approx(getattr(a, name).value), name
        assert d.baseline == pytest.approx(getattr(b, name).value), name
        assert d.ci_low <= d.delta <= d.ci_high


def item(mean, passes, n=3, digest="", labels=None):
    return BaselineItem(scores={"acc": {"mean": mean, "std": 0.0, "min": mean, "max": mean, "n": n}},
                        passes=passes, n=n, digest=digest, labels=labels, rows=None)


def run(items, **kw):
    fields = dict(suite="s", model="m", repeats=3, primary="acc", pass_threshold=0.5,
                  digests={"prompt": "p1", "graders": "g1"})
    fields.update(kw)
    return Baseline(items=items, **fields)


def test_compare_names_changes_flips_and_pairs_only_unchanged_items():
    then = run({"a": item(1.0, 3, digest="x"), "b": item(0.0, 0), "c": item(1.0, 3),
                "gone": item(1.0, 3), "d": item(0.67, 2)})
    now = run({"a": item(1.0, 3, digest="y"), "b": item(1.0, 3), "c": item(0.0, 0),
               "new": item(1.0, 3), "d": item(0.0, 0)}, digests={"prompt": "p2", "graders": "g1"})
    c = compare(now, then, ["acc.mean", "pass_rate"], dataset_ids=["a", "b", "c", "d", "new"])
    assert c.digest_changes == ["prompt"]
    assert (c.added, c.removed, c.changed) == (["new"], ["gone"], ["a"])
    assert c.paired == ["b", "c", "d"]
    assert c.flipped_down == ["c"] and c.improved == ["b"]  # d was flaky (2/3): not a flip
    assert c.item_deltas == {"b": 1.0, "c": -1.0, "d": pytest.approx(-0.67)}
    assert c.deltas["pass_rate"].n == 3
    assert "1 item(s) added since the baseline, not compared: new" in c.changes_text()


def test_baseline_gate_verdicts():
    rng = np.random.default_rng(11)
    base_means = rng.uniform(0.3, 1.0, 100)
    then = run({f"i{k}": item(v, 3) for k, v in enumerate(base_means)})
    gate = Gate(metric="acc.mean", baseline=True, max_drop=0.02)

    def verdict(shift, noise, n=100):
        now = run({f"i{k}": item(float(v + shift + rng.normal(0, noise)), 3)
                   for k, v in enumerate(base_means[:n])})
        return check_gate(gate, {}, compare(now, then, ["acc.mean"]))

    bad = verdict(-0.08, 0.05)
    assert bad.verdict == "FAIL" and not bad.passed and bad.delta < -0.06
    assert "a drop beyond 0.02" in bad.detail and "95% CI" in bad.detail
    assert "p(drop > 0.02) < 0.001" in bad.detail and "= <" not in bad.detail
    fine = verdict(0.0, 0.01)  # rules out a drop of 0.02
    assert fine.verdict == "PASS" and fine.rules_out < 0.02
    small = verdict(-0.01, 0.01)  # a real drop, but provably within the margin
    assert small.verdict == "PASS"
    at_margin = verdict(-0.02, 0.01)  # can't be told from the margin
    assert at_margin.verdict == "INCONCLUSIVE" and "includes -0.02" in at_margin.reason
    unsure = verdict(0.0, 0.3, n=30)  # can't tell: says so and what would
    assert unsure.verdict == "INCONCLUSIVE" and unsure.passed
    assert "an unchanged model passes with 80% power at about" in unsure.detail
    tiny = verdict(-0.3, 0.01, n=8)  # too few items for any verdict
    assert tiny.verdict == "INCONCLUSIVE" and "a verdict needs at least 10" in tiny.reason
    missing = check_gate(gate, {}, None, "no baseline for suite 's'; create it with: ...")
    assert missing.verdict == "FAIL" and "create it with" in missing.detail


def test_the_builds_correction_decides_a_borderline_fail():
    from pytest_rft.analysis.gates import decide

    rng = np.random.default_rng(4)
    base_means = rng.uniform(0.3, 1.0, 60)
    then = run({f"i{k}": item(v, 3) for k, v in enumerate(base_means)})
    now = run({f"i{k}": item(float(v - 0.05 + rng.normal(0, 0.08)), 3)
               for k, v in enumerate(base_means)})
    gate = Gate(metric="acc.mean", baseline=True, max_drop=0.02)
    alone = check_gate(gate, {}, compare(now, then, ["acc.mean"]))
    assert alone.verdict == "FAIL" and 0.025 / 200 < alone.p_value < 0.025
    many = decide(check_gate(gate, {}, compare(now, then, ["acc.mean"])),
                  min(1.0, alone.p_value * 200), correction="holm", family=200)
    assert many.verdict == "INCONCLUSIVE"
    assert "not after holm over the suite's 200 baseline-gate tests" in many.reason


def test_adjusted_p_values_match_statsmodels():
    """statsmodels 0.15.0, computed once: multipletests(p, method="holm" / "fdr_bh")[1]; the
    family of 6 counts two tests not given (as p = 1)."""
    from pytest_rft.analysis.estimates import adjust

    p = [0.01, 0.04, 0.03, 0.2]
    assert adjust(p, 4, "holm") == pytest.approx([0.04, 0.09, 0.09, 0.2])
    assert adjust(p, 4, "bh") == pytest.approx([0.04, 0.05333333333333334,
                                                0.05333333333333334, 0.2])
    assert adjust(p, 6, "holm") == pytest.approx([0.06, 0.16, 0.15, 0.6000000000000001])
    assert adjust(p, 6, "bh") == pytest.approx([0.06, 0.08, 0.08, 0.30000000000000004])
    assert adjust(p, 6, "none") == p


def test_gate_validation():
    with pytest.raises(ValueError, match="baseline gate takes 'max_drop'"):
        Gate(metric="acc.mean", baseline=True, min=0.5)
    with pytest.raises(ValueError, match="belong to baseline gates"):
        Gate(metric="acc.mean", min=0.5, max_drop=0.1)
    with pytest.raises(ValueError):
        Gate(metric="acc.mean", min=float("nan"))
    assert Gate(metric="acc.mean", baseline=True, max_drop=0.02).label == "acc.mean>=baseline-0.02"


def test_baseline_file_round_trip_and_errors(tmp_path):
    b = run({"b": item(0.5, 1, labels={"x": [1, 2, 3]}), "a": item(1.0, 3)},
            metrics={"acc.mean": {"value": 0.75, "ci_low": None, "ci_high": None, "n": 2}},
            created="2026-11-25T00:00:00+00:00")
    path = tmp_path / "baselines" / "s.json"
    baseline_io.write(path, b)
    text = path.read_text()
    assert text.index('"a"') < text.index('"b"')  # sorted, one item per line
    assert json.loads(text)["items"]["b"]["labels"] == {"x": [1, 2, 3]}
    back = baseline_io.read(path)
    assert back.items["b"].labels == {"x": [1, 2, 3]} and back.path == str(path)
    assert baseline_io.dumps(back) == text
    path.write_text("{broken")
    with pytest.raises(RftError, match="invalid JSON"):
        baseline_io.read(path)
    path.write_text(json.dumps({"kind": "pytest-rft-baseline", "schema_version": 99}))
    with pytest.raises(RftError, match="schema_version 99 is not supported"):
        baseline_io.read(path)


def test_counts_row_layout():
    it = item(1.0, 3, labels={"b": [1, 2, 3]})
    it.rows = [3, 1.0, 2.0, 1.5]
    assert counts_row(it, ["a", "b"]) == [0, 1, 0, 2, 0, 3, 3, 1.0, 2.0, 1.5]


# scipy 1.17.1, computed once: scipy.stats.fisher_exact([[a, n1 - a], [c, n2 - c]],
#   alternative="greater").pvalue for (a, n1, c, n2):
FISHER = {(3, 3, 0, 3): 0.05000000000000001, (5, 5, 0, 5): 0.003968253968253969,
          (4, 5, 1, 5): 0.1031746031746032, (7, 10, 2, 10): 0.03488925934746368,
          (1200, 2000, 1100, 2000): 0.0007697538693858684}


def test_fisher_exact_matches_scipy():
    from pytest_rft.analysis.estimates import fisher_less

    for counts, p in FISHER.items():
        assert fisher_less(*counts) == pytest.approx(p, rel=1e-12)


def test_items_are_tested_when_they_drop_and_fail_on_all_their_repeats():
    from pytest_rft.analysis.compare import confirm_regressions

    then = run({f"i{k}": item(1.0, 3) for k in range(100)})
    now_items = {f"i{k}": item(1.0, 3) for k in range(100)}
    now_items["i0"] = item(0.0, 0)           # 3/3 -> 0/3: tested
    now_items["i1"] = item(0.67, 2)          # 3/3 -> 2/3: passes still, not tested
    c = compare(run(now_items), then, ["acc.mean"])
    assert c.dropped == ["i0"] and c.item_p["i0"] == pytest.approx(0.05)
    assert c.regressed == []  # 3/3 -> 0/3 alone can't beat 100 items' correction
    # with confirmation repeats on both sides (15 each): 18/18 -> 0/18
    then.items["i0"].confirm = [15, 15]
    now_items["i0"].confirm = [0, 15]
    c = compare(run(now_items), then, ["acc.mean"])
    assert c.item_p["i0"] == pytest.approx(fisher_p(18, 18, 0, 18)) and c.regressed == ["i0"]
    # the family is the build's: the same p fails or not with what else was tested
    assert confirm_regressions({"i0": 1e-6}, 1000) == ["i0"]
    assert confirm_regressions({"i0": 1e-4}, 1000) == []
    assert confirm_regressions({"i0": 0.05}, 1) == []  # strictly below the level


def fisher_p(a, n1, c, n2):
    from pytest_rft.analysis.estimates import fisher_less

    return fisher_less(a, n1, c, n2)
