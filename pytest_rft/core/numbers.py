"""Comparing scores with bounds up to float rounding (suites check thresholds at load, the
statistics check gates: both the same way)."""

TOLERANCE = 1e-9
"""Slack when comparing a score with a threshold (float rounding of means)."""


def at_least(value: float, bound: float) -> bool:
    """``value >= bound`` up to float rounding."""
    return value >= bound - TOLERANCE * max(1.0, abs(bound))


def at_most(value: float, bound: float) -> bool:
    return value <= bound + TOLERANCE * max(1.0, abs(bound))
