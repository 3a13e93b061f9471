"""The HTML report's session-wide sections: checkpoints side by side (grouped bars with CIs,
the table, paired deltas against the reference model, the history chart) and the run facts."""

from __future__ import annotations

import sys

from ..core.version import __version__
from ..core.records import CallStats, SuiteRun
from ..analysis.summary import SuiteSummary, versus_rows
from . import html_charts as charts
from .html_parts import anchor, badge, e, num, p_text, table

Pair = tuple[SuiteRun, SuiteSummary]


COMPARED = ("micro_precision", "micro_recall", "micro_f1", "{primary}.mean", "pass_rate")


def models_section(group: list[Pair], history: list[dict] | None) -> str:
    suite = group[0][0].suite
    parts = []
    if len(group) > 1:
        names = [n.format(primary=suite.primary) for n in COMPARED]
        names = [n for n in names if n in group[0][1].metrics]
        models = [run.model for run, _ in group]
        values = {run.model: {n: (s.metrics[n].value, s.metrics[n].ci_low, s.metrics[n].ci_high)
                              for n in names if n in s.metrics} for run, s in group}
        parts.append(f'<div class="chartbox">{charts.models_chart(names, models, values)}</div>')
        rows = [[e(n), *(f"{num(values[m][n][0])}<br><small>{charts.ci_text(*values[m][n][1:])}"
                         "</small>" for m in models)] for n in names]
        rows.append(["gates", *('<span class="badge warn">INCONCLUSIVE</span>'
                                if s.verdict == "INCONCLUSIVE" else
                                badge(s.passed, none="not judged") for _, s in group)])
        parts.append(table(["metric", *(f"<code>{e(m)}</code>" for m in models)], rows))
        reference, entries = versus_rows(group)
        from .terminal import versus_p_adjusted

        adjusted = versus_p_adjusted(entries)
        delta_rows = []
        for r in entries:
            model = f"<code>{e(r.model)}</code>"
            if r.delta is None:
                delta_rows.append([model, "items flipped", f"{r.flips} "
                                   f"({len(r.comparison.regressed)} confirmed)", "", "", ""])
            else:
                d = r.delta
                delta_rows.append([model, e(r.metric), num(d.delta, signed=True),
                                   charts.ci_text(d.ci_low, d.ci_high, signed=True),
                                   p_text(adjusted.get(id(r))), str(d.n)])
        if delta_rows:
            parts.append(f"<h4>Paired deltas against <code>{e(reference)}</code></h4>"
                         "<p class='muted'>p: one-sided for “worse”, Benjamini–Hochberg-adjusted "
                         "over this table; exploratory (the gates decide the build).</p>"
                         + table(["model", "metric", "Δ", "Δ CI", "p worse (BH)", "items"],
                                  delta_rows, "sortable"))
    if history:
        svg = charts.history_chart(suite.name, history)
        if svg:
            parts.append(f'<h4>Over runs (history)</h4><div class="chartbox">{svg}</div>')
    if not parts:
        return ""
    return (f'<section id="{anchor("models-" + suite.name)}"><h2>{e(suite.name)}: '
            f'checkpoints side by side</h2>{"".join(parts)}</section>')


# ------------------------------------------------------------------------------------ facts

def facts_section(pairs: list[Pair], calls: CallStats | None, created: str) -> str:
    rows = [["plugin", f"pytest-rft {e(__version__)} · Python {e(sys.version.split()[0])}"],
            ["created", e(created)]]
    for run, summary in pairs:
        repeats = run.repeats
        sampling = run.suite.sampling_for_model(run.model)
        shown = ", ".join(f"{k}={v}" for k, v in sampling.items()) or "defaults"
        api = run.api
        rows.append([f"<code>{e(run.key)}</code>", f"{len(run.items)} items × {repeats} repeats "
                     f"· sampling: {e(shown)} · API {e(api)}"])
    if calls is not None:
        u = calls.usage
        latency = ", ".join(f"{k} {v:.3f}s" for k, v in calls.latency_percentiles().items())
        rows += [["calls", f"{calls.done}/{calls.planned} samples, {calls.calls} calls, "
                           f"{calls.retries} retries, lowest concurrency {calls.min_concurrency}"],
                 ["errors", e(", ".join(f"{k}: {v}" for k, v in calls.errors.items()) or "none")],
                 ["retried for", e(", ".join(f"{k}: {v}" for k, v in calls.retried_causes.items())
                                   or "nothing")],
                 ["outputs", e(", ".join(f"{k}: {v}" for k, v in calls.kinds.items()) or "none")],
                 ["tokens", f"{u.input_tokens:,} in, {u.output_tokens:,} out, "
                            f"{u.reasoning_tokens:,} reasoning, {u.cached_tokens:,} cached"],
                 ["latency", e(latency or "n/a")],
                 ["time", f"{calls.wall_s:.1f}s wall, {calls.cpu_s:.1f}s CPU"]]
    return '<section id="facts"><h2>Run facts</h2>' + table(["", ""], rows, "facts") + \
        "</section>"


# ------------------------------------------------------------------------------------- page
