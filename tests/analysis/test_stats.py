"""Tests of pytest_rft.analysis.stats: item statistics, suite metrics with bootstrap CIs, label metrics."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from pytest_rft.core.records import SampleResult
from pytest_rft.analysis.labels import LabelMetrics, extract_labels, label_metrics
from pytest_rft.analysis.stats import ItemStats, all_item_stats, item_stats, stability, suite_metrics


def sample(item: str, repeat: int, scores: dict[str, float] | None = None, *,
           error: str | None = None, grader_errors: dict[str, str] | None = None) -> SampleResult:
    return SampleResult(item_id=item, repeat=repeat, model="m", error=error,
                        scores=dict(scores or {}), grader_errors=dict(grader_errors or {}))


# ------------------------------------------------------------------------------------------
# item_stats / stability


def test_item_stats_excludes_errors_instead_of_zeros() -> None:
    results = [
        sample("i", 0, {"acc": 1.0, "f1": 0.5}),
        sample("i", 1, error="http 429"),
        sample("i", 2, {"acc": 0.0, "f1": 0.0}, grader_errors={"f1": "bad json"}),
        sample("i", 3, {"acc": 0.5, "f1": 1.0}),
        sample("i", 4, {"acc": float("nan"), "f1": 0.25}),
    ]
    st = item_stats("i", results, primary="acc", pass_threshold=0.5)
    assert st.n_samples == 5
    assert st.n_errors == 1
    assert st.n_grader_errors == 1
    assert st.scores["acc"].n == 3
    assert st.scores["acc"].mean == pytest.approx(0.5)
    assert st.scores["acc"].max == 1.0 and st.scores["acc"].min == 0.0
    # sample standard deviation (ddof=1), as OpenAI's RFT variance study uses
    assert st.scores["acc"].std == pytest.approx(float(np.std([1.0, 0.0, 0.5], ddof=1)))
    # the errored f1 of sample 2 is left out, not counted as 0
    assert st.scores["f1"].n == 3
    assert st.scores["f1"].mean == pytest.approx((0.5 + 1.0 + 0.25) / 3)
    assert st.scores["f1"].min == 0.25
    assert st.primary_values == [1.0, 0.0, 0.5]
    assert st.passed is True
    assert stability(st) == "flaky"


def test_item_stats_no_primary_and_all_failed() -> None:
    st = item_stats("i", [sample("i", 0, error="timeout"), sample("i", 1, error="timeout")],
                    primary="acc", pass_threshold=0.5)
    assert st.scores == {} and st.passed is None and st.n_errors == 2
    assert stability(st) == "no-score"
    st = item_stats("i", [sample("i", 0, {"other": 1.0})], primary="acc", pass_threshold=0.5)
    assert st.passed is None and stability(st) == "no-score"


def test_item_stats_rejects_foreign_results() -> None:
    with pytest.raises(ValueError):
        item_stats("i", [sample("j", 0, {"acc": 1.0})], primary="acc", pass_threshold=0.5)


@pytest.mark.parametrize(
    "values,expected",
    [([1.0, 0.9, 0.8], "stable-pass"), ([0.0, 0.2, 0.1], "stable-fail"),
     ([0.9, 0.1, 0.9], "flaky"), ([0.5], "unknown"), ([1.0, 1.0], "unknown"),
     ([1.0] * 9 + [0.0], "stable-pass"), ([1.0] * 6 + [0.0] * 4, "flaky"),
     ([0.0] * 9 + [1.0], "stable-fail")],
)
def test_stability(values: list[float], expected: str) -> None:
    results = [sample("i", k, {"acc": v}) for k, v in enumerate(values)]
    assert stability(item_stats("i", results, "acc", 0.5)) == expected


# statsmodels 0.15.0, computed once:
#   from statsmodels.stats.proportion import proportion_confint
#   proportion_confint(k, n, alpha=0.10, method="wilson")   # one-sided 95% bounds
#   proportion_confint(k, n, alpha=0.05, method="wilson")   # two-sided 95% interval
WILSON_ONE_SIDED = {(3, 3): (0.525804425842487, 1.0), (9, 10): (0.6522813326641415, 0.9773650912691327),
                    (2, 2): (0.4250306090063462, 1.0), (0, 30): (0.0, 0.08272430812509934),
                    (7, 30): (0.13176024453803759, 0.3790260531286821)}
WILSON_TWO_SIDED = {(3, 3): (0.43850296824495444, 1.0), (9, 10): (0.5958499732047614, 0.982123786904927),
                    (0, 30): (0.0, 0.1135133931739688), (7, 30): (0.11792388144489496, 0.40928326158122175)}


def test_wilson_matches_statsmodels() -> None:
    from pytest_rft.analysis.stats import wilson

    for (k, n), expected in WILSON_ONE_SIDED.items():
        assert wilson(k, n, 0.95, two_sided=False) == pytest.approx(expected, abs=1e-9)
    for (k, n), expected in WILSON_TWO_SIDED.items():
        assert wilson(k, n, 0.95) == pytest.approx(expected, abs=1e-9)


def test_stability_rule_is_the_one_sided_wilson_bound() -> None:
    """stable-pass iff the one-sided 95% Wilson lower bound of k/n exceeds 1/2."""
    from pytest_rft.analysis.stats import classify

    assert [classify(k, 3) for k in range(4)] == ["stable-fail", "flaky", "flaky", "stable-pass"]
    assert classify(2, 2) == "unknown" and classify(0, 0) == "no-score"


def test_pass_rate_interval_is_wilson_not_a_zero_width_bootstrap() -> None:
    items = all_item_stats([sample(f"i{k}", 0, {"acc": 0.0}) for k in range(30)], "acc", 0.5)
    m = suite_metrics(items, ["acc"])
    assert m["pass_rate"].value == 0.0
    assert (m["pass_rate"].ci_low, m["pass_rate"].ci_high) == pytest.approx(WILSON_TWO_SIDED[(0, 30)])


def test_passed_uses_mean_primary() -> None:
    results = [sample("i", k, {"acc": v}) for k, v in enumerate([1.0, 0.0, 0.0])]
    st = item_stats("i", results, "acc", 0.5)
    assert st.passed is False and stability(st) == "flaky"


def test_threshold_comparisons_tolerate_float_rounding() -> None:
    """[0.6, 0.8, 1.0] has mean 0.7999999999999999 in floating point: still a pass at 0.8."""
    values = [0.6, 0.8, 1.0]
    assert sum(values) / 3 < 0.8  # the rounding this guards against
    results = [sample("i", k, {"acc": v}) for k, v in enumerate(values)]
    assert item_stats("i", results, "acc", 0.8).passed is True
    from pytest_rft.suite.keys import Gate

    assert Gate(metric="acc.mean", min=0.8).passes(math.fsum(values) / 3 - 1e-16)
    assert not Gate(metric="acc.mean", min=0.8).passes(0.7999)


# ------------------------------------------------------------------------------------------
# suite_metrics


def _items() -> list[ItemStats]:
    results = [
        # item a: 4 successful repeats, mean 1.0
        *(sample("a", k, {"acc": 1.0}) for k in range(4)),
        # item b: 1 successful repeat of 0.0, 3 failed calls
        sample("b", 0, {"acc": 0.0}),
        *(sample("b", k, error="timeout") for k in range(1, 4)),
        # item c: 2 repeats, 0.0 and 1.0 (mean 0.5), one grader error on another score
        sample("c", 0, {"acc": 0.0}, grader_errors={"f1": "x"}),
        sample("c", 1, {"acc": 1.0}),
    ]
    return all_item_stats(results, primary="acc", pass_threshold=0.5)


def test_suite_means_count_each_item_once() -> None:
    items = _items()
    assert [it.item_id for it in items] == ["a", "b", "c"]
    m = suite_metrics(items, ["acc", "f1"])
    # per-sample pooling would give 4/7 + ...; per item: (1.0 + 0.0 + 0.5) / 3
    assert m["acc.mean"].value == pytest.approx(0.5)
    assert m["acc.max"].value == pytest.approx((1.0 + 0.0 + 1.0) / 3)
    assert m["acc.min"].value == pytest.approx((1.0 + 0.0 + 0.0) / 3)
    assert m["acc.mean"].n == 3
    assert m["pass_rate"].value == pytest.approx(2 / 3)  # a (1.0) and c (0.5 >= 0.5)
    # 3 failed samples + 1 sample with a grader error, over 10 samples
    assert m["error_rate"].value == pytest.approx(4 / 10)
    assert m["f1.mean"].value is None and m["f1.mean"].n == 0
    assert m["f1.mean"].ci_low is None and m["f1.mean"].ci_high is None


def test_suite_metrics_zero_and_one_item() -> None:
    m = suite_metrics([], ["acc"])
    assert set(m) == {"acc.mean", "acc.max", "acc.min", "pass_rate", "error_rate"}
    assert all(v.value is None and v.ci_low is None and v.n == 0 for v in m.values())
    one = all_item_stats([sample("a", 0, {"acc": 0.3}), sample("a", 1, {"acc": 0.4})],
                         "acc", 0.5)
    m = suite_metrics(one, ["acc"])
    for key in ("acc.mean", "acc.max", "acc.min", "pass_rate", "error_rate"):
        # no "95% CI" over one item: n/a, not a zero-width interval
        assert m[key].value is not None and m[key].ci_low is None and m[key].ci_high is None, key
    assert m["acc.mean"].value == pytest.approx(0.35)


def _random_items(n: int, seed: int) -> list[ItemStats]:
    rnd = random.Random(seed)
    results = []
    for i in range(n):
        for k in range(rnd.randint(1, 5)):
            if rnd.random() < 0.1:
                results.append(sample(f"i{i}", k, error="timeout"))
            else:
                scores = {"acc": rnd.random(), "ok": float(rnd.random() < 0.6)}
                results.append(sample(f"i{i}", k, scores))
    return all_item_stats(results, primary="acc", pass_threshold=0.5)


def test_mean_intervals_are_t_intervals_over_items() -> None:
    items = _random_items(300, seed=1)
    m = suite_metrics(items, ["acc", "ok"])
    assert m == suite_metrics(items, ["acc", "ok"])  # no randomness
    for key, metric in m.items():
        assert metric.value is not None
        assert metric.ci_low is not None and metric.ci_high is not None
        assert metric.ci_low <= metric.value <= metric.ci_high, key
        assert metric.ci_low < metric.ci_high, key
    # mean +- t(0.975, n - 1) * sd / sqrt(n) over the item means; the t quantile for df = 292
    # is 1.9681 (scipy 1.17: t.ppf(0.975, 292) = 1.96810...)
    means = np.array([it.scores["acc"].mean for it in items if "acc" in it.scores])
    half = 1.9681 * means.std(ddof=1) / math.sqrt(len(means))
    assert len(means) == 293
    assert m["acc.mean"].ci_low == pytest.approx(means.mean() - half, abs=2e-5)
    assert m["acc.mean"].ci_high == pytest.approx(means.mean() + half, abs=2e-5)


def test_confidence_level_narrows_interval() -> None:
    items = _random_items(200, seed=2)
    wide = suite_metrics(items, ["acc"], confidence=0.99)["acc.mean"]
    narrow = suite_metrics(items, ["acc"], confidence=0.5)["acc.mean"]
    assert wide.ci_low < narrow.ci_low < narrow.ci_high < wide.ci_high


def test_constant_scores_have_no_zero_width_interval() -> None:
    items = all_item_stats([sample(f"i{k}", 0, {"acc": 0.7}) for k in range(20)], "acc", 0.5)
    m = suite_metrics(items, ["acc"])["acc.mean"]
    assert m.value == pytest.approx(0.7) and m.ci_low is None and m.ci_high is None
    assert "same value" in m.note
    # all 1.0 (or all 0.0) is a proportion of 20 of 20: Wilson, never [1, 1]
    ones = all_item_stats([sample(f"i{k}", 0, {"acc": 1.0}) for k in range(20)], "acc", 0.5)
    m = suite_metrics(ones, ["acc"])["acc.mean"]
    assert m.ci_high == 1.0 and m.ci_low == pytest.approx(0.8389, abs=1e-4)  # Wilson 20/20


def test_clustered_intervals_are_cr1() -> None:
    """CR1 standard errors with t on G - 1. Reference computed once with statsmodels 0.15.0:
    sm.OLS(y, ones).fit(cov_type="cluster", cov_kwds={"groups": g}).bse[0] = 0.08306251617039796
    (mean 0.7232012730008825); scipy.stats.t.ppf(0.975, 9) = 2.262157162798205."""
    rnd = random.Random(3)
    results = [sample(f"i{i}", 0, {"acc": min(1.0, 0.2 + (i // 6) / 10 + rnd.random() / 5)})
               for i in range(60)]  # 10 clusters of 6 items that move together
    items = all_item_stats(results, "acc", 0.5)
    clusters = {f"i{i}": i // 6 for i in range(60)}
    m = suite_metrics(items, ["acc"], clusters=clusters)["acc.mean"]
    half = 2.262157162798205 * 0.08306251617039796
    assert m.value == pytest.approx(0.7232012730008825, abs=1e-12)
    assert (m.ci_low, m.ci_high) == pytest.approx((0.7232012730008825 - half,
                                                   min(1.0, 0.7232012730008825 + half)), abs=1e-9)
    assert m.n == 10
    naive = suite_metrics(items, ["acc"])["acc.mean"]
    assert naive.ci_high - naive.ci_low < (m.ci_high - m.ci_low) / 2  # clusters matter here


def test_suite_metrics_over_10k_items() -> None:
    """(Its time is a figure of benchmarks/aggregate_memory.py, not asserted here.)"""
    rng = np.random.default_rng(0)
    items = [
        ItemStats(item_id=str(i), scores={}, n_samples=10, n_errors=0, n_grader_errors=0,
                  primary_values=[], passed=bool(rng.random() < 0.5))
        for i in range(10_000)
    ]
    m = suite_metrics(items, [])
    assert m["pass_rate"].ci_low < m["pass_rate"].value < m["pass_rate"].ci_high


# ------------------------------------------------------------------------------------------
# label_metrics: reference values computed once with scikit-learn 1.9.1, e.g. for `hand`:
#
#   from sklearn.preprocessing import MultiLabelBinarizer
#   from sklearn.metrics import precision_recall_fscore_support, f1_score
#   mlb = MultiLabelBinarizer().fit(pred + ref)           # `*_labels` cases:
#   #   mlb = MultiLabelBinarizer(classes=sorted(set(labels) | seen)).fit([])
#   #   kw = {"labels": [list(mlb.classes_).index(l) for l in labels]}
#   Yp, Yt = mlb.transform(pred), mlb.transform(ref)
#   for avg in ("micro", "macro", "samples"):
#       p, r, f, _ = precision_recall_fscore_support(Yt, Yp, average=avg, zero_division=0, **kw)
#       assert f == f1_score(Yt, Yp, average=avg, zero_division=0, **kw)
#   precision_recall_fscore_support(Yt, Yp, average=None, zero_division=0, **kw)  # per label
#   # macro_*: over the labels with support, as pytest-rft averages them:
#   supported = [i for i in kw.get("labels", range(len(mlb.classes_))) if Yt[:, i].sum() > 0]
#   precision_recall_fscore_support(Yt, Yp, average="macro", zero_division=0, labels=supported)

HAND_PRED = [["a", "a"], [], ["b", "c"], [], ["c", "d"]]
HAND_REF = [["a", "b"], [], ["c"], ["a"], ["d", "c", "d"]]
HAND_LABELS = ["d", "a", "z", "b"]  # "z" never seen, "c" present in the data but excluded
RANDOM_LABELS = [f"L{i:02d}" for i in range(15)] + ["L99"]


def random_case() -> tuple[list[list[str]], list[list[str]]]:
    """200 rows over 21 labels; L20 is predicted but never true; some rows empty/empty."""
    rnd = random.Random(7)
    names = [f"L{i:02d}" for i in range(21)]
    pred, ref = [], []
    for _ in range(200):
        true = rnd.sample(names[:20], rnd.randint(0, 4))  # L20 is never a true label
        p = [t for t in true if rnd.random() < 0.7]
        p += rnd.sample(names, rnd.randint(0, 2))
        if p and rnd.random() < 0.1:
            p.append(p[0])  # duplicate within a row counts once
        pred.append(p)
        ref.append(true)
    return pred, ref


SKLEARN = {
    "hand": {
        "micro_precision": 0.8, "micro_recall": 0.6666666666666666,
        "micro_f1": 0.7272727272727273, "macro_precision": 0.75, "macro_recall": 0.625,
        "macro_f1": 0.6666666666666666, "samples_precision": 0.5, "samples_recall": 0.5,
        "samples_f1": 0.4666666666666666,
    },
    "hand_labels": {
        "micro_precision": 0.6666666666666666, "micro_recall": 0.5,
        "micro_f1": 0.5714285714285714, "macro_precision": 0.6666666666666666,
        "macro_recall": 0.5, "macro_f1": 0.5555555555555555,
        "samples_precision": 0.4, "samples_recall": 0.3,
        "samples_f1": 0.3333333333333333,
    },
    "random": {
        "micro_precision": 0.6190476190476191, "micro_recall": 0.7352185089974294,
        "micro_f1": 0.6721504112808461, "macro_precision": 0.6362110447352507,
        "macro_recall": 0.7301406203065515, "macro_f1": 0.6760720718986949,
        "samples_precision": 0.5428333333333333, "samples_recall": 0.5925,
        "samples_f1": 0.5373531746031746,
    },
    "random_labels": {
        "micro_precision": 0.6253602305475504, "micro_recall": 0.7281879194630873,
        "micro_f1": 0.6728682170542636, "macro_precision": 0.6221932654216186,
        "macro_recall": 0.7225557790515303, "macro_f1": 0.6645928689331281,
        "samples_precision": 0.52025, "samples_recall": 0.545,
        "samples_f1": 0.5073492063492063,
    },
}
# average=None, same calls: (label, precision, recall, f1, support)
SKLEARN_PER_LABEL = {
    "hand": [("a", 1.0, 0.5, 0.6666666666666666, 2), ("b", 0.0, 0.0, 0.0, 1),
             ("c", 1.0, 1.0, 1.0, 2), ("d", 1.0, 1.0, 1.0, 1)],
    "hand_labels": [("d", 1.0, 1.0, 1.0, 1), ("a", 1.0, 0.5, 0.6666666666666666, 2),
                    ("z", 0.0, 0.0, 0.0, 0), ("b", 0.0, 0.0, 0.0, 1)],
    # first three and last two labels
    "random": [("L00", 0.5416666666666666, 0.6190476190476191, 0.5777777777777777, 21),
               ("L01", 0.6875, 0.6470588235294118, 0.6666666666666666, 17),
               ("L02", 0.8064516129032258, 0.8064516129032258, 0.8064516129032258, 31),
               ("L19", 0.8461538461538461, 0.8461538461538461, 0.8461538461538461, 26),
               ("L20", 0.0, 0.0, 0.0, 0)],
    "random_labels": [("L00", 0.5416666666666666, 0.6190476190476191, 0.5777777777777777, 21),
                      ("L01", 0.6875, 0.6470588235294118, 0.6666666666666666, 17),
                      ("L02", 0.8064516129032258, 0.8064516129032258, 0.8064516129032258, 31),
                      ("L14", 0.4583333333333333, 0.6111111111111112, 0.5238095238095238, 18),
                      ("L99", 0.0, 0.0, 0.0, 0)],
}


def _case(name: str) -> LabelMetrics:
    if name.startswith("hand"):
        pred, ref = HAND_PRED, HAND_REF
        labels = HAND_LABELS if name.endswith("labels") else None
    else:
        pred, ref = random_case()
        labels = RANDOM_LABELS if name.endswith("labels") else None
    return label_metrics(pred, ref, labels)


@pytest.mark.parametrize("name", sorted(SKLEARN))
def test_label_metrics_match_sklearn(name: str) -> None:
    lm = _case(name)
    got = {k: m.value for k, m in lm.metrics().items()}
    assert got == pytest.approx(SKLEARN[name], abs=1e-12)
    per = [tuple(s[:5]) for s in lm.per_label]
    expected = SKLEARN_PER_LABEL[name]
    if name.startswith("random"):
        per = per[:3] + per[-2:]
    assert [p[0] for p in per] == [e[0] for e in expected]
    assert [p[4] for p in per] == [e[4] for e in expected]
    got_prf = [x for p in per for x in p[1:4]]
    assert got_prf == pytest.approx([x for e in expected for x in e[1:4]], abs=1e-12)


def test_label_metrics_label_set_and_predicted_counts() -> None:
    lm = _case("random")
    assert lm.labels == [f"L{i:02d}" for i in range(21)]
    assert lm.per_label[-1].label == "L20" and lm.per_label[-1].predicted == 14
    assert _case("hand_labels").labels == HAND_LABELS
    hand = _case("hand")
    assert [s.predicted for s in hand.per_label] == [1, 1, 2, 1]  # "a","a" counts once


def test_label_metrics_groups_bootstrap() -> None:
    pred, ref = random_case()
    groups = [f"item{i // 4}" for i in range(len(pred))]  # 50 items x 4 repeats
    by_row = label_metrics(pred, ref)
    by_group = label_metrics(pred, ref, groups=groups)
    again = label_metrics(pred, ref, groups=groups)
    assert by_group == again
    assert by_group.micro_f1.n == 50 and by_row.micro_f1.n == 200
    for (k, a), b in zip(by_group.metrics().items(), by_row.metrics().values()):
        assert a.value == b.value
        assert a.ci_low is not None and a.ci_high is not None
        assert a.ci_low <= a.value <= a.ci_high, k
    assert by_group.micro_f1.ci_low != by_row.micro_f1.ci_low


def test_label_metrics_edge_cases() -> None:
    empty = label_metrics([], [])
    assert all(m.value is None and m.n == 0 for m in empty.metrics().values())
    one = label_metrics([["a"]], [["a", "b"]])
    for m in one.metrics().values():
        assert m.value is not None and m.ci_low is None and m.ci_high is None
    assert one.micro_recall.value == 0.5
    # only empty rows: sklearn zero_division=0 gives 0 for the samples average
    blank = label_metrics([[], []], [[], []])
    assert blank.samples_f1.value == 0.0 and blank.micro_f1.value == 0.0
    assert blank.macro_f1.value is None  # no label at all
    with pytest.raises(ValueError):
        label_metrics([["a"]], [])
    with pytest.raises(ValueError):
        label_metrics([["a"]], [["a"]], ["a", "a"])
    with pytest.raises(TypeError):
        label_metrics(["ab"], [["a"]])


# ------------------------------------------------------------------------------------------
# extract_labels


@pytest.mark.parametrize(
    "value,path,expected",
    [
        ({"level1": [{"code": "04"}, {"code": "48"}]}, "level1[*].code", ["04", "48"]),
        ({"labels": ["x", "y"]}, "labels", ["x", "y"]),
        ({"labels": "x"}, "labels", ["x"]),
        ({"a": {"b": [{"c": ["p", "q"]}, {"c": ["r"]}]}}, "a.b[*].c", ["p", "q", "r"]),
        ({"a": [{"c": "1"}, {"c": "2"}]}, "a[1].c", ["2"]),
        ([{"c": "1"}, {"c": "2"}], "[*].c", ["1", "2"]),
        ({"level1": [{"code": "04"}, {"nope": "x"}, "str", {"code": 5}]}, "level1[*].code",
         ["04"]),
        ({"level1": {"code": "04"}}, "level1[*].code", []),
        ({"other": 1}, "labels", []),
        (None, "labels", []),
        ("text", "labels", []),
        ({"labels": ["x"]}, "labels[", []),
    ],
)
def test_extract_labels(value: object, path: str, expected: list[str]) -> None:
    assert extract_labels(value, path) == expected


def test_single_label_keeps_multilabel_semantics() -> None:
    # sklearn would see a 1-column MultiLabelBinarizer matrix as a *binary* target
    # (type_of_target -> "binary") and count the absent class too in micro; we don't.
    lm = label_metrics([["a"], [], ["a"]], [["a"], ["a"], []])
    assert lm.micro_precision.value == 0.5 and lm.micro_recall.value == 0.5
    assert lm.samples_precision.value == pytest.approx(1 / 3)
