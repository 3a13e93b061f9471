"""``--rft-judge-model`` values: a judge model for every judge grader, or ``OLD=NEW`` remaps
(parsed at start-up to check them, and again where judges are made)."""

from __future__ import annotations

from typing import Any


def judge_models(values: Any) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """``--rft-judge-model`` values (repeatable; a string from the ini): (``NAME`` replacing
    every judge, or None; ``OLD=NEW`` remaps). A malformed remap is a ValueError."""
    if isinstance(values, str):
        values = values.split()
    model, remaps = None, []
    for value in values or []:
        old, sep, new = str(value).partition("=")
        if not sep:
            model = str(value)
        elif old.strip() and new.strip():
            remaps.append((old.strip(), new.strip()))
        else:
            raise ValueError(f"--rft-judge-model {value!r}: write OLD=NEW "
                             "(e.g. --rft-judge-model o3-mini=gpt-5-mini)")
    return model, tuple(remaps)
