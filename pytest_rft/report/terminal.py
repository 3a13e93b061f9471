"""Terminal output: the progress line while sampling, and the summary tables."""

from __future__ import annotations

import time
from collections import defaultdict

from tabulate import tabulate as _tabulate

from ..analysis import problems
from ..core.files import under_cwd
from ..core.records import CallStats, SuiteRun
from ..analysis.stats import STABILITIES
from ..analysis.summary import SuiteSummary, versus_rows


class ProgressLine:
    """``rft: sampling 120/450, 2 errors, 5 retries`` rewritten in place on a terminal; on a
    pipe (CI logs) only the final line is printed."""

    def __init__(self, reporter, quiet: bool = False):
        """``quiet``: tests report meanwhile, so nothing is drawn; ``finish`` returns the final
        line instead of printing it."""
        self.reporter = reporter
        self.quiet = quiet
        self.tty = bool(getattr(reporter, "isatty", False)) and not quiet
        self.last: CallStats | None = None
        self.started = time.perf_counter()

    def update(self, stats: CallStats) -> None:
        self.last = stats
        if self.tty:
            self.reporter.write(f"\r{self._text(stats)}   ", flush=True)

    def finish(self) -> str | None:
        if self.last is None:
            return None
        line = self._text(self.last) + f" in {time.perf_counter() - self.started:.1f}s"
        if self.quiet:
            return line
        if self.tty:
            self.reporter.write("\r")
        self.reporter.write_line(line)
        return None

    @staticmethod
    def _text(stats: CallStats) -> str:
        errors = sum(stats.errors.values())
        return (f"rft: sampled {stats.done}/{stats.planned}, {errors} model error(s), "
                f"{stats.grader_errors} with grader errors, "
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


def _delta(d) -> str:
    if d is None or d.delta is None:
        return ""
    return f"{d.delta:+.4f}"


def _delta_ci(d) -> str:
    if d is None or d.ci_low is None:
        return ""
    return f"[{d.ci_low:+.4f}, {d.ci_high:+.4f}]"


def _p(d) -> str:
    if d is None or d.p_value is None:
        return ""
    return "<0.001" if d.p_value < 0.001 else f"{d.p_value:.3f}"


def metric_rows(summary: SuiteSummary):
    """Per metric: (name, Metric, its paired delta or None, its gates); and whether the run
    has a baseline comparison at all. One source for the terminal, Markdown and HTML tables."""
    gated = defaultdict(list)
    for gate in summary.gates:
        gated[gate.metric].append(gate)
    deltas = summary.comparison.deltas if summary.comparison else {}
    rows = [(name, metric, deltas.get(name), gated.get(name, []))
            for name, metric in summary.metrics.items()]
    return rows, bool(deltas)


def verdict(passed: bool | None) -> str:
    """A run's gates: PASS, FAIL, or not judged (a subset run selected none of them)."""
    return "not judged" if passed is None else "PASS" if passed else "FAIL"


def metrics_table(run: SuiteRun, summary: SuiteSummary) -> str:
    entries, compared = metric_rows(summary)
    rows = []
    for name, metric, d, gates in entries:
        row = [name, _num(metric.value), _ci(metric), metric.n]
        if compared:
            row += [_num(d.baseline) if d else "", _delta(d), _delta_ci(d), _p(d)]
        if summary.judged:
            row += [", ".join(g.label for g in gates), " ".join(g.verdict for g in gates)]
        rows.append(row)
    headers = ["metric", "value", "95% CI", "n"]
    if compared:
        levels = {f"{d.level * 100:.4g}%" for _, _, d, _ in entries if d is not None}
        headers += ["baseline", "delta", f"delta {'/'.join(sorted(levels))} CI", "p (worse)"]
    if summary.judged:
        headers += ["gate", "verdict"]
    return tabulate(rows, headers=headers)


def gate_lines(summary: SuiteSummary) -> str:
    """Every gate that did not pass and every baseline gate, spelled out."""
    lines = [f"{g.verdict} gate:{g.label}: {g.detail}" for g in summary.gates
             if g.verdict != "PASS" or g.kind == "baseline" or g.reason]
    return "\n".join(lines)


def baseline_block(summary: SuiteSummary, limit: int | None = 20) -> str:
    """What the comparison with the baseline found beyond the metrics (``limit`` ids a list)."""
    c = summary.comparison
    lines: list[str] = []
    if c is not None:
        b = c.baseline
        lines.append(f"baseline: {b.model} x {b.repeats} repeats, {b.created or 'undated'}, "
                     f"{under_cwd(b.path) if b.path else b.source}; {len(c.paired)} items paired" + partial_text(b))
        changes = c.changes_text()
        if changes:
            lines.append(changes)
        family = f"{c.correction} over {c.family_text()}"
        lines.append(_ids(f"regressed (dropped and confirmed: Fisher exact on every repeat, "
                          f"{family})", c.regressed, limit))
        unconfirmed = [i for i in c.dropped if i not in c.regressed]
        if unconfirmed:
            lines.append(_ids("dropped but not confirmed (their repeats can't tell a regression "
                              "from chance after the correction; they do not fail)", unconfirmed, limit))
        lines.append(_ids("improved (stable-fail -> stable-pass)", c.improved, limit))
    if summary.flaky:
        lines.append(_ids("flaky (repeats disagree)", summary.flaky, limit))
    lines += [f"warning: {w}" for w in summary.warnings]
    return "\n".join(line for line in lines if line)


def errors_block(run: SuiteRun, summary: SuiteSummary, shown_items: int = 5) -> str:
    """The run's errors, identical ones once, with a count and the items they hit."""
    groups = problems.run_errors(run.results, summary.items)
    if not groups:
        return ""
    return ("errors, identical ones once (errors are not scores):\n"
            + "\n".join(f"  {line}" for line in problems.run_lines(groups, shown_items)))


def partial_text(b) -> str:
    """A baseline's items updated since its last full update (-k, --rft-limit), if any."""
    if not b.partial_updates:
        return ""
    last = b.partial_updates[-1]
    return (f"; {len(b.partial_updates)} partial update(s) since, the last: "
            f"{last.get('items')} item(s) from {last.get('model')} on {last.get('created')}")


def _ids(title: str, ids: list[str], limit: int | None = 20) -> str:
    if not ids:
        return f"{title}: none"
    limit = len(ids) if limit is None else limit
    more = f" ... (+{len(ids) - limit} more)" if len(ids) > limit else ""
    return f"{title}: {len(ids)}: {', '.join(ids[:limit])}{more}"


def variance_table(run: SuiteRun, summary: SuiteSummary, top: int = 5) -> str:
    primary = run.suite.primary
    spread = sorted(((s.scores[primary].std, item_id, s.scores[primary])
                     for item_id, s in summary.items.items() if primary in s.scores),
                    key=lambda row: (-row[0], row[1]))[:top]
    counts = ", ".join(f"{summary.stability.get(k, 0)} {k}" for k in STABILITIES)
    rows = [[item_id, f"{s.mean:.3f}", f"{std:.3f}", f"{s.min:.3f}..{s.max:.3f}", s.n]
            for std, item_id, s in spread if std > 0]
    table = tabulate(rows, headers=["most variable item", f"{primary} mean", "std (ddof=1)",
                                    "range", "n"]) if rows else "no item varies across repeats"
    return f"items: {counts}\n{table}"


def label_table(summary: SuiteSummary) -> str:
    rows = [[row.label, f"{row.precision:.3f}", f"{row.recall:.3f}", f"{row.f1:.3f}", row.support,
             row.predicted] for row in summary.per_label]
    return tabulate(rows, headers=["label", "precision", "recall", "f1", "support", "predicted"])


COMPARED = ("mean", "pass_rate", "micro_precision", "micro_recall", "micro_f1", "macro_f1",
            "error_rate")


def side_by_side_metrics(pairs: list[tuple[SuiteRun, SuiteSummary]]) -> list[str]:
    """The rows of the models-side-by-side table: the primary mean, every other grader's
    mean, then pass rate, label metrics and error rate (those the runs have)."""
    suite = pairs[0][0].suite
    means = [f"{suite.primary}.mean", *(f"{n}.mean" for n in suite.score_names)]
    names = dict.fromkeys([*means, *(n for n in COMPARED if n != "mean")])
    return [n for n in names if n in pairs[0][1].metrics]


def comparison_table(pairs: list[tuple[SuiteRun, SuiteSummary]]) -> str:
    names = side_by_side_metrics(pairs)
    rows = [[name, *(_num(s.metrics[name].value) for _, s in pairs)] for name in names]
    verdicts = ["gates", *(s.verdict for _, s in pairs)]
    return tabulate([*rows, verdicts], headers=["metric", *(run.model for run, _ in pairs)])


def deltas_table(pairs: list[tuple[SuiteRun, SuiteSummary]]) -> str:
    """Each model's paired deltas against the reference model, with the items that flipped;
    p-values BH-adjusted over the table (exploratory: no gate reads them)."""
    reference, entries = versus_rows(pairs)
    adjusted = versus_p_adjusted(entries)
    rows = []
    for r in entries:
        d = r.delta
        if d is None:
            rows.append([r.model, r.metric, "", r.flips, "", "", "", len(r.comparison.paired)])
        else:
            p = adjusted.get(id(r))
            rows.append([r.model, r.metric, _num(d.current), _delta(d), _delta_ci(d),
                         "" if p is None else ("<0.001" if p < 0.001 else f"{p:.3f}"),
                         "" if d.correlation is None else f"{d.correlation:.2f}", d.n])
    if not rows:
        return ""
    level = next((f"{r.delta.level * 100:.4g}%" for r in entries if r.delta), "90%")
    return (f"paired deltas vs {reference} ({level} CIs; p: one-sided for 'worse', "
            f"BH-adjusted over the {len(adjusted)} p-values of this table, exploratory):\n"
            + tabulate(rows, headers=["model", "metric", "value", "delta", f"{level} CI",
                                      "p worse (BH)", "corr", "items"]))


def versus_p_adjusted(entries) -> dict[int, float]:
    """id(row) -> the row's p-value, Benjamini-Hochberg-adjusted over the rows that have one."""
    from ..analysis.estimates import adjust

    rows = [r for r in entries if r.delta is not None and r.delta.p_value is not None]
    values = adjust([r.delta.p_value for r in rows], len(rows), "bh")
    return {id(r): p for r, p in zip(rows, values)}


def calls_table(calls: CallStats) -> str:
    lat = calls.latency_percentiles()
    lines = [f"calls: {calls.calls} for {calls.planned} samples in {calls.wall_s:.2f}s; "
             f"retries: {calls.retries}"
             + (f" ({', '.join(f'{k} {v}' for k, v in calls.retried_causes.most_common())})"
                if calls.retries else "")
             + f"; lowest concurrency: {calls.min_concurrency}",
             "model errors: " + (", ".join(f"{k} {v}" for k, v in calls.errors.most_common())
                                 or "none") + f"; samples with grader errors: {calls.grader_errors}"
             + (f"; samples with grader errors scored 0 (errors_as_zero): {calls.zeroed}"
                if calls.zeroed else ""),
             *(f"STOPPED {model}: {why}" for model, why in calls.stopped.items()),
             "outputs: " + (", ".join(f"{k} {v}" for k, v in calls.kinds.most_common())
                            or "none"),
             f"tokens: input {calls.usage.input_tokens}, output {calls.usage.output_tokens} "
             f"(reasoning {calls.usage.reasoning_tokens}), cached {calls.usage.cached_tokens}"]
    if lat:
        lines.append("latency: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in lat.items()))
    return "\n".join(lines)


def scope(run: SuiteRun, summary: SuiteSummary) -> str:
    """What the gates judged: the whole suite, a --rft-limit subset, or nothing."""
    total = len(run.suite.items)
    if not summary.judged:
        return (f"gates not judged: none selected (numbers over the {len(summary.items)} "
                f"selected of {total} items)")
    text = f"gates {summary.verdict}"
    if len(summary.items) < total:
        text += f" on {len(summary.items)} of {total} items (--rft-limit)"
    if run.untested:
        text += f"; {run.untested} item(s) sampled for the gates but not selected as tests"
    return text


def render(pairs: list[tuple[SuiteRun, SuiteSummary]], calls: CallStats | None,
           everything: bool = False) -> str:
    """The full tables (``-v``); ``everything`` (``-vv``): no list of ids shortened."""
    limit, shown_items = (None, 10**9) if everything else (20, 5)
    blocks = []
    by_suite: dict[str, list[tuple[SuiteRun, SuiteSummary]]] = defaultdict(list)
    for run, summary in pairs:
        by_suite[run.suite.name].append((run, summary))
        blocks.append(f"--- {run.key}: {len(summary.items)} items x "
                      f"{run.repeats} repeats, {scope(run, summary)}\n"
                      + metrics_table(run, summary))
        for block in (gate_lines(summary), errors_block(run, summary, shown_items),
                      baseline_block(summary, limit)):
            if block:
                blocks.append(block)
        blocks.append(variance_table(run, summary))
        if summary.per_label:
            blocks.append(label_table(summary))
    for name, group in by_suite.items():
        if len(group) > 1:
            blocks.append(f"--- {name}: models side by side\n" + comparison_table(group))
            deltas = deltas_table(group)
            if deltas:
                blocks.append(deltas)
    if calls is not None:
        blocks.append(calls_table(calls))
    return "\n\n".join(blocks)
