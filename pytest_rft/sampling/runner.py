"""Sampling every selected item of every suite concurrently, under one adaptive budget.

The runner schedules the samples and runs each one (its agent loop, its grading); the calls
themselves go through the session's ``backends.calls.CallContext`` (limiter, retries,
deadline), and backends make one attempt per call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from . import agent
from .grading import fill_sample, grade
from ..backends.base import Backend
from ..backends.calls import CallContext, fail
from ..core.errors import RftError
from ..core.records import CallStats, Request, SampleResult, SuiteRun
from ..suite.dataset import Item

Progress = Callable[[CallStats], None]
ItemDone = Callable[[SuiteRun, str], None]
"""Told when every repeat of an item has its result (sorted by repeat from then on)."""
Confirmations = Callable[[], list[tuple[SuiteRun, Item, int]]]
"""Asked once the main repeats are in: (run, item, k) to sample k more repeats of, into
``run.confirm`` (repeats numbered after the main ones)."""


async def run_all(runs: list[SuiteRun], backends: dict[str, Backend], calls: CallContext,
                  progress: Progress | None = None, item_done: ItemDone | None = None,
                  confirmations: Confirmations | None = None, grading: Any = None) -> CallStats:
    """Sample and grade every (run, item, repeat) through ``calls``; results land in
    ``run.results`` as they finish, so an interrupted run keeps what it has. Then the
    ``confirmations``, under the same budget and counts. ``grading`` (a
    ``graders.base.GradingContext``) is given to every grader: the run's judge and pool."""
    stats = CallStats()
    for run in runs:
        run.sampled = True
        for item in run.items:
            run.results.setdefault(item.id, [])
    stats.planned = sum(len(run.items) * run.repeats for run in runs)
    started, cpu_started = time.perf_counter(), time.process_time()
    ticker = asyncio.create_task(_tick(stats, progress)) if progress else None
    feeder = _Feeder(backends, calls, grading, stats, item_done)
    try:
        await feeder.run(runs)
        extra = _confirmation_jobs(confirmations(), stats) if confirmations else []
        await asyncio.gather(*(
            _sample(run, item, repeat, messages, backends[run.model], calls, grading, stats,
                    into=run.confirm)
            for run, item, repeat, messages in extra))
    finally:
        stats.wall_s = time.perf_counter() - started
        stats.cpu_s = time.process_time() - cpu_started
        stats.min_concurrency = calls.limiter.lowest
        if ticker:
            ticker.cancel()
        for run in runs:  # keep the report stable whatever the completion order was
            for results in (*run.results.values(), *run.confirm.values()):
                results.sort(key=lambda r: r.repeat)
        if progress:
            progress(stats)
    return stats


class _Feeder:
    """Starts one task per sample, in order, keeping at most ``window`` of them alive: the
    limiter decides how many call the model at once; the window only keeps a 200,000-sample run
    from holding 200,000 tasks and rendered prompts at once (memory), while samples in backoff
    can't starve the calls (it is several times the concurrency). Prompts are rendered when an
    item's turn comes."""

    def __init__(self, backends: dict[str, Backend], calls: CallContext, grading: Any,
                 stats: CallStats, item_done: ItemDone | None):
        self.backends = backends
        self.calls = calls
        self.grading = grading
        self.stats = stats
        self.item_done = item_done
        self.window = max(64, 4 * calls.settings.concurrency)
        self.pending: dict[tuple[str, str], int] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.failure: BaseException | None = None
        self.room: asyncio.Semaphore | None = None

    async def run(self, runs: list[SuiteRun]) -> None:
        self.room = asyncio.Semaphore(self.window)
        try:
            for run in runs:
                repeats = run.repeats
                backend = self.backends[run.model]
                for item in run.items:
                    try:
                        messages = run.suite.render_messages(item)
                    except RftError as exc:  # this record can't fill the prompt: its error
                        _unrenderable(run, item, exc, self.stats)
                        self.stats.planned -= repeats
                        if self.item_done is not None:
                            self.item_done(run, item.id)
                        continue
                    self.pending[run.key, item.id] = repeats
                    for repeat in range(repeats):
                        await self.room.acquire()
                        self._raise_failure()
                        task = asyncio.ensure_future(self._one(run, item, repeat, messages,
                                                               backend))
                        self.tasks.add(task)
                        task.add_done_callback(self._finished)
            while self.tasks:
                await asyncio.wait(set(self.tasks))
            self._raise_failure()
        finally:
            for task in self.tasks:
                task.cancel()
            if self.tasks:
                await asyncio.gather(*self.tasks, return_exceptions=True)

    def _raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and self.failure is None:
            self.failure = task.exception()

    async def _one(self, run: SuiteRun, item: Item, repeat: int,
                   messages: list[dict[str, Any]], backend: Backend) -> None:
        try:
            await _sample(run, item, repeat, messages, backend, self.calls, self.grading,
                          self.stats)
        finally:
            assert self.room is not None
            self.room.release()
        key = (run.key, item.id)
        self.pending[key] -= 1
        if not self.pending[key]:
            del self.pending[key]
            if self.item_done is not None:
                run.results[item.id].sort(key=lambda r: r.repeat)
                self.item_done(run, item.id)


