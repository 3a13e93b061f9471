"""Gates: suite metrics and baseline comparisons turned into verdicts with an explanation.

An absolute gate (``min``/``max``) is a threshold on this run's value; its interval is shown and
it says when the interval straddles the bound. A baseline gate is a non-inferiority test with
``max_drop`` as its margin m, read from the interval of the paired delta at the gate's
confidence c (95% by default; each side errs with probability (1 - c) / 2):

* FAIL when the data show a drop beyond the margin: the upper bound is below -m, i.e. the
  one-sided p-value of "the drop is at most m" is below (1 - c) / 2 -- after the build's
  correction for many tests (Holm by default: every baseline gate of every model and suite);
* PASS when the data rule out such a drop: the lower bound is above -m (no correction is
  needed: a build passes only when every gate does);
* INCONCLUSIVE otherwise, and always with fewer than ``MIN_PAIRED`` paired items; the reason is
  given, with the smallest drop the data rule out and what size would decide.

``check_gate`` works out a gate's numbers; ``decide`` gives the verdict once the build's
corrected p-value is known (the session corrects over the build; alone, a gate is its own
family).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from .estimates import PairedBinary, mcnemar_worse
from .paired import MIN_PAIRED
from .stats import Metric
from ..suite.keys import Gate

if TYPE_CHECKING:  # pragma: no cover
    from .compare import Comparison
    from .paired import PairedDelta

Verdict = Literal["PASS", "FAIL", "INCONCLUSIVE"]


@dataclass
class GateResult:
    label: str
    metric: str
    value: float | None
    ci: tuple[float | None, float | None]
    verdict: Verdict
    detail: str
    baseline: float | None = None
    delta: float | None = None
    delta_ci: tuple[float | None, float | None] = (None, None)
    level: float = 0.95
    """Level of ``delta_ci`` (two-sided): the gate's confidence."""
    p_value: float | None = None
    """One-sided p-value of "the drop is at most the margin" (uncorrected)."""
    p_adjusted: float | None = None
    """``p_value`` corrected over the build (``correction``, ``family`` tests)."""
    correction: str = "none"
    family: int = 1
    suite_files: int = 1
    """The project's suite files the level is shared among (``family`` counts this suite's
    tests once per suite file)."""
    reason: str = ""
    """Why a gate is INCONCLUSIVE (or what makes an absolute gate's verdict borderline)."""
    rules_out: float | None = None
    """The smallest drop the data rule out (the one-sided lower bound, as a drop)."""
    kind: Literal["absolute", "baseline"] = "absolute"
    tested: bool = False
    """A baseline gate with a test (counted in the build's correction)."""
    gate: Gate | None = field(default=None, repr=False)
    delta_info: "PairedDelta | None" = field(default=None, repr=False)
    changes: str = field(default="", repr=False)

    @property
    def passed(self) -> bool:
        """Not FAIL (an INCONCLUSIVE gate's effect on the build is the user's choice)."""
        return self.verdict != "FAIL"

    @property
    def inconclusive(self) -> bool:
        return self.verdict == "INCONCLUSIVE"

    @property
    def status(self) -> str:
        """One short line for `-v` and the short summary; `detail` holds the explanation."""
        text = f"{self.metric}={_num(self.value)}"
        if self.delta is not None:
            text += f" Δ{self.delta:+.4f} vs baseline {_num(self.baseline)}"
        if self.kind == "baseline" or self.verdict == "INCONCLUSIVE":
            text += f" {self.verdict}"
        return text


def error_gate(max_error_rate: float) -> Gate:
    """The implicit gate every suite has: model and grader errors above the allowed rate fail."""
    return Gate(metric="error_rate", max=max_error_rate)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _pct(level: float) -> str:
    return f"{level * 100:.4g}%"


def _ci(low: float | None, high: float | None, level: float = 0.95, signed: bool = False) -> str:
    if low is None or high is None:
        return f"{_pct(level)} CI n/a"
    fmt = "{:+.4f}" if signed else "{:.4f}"
    return f"{_pct(level)} CI {fmt.format(low)}..{fmt.format(high)}"


def check_gate(gate: Gate, metrics: dict[str, Metric], comparison: "Comparison | None" = None,
               baseline_problem: str | None = None, *, writing: bool = False) -> GateResult:
    """A gate's numbers and, for a gate that needs no build-wide correction, its verdict.
    ``writing``: this run becomes the baseline (its baseline gates have nothing to compare)."""
    if gate.baseline:
        result = _baseline_numbers(gate, metrics, comparison, baseline_problem, writing)
        return decide(result, result.p_value) if result.tested else result
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
    reason = _straddles(gate, ci)
    if reason:
        detail += f"; {reason}"
    return GateResult(label=gate.label, metric=gate.metric, value=value, ci=ci,
                      verdict="PASS" if passed else "FAIL", detail=detail, reason=reason,
                      gate=gate)


