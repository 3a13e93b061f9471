"""Paired comparisons, baseline files and the baseline gate's verdicts, without pytest runs."""

import json

import numpy as np
import pytest

from pytest_rft import baseline as baseline_io
from pytest_rft.baseline import Baseline, BaselineItem
from pytest_rft.compare import compare, counts_row
from pytest_rft.errors import RftError
from pytest_rft.gates import check_gate
from pytest_rft.labels import item_counts, label_metrics
from pytest_rft.paired import compare_labels, compare_values
from pytest_rft.suite import Gate


def _data():
    rng = np.random.default_rng(7)
    base = rng.uniform(0, 1, 200)
    cur = np.clip(base + rng.normal(-0.03, 0.1, 200), 0, 1)
    return cur, base


# scipy 1.17.1, computed once on _data():
#   scipy.stats.ttest_rel(cur, base, alternative="less").pvalue
#   scipy.stats.ttest_rel(cur, base).confidence_interval(0.95)
#   numpy.corrcoef(cur, base)[0, 1]
SCIPY_DELTA = -0.031967556888704146
SCIPY_P_LESS = 8.307619464789351e-07
SCIPY_CI = (-0.04473158978009593, -0.019203523997312365)
CORRELATION = 0.9521778584373201


def test_paired_delta_agrees_with_the_paired_t_test_on_a_large_sample():
    cur, base = _data()
    d = compare_values("acc.mean", cur, base, n_boot=4000, seed=1)
    assert d.n == 200 and d.delta == pytest.approx(SCIPY_DELTA)
    assert d.correlation == pytest.approx(CORRELATION)
    # bootstrap and t intervals agree to within a few percent of their width at n = 200
    width = SCIPY_CI[1] - SCIPY_CI[0]
    assert d.ci_low == pytest.approx(SCIPY_CI[0], abs=0.06 * width)
    assert d.ci_high == pytest.approx(SCIPY_CI[1], abs=0.06 * width)
    assert d.p_value < 0.001 and SCIPY_P_LESS < 0.001 and d.worse
    assert d.detectable == pytest.approx((1.6449 + 0.8416) * width / (2 * 1.9720), rel=0.08)


def test_identical_runs_and_uniform_drops():
    values = np.linspace(0, 1, 50)
    same = compare_values("acc.mean", values, values)
    assert same.delta == 0 and same.p_value == 1.0 and not same.worse
    assert (same.ci_low, same.ci_high) == (0.0, 0.0)
    drop = compare_values("acc.mean", values - 0.1, values)
    assert drop.delta == pytest.approx(-0.1) and drop.p_value == 0.0 and drop.worse


def test_no_items_and_one_item():
    empty = compare_values("acc.mean", np.array([]), np.array([]))
    assert empty.n == 0 and empty.delta is None and not empty.worse
    one = compare_values("acc.mean", np.array([0.2]), np.array([0.9]))
    assert one.n == 1 and one.delta == pytest.approx(-0.7)
    assert one.ci_low is None and one.p_value is None and not one.worse


def test_needed_items_and_repeats_follow_the_variances():
    rng = np.random.default_rng(3)
    base = rng.uniform(0, 1, 40)
    cur = base + rng.normal(0, 0.2, 40)
    # all of the spread comes from repeats: more repeats can fix it
    noisy = compare_values("acc.mean", cur, base, within_var=np.full(40, 0.04), repeats=3)
    items, repeats = noisy.needed(0.02)
    assert items > 40 and repeats is not None and repeats > 3
    # none of it does: only more items help
    stable = compare_values("acc.mean", cur, base, within_var=np.zeros(40), repeats=3)
    assert stable.needed(0.02)[1] is None and stable.needed(0.02)[0] == items


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
    assert not bad.passed and "REGRESSION" in bad.detail and bad.delta < -0.06
    small = verdict(-0.01, 0.01)  # significant but inside max_drop
    assert small.passed and "within the allowed drop 0.02" in small.detail
    unsure = verdict(-0.01, 0.3, n=10)  # can't tell: says so and what would
    assert unsure.passed and unsure.inconclusive
    assert "cannot rule out a drop" in unsure.detail and "would take about" in unsure.detail
    missing = check_gate(gate, {}, None, "no baseline for suite 's'; create it with: ...")
    assert not missing.passed and "create it with" in missing.detail


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
          (4, 5, 1, 5): 0.1031746031746032, (7, 10, 2, 10): 0.03488925934746368}


def test_fisher_exact_matches_scipy():
    from pytest_rft.compare import fisher_less

    for counts, p in FISHER.items():
        assert fisher_less(*counts) == pytest.approx(p, rel=1e-12)


def test_flips_fail_only_when_confirmed():
    from pytest_rft.compare import confirm_regressions

    counts = {f"i{k}": (3, 3, 3, 3) for k in range(100)}
    counts["i0"] = (3, 3, 0, 3)  # one 3/3 -> 0/3 flip among 100 items: chance, not evidence
    assert confirm_regressions(counts, ["i0"], suite_worse=False) == []
    assert confirm_regressions(counts, ["i0"], suite_worse=True) == ["i0"]
    counts["i0"] = (10, 10, 0, 10)  # 10/10 -> 0/10 survives Holm over 100 items
    assert confirm_regressions(counts, ["i0"], suite_worse=False) == ["i0"]
