"""The default terminal summary, for a pytest user: per suite x model its verdict, its gates one
line each, the headline metrics and what regressed; every line at most ``WIDTH`` columns.
The full tables (``terminal.render``) are shown with ``-v``; the reports hold everything."""

from __future__ import annotations

import textwrap

from ..analysis import problems
from ..analysis.gates import GateResult, size_to_decide
from ..analysis.summary import SuiteSummary
from ..core.records import CallStats, SuiteRun
from .terminal import scope

WIDTH = 120
HEADLINE = ("pass_rate", "micro_f1", "macro_f1")
"""Shown after the primary score's mean, when the suite has them."""


def fit(text: str, indent: str = "", width: int = WIDTH) -> list[str]:
    """``text`` (one line, already indented by ``indent``) wrapped at spaces to ``width``
    columns, the next lines indented two more; a word longer than a line (a path) is kept
    whole."""
    lines = textwrap.wrap(text, width, initial_indent="", subsequent_indent=indent + "  ",
                          break_long_words=False, break_on_hyphens=False)
    return lines or [text]


def pack(parts: list[str], indent: str, sep: str = "; ", width: int = WIDTH) -> list[str]:
    """``parts`` joined by ``sep`` into lines of at most ``width`` columns, never splitting
    a part (one longer than a line gets a line of its own)."""
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1] + sep + part) <= width:
            lines[-1] += sep + part
        else:
            lines.append(indent + part if not lines else indent + "  " + part)
    return lines


def _ci(low: float | None, high: float | None, signed: bool = False) -> str:
    if low is None or high is None:
        return ""
    fmt = "{:+.4f}" if signed else "{:.4f}"
    return f"[{fmt.format(low)}, {fmt.format(high)}]"


def _pct(level: float) -> str:
    return f"{level * 100:.4g}%"


def _value(value: float | None, ci: tuple[float | None, float | None]) -> str:
    if value is None:
        return "n/a (no scored items)"
    interval = _ci(*ci)
    return f"{value:.4f}" + (f", 95% CI {interval}" if interval else "")


def gate_text(g: GateResult) -> str:
    """A gate's numbers, short: value and CI; for a baseline gate the delta, its CI at the
    gate's confidence and the margin; the gate's own explanation when it has no numbers."""
    if g.kind == "baseline":
        if g.delta is None:  # no baseline, or this run becomes it: the gate says so
            return g.detail.removeprefix(f"{g.metric} = ")
        interval = _ci(*g.delta_ci, signed=True)
        text = f"{_num(g.value)} vs {_num(g.baseline)}: delta {g.delta:+.4f}"
        if interval:
            text += f", {_pct(g.level)} CI {interval}"
        margin = g.gate.max_drop if g.gate is not None else None
        return text + ("" if margin is None else f", margin {margin:g}")
    text = _value(g.value, g.ci)
    if g.verdict == "FAIL" and g.value is not None and g.gate is not None:
        bound = g.gate.min if g.gate.min is not None and g.value < g.gate.min else g.gate.max
        if bound is not None:
            text += f"; off by {g.value - bound:+.4f}"
    if g.reason:
        text += "; borderline"
    return text


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def gate_lines(summary: SuiteSummary) -> list[str]:
    """One line per gate (aligned); an INCONCLUSIVE gate adds why and what would decide."""
    if not summary.gates:
        return []
    verdicts = max(len(g.verdict) for g in summary.gates)
    labels = min(max(len(g.label) for g in summary.gates), 32)
    lines = []
    for g in summary.gates:
        lines += fit(f"  {g.verdict:<{verdicts}}  {g.label:<{labels}}  {gate_text(g)}", "  ")
        if g.inconclusive:
            why = "; ".join(part for part in (g.reason, size_to_decide(g)) if part)
            lines += fit(f"    why: {why}", "    ")
    return lines


def headline(run: SuiteRun, summary: SuiteSummary) -> list[str]:
    """The primary score's mean, the pass rate and, for classification suites, micro/macro F1,
    each with its CI."""
    names = [f"{run.suite.primary}.mean", *HEADLINE]
    parts = []
    for name in names:
        metric = summary.metrics.get(name)
        if metric is None:
            continue
        interval = _ci(metric.ci_low, metric.ci_high)
        parts.append(f"{name} {_num(metric.value)}" + (f" {interval}" if interval else ""))
    return pack(parts, "  ")


