"""What the test loop samples and how its nodes run: the runs with a selected node (and the
items each must sample), the leading nodes that may report while sampling, and the notes for
other plugins' options that do nothing to suite nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .nodes import RftItem, RftNode
from .settings import settings_of

if TYPE_CHECKING:
    from ..core.records import SuiteRun
    from ..suite.dataset import Item

LEAN = pytest.StashKey[bool]()


def selected_runs(session: pytest.Session) -> list[SuiteRun]:
    """Runs with at least one selected node, and what each must sample: a gate judges its whole
    suite, so a run with a selected gate samples every item (selected as a test or not); a run
    with only items selected samples just those."""
    selected: dict[str, SuiteRun] = {}
    chosen: dict[str, list[Item]] = {}
    gated: set[str] = set()
    for node in getattr(session, "items", ()):  # an xdist controller never collects (pytest < 9: none)
        if isinstance(node, RftNode):
            selected[node.run.key] = node.run
            if isinstance(node, RftItem):
                chosen.setdefault(node.run.key, []).append(node.item)
            else:
                gated.add(node.run.key)
    limit = settings_of(session.config).limit
    for key, run in selected.items():
        tested = chosen.get(key, [])
        run.gated = key in gated
        if run.gated:
            every = run.suite.items[:limit] if limit is not None else run.suite.items
            run.items = list(every)
            run.untested = len(every) - len(tested)
        else:
            run.items = tested
    return list(selected.values())


def streamable(session: pytest.Session) -> list[RftNode]:
    """The leading suite nodes that take the lean protocol (they may report while sampling);
    none in batch modes (a batch is sent, or written, whole)."""
    config = session.config
    if not lean_allowed(config) or settings_of(config).batch_mode:
        return []
    from . import protocol

    nodes = []
    for node in session.items:
        if not (isinstance(node, RftNode) and protocol.plain(node)):
            break
        nodes.append(node)
    return nodes


def lean_allowed(config: pytest.Config) -> bool:
    if LEAN not in config.stash:
        from . import protocol

        config.stash[LEAN] = protocol.lean_allowed(config)
    return config.stash[LEAN]


# Options of other plugins that act per test run and do nothing for a suite node; said once.
NOT_FOR_SUITE_NODES = {
    "reruns": "--reruns (pytest-rerunfailures) does not rerun suite nodes: their verdicts come "
              "from samples drawn once per run, and a rerun would judge the same samples again; "
              "for more samples per item raise the suite's repeats or pass --rft-repeats",
    "count": "--count (pytest-repeat) does not repeat suite nodes: each item is sampled 'repeats' "
             "times per run already; raise the suite's repeats or pass --rft-repeats",
}


def foreign_option_notes(config: pytest.Config) -> list[str]:
    notes = []
    for name, note in NOT_FOR_SUITE_NODES.items():
        value = getattr(config.option, name, None)
        if value and not (name == "count" and value == 1):
            notes.append(f"rft: {note}")
    return notes
