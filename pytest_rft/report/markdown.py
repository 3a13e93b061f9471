"""A Markdown summary for GitHub Actions, appended to ``$GITHUB_STEP_SUMMARY``: gates, errors
(identical ones once), deltas against the baseline, regressed / improved / flaky items, the
variance study, the per-label table and models side by side."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from tabulate import tabulate

from ..analysis import problems
from ..core.records import SuiteRun
from ..core.files import append_text
from ..core.secrets import scrub
from ..analysis.summary import SuiteSummary, versus_rows
from . import terminal


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _table(rows, headers) -> str:
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


MARK = {"PASS": "✅", "FAIL": "❌", "INCONCLUSIVE": "⚠️"}


def _ids(ids: list[str], limit: int = 30) -> str:
    shown = ", ".join(f"`{i}`" for i in ids[:limit])
    return shown + (f" … (+{len(ids) - limit} more)" if len(ids) > limit else "")


def suite_block(run: SuiteRun, summary: SuiteSummary) -> str:
    verdict = {"PASS": "✅ pass", "FAIL": "❌ FAIL", "INCONCLUSIVE": "⚠️ INCONCLUSIVE"}.get(
        summary.verdict, f"gates not judged (none selected; numbers over {len(summary.items)} "
                         f"of {len(run.suite.items)} items)")
    entries, compared = terminal.metric_rows(summary)
    rows = []
    for name, metric, d, gates in entries:
        ci = "n/a" if metric.ci_low is None else f"{metric.ci_low:.4f} – {metric.ci_high:.4f}"
        row = [name, _num(metric.value), ci]
        if compared:
            row += [_num(d.baseline) if d else "", terminal._delta(d), terminal._delta_ci(d),
                    terminal._p(d)]
        if summary.judged:
            row += ["<br>".join(f"`{g.label}`" for g in gates),
                    " ".join(MARK[g.verdict] for g in gates)]
        rows.append(row)
    headers = ["metric", "value", "95% CI"]
    if compared:
        levels = {f"{d.level * 100:.4g}%" for _, _, d, _ in entries if d is not None}
        headers += ["baseline", "Δ", f"Δ {'/'.join(sorted(levels))} CI", "p (worse)"]
    if summary.judged:
        headers += ["gate", ""]
    parts = [f"### {run.key}: {verdict}",
             f"{len(summary.items)} items × {run.repeats} repeats",
             _table(rows, headers)]
    failed = [f"- ❌ `{g.label}`: {g.detail}" for g in summary.gates if g.verdict == "FAIL"]
    inconclusive = [f"- ⚠️ INCONCLUSIVE `{g.label}`: {g.detail}" for g in summary.gates
                    if g.inconclusive]
    if failed or inconclusive:
        parts.append("\n".join(failed + inconclusive))
    errors = problems.run_lines(problems.run_errors(run.results, summary.items))
    if errors:
        parts.append("**Errors**, identical ones once (errors are not scores):\n"
                     + "\n".join(f"- {line}" for line in errors))
    c = summary.comparison
    if c is not None:
        lines = [f"**Baseline**: `{c.baseline.model}` × {c.baseline.repeats} repeats, "
                 f"{c.baseline.created or 'undated'}; {len(c.paired)} items paired"]
        if c.changes_text():
            lines.append(f"- ⚠️ {c.changes_text()}")
        lines.append(f"- regressed (dropped and confirmed, {c.correction} over "
                     f"{c.family_text()}): {len(c.regressed)} "
                     + _ids(c.regressed))
        unconfirmed = [i for i in c.dropped if i not in c.regressed]
        if unconfirmed:
            lines.append(f"- dropped, not confirmed (can't be told from chance): "
                         f"{len(unconfirmed)} " + _ids(unconfirmed))
        lines.append(f"- improved (stable-fail → stable-pass): {len(c.improved)} "
                     + _ids(c.improved))
        parts.append("\n".join(lines))
    elif summary.baseline_problem:
        parts.append(f"**Baseline**: {summary.baseline_problem}")
    if summary.flaky:
        parts.append(f"**Flaky** (repeats disagree, {len(summary.flaky)}): {_ids(summary.flaky)}")
    parts += [f"> ⚠️ {w}" for w in summary.warnings]
    parts.append("<details><summary>Variance study</summary>\n\n```\n"
                 + terminal.variance_table(run, summary) + "\n```\n</details>")
    if summary.per_label:
        label_rows = [[r.label, f"{r.precision:.3f}", f"{r.recall:.3f}", f"{r.f1:.3f}",
                       r.support, r.predicted] for r in summary.per_label]
        parts.append("<details><summary>Per label</summary>\n\n" + _table(
            label_rows, ["label", "precision", "recall", "f1", "support", "predicted"])
            + "\n</details>")
    return "\n\n".join(parts)


def render(pairs: list[tuple[SuiteRun, SuiteSummary]]) -> str:
    blocks = ["## pytest-rft"]
    by_suite: dict[str, list[tuple[SuiteRun, SuiteSummary]]] = defaultdict(list)
    for run, summary in pairs:
        by_suite[run.suite.name].append((run, summary))
        blocks.append(suite_block(run, summary))
    for name, group in by_suite.items():
        if len(group) < 2:
            continue
        names = terminal.side_by_side_metrics(group)
        rows = [[n, *(_num(s.metrics[n].value) for _, s in group)] for n in names]
        rows.append(["gates", *(MARK.get(s.verdict, "not judged") for _, s in group)])
        block = f"### {name}: models side by side\n\n" + _table(
            rows, ["metric", *(f"`{run.model}`" for run, _ in group)])
        reference, entries = versus_rows(group)
        delta_rows = [[f"`{r.model}`", r.metric, r.flips, "", ""] if r.delta is None else
                      [f"`{r.model}`", r.metric, terminal._delta(r.delta),
                       terminal._delta_ci(r.delta), terminal._p(r.delta)] for r in entries]
        if delta_rows:
            block += (f"\n\nPaired deltas vs `{reference}`:\n\n"
                      + _table(delta_rows, ["model", "metric", "Δ", "95% CI", "p (worse)"]))
        blocks.append(block)
    return "\n\n".join(blocks) + "\n"


def append(path: Path, pairs: list[tuple[SuiteRun, SuiteSummary]]) -> None:
    append_text(path, scrub(render(pairs)))