def _ids(ids: list[str], room: int) -> str:
    """As many ids as fit in ``room`` columns, then ``+N more``."""
    shown: list[str] = []
    for i, item_id in enumerate(ids):
        rest = len(ids) - i - 1
        tail = f", +{rest} more" if rest else ""
        if len(", ".join([*shown, item_id]) + tail) > room and shown:
            return ", ".join(shown) + f", +{len(ids) - len(shown)} more"
        shown.append(item_id)
    return ", ".join(shown)


def verdict_lines(run: SuiteRun, summary: SuiteSummary) -> list[str]:
    repeats = run.repeats or run.suite.config.repeats
    parts = [f"{run.key}: {scope(run, summary)}",
             f"{len(summary.items)} items x {repeats} repeat{'s' if repeats != 1 else ''}"]
    c = summary.comparison
    if c is not None:
        unconfirmed = len([i for i in c.dropped if i not in c.regressed])
        parts.append(", ".join(
            [f"{len(c.regressed)} regressed"]
            + ([f"{unconfirmed} dropped unconfirmed"] if unconfirmed else [])
            + ([f"{len(c.improved)} improved"] if c.improved else [])))
    if summary.flaky:
        parts.append(f"{len(summary.flaky)} flaky")
    return pack(parts, "")


def run_lines(run: SuiteRun, summary: SuiteSummary) -> list[str]:
    lines = verdict_lines(run, summary)
    c = summary.comparison
    if c is not None and c.regressed:
        title = "  regressed: "
        lines.append(title + _ids(c.regressed, WIDTH - len(title)))
    lines += headline(run, summary)
    lines += gate_lines(summary)
    if c is not None and c.changes_text():
        lines += fit(f"  NOTE {c.changes_text()}", "  ")
    for warning in summary.warnings:
        lines += fit(f"  warning: {warning}", "  ")
    groups = problems.run_errors(run.results, summary.items)
    for line in problems.run_lines(groups, shown_items=2):  # whole: an error says its fix
        lines += fit(f"  error: {line}", "  ")
    return lines


def _said_stopped(pairs: list[tuple[SuiteRun, SuiteSummary]], model: str) -> bool:
    """Whether a run of ``model`` has an error line saying its calls stopped after it."""
    return any(g.not_sent for run, summary in pairs if run.model == model
               for g in problems.run_errors(run.results, summary.items))


def render(pairs: list[tuple[SuiteRun, SuiteSummary]], calls: CallStats | None) -> str:
    """The default summary; its last line says how to see the rest."""
    lines: list[str] = []
    for run, summary in pairs:
        lines += run_lines(run, summary)
    if calls is not None:  # budget stops, outputs not ok, errors the user chose to score 0
        for model, why in calls.stopped.items():
            if not _said_stopped(pairs, model):  # else a run's error line says it, once
                lines += fit(f"STOPPED {model}: {why}")
        if set(calls.kinds) - {"ok"}:  # truncated, refusal, empty, invalid JSON ... (scored)
            lines += fit("outputs: " + ", ".join(f"{k} {v}" for k, v in calls.kinds.most_common()))
        if calls.zeroed:
            lines.append(f"samples with grader errors scored 0 (errors_as_zero): {calls.zeroed}")
    lines.append(more(pairs, calls))
    return "\n".join(lines)


def more(pairs: list[tuple[SuiteRun, SuiteSummary]], calls: CallStats | None) -> str:
    """Once, at the end: what -v and -vv add."""
    hidden = ["all metrics", "most variable items"]
    if any(summary.per_label for _, summary in pairs):
        hidden.insert(1, "per-label")
    suites = [run.suite.name for run, _ in pairs]
    if len(set(suites)) < len(suites):
        hidden.append("models side by side")
    if calls is not None:
        hidden.append("calls and tokens")
    return f"rft: -v shows {', '.join(hidden)}; -vv everything"
