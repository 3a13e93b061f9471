"""The item and gate verdict rules (``plugin/verdicts.py``), without pytest runs: each branch,
its precedence and the status text."""

from __future__ import annotations

import pytest

from pytest_rft.analysis.stats import item_stats
from pytest_rft.core.records import SampleResult
from pytest_rft.plugin import verdicts
from pytest_rft.plugin.verdicts import BROKEN, CRITICAL, REGRESSED, gate_failure, item_verdict


def numbers(*scores: float | None, threshold: float = 0.5):
    """An item's stats from its repeats' f1 scores (None: a failed model call)."""
    results = [SampleResult(item_id="q", repeat=i, model="m", output_text="x", kind="ok",
                            scores={"f1": s}) if s is not None
               else SampleResult(item_id="q", repeat=i, model="m", error="http 500")
               for i, s in enumerate(scores)]
    return item_stats("q", results, "f1", threshold)


def test_an_item_above_threshold_passes_with_its_mean_spread_and_count():
    verdict = item_verdict(numbers(1.0, 0.0, 1.0), "f1", errors=False, critical=True)
    assert verdict.fault is None and not verdict.failed
    assert verdict.status == "f1=0.667±0.577 n=3"  # the sample standard deviation (ddof=1)


def test_one_repeat_has_no_spread():
    assert item_verdict(numbers(0.25), "f1", errors=False, critical=False).status == "f1=0.250 n=1"


def test_an_item_without_a_primary_score_says_so():
    verdict = item_verdict(numbers(None), "f1", errors=False, critical=False)
    assert verdict.status == "no score" and verdict.fault is None


def test_errors_make_an_item_broken_before_anything_else():
    verdict = item_verdict(numbers(0.0, None), "f1", errors=True, critical=True, regressed=True)
    assert verdict.fault == BROKEN and verdict.failed


def test_a_critical_item_below_threshold_fails():
    verdict = item_verdict(numbers(0.0, 0.5), "f1", errors=False, critical=True)
    assert verdict.fault == CRITICAL
    assert verdicts.critical_text(verdict.status, 0.5) == \
        "critical item below threshold: f1=0.250±0.354 n=2 < pass_threshold 0.5"


def test_a_critical_item_with_no_score_fails():
    assert item_verdict(numbers(None), "f1", errors=False, critical=True).fault == CRITICAL


def test_the_threshold_itself_passes():
    assert item_verdict(numbers(0.5, threshold=0.5), "f1", errors=False,
                        critical=True).fault is None


def test_a_non_critical_item_below_threshold_passes():
    assert item_verdict(numbers(0.0), "f1", errors=False, critical=False).fault is None


def test_a_confirmed_regression_fails_with_its_delta():
    verdict = item_verdict(numbers(1.0, 1.0), "f1", errors=False, critical=False, delta=-0.25,
                           regressed=True, flaky=True)
    assert verdict.fault == REGRESSED
    assert verdict.status == "f1=1.000±0.000 n=2 Δ-0.250 regressed flaky"


def test_a_critical_item_below_threshold_fails_as_critical_even_when_regressed():
    verdict = item_verdict(numbers(0.0), "f1", errors=False, critical=True, regressed=True)
    assert verdict.fault == CRITICAL


def test_a_drop_not_confirmed_passes_and_says_so():
    verdict = item_verdict(numbers(1.0), "f1", errors=False, critical=False, delta=+0.5,
                           dropped=True)
    assert verdict.fault is None
    assert verdict.status == "f1=1.000 n=1 Δ+0.500 dropped, not confirmed"


def test_regressed_wins_over_dropped_in_the_status():
    status = verdicts.item_status(numbers(1.0), "f1", regressed=True, dropped=True)
    assert status.endswith(" regressed")


@pytest.mark.parametrize("verdict, inconclusive, policy, expected", [
    ("PASS", False, "pass", None),
    ("PASS", False, "fail", None),
    ("FAIL", False, "pass", "gate failed: why"),
    ("INCONCLUSIVE", True, "pass", None),
    ("INCONCLUSIVE", True, "exit2", None),
    ("INCONCLUSIVE", True, "fail", "gate INCONCLUSIVE (--rft-inconclusive=fail): why"),
])
def test_gate_failure(verdict, inconclusive, policy, expected):
    assert gate_failure(verdict, inconclusive, policy, "why") == expected
