"""Why a suite node failed, in words: an item's errors (one line per distinct error), its
outputs and tool use per repeat, and what a confirmed regression rests on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..analysis import problems

if TYPE_CHECKING:
    from ..analysis.summary import SuiteSummary
    from ..core.records import SuiteRun


def regressed_text(run: SuiteRun, summary: SuiteSummary, item_id: str, width: int = 160) -> str:
    """Why an item counts as regressed: its baseline and current passes (main and confirmation
    repeats), the test and its correction, and its outputs."""
    comparison = summary.comparison
    assert comparison is not None
    base = comparison.baseline.items[item_id]
    primary = run.suite.primary
    now = summary.items[item_id]
    then_score = base.scores.get(comparison.baseline.primary, {}).get("mean")
    now_score = now.scores[primary].mean if primary in now.scores else None
    from ..analysis.stats import pass_counts

    then_passes, then_n = base.all_passes()
    confirm = pass_counts(run.confirm.get(item_id, []), primary, run.suite.pass_threshold)
    now_passes, now_n = now.n_pass + confirm[0], len(now.primary_values) + confirm[1]
    family = comparison.family_text()
    if comparison.suite_files <= 1:
        family = "the suite's " + family
    lines = [f"regressed: passed in the baseline ({comparison.baseline.model}: "
             f"{primary}={num(then_score)}, {then_passes}/{then_n} repeats passed) and fails now "
             f"({primary}={num(now_score)}, {now_passes}/{now_n} repeats passed, "
             f"{confirm[1]} of them confirmation repeats); one-sided Fisher exact "
             f"p={comparison.item_p[item_id]:.2g}, below {0.05:g} after {comparison.correction} "
             f"over {family}"]
    return "\n".join(lines) + outputs_text(run, item_id, width)


MAX_ERROR_LINES = 10


def errors_text(errors: list[problems.ErrorGroup]) -> str:
    """An item's errors, one line per distinct error with the repeats it hit; one distinct error
    (a wrong key, a server that is down) on the first line, which ``-rf`` and reporters show."""
    head = f"{sum(g.count for g in errors)} error(s) (errors are not scores):"
    lines = problems.item_lines(errors)
    if len(lines) == 1:
        return f"{head} {lines[0]}"
    if len(lines) > MAX_ERROR_LINES:
        lines[MAX_ERROR_LINES:] = [f"... and {len(lines) - MAX_ERROR_LINES} more distinct "
                                   "error(s) (see --rft-report)"]
    return head + "".join(f"\n  {line}" for line in lines)


def outputs_text(run: SuiteRun, item_id: str, width: int = 160, errors: bool = True) -> str:
    """Each answered repeat's primary score and (shortened) output, then (unless ``errors`` is
    False: the caller lists them) the item's errors, identical ones once with their repeats."""
    primary = run.suite.primary
    results = run.results.get(item_id, [])
    lines = []
    for result in results:
        if result.failed:
            if result.trajectory:  # an agent loop that failed midway: what it did so far
                lines.append(f"  repeat {result.repeat}: failed after:")
                lines += tool_lines(result, width)
            continue
        text = (result.output_text or "").replace("\n", " ")
        if len(text) > width:
            text = text[:width - 3] + "..."
        lines.append(f"  repeat {result.repeat}: {primary}="
                     f"{num(result.scores.get(primary))} output: {text}")
        lines += tool_lines(result, width)
        for name, message in result.zeroed.items():
            lines.append(f"    grader {name!r} error scored 0 (errors_as_zero): {message}")
    if errors:
        lines += [f"  {line}" for line in problems.item_lines(problems.item_errors(results))]
    return "".join(f"\n{line}" for line in lines)


def tool_lines(result: Any, width: int = 160) -> list[str]:
    """A sample's tool use: its trajectory (or its calls), and what a tool_call grader missed
    or did not expect."""
    import json

    from ..sampling import agent

    lines: list[str] = []
    if result.trajectory and any(s.get("tool_calls") or s.get("role") == "tool"
                                 for s in result.trajectory):
        stop = f" (stopped: {result.stop})" if result.stop not in (None, "answer") else ""
        lines.append(f"    trajectory, {result.turns} turn(s){stop}:")
        lines += [f"      {line}" for line in agent.trajectory_lines(result.trajectory, width)]
    elif result.tool_calls:
        lines.append("    calls: " + "; ".join(agent.call_text(c, 80) for c in result.tool_calls))
    for name, details in result.grader_details.items():
        if not isinstance(details, dict) or "expected" not in details:
            continue
        missed = [f"{d['name']}({json.dumps(d.get('arguments'), ensure_ascii=False)})"
                  + (" [called with other arguments]" if d.get("name_called") else "")
                  for d in details["expected"] if not d.get("score")]
        extra = [agent.call_text(result.tool_calls[i], 80)
                 for i in details.get("unexpected_calls", []) if i < len(result.tool_calls)]
        if missed or extra:
            lines.append(f"    {name}: " + "; ".join(
                [f"missed {m}" for m in missed] + [f"unexpected {x}" for x in extra]))
    return lines


def num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
