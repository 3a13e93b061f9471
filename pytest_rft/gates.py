"""Gates: thresholds on suite metrics turned into verdicts."""

from __future__ import annotations

from dataclasses import dataclass

from .stats import Metric
from .suite import Gate


@dataclass
class GateResult:
    label: str
    metric: str
    value: float | None
    ci: tuple[float | None, float | None]
    passed: bool
    detail: str


def error_gate(max_error_rate: float) -> Gate:
    """The implicit gate every suite has: model and grader errors above the allowed rate fail."""
    return Gate(metric="error_rate", max=max_error_rate)


def check_gate(gate: Gate, metrics: dict[str, Metric]) -> GateResult:
    metric = metrics.get(gate.metric)
    value = metric.value if metric else None
    ci = (metric.ci_low, metric.ci_high) if metric else (None, None)
    passed = gate.passes(value)
    shown = "n/a (no scored items)" if value is None else f"{value:.4f}"
    ci_text = "" if ci[0] is None else f" (95% CI {ci[0]:.4f}..{ci[1]:.4f})"
    bound = " and ".join(
        part for part in (f">= {gate.min:g}" if gate.min is not None else "",
                          f"<= {gate.max:g}" if gate.max is not None else "") if part)
    detail = f"{gate.metric} = {shown}{ci_text}; required {bound}"
    if value is not None and not passed:
        target = gate.min if gate.min is not None and value < gate.min else gate.max
        detail += f"; off by {value - target:+.4f}"
    return GateResult(label=gate.label, metric=gate.metric, value=value, ci=ci, passed=passed,
                      detail=detail)