def _confirmation_jobs(targets: list[tuple[SuiteRun, Item, int]], stats: CallStats
                       ) -> list[tuple[SuiteRun, Item, int, list[dict[str, Any]]]]:
    jobs = []
    for run, item, k in targets:
        start = run.repeats
        run.confirm.setdefault(item.id, [])
        messages = run.suite.render_messages(item)  # it rendered for the main repeats
        jobs.extend((run, item, repeat, messages) for repeat in range(start, start + k))
    stats.planned += len(jobs)
    return jobs


def _unrenderable(run: SuiteRun, item: Item, exc: RftError, stats: CallStats) -> None:
    message = f"the prompt template can't be filled from this record: {exc.message}"
    if exc.fix:
        message += f" (fix: {exc.fix})"
    for repeat in range(run.repeats):
        result = SampleResult(item_id=item.id, repeat=repeat, model=run.model)
        fail(result, stats, "template", message)
        run.results[item.id].append(result)


async def _tick(stats: CallStats, progress: Progress) -> None:
    while True:
        await asyncio.sleep(0.2)
        progress(stats)


async def _sample(run: SuiteRun, item: Item, repeat: int, messages: list[dict[str, Any]],
                  backend: Backend, calls: CallContext, grading: Any, stats: CallStats,
                  into: dict[str, list[SampleResult]] | None = None) -> None:
    suite = run.suite
    tools = suite.tools_for(item)
    request = Request(model=run.model, messages=messages, response_schema=suite.response_schema,
                      sampling=suite.sampling_for(repeat, run.model), item=item.data, item_id=item.id,
                      repeat=repeat, suite=suite.name, api=run.api,
                      tools=tools, tool_choice=suite.tool_choice if tools else None,
                      parallel_tool_calls=suite.config.parallel_tool_calls if tools else None)
    result = SampleResult(item_id=item.id, repeat=repeat, model=run.model)

    def call(turn_request: Request) -> Any:
        return calls.call(backend, turn_request, stats, result)

    episode = await agent.run(request, call, suite.toolbox(item, calls.settings.timeout),
                              suite.max_turns)
    result.turns = episode.turns
    if tools is not None:
        result.trajectory = episode.trajectory
        result.stop = episode.stop
    if episode.crash is not None or result.failed:
        result.usage = episode.usage  # the turns before the failure were spent
        stats.usage.add(episode.usage)
        if episode.crash is not None:
            fail(result, stats, "tool error", episode.crash)
    elif episode.last is not None and not result.failed:
        fill_sample(result, episode.last, schema_given=suite.response_schema is not None,
                     schema=(suite.response_schema or {}).get("schema"))
        result.tool_calls = episode.tool_calls
        result.usage = episode.usage
        stats.kinds[result.kind] += 1
        stats.usage.add(result.usage)
        await grade(suite, result, item, grading)
        if result.grader_errors:
            stats.grader_errors += 1
        if result.zeroed:
            stats.zeroed += 1
    (run.results if into is None else into)[item.id].append(result)
    stats.done += 1
