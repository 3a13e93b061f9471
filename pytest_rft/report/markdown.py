"""A Markdown summary for GitHub Actions, appended to ``$GITHUB_STEP_SUMMARY``."""

from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from ..runner import SuiteRun
from ..summary import SuiteSummary


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def render(pairs: list[tuple[SuiteRun, SuiteSummary]]) -> str:
    blocks = ["## pytest-rft"]
    for run, summary in pairs:
        verdict = "✅ pass" if all(g.passed for g in summary.gates) else "❌ FAIL"
        gates = {g.metric: g for g in summary.gates}
        rows = []
        for name, metric in summary.metrics.items():
            gate = gates.get(name)
            ci = "" if metric.ci_low is None else f"{metric.ci_low:.4f} – {metric.ci_high:.4f}"
            rows.append([name, _num(metric.value), ci, gate.label if gate else "",
                         ("✅" if gate.passed else "❌") if gate else ""])
        table = tabulate(rows, headers=["metric", "value", "95% CI", "gate", ""],
                         tablefmt="github", disable_numparse=True)
        failed = [f"- ❌ `{g.label}`: {g.detail}" for g in summary.gates if not g.passed]
        blocks.append(f"### {run.key}: {verdict}\n\n{len(summary.items)} items × "
                      f"{run.repeats or run.suite.config.repeats} repeats\n\n{table}"
                      + ("\n\n" + "\n".join(failed) if failed else ""))
    return "\n\n".join(blocks) + "\n"


def append(path: Path, pairs: list[tuple[SuiteRun, SuiteSummary]]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(render(pairs))
