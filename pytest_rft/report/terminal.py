"""Terminal output: the progress line while sampling, and the summary tables."""

from __future__ import annotations

import time
from collections import defaultdict

from tabulate import tabulate as _tabulate

from ..runner import CallStats, SuiteRun
from ..summary import SuiteSummary


class ProgressLine:
    """``rft: sampling 120/450, 2 errors, 5 retries`` rewritten in place on a terminal; on a
    pipe (CI logs) only the final line is printed."""

    def __init__(self, reporter):
        self.reporter = reporter
        self.tty = bool(getattr(reporter, "isatty", False))
        self.last: CallStats | None = None
        self.started = time.perf_counter()

    def update(self, stats: CallStats) -> None:
        self.last = stats
        if self.tty:
            self.reporter.write(f"\r{self._text(stats)}   ", flush=True)

    def finish(self) -> None:
        if self.last is None:
            return
        if self.tty:
            self.reporter.write("\r")
        self.reporter.write_line(self._text(self.last) + f" in {time.perf_counter() - self.started:.1f}s")

    @staticmethod
    def _text(stats: CallStats) -> str:
        errors = sum(stats.errors.values())
        return (f"rft: sampled {stats.done}/{stats.planned}, {errors} error(s), "
                f"{stats.retries} retr{'y' if stats.retries == 1 else 'ies'}")


def tabulate(rows, headers) -> str:
    """Tables of already formatted cells (so 1.0000 stays 1.0000)."""
    return _tabulate(rows, headers=headers, disable_numparse=True)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _ci(metric) -> str:
    if metric is None or metric.ci_low is None:
        return ""
    return f"[{metric.ci_low:.4f}, {metric.ci_high:.4f}]"


def metrics_table(run: SuiteRun, summary: SuiteSummary) -> str:
    gated = defaultdict(list)
    for gate in summary.gates:
        gated[gate.metric].append(gate)
    rows = []
    for name, metric in summary.metrics.items():
        gates = gated.get(name, [])
        rows.append([name, _num(metric.value), _ci(metric), metric.n,
                     ", ".join(g.label for g in gates),
                     " ".join("PASS" if g.passed else "FAIL" for g in gates)])
    return tabulate(rows, headers=["metric", "value", "95% CI", "n", "gate", "verdict"])


def variance_table(run: SuiteRun, summary: SuiteSummary, top: int = 5) -> str:
    primary = run.suite.primary
    spread = sorted(((s.scores[primary].std, item_id, s.scores[primary])
                     for item_id, s in summary.items.items() if primary in s.scores),
                    key=lambda row: (-row[0], row[1]))[:top]
    counts = ", ".join(f"{summary.stability.get(k, 0)} {k}"
                       for k in ("always-pass", "always-fail", "mixed", "no-score"))
    rows = [[item_id, f"{s.mean:.3f}", f"{std:.3f}", f"{s.min:.3f}..{s.max:.3f}", s.n]
            for std, item_id, s in spread if std > 0]
    table = tabulate(rows, headers=["most variable item", f"{primary} mean", "std", "range", "n"]) \
        if rows else "no item varies across repeats"
    return f"items: {counts}\n{table}"


def label_table(summary: SuiteSummary) -> str:
    rows = [[row.label, f"{row.precision:.3f}", f"{row.recall:.3f}", f"{row.f1:.3f}", row.support,
             row.predicted] for row in summary.per_label]
    return tabulate(rows, headers=["label", "precision", "recall", "f1", "support", "predicted"])


COMPARED = ("mean", "pass_rate", "micro_precision", "micro_recall", "micro_f1", "macro_f1",
            "error_rate")


def comparison_table(pairs: list[tuple[SuiteRun, SuiteSummary]]) -> str:
    primary = pairs[0][0].suite.primary
    names = [f"{primary}.mean" if n == "mean" else n for n in COMPARED]
    names = [n for n in names if n in pairs[0][1].metrics]
    rows = [[name, *(_num(s.metrics[name].value) for _, s in pairs)] for name in names]
    verdicts = ["gates", *("PASS" if all(g.passed for g in s.gates) else "FAIL" for _, s in pairs)]
    return tabulate([*rows, verdicts], headers=["metric", *(run.model for run, _ in pairs)])


def calls_table(calls: CallStats) -> str:
    lat = calls.latency_percentiles()
    lines = [f"calls: {calls.calls} for {calls.planned} samples in {calls.wall_s:.2f}s; "
             f"retries: {calls.retries}"
             + (f" ({', '.join(f'{k} {v}' for k, v in calls.retried_causes.most_common())})"
                if calls.retries else "")
             + f"; lowest concurrency: {calls.min_concurrency}",
             "errors: " + (", ".join(f"{k} {v}" for k, v in calls.errors.most_common()) or "none"),
             "outputs: " + ", ".join(f"{k} {v}" for k, v in calls.kinds.most_common()),
             f"tokens: input {calls.usage.input_tokens}, output {calls.usage.output_tokens} "
             f"(reasoning {calls.usage.reasoning_tokens}), cached {calls.usage.cached_tokens}"]
    if lat:
        lines.append("latency: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in lat.items()))
    return "\n".join(lines)


def render(pairs: list[tuple[SuiteRun, SuiteSummary]], calls: CallStats | None) -> str:
    blocks = []
    by_suite: dict[str, list[tuple[SuiteRun, SuiteSummary]]] = defaultdict(list)
    for run, summary in pairs:
        by_suite[run.suite.name].append((run, summary))
        verdict = "PASS" if all(g.passed for g in summary.gates) else "FAIL"
        blocks.append(f"--- {run.key}: {len(summary.items)} items x "
                      f"{run.repeats or run.suite.config.repeats} repeats, gates {verdict}\n"
                      + metrics_table(run, summary))
        blocks.append(variance_table(run, summary))
        if summary.per_label:
            blocks.append(label_table(summary))
    for name, group in by_suite.items():
        if len(group) > 1:
            blocks.append(f"--- {name}: models side by side\n" + comparison_table(group))
    if calls is not None:
        blocks.append(calls_table(calls))
    return "\n\n".join(blocks)
