"""Gates: suite metrics and baseline comparisons turned into verdicts with an explanation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .stats import Metric
from .suite import Gate

if TYPE_CHECKING:  # pragma: no cover
    from .compare import Comparison
    from .paired import PairedDelta


@dataclass
class GateResult:
    label: str
    metric: str
    value: float | None
    ci: tuple[float | None, float | None]
    passed: bool
    detail: str
    baseline: float | None = None
    delta: float | None = None
    delta_ci: tuple[float | None, float | None] = (None, None)
    p_value: float | None = None
    inconclusive: bool = False
    """A baseline gate that passed only because the data cannot tell."""

    @property
    def status(self) -> str:
        """One short line for `-v` and the short summary; `detail` holds the explanation."""
        text = f"{self.metric}={_num(self.value)}"
        if self.delta is not None:
            text += f" Δ{self.delta:+.4f} vs baseline {_num(self.baseline)}"
        if self.inconclusive:
            text += " inconclusive"
        return text


def error_gate(max_error_rate: float) -> Gate:
    """The implicit gate every suite has: model and grader errors above the allowed rate fail."""
    return Gate(metric="error_rate", max=max_error_rate)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _ci(low: float | None, high: float | None, signed: bool = False) -> str:
    if low is None or high is None:
        return "95% CI n/a"
    fmt = "{:+.4f}" if signed else "{:.4f}"
    return f"95% CI {fmt.format(low)}..{fmt.format(high)}"


def check_gate(gate: Gate, metrics: dict[str, Metric], comparison: "Comparison | None" = None,
               baseline_problem: str | None = None) -> GateResult:
    if gate.baseline:
        return _check_baseline_gate(gate, metrics, comparison, baseline_problem)
    metric = metrics.get(gate.metric)
    value = metric.value if metric else None
    ci = (metric.ci_low, metric.ci_high) if metric else (None, None)
    passed = gate.passes(value)
    shown = "n/a (no scored items)" if value is None else _num(value)
    bound = " and ".join(
        part for part in (f">= {gate.min:g}" if gate.min is not None else "",
                          f"<= {gate.max:g}" if gate.max is not None else "") if part)
    detail = f"{gate.metric} = {shown} ({_ci(*ci)}); required {bound}"
    if value is not None and not passed:
        target = gate.min if gate.min is not None and value < gate.min else gate.max
        detail += f"; off by {value - target:+.4f}"
    return GateResult(label=gate.label, metric=gate.metric, value=value, ci=ci, passed=passed,
                      detail=detail)


def _check_baseline_gate(gate: Gate, metrics: dict[str, Metric],
                         comparison: "Comparison | None",
                         baseline_problem: str | None) -> GateResult:
    metric = metrics.get(gate.metric)
    value = metric.value if metric else None
    ci = (metric.ci_low, metric.ci_high) if metric else (None, None)
    result = GateResult(label=gate.label, metric=gate.metric, value=value, ci=ci, passed=False,
                        detail="")
    if comparison is None:
        result.detail = baseline_problem or "no baseline"
        return result
    delta = comparison.deltas.get(gate.metric)
    changes = comparison.changes_text()
    if delta is None or delta.n == 0:
        result.detail = (f"{gate.metric}: no item has a value in both this run and the baseline "
                         f"({comparison.baseline.path or comparison.baseline.source}); "
                         "nothing to compare" + (f"; {changes}" if changes else ""))
        return result
    result.baseline, result.delta = delta.baseline, delta.delta
    result.delta_ci, result.p_value = (delta.ci_low, delta.ci_high), delta.p_value
    drop_too_big = -delta.delta > gate.max_drop + 1e-9
    result.passed = not (delta.worse and drop_too_big)
    if result.passed and delta.ci_low is not None and delta.ci_low < -gate.max_drop - 1e-9 \
            and not delta.worse:
        result.inconclusive = True
    result.detail = explain(gate, metric, delta, result, changes)
    return result


def explain(gate: Gate, metric: Metric | None, delta: "PairedDelta", result: GateResult,
            changes: str) -> str:
    """The gate line: value with CI, baseline, delta with CI, p, correlation, verdict."""
    conf = f"{gate.confidence:.0%}"
    now = f"{gate.metric} = {_num(metric.value if metric else None)}"
    if metric is not None:
        now += f" ({_ci(metric.ci_low, metric.ci_high)})"
    p = "n/a" if delta.p_value is None else ("<0.001" if delta.p_value < 0.001
                                             else f"{delta.p_value:.3f}")
    corr = "n/a" if delta.correlation is None else f"{delta.correlation:.2f}"
    parts = [now,
             f"baseline {_num(delta.baseline)} vs {_num(delta.current)} on {delta.n} paired items",
             f"delta {delta.delta:+.4f} ({_ci(delta.ci_low, delta.ci_high, signed=True)})",
             f"p={p} (one-sided, paired bootstrap)", f"item correlation {corr}",
             f"allowed drop {gate.max_drop:g}"]
    if not result.passed:
        verdict = (f"REGRESSION: significantly worse at {conf} confidence and the drop "
                   f"{-delta.delta:.4f} exceeds {gate.max_drop:g}")
    elif delta.n < 2:
        verdict = "cannot tell from one paired item"
    elif result.inconclusive:
        verdict = (f"no significant drop, but the data cannot rule out a drop of "
                   f"{-delta.ci_low:.4f} > {gate.max_drop:g}")
        if delta.detectable is not None:
            verdict += f"; this suite detects drops of {delta.detectable:.4f} or more"
        items, repeats = delta.needed(gate.max_drop)
        hints = []
        if items is not None:
            hints.append(f"about {items} items")
        if repeats is not None:
            hints.append(f"about {repeats} repeats (baseline and run)")
        if hints:
            verdict += f" (80% power); detecting {gate.max_drop:g} would take {' or '.join(hints)}"
    elif delta.worse:
        verdict = f"significantly lower, but within the allowed drop {gate.max_drop:g}"
    else:
        verdict = "no significant drop"
    text = "; ".join(parts) + f" -> {verdict}"
    return text + (f"; NOTE {changes}" if changes else "")
