"""Sampling every selected item of every suite concurrently, under one adaptive budget.

The runner owns concurrency, retries and counting; backends make one attempt per call.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import agent
from ..backends.base import Backend, CallError, TransientError
from ..suite.dataset import Item
from ..core.errors import RftError
from ..suite.output_schema import violation
from ..core.records import (EMPTY, INVALID_JSON, OK, REFUSAL, SCHEMA_VIOLATION, TRUNCATED, Completion,
                      Request, SampleResult, Usage)
from ..core.secrets import scrub, without_surrogates
from ..suite.loader import Suite


@dataclass
class RunSettings:
    concurrency: int = 16
    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    seed: int = 0
    timeout: float | None = None
    """Deadline of one call, whatever the transport does (a server dripping bytes included)."""
    max_answer: int | None = None
    """Characters of one answer (its text, tool calls and refusal) past which it is an error."""


@dataclass
class SuiteRun:
    """One suite against one model: the items selected for it and, once sampled, results."""

    suite: Suite
    model: str
    items: list[Item] = field(default_factory=list)
    results: dict[str, list[SampleResult]] = field(default_factory=dict)
    sampled: bool = False
    repeats: int | None = None
    """Overrides the suite's ``repeats`` (``--rft-repeats``)."""
    api: str | None = None
    """Overrides the suite's ``api`` (``--rft-api``)."""
    untested: int = 0
    """Items sampled for the gates but not selected as tests (-k, --deselect ...)."""
    gated: bool = True
    """False when no gate of this run was selected: its numbers cover the selected items only."""
    confirm: dict[str, list[SampleResult]] = field(default_factory=dict)
    """Confirmation repeats (after the main ones) of the items tested for a regression, or of
    the passing items of a baseline being written: they count in item tests only."""

    @property
    def key(self) -> str:
        key = self.__dict__.get("_key")
        if key is None:  # worked out once: it keys dicts per item
            key = self.__dict__["_key"] = f"{self.suite.name}[{self.model}]"
        return key


@dataclass
class CallStats:
    """What the calls cost and how they failed, for the terminal summary and report."""

    planned: int = 0
    done: int = 0
    calls: int = 0
    retries: int = 0
    errors: collections.Counter = field(default_factory=collections.Counter)
    retried_causes: collections.Counter = field(default_factory=collections.Counter)
    kinds: collections.Counter = field(default_factory=collections.Counter)
    usage: Usage = field(default_factory=Usage)
    latencies: list[float] = field(default_factory=list)
    min_concurrency: int = 0
    grader_errors: int = 0
    """Samples with at least one grader error (they count against the error gate too)."""
    zeroed: int = 0
    """Samples with grader errors scored 0 (the suite's ``errors_as_zero``)."""
    stopped: dict[str, str] = field(default_factory=dict)
    """model -> the configuration error that stopped its calls (no key, 401, unknown model)."""
    wall_s: float = 0.0
    cpu_s: float = 0.0
    """CPU time of this process while sampling (the HTTP client, the runner and grading)."""

    def latency_percentiles(self) -> dict[str, float]:
        if not self.latencies:
            return {}
        ordered = sorted(self.latencies)
        pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
        return {"p50": pick(0.50), "p90": pick(0.90), "p99": pick(0.99), "max": ordered[-1]}


STOPPING_CAUSES = frozenset({"no api key", "http 401", "http 403", "http 404", "bad api",
                             "cache unreadable"})
"""Errors that will be the same for every call of a model (wrong key, unknown model, an
endpoint that doesn't speak the API): the first stops that model's calls."""


class AdaptiveLimiter:
    """A semaphore whose size halves when the server throttles (429) and grows back by one per
    ``limit`` successful calls (AIMD). Throttles from calls started before the last cut are
    ignored, so one burst of 429s halves the budget once, not once per call."""

    def __init__(self, limit: int):
        self.ceiling = max(1, limit)
        self.limit = float(self.ceiling)
        self.lowest = self.ceiling
        self.active = 0
        self.epoch = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def acquire(self) -> int:
        if self.active < int(self.limit) and not self._waiters:
            self.active += 1
            return self.epoch
        future = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release_slot()
            raise
        return self.epoch

    def release(self, epoch: int, *, ok: bool, throttled: bool) -> None:
        if throttled and epoch == self.epoch:
            self.limit = max(1.0, self.limit / 2)
            self.lowest = min(self.lowest, int(self.limit))
            self.epoch += 1
        elif ok and self.limit < self.ceiling:
            self.limit = min(float(self.ceiling), self.limit + 1.0 / self.limit)
        self._release_slot()

    def _release_slot(self) -> None:
        self.active -= 1
        while self._waiters and self.active < int(self.limit):
            future = self._waiters.popleft()
            if not future.done():
                self.active += 1
                future.set_result(None)


