"""What makes a suite node fail, as pure functions of its numbers (the nodes in ``nodes.py``
raise what these decide, with the texts of ``explain.py``).

An item is, in this order: *broken* when any of its samples has an error (errors are not
scores); *failed* when it is critical and its primary score is below the suite's pass
threshold, or when the build confirmed it regressed against the baseline; else it passes. A gate
fails on a FAIL verdict, and on INCONCLUSIVE only with ``--rft-inconclusive=fail``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BROKEN = "broken"
CRITICAL = "critical"
REGRESSED = "regressed"


@dataclass(frozen=True)
class ItemVerdict:
    status: str
    """The short text after PASSED / FAILED: ``f1=0.800±0.100 n=3 Δ-0.100 regressed flaky``."""
    fault: str | None = None
    """None (it passes), BROKEN, CRITICAL or REGRESSED."""

    @property
    def failed(self) -> bool:
        return self.fault is not None


def item_status(numbers: Any, primary: str, delta: float | None = None, regressed: bool = False,
                dropped: bool = False, flaky: bool = False) -> str:
    """``numbers`` (an ``ItemStats``): the primary score's mean, spread and count, the delta
    against the baseline, and what the comparison found."""
    score = numbers.scores.get(primary)
    status = (f"{primary}={score.mean:.3f}" + (f"±{score.std:.3f}" if score.n > 1 else "")
              + f" n={score.n}") if score else "no score"
    if delta is not None:
        status += f" Δ{delta:+.3f}"
    if regressed:
        status += " regressed"
    elif dropped:
        status += " dropped, not confirmed"
    if flaky:
        status += " flaky"
    return status


def item_verdict(numbers: Any, primary: str, *, errors: bool, critical: bool,
                 delta: float | None = None, regressed: bool = False, dropped: bool = False,
                 flaky: bool = False) -> ItemVerdict:
    """An item's verdict: ``errors`` whether any sample has one; ``critical`` the record's flag;
    ``numbers.passed`` whether its primary score reaches the pass threshold; ``regressed`` and
    ``dropped`` what the comparison with the baseline found for it."""
    status = item_status(numbers, primary, delta, regressed, dropped, flaky)
    if errors:
        return ItemVerdict(status, BROKEN)
    if critical and not numbers.passed:
        return ItemVerdict(status, CRITICAL)
    if regressed:
        return ItemVerdict(status, REGRESSED)
    return ItemVerdict(status)


def critical_text(status: str, pass_threshold: float) -> str:
    return f"critical item below threshold: {status} < pass_threshold {pass_threshold:g}"


def gate_failure(verdict: str, inconclusive: bool, policy: str, detail: str) -> str | None:
    """Why a gate fails (None: it passes): ``verdict`` PASS / FAIL / INCONCLUSIVE, ``policy``
    ``--rft-inconclusive`` (pass, fail, exit2)."""
    if verdict == "FAIL":
        return f"gate failed: {detail}"
    if inconclusive and policy == "fail":
        return f"gate INCONCLUSIVE (--rft-inconclusive=fail): {detail}"
    return None
