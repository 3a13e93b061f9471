"""Errors of samples (a model call that failed, a grader that crashed), identical ones grouped:
once per item with the repeats they hit (the item's failure text), once per run with a count and
the items they hit (the summary). One wrong API key is one line, not one per repeat."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..core.records import NOT_SENT, SampleResult


@dataclass
class ErrorGroup:
    """One distinct error: what failed (``model call failed``, ``grader 'f1' failed``; empty
    when the message says it), its message, and where it happened."""

    what: str
    message: str
    repeats: list[int] = field(default_factory=list)
    """Per item: the repeats it hit, in order."""
    items: list[str] = field(default_factory=list)
    """Per run: the items it hit, in dataset order, each once."""
    count: int = 0
    """Samples it hit."""
    not_sent: int = 0
    """Of ``count``, the samples not sent because this error stopped the model's calls."""


def sample_errors(result: SampleResult) -> Iterable[tuple[str, str]]:
    """(what, message) of each error of one sample."""
    if result.failed:  # a tool implementation that crashed fails the sample too
        yield ("tool failed" if result.error_cause == "tool error" else "model call failed"), \
            result.error or ""
    errors = result.grader_errors
    # a multi grader failed because a sub-grader did: one error, said once, on the sub-grader
    parents: dict[str, list[str]] = {}
    for name, message in errors.items():
        sub = next((k for k, why in errors.items()
                    if k != name and message == f"sub-grader {k!r} failed: {why}"), None)
        if sub is not None:
            parents.setdefault(sub, []).append(name)
    folded = {p for names in parents.values() for p in names}
    for name, message in errors.items():
        if name in folded:
            continue
        if name in parents:
            message += f" (so {', '.join(repr(p) for p in parents[name])} has no score)"
        # "grader 'f1' raised KeyError ..." names its grader already
        yield ("" if message.startswith(f"grader {name!r} ") else f"grader {name!r} failed"), message


def item_errors(results: Iterable[SampleResult]) -> list[ErrorGroup]:
    """An item's errors, identical ones (same what, same message) grouped, first seen first."""
    groups: dict[tuple[str, str], ErrorGroup] = {}
    for result in results:
        for what, message in sample_errors(result):
            group = groups.setdefault((what, message), ErrorGroup(what, message))
            group.repeats.append(result.repeat)
            group.count += 1
    return list(groups.values())


def run_errors(results: dict[str, list[SampleResult]], item_ids: Iterable[str]
               ) -> list[ErrorGroup]:
    """A run's errors over ``item_ids``, identical ones grouped, first seen first (a cause
    before its consequences: a 401 before the calls not sent after it). Samples not sent
    because an error stopped the model's calls count in that error's group (``not_sent``):
    one wrong key is one line."""
    order = {item_id: i for i, item_id in enumerate(item_ids)}
    groups: dict[tuple[str, str], ErrorGroup] = {}
    hit: dict[int, dict[str, None]] = {}
    consequences: list[tuple[str, str, str]] = []
    for item_id in order:
        for result in results.get(item_id, ()):
            for what, message in sample_errors(result):
                if message.startswith(NOT_SENT):
                    consequences.append((item_id, what, message))
                    continue
                group = groups.setdefault((what, message), ErrorGroup(what, message))
                group.count += 1
                hit.setdefault(id(group), {})[item_id] = None
    for item_id, what, message in consequences:
        cause = next((g for (w, m), g in groups.items() if w == what
                      and not m.startswith(NOT_SENT) and message.endswith(f": {m}")), None)
        group = cause or groups.setdefault((what, message), ErrorGroup(what, message))
        group.count += 1
        group.not_sent += cause is not None
        hit.setdefault(id(group), {})[item_id] = None
    for group in groups.values():
        group.items = sorted(hit.get(id(group), {}), key=order.__getitem__)
    return list(groups.values())


def repeats_text(repeats: list[int]) -> str:
    """``repeat 2``, ``repeats 0-2``, ``repeats 0, 3-5``."""
    spans: list[list[int]] = []
    for r in sorted(repeats):
        if spans and r == spans[-1][1] + 1:
            spans[-1][1] = r
        else:
            spans.append([r, r])
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
    return f"repeat{'s' if len(repeats) > 1 else ''} {text}"


def item_lines(groups: list[ErrorGroup]) -> list[str]:
    """``repeats 0-2: model call failed: http 401 ...``, one line per distinct error."""
    return [f"{repeats_text(g.repeats)}: {_said(g)}" for g in groups]


def _said(group: ErrorGroup) -> str:
    return f"{group.what}: {group.message}" if group.what else group.message


def run_lines(groups: list[ErrorGroup], shown_items: int = 5) -> list[str]:
    """``90 samples on 30 items (q1, q2, ... +25 more): model call failed: ...``, one line per
    distinct error."""
    lines = []
    for g in groups:
        ids = ", ".join(g.items[:shown_items])
        if len(g.items) > shown_items:
            ids += f", ... +{len(g.items) - shown_items} more"
        stopped = (f" ({g.not_sent} of them not sent: the model's calls stopped after it)"
                   if g.not_sent else "")
        lines.append(f"{g.count} sample{'s' if g.count != 1 else ''} on {len(g.items)} "
                     f"item{'s' if len(g.items) != 1 else ''} ({ids}): {_said(g)}{stopped}")
    return lines