Progress = Callable[[CallStats], None]
ItemDone = Callable[[SuiteRun, str], None]
"""Told when every repeat of an item has its result (sorted by repeat from then on)."""
Confirmations = Callable[[], list[tuple[SuiteRun, Item, int]]]
"""Asked once the main repeats are in: (run, item, k) to sample k more repeats of, into
``run.confirm`` (repeats numbered after the main ones)."""


async def run_all(runs: list[SuiteRun], backends: dict[str, Backend], settings: RunSettings,
                  progress: Progress | None = None, item_done: ItemDone | None = None,
                  confirmations: Confirmations | None = None) -> CallStats:
    """Sample and grade every (run, item, repeat); results land in ``run.results`` as they
    finish, so an interrupted run keeps what it has. Then the ``confirmations``, under the same
    budget and counts."""
    stats = CallStats()
    limiter = AdaptiveLimiter(settings.concurrency)
    rng = random.Random(settings.seed)
    from ..backends.judge import current_judge

    if (judge := current_judge()) is not None:  # judge graders share the budget and retries
        judge.attach(limiter, settings, rng)
    for run in runs:
        run.sampled = True
        for item in run.items:
            run.results.setdefault(item.id, [])
    stats.planned = sum(len(run.items) * _repeats(run) for run in runs)
    started, cpu_started = time.perf_counter(), time.process_time()
    ticker = asyncio.create_task(_tick(stats, progress)) if progress else None
    feeder = _Feeder(backends, limiter, settings, stats, rng, item_done)
    try:
        await feeder.run(runs)
        extra = _confirmation_jobs(confirmations(), stats) if confirmations else []
        await asyncio.gather(*(
            _sample(run, item, repeat, messages, backends[run.model], limiter, settings, stats,
                    rng, into=run.confirm)
            for run, item, repeat, messages in extra))
    finally:
        stats.wall_s = time.perf_counter() - started
        stats.cpu_s = time.process_time() - cpu_started
        stats.min_concurrency = limiter.lowest
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

    def __init__(self, backends: dict[str, Backend], limiter: AdaptiveLimiter,
                 settings: RunSettings, stats: CallStats, rng: random.Random,
                 item_done: ItemDone | None):
        self.backends = backends
        self.limiter = limiter
        self.settings = settings
        self.stats = stats
        self.rng = rng
        self.item_done = item_done
        self.window = max(64, 4 * settings.concurrency)
        self.pending: dict[tuple[str, str], int] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.failure: BaseException | None = None
        self.room: asyncio.Semaphore | None = None

    async def run(self, runs: list[SuiteRun]) -> None:
        self.room = asyncio.Semaphore(self.window)
        try:
            for run in runs:
                repeats = _repeats(run)
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
            await _sample(run, item, repeat, messages, backend, self.limiter, self.settings,
                          self.stats, self.rng)
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
        start = _repeats(run)
        run.confirm.setdefault(item.id, [])
        messages = run.suite.render_messages(item)  # it rendered for the main repeats
        jobs.extend((run, item, repeat, messages) for repeat in range(start, start + k))
    stats.planned += len(jobs)
    return jobs


def _unrenderable(run: SuiteRun, item: Item, exc: RftError, stats: CallStats) -> None:
    message = f"the prompt template can't be filled from this record: {exc.message}"
    if exc.fix:
        message += f" (fix: {exc.fix})"
    for repeat in range(_repeats(run)):
        result = SampleResult(item_id=item.id, repeat=repeat, model=run.model)
        _fail(result, stats, "template", message)
        run.results[item.id].append(result)


def _repeats(run: SuiteRun) -> int:
    return run.repeats or run.suite.config.repeats


async def _tick(stats: CallStats, progress: Progress) -> None:
    while True:
        await asyncio.sleep(0.2)
        progress(stats)


