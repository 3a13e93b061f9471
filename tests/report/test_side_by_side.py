"""The models-side-by-side table (terminal -v and the step summary) shows every grader's mean,
not only the primary one: a candidate that keeps the primary score but loses on another grader
shows it there."""

from __future__ import annotations

from types import SimpleNamespace

from pytest_rft.report import terminal


def test_every_graders_mean_is_a_row_primary_first():
    suite = SimpleNamespace(primary="overall", score_names=["label", "overall", "summary"])
    metrics = {name: SimpleNamespace(value=0.5) for name in (
        "label.mean", "overall.mean", "summary.mean", "summary.max", "pass_rate",
        "micro_f1", "error_rate")}
    pairs = [(SimpleNamespace(suite=suite, model=m), SimpleNamespace(metrics=metrics,
                                                                     verdict="PASS"))
             for m in ("v2", "v1")]
    assert terminal.side_by_side_metrics(pairs) == [
        "overall.mean", "label.mean", "summary.mean", "pass_rate", "micro_f1", "error_rate"]
    table = terminal.comparison_table(pairs)
    assert [line.split()[0] for line in table.splitlines()[2:]] == [
        "overall.mean", "label.mean", "summary.mean", "pass_rate", "micro_f1", "error_rate",
        "gates"]