def _straddles(gate: Gate, ci: tuple[float | None, float | None]) -> str:
    """A threshold gate is decided on this run's value; say when its interval spans the bound."""
    low, high = ci
    if low is None or high is None:
        return ""
    for bound in (gate.min, gate.max):
        if bound is not None and low < bound < high:
            return (f"borderline: the interval includes {bound:g}, so another run of the same "
                    "model could land on the other side")
    return ""


def _baseline_numbers(gate: Gate, metrics: dict[str, Metric], comparison: "Comparison | None",
                      baseline_problem: str | None, writing: bool) -> GateResult:
    metric = metrics.get(gate.metric)
    value = metric.value if metric else None
    ci = (metric.ci_low, metric.ci_high) if metric else (None, None)
    result = GateResult(label=gate.label, metric=gate.metric, value=value, ci=ci, verdict="FAIL",
                        detail="", kind="baseline", gate=gate, level=gate.confidence)
    if writing:
        result.verdict = "PASS"
        result.detail = (f"{gate.metric} = {_num(value)}: this run becomes the baseline "
                         "(--rft-baseline-update)")
        return result
    if comparison is None:
        result.detail = baseline_problem or "no baseline"
        return result
    delta = comparison.deltas.get(gate.metric)
    changes = comparison.changes_text()
    if metric is not None and value is None and (delta is None or delta.n == 0):
        result.detail = (f"{gate.metric}: no scored item in this run to compare with the "
                         "baseline (every item's samples failed: see the run's errors)")
        return result
    if delta is None or delta.n == 0:
        result.detail = (f"{gate.metric}: no item has a value in both this run and the baseline "
                         f"({comparison.baseline.path or comparison.baseline.source}); "
                         "nothing to compare" + (f"; {changes}" if changes else ""))
        return result
    result.baseline, result.delta = delta.baseline, delta.delta
    result.delta_info, result.changes, result.tested = delta, changes, True
    est = delta.estimate
    if est.reason is None:
        result.delta_ci = est.interval(result.level)
        result.p_value = est.p_below(-gate.max_drop)
        low = result.delta_ci[0]
        result.rules_out = None if low is None else max(0.0, -low)
    return result


def decide(result: GateResult, p_adjusted: float | None, *, correction: str = "none",
           family: int = 1) -> GateResult:
    """A tested baseline gate's verdict from its corrected p-value (the build's family)."""
    gate, delta = result.gate, result.delta_info
    assert gate is not None and delta is not None
    result.p_adjusted, result.correction, result.family = p_adjusted, correction, family
    alpha = (1.0 - gate.confidence) / 2  # each side of the interval
    est, margin = delta.estimate, gate.max_drop
    p_ok = est.p_above(-margin) if est.reason is None else None
    if delta.n < MIN_PAIRED:
        result.verdict = "INCONCLUSIVE"
        result.reason = (f"only {delta.n} paired item(s): a verdict needs at least {MIN_PAIRED}")
    elif est.reason is not None:
        result.verdict, result.reason = "INCONCLUSIVE", est.reason
    elif p_adjusted is not None and p_adjusted < alpha:
        result.verdict, result.reason = "FAIL", ""
    elif p_ok is not None and p_ok < alpha:
        result.verdict, result.reason = "PASS", ""
    else:
        result.verdict, result.reason = "INCONCLUSIVE", _why_undecided(result, alpha)
    result.detail = explain(result)
    return result


def judge_gates(gates: list[GateResult], family: int, correction: str,
                undecided: list[GateResult] | None = None) -> None:
    """Decide a build's tested baseline gates together: each p-value corrected over ``family``
    tests (the ones not in ``gates`` count as p = 1). Only ``undecided`` (default: all) get a
    verdict; the others keep theirs (given earlier, with fewer tests known: still valid)."""
    from .estimates import adjust

    tested = [g for g in gates if g.tested]
    adjusted = adjust([1.0 if g.p_value is None else g.p_value for g in tested], family,
                      correction)
    pending = None if undecided is None else {id(g) for g in undecided}
    for gate, p in zip(tested, adjusted):
        if pending is None or id(gate) in pending:
            decide(gate, p, correction=correction, family=family)


def family_text(result: GateResult) -> str:
    """What a baseline gate's correction was over, as its line says it."""
    if result.suite_files <= 1:
        return f"the suite's {result.family} baseline-gate tests"
    return (f"{result.family} baseline-gate tests (the suite's {result.family // result.suite_files}"
            f" for each of the project's {result.suite_files} suite files)")