async def _sample(run: SuiteRun, item: Item, repeat: int, messages: list[dict[str, Any]],
                  backend: Backend, limiter: AdaptiveLimiter, settings: RunSettings,
                  stats: CallStats, rng: random.Random,
                  into: dict[str, list[SampleResult]] | None = None) -> None:
    suite = run.suite
    tools = suite.tools_for(item)
    request = Request(model=run.model, messages=messages, response_schema=suite.response_schema,
                      sampling=suite.sampling_for(repeat, run.model), item=item.data, item_id=item.id,
                      repeat=repeat, suite=suite.name, api=run.api or suite.config.api or "chat",
                      tools=tools, tool_choice=suite.tool_choice if tools else None,
                      parallel_tool_calls=suite.config.parallel_tool_calls if tools else None)
    result = SampleResult(item_id=item.id, repeat=repeat, model=run.model)

    def call(turn_request: Request) -> Any:
        return _call_with_retries(backend, turn_request, limiter, settings, stats, rng, result)

    episode = await agent.run(request, call, suite.toolbox(item, settings.timeout),
                              suite.max_turns)
    result.turns = episode.turns
    if tools is not None:
        result.trajectory = episode.trajectory
        result.stop = episode.stop
    if episode.crash is not None or result.failed:
        result.usage = episode.usage  # the turns before the failure were spent
        stats.usage.add(episode.usage)
        if episode.crash is not None:
            _fail(result, stats, "tool error", episode.crash)
    elif episode.last is not None and not result.failed:
        _fill_sample(result, episode.last, schema_given=suite.response_schema is not None,
                     schema=(suite.response_schema or {}).get("schema"))
        result.tool_calls = episode.tool_calls
        result.usage = episode.usage
        stats.kinds[result.kind] += 1
        stats.usage.add(result.usage)
        await _grade(suite, result, item)
        if result.grader_errors:
            stats.grader_errors += 1
        if result.zeroed:
            stats.zeroed += 1
    (run.results if into is None else into)[item.id].append(result)
    stats.done += 1


async def _call_with_retries(backend: Backend, request: Request, limiter: AdaptiveLimiter,
                             settings: RunSettings, stats: CallStats, rng: random.Random,
                             result: SampleResult) -> Completion | None:
    """One model call with the run's retries; an agent loop's calls add up their attempts and
    latencies in ``result``."""
    before = result.attempts
    for attempt in range(1, settings.max_retries + 2):
        result.attempts = before + attempt
        epoch = await limiter.acquire()
        if request.model in stats.stopped:  # fail fast: say it once, don't send it again
            limiter.release(epoch, ok=False, throttled=False)
            result.attempts = before + attempt - 1
            _fail(result, stats, "not sent", f"not sent: this model's calls stopped after "
                                             f"{stats.stopped[request.model]}")
            return None
        stats.calls += 1
        started = time.perf_counter()
        try:
            completion = await _deadline(backend.complete(request), settings.timeout)
        except TransientError as exc:
            limiter.release(epoch, ok=False, throttled=exc.throttled)
            if attempt > settings.max_retries:
                _fail(result, stats, exc.cause, f"{exc.message} (after {attempt} attempt"
                                                f"{'' if attempt == 1 else 's'})")
                return None
            stats.retries += 1
            stats.retried_causes[exc.cause] += 1
            await asyncio.sleep(_backoff(attempt, exc.retry_after, settings, rng))
            continue
        except CallError as exc:
            limiter.release(epoch, ok=False, throttled=False)
            _fail(result, stats, exc.cause, exc.message)
            if exc.cause in STOPPING_CAUSES:
                stats.stopped.setdefault(request.model, f"{exc.cause}: {result.error}")
            return None
        except Exception as exc:  # a Python model that raised: an error, never a zero
            limiter.release(epoch, ok=False, throttled=False)
            _fail(result, stats, "model raised", f"{type(exc).__name__}: {exc}")
            return None
        limiter.release(epoch, ok=True, throttled=False)
        latency = time.perf_counter() - started
        result.latency_s = (result.latency_s or 0.0) + latency
        stats.latencies.append(latency)
        size = _answer_size(completion)
        if settings.max_answer and size > settings.max_answer:
            _fail(result, stats, "answer too large",
                  f"the answer is {size:,} characters, more than {settings.max_answer:,} "
                  "(--rft-max-answer-size)")
            return None
        return completion
    raise AssertionError("unreachable")


DEADLINE_GRACE = float(os.environ.get("PYTEST_RFT_DEADLINE_GRACE", "1.0"))
"""Seconds the deadline allows past the timeout: the backend's own timeout ends ordinary slow
calls first, with its own error; the deadline ends what it can't (a server dripping one byte at
a time resets a per-read timeout forever) without cutting calls still queued in a busy client.
(The environment variable lets tests of the transports' own timeouts keep the deadline out of
their way on a loaded machine.)"""


_timeout = getattr(asyncio, "timeout", None)


async def _deadline(call, timeout: float | None):
    """``call`` within about ``timeout`` seconds (connect, headers, body and all reads)."""
    if timeout is None:
        return await call
    try:
        if _timeout is not None:  # 3.11+: no extra task per call, unlike wait_for
            async with _timeout(timeout + DEADLINE_GRACE):
                return await call
        return await asyncio.wait_for(call, timeout + DEADLINE_GRACE)
    except asyncio.TimeoutError:
        raise TransientError("timeout", f"no complete answer within {timeout:g}s "
                                        "(--rft-timeout)") from None


