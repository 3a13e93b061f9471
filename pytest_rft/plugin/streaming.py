"""Items report while the model answers.

Sampling is I/O-bound: at 100 ms per call the event loop is idle most of the time. Rather than
sample everything and then report 2,000 or 30,000 items, the loop that sends the requests also
reports each node (through pytest's ``pytest_runtest_protocol`` hook) as soon as its verdict
can be known, in pytest's order, between answers. One thread, so no contention for the GIL and
nothing a hook sees differs from pytest's own loop.

When a verdict can be known:

* an item of a suite without a baseline: when its repeats are all in (its numbers are its own);
* a gate of a suite without a baseline: when every run of its suite is in;
* an item or a gate of a run compared with a baseline: when sampling is over, confirmation
  repeats included (regressions and baseline gates are judged over the whole build, every
  test corrected for the others: ``RftSession.judge_build``).

Only the leading nodes of the session that take the lean protocol stream: the first other test
(a Python test, a marked node) waits until sampling ends, and so does everything after it, so no
user code runs inside the event loop. Under ``-x``/``--maxfail`` reporting stops at the failure;
sampling still completes, as it did before any item ran, so the report is the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from ..sampling.runner import CallStats, SuiteRun


class Stream:
    """The leading ``nodes`` of the session, reported by ``alongside`` while sampling runs.

    ``whole(run)``: whether the run's nodes need the whole build (a baseline to compare with).
    ``item_reported(run, item)``: told after an item (a dataset ``Item``) reported, to do then
    what the end of the session will need of it (the loop is idle then).
    """

    def __init__(self, session: pytest.Session, nodes: list[Any], runs: list[SuiteRun],
                 whole: Callable[[SuiteRun], bool],
                 item_reported: Callable[[SuiteRun, Any], None] | None = None):
        self.session = session
        self._item_reported = item_reported
        self.nodes = nodes
        self.reported = 0
        """How many of ``nodes`` went through the protocol (the rest are pytest's loop's)."""
        self._whole = {run.key: whole(run) for run in runs}
        self._suite_runs: dict[str, list[SuiteRun]] = {}
        for run in runs:
            self._suite_runs.setdefault(str(run.suite.path), []).append(run)
        self._left = {run.key: len(run.items) for run in runs}
        self._items_done: set[tuple[str, str]] = set()
        self._finished = False
        self._changed: asyncio.Event | None = None

    def item_done(self, run: SuiteRun, item_id: str) -> None:
        """``runner.run_all``'s callback: all repeats of ``item_id`` are in."""
        self._items_done.add((run.key, item_id))
        self._left[run.key] -= 1
        if self._changed is not None:
            self._changed.set()

    def _ready(self, node: Any) -> bool:
        if self._finished:
            return True
        run = node.run
        if self._whole[run.key]:
            return False  # judged with the whole build, once sampling is over
        item = getattr(node, "item", None)
        if item is not None:
            return (run.key, item.id) in self._items_done
        return all(not self._left[r.key] for r in self._suite_runs[str(run.suite.path)])

    async def alongside(self, sampling: Awaitable[CallStats]) -> CallStats:
        """Run ``sampling`` and report the nodes meanwhile; sampling's result or its error (an
        error raised while reporting ends sampling and is raised instead)."""
        self._changed = asyncio.Event()
        sampler = asyncio.ensure_future(sampling)
        reporter = asyncio.ensure_future(self._report())
        try:
            done, _ = await asyncio.wait({sampler, reporter},
                                         return_when=asyncio.FIRST_COMPLETED)
            if reporter in done and reporter.exception() is not None:
                sampler.cancel()
                await asyncio.gather(sampler, return_exceptions=True)
                return reporter.result()  # raises what the reporting raised
            calls = await sampler  # reporting may have stopped early (-x): sampling goes on
            self._finished = True  # nodes judged with the whole build may report now
            self._changed.set()
            await reporter
            return calls
        finally:
            for task in (sampler, reporter):
                task.cancel()

    async def _report(self) -> None:
        session, nodes = self.session, self.nodes
        hook = session.config.hook
        after = session.items[len(nodes)] if len(nodes) < len(session.items) else None
        changed = self._changed
        assert changed is not None
        waiting = getattr(asyncio.get_running_loop(), "_ready", ())  # callbacks due to run
        for index, node in enumerate(nodes):
            while not self._ready(node):
                changed.clear()
                await changed.wait()
            while waiting and not self._finished:
                await asyncio.sleep(0)  # answers first: a report can wait, a free slot can't
            nextitem = nodes[index + 1] if index + 1 < len(nodes) else after
            hook.pytest_runtest_protocol(item=node, nextitem=nextitem)
            self.reported = index + 1
            item = getattr(node, "item", None)
            if item is not None and self._item_reported is not None:
                self._item_reported(node.run, item)
            if session.shouldfail or session.shouldstop:
                return
            await asyncio.sleep(0)


def run_rest(session: pytest.Session, start: int) -> None:
    """pytest's own loop (``_pytest.main.pytest_runtestloop``) from ``session.items[start]``."""
    items = session.items
    if session.shouldfail:
        raise session.Failed(session.shouldfail)
    if session.shouldstop:
        raise session.Interrupted(session.shouldstop)
    for index in range(start, len(items)):
        item = items[index]
        nextitem = items[index + 1] if index + 1 < len(items) else None
        item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
        if session.shouldfail:
            raise session.Failed(session.shouldfail)
        if session.shouldstop:
            raise session.Interrupted(session.shouldstop)
