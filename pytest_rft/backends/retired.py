"""Models OpenAI retired (or retires): the date, and the one-line warning both ``pytest-rft
import`` and a run give for a model under test or a judge that names one.

A name matches when it is the model, a dated snapshot of it (``o4-mini-2025-04-16``) or a
fine-tune of one (``ft:gpt-4o-2024-08-06:org::id`` and its checkpoints). Other models of the
same line (``gpt-4o-mini``, ``gpt-4.1-nano``) are not in these notices and do not match.
"""

from __future__ import annotations

import datetime
import re

_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")

class RetiredModelWarning(UserWarning):
    """A model under test or a judge that OpenAI retired or retires."""


RETIRED: tuple[tuple[str, str], ...] = (
    ("o4-mini", "2026-10-23"),
    ("o3-mini", "2026-10-23"),
    ("o1", "2026-10-23"),
    ("gpt-4o", "2027-01-14"),
    ("gpt-4.1", "2027-01-14"),
)
"""(family, ISO date) from OpenAI's deprecation notices."""


def retirement(model: str) -> tuple[str, str] | None:
    """(family, date) when ``model`` belongs to a retired family, else None."""
    if not isinstance(model, str):
        return None
    base = model.split(":")[1] if model.startswith("ft:") else model
    base = _SNAPSHOT.sub("", base)
    for family, date in RETIRED:
        if base == family:
            return family, date
    return None


def warning(model: str, role: str, today: datetime.date | None = None) -> str | None:
    """``"judge o3-mini: OpenAI retired o3-mini on 2026-10-23 ..."`` or None."""
    found = retirement(model)
    if found is None:
        return None
    family, date = found
    today = today or datetime.date.today()
    when = "retired" if datetime.date.fromisoformat(date) <= today else "retires"
    if "judge" in role:
        fix = (f"swap it without editing graders: --rft-judge-model {model}=NEW, or "
               f"'models: {{{model}: {{use: NEW}}}}' in the suite")
    else:
        fix = (f"test its successor: --rft-model NEW, or 'models: {{{model}: {{use: NEW}}}}' "
               "in the suite")
    return f"{role} {model}: OpenAI {when} {family} (and its fine-tunes) on {date}; {fix}"