def _why_undecided(result: GateResult, alpha: float) -> str:
    gate, delta = result.gate, result.delta_info
    assert gate is not None and delta is not None
    est = delta.estimate
    if isinstance(est, PairedBinary) and est.p_tango(-gate.max_drop) < alpha \
            <= mcnemar_worse(est.down, est.up):
        return (f"too few discordant items ({est.down} down, {est.up} up) for the exact "
                "McNemar test to reach the level")
    if result.p_value is not None and result.p_value < alpha:
        return (f"a drop beyond the margin alone (p={_p(result.p_value)}), not after "
                f"{result.correction} over {family_text(result)}")
    low, high = result.delta_ci
    if gate.max_drop == 0:
        return ("margin 0: only a proven improvement passes; set max_drop to the drop you can "
                "accept")
    return (f"the {_pct(result.level)} interval {_num_signed(low)}..{_num_signed(high)} includes "
            f"-{gate.max_drop:g}: the data can't tell a drop of {gate.max_drop:g} from none")


def _num_signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.4f}"


def _p(p: float | None) -> str:
    return "n/a" if p is None else ("<0.001" if p < 0.001 else f"{p:.3f}")


def explain(result: GateResult) -> str:
    """The gate line: value with CI, baseline, delta with CI and method, p, margin, verdict,
    what the data rule out and what size would decide."""
    gate, delta = result.gate, result.delta_info
    assert gate is not None and delta is not None
    now = f"{gate.metric} = {_num(result.value)} ({_ci(*result.ci)})"
    corr = "" if delta.correlation is None else f", item correlation {delta.correlation:.2f}"
    parts = [now,
             f"baseline {_num(delta.baseline)} vs {_num(delta.current)} on {delta.n} paired "
             f"items{corr}",
             f"delta {delta.delta:+.4f} ({_ci(*result.delta_ci, level=result.level, signed=True)}"
             + (f"; {delta.estimate.method})" if delta.estimate.method else ")")]
    if result.p_value is not None:
        shown = _p(result.p_value)
        p = f"p(drop > {gate.max_drop:g}) " + ("< " + shown[1:] if shown.startswith("<")
                                                 else "= " + shown)
        if result.correction != "none" and result.family > 1:
            p += f", {result.correction} over {result.family} tests: {_p(result.p_adjusted)}"
        parts.append(p)
    parts.append(f"margin {gate.max_drop:g}")
    verdict = result.verdict
    if verdict == "FAIL":
        verdict += f": a drop beyond {gate.max_drop:g} (the interval lies below -{gate.max_drop:g})"
    elif verdict == "PASS":
        verdict += f": no drop beyond {gate.max_drop:g} (the interval lies above -{gate.max_drop:g})"
    else:
        verdict += f": {result.reason}"
    if result.rules_out is not None and result.verdict != "FAIL":
        verdict += f"; the data rule out drops larger than {result.rules_out:.4f}"
    if result.verdict != "FAIL":
        verdict += _hint_text(result)
    text = "; ".join(parts) + f" -> {verdict}"
    return text + (f"; NOTE {result.changes}" if result.changes else "")


def _hint_text(result: GateResult) -> str:
    """What this suite can detect, and (INCONCLUSIVE, the estimate on the good side of the
    margin) what size would let an unchanged model pass. Sizes are from this run's spread."""
    gate, delta = result.gate, result.delta_info
    assert gate is not None and delta is not None
    hints = delta.hints(gate.max_drop, result.family)
    if hints is None:
        return ""
    text = ""
    if hints.detects < 1.0:  # beyond 1 no drop of a score in [0, 1] would do
        text += f"; detects drops of {hints.detects:.4f} or more (80% power)"
    size = size_to_decide(result)
    return text + (f"; {size}" if size else "")


def size_to_decide(result: GateResult) -> str:
    """An INCONCLUSIVE gate whose estimate is on the good side of the margin: the suite size
    at which an unchanged model would pass (from this run's spread); '' otherwise."""
    gate, delta = result.gate, result.delta_info
    if result.verdict != "INCONCLUSIVE" or gate is None or delta is None:
        return ""
    hints = delta.hints(gate.max_drop, result.family)
    good_side = delta.delta is not None and delta.delta > -gate.max_drop
    if hints is None or hints.pass_items is None or not good_side:
        return ""
    low, high = hints.pass_items
    size = f"{low}" if low == high else f"{low}-{high}"
    text = f"an unchanged model passes with 80% power at about {size} items"
    if hints.pass_repeats is not None:
        text += f" or {hints.pass_repeats} repeats"
    return text