def _backoff(attempt: int, retry_after: float | None, settings: RunSettings,
             rng: random.Random) -> float:
    """Exponential backoff with full jitter; the server's Retry-After wins when it gives one."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), settings.backoff_cap)
    ceiling = min(settings.backoff_cap, settings.backoff_base * 2 ** (attempt - 1))
    return rng.uniform(ceiling / 2, ceiling)


def _answer_size(completion: Completion) -> int:
    size = len(completion.output_text or "") + len(completion.refusal or "")
    if completion.tool_calls:
        size += len(json.dumps(completion.tool_calls, default=str))
    return size


def _text(value: str | None) -> str | None:
    """Model text as text (a lone surrogate becomes U+FFFD)."""
    return without_surrogates(value) if value else value


def _fail(result: SampleResult, stats: CallStats, cause: str, message: str) -> None:
    result.error_cause = cause
    result.error = scrub(message)
    stats.errors[cause] += 1


def _fill_sample(result: SampleResult, completion: Completion, *, schema_given: bool,
                 schema: dict[str, Any] | None = None) -> None:
    """Copy the completion into the result and classify its output (ok, truncated, ...)."""
    result.output_text = _text(completion.output_text) or ""
    result.tool_calls = completion.tool_calls
    result.finish_reason = completion.finish_reason
    result.refusal = _text(completion.refusal)
    result.usage = completion.usage
    if completion.empty:
        result.kind = EMPTY
    elif completion.refusal:
        result.kind = REFUSAL
    elif completion.finish_reason == "length":
        result.kind = TRUNCATED
    else:
        result.kind = OK
        text = result.output_text.strip()
        if completion.tool_calls and not text:
            return  # the model called tools: nothing to parse (its calls are the output)
        if text[:1] in "{[" or schema_given:
            try:
                result.output_json = json.loads(text)
            except ValueError:
                result.kind = INVALID_JSON if schema_given else OK
            else:
                result.schema_error = violation(schema, result.output_json)
                if result.schema_error is not None:
                    result.kind = SCHEMA_VIOLATION


def sample_for_output(text: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``sample`` a grader sees for a model's output ``text``, derived exactly as a run
    derives it (``output_json`` when the text parses as JSON; for ``validate-grader --sample``)."""
    result = SampleResult(item_id="", repeat=0, model="")
    _fill_sample(result, Completion(output_text=text), schema_given=schema is not None,
                 schema=schema)
    return sample_view(result)


def sample_view(result: SampleResult) -> dict[str, Any]:
    """The ``sample`` graders and templates see (OpenAI names); output_json only when parsed.
    ``output_tools`` holds every tool call of the sample (of every turn of an agent loop);
    ``choices`` the last answer, its calls included; ``trajectory`` the turns (tools only)."""
    message: dict[str, Any] = {"role": "assistant", "content": result.output_text or ""}
    last_calls = result.tool_calls
    if result.trajectory:
        last_calls = result.trajectory[-1].get("tool_calls") or []
    if last_calls:
        message["tool_calls"] = last_calls
    view: dict[str, Any] = {"output_text": result.output_text or "",
                            "output_tools": result.tool_calls,
                            "choices": [{"message": message,
                                         "finish_reason": result.finish_reason}]}
    if result.kind in (OK, SCHEMA_VIOLATION) and result.output_json is not None:
        view["output_json"] = result.output_json
    if result.trajectory is not None:
        view["trajectory"] = result.trajectory
    return view


async def _grade(suite: Suite, result: SampleResult, item: Item) -> None:
    sample = sample_view(result)
    for grader in suite.graders:
        try:
            grades = await grader.agrade(sample, item.data)
        except Exception as exc:  # a bug in a grader must not stop the run
            result.grader_errors[grader.name] = scrub(f"{type(exc).__name__}: {exc}")
            continue
        for name, value in grades.scores.items():
            problem = _unusable(value)
            if problem:
                result.grader_errors[name] = f"grader {name!r} returned {problem}"
            else:
                result.scores[name] = float(value)
        result.grader_errors.update({k: scrub(v) for k, v in grades.errors.items()})
        result.zeroed.update({k: scrub(v) for k, v in grades.zeroed.items()})
        result.grader_details.update(grades.details)
    if suite.config.errors_as_zero and result.grader_errors:
        # the hosted platform's behaviour, asked for: the error scores 0 and is still shown
        for name, message in result.grader_errors.items():
            result.scores[name] = 0.0
            result.zeroed[name] = message
        result.grader_errors = {}


MAX_SCORE = 1e12
"""Scores beyond this are grader bugs (and would overflow the statistics), not scores."""


def _unusable(value: object) -> str:
    """Why a score can't be aggregated ('' when it can)."""
    if not isinstance(value, (int, float)):
        return f"a {type(value).__name__}, not a number"
    if value != value:
        return ""  # NaN: "could not be computed", already left out of the statistics
    if not -MAX_SCORE <= value <= MAX_SCORE:
        return f"{value!r}, out of the range a score can have (|score| <= 1e12)"
    return ""
