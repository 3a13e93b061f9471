"""The call layer without HTTP: the adaptive limiter, backoff, retries, the calls that stop
a model, and one call context shared by the sampler's and the judge's calls."""

import asyncio
import random

from pytest_rft.backends.base import CallError, TransientError
from pytest_rft.backends.calls import AdaptiveLimiter, CallContext, RunSettings, backoff
from pytest_rft.backends.judge import Judge
from pytest_rft.core.records import CallStats, Completion, Request, SampleResult


def test_limiter_halves_once_per_burst_and_grows_back():
    async def scenario():
        limiter = AdaptiveLimiter(8)
        epochs = [await limiter.acquire() for _ in range(8)]
        assert limiter.active == 8
        for epoch in epochs[:4]:  # a burst of 429s from calls started together
            limiter.release(epoch, ok=False, throttled=True)
        assert limiter.limit == 4 and limiter.lowest == 4  # halved once, not four times
        for epoch in epochs[4:]:
            limiter.release(epoch, ok=True, throttled=False)
        assert limiter.active == 0
        # a throttle from a call started after the cut halves again
        epoch = await limiter.acquire()
        limiter.release(epoch, ok=False, throttled=True)
        assert 2 <= limiter.limit < 3  # (4 + 4 small increments) / 2
        for _ in range(40):  # additive increase: about +1 per `limit` successes
            epoch = await limiter.acquire()
            limiter.release(epoch, ok=True, throttled=False)
        assert limiter.limit == 8  # capped at the configured ceiling
        return limiter

    asyncio.run(scenario())


def test_limiter_bounds_concurrency_and_wakes_waiters():
    async def scenario():
        limiter = AdaptiveLimiter(3)
        in_flight = peak = 0

        async def call(i):
            nonlocal in_flight, peak
            epoch = await limiter.acquire()
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0)
            in_flight -= 1
            limiter.release(epoch, ok=True, throttled=i % 7 == 0)

        await asyncio.gather(*(call(i) for i in range(50)))
        return peak, limiter

    peak, limiter = asyncio.run(scenario())
    assert peak <= 3 and limiter.active == 0 and not limiter._waiters


def test_backoff_honours_retry_after_else_exponential_with_jitter():
    settings = RunSettings(backoff_base=0.5, backoff_cap=30)
    rng = random.Random(1)
    assert backoff(1, 2.5, settings, rng) == 2.5
    assert backoff(3, 0.0, settings, rng) == 0.0
    assert backoff(1, 999, settings, rng) == 30  # capped
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (10, 30.0)]:
        delays = [backoff(attempt, None, settings, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 100  # jittered


def request(model="m", text="q"):
    return Request(model=model, messages=[{"role": "user", "content": text}],
                   response_schema=None, sampling={}, item={}, item_id="i", repeat=0)


class Scripted:
    """A backend answering from a script of outcomes (an exception to raise, or text), counting
    the calls in flight (``shared``: a dict several backends count into)."""

    def __init__(self, script, shared=None, pause=0.0):
        self.script = list(script)
        self.shared = shared if shared is not None else {"now": 0, "peak": 0}
        self.pause = pause
        self.sent = 0

    async def complete(self, req):
        self.sent += 1
        self.shared["now"] += 1
        self.shared["peak"] = max(self.shared["peak"], self.shared["now"])
        try:
            await asyncio.sleep(self.pause)
            outcome = self.script.pop(0) if self.script else "ok"
            if isinstance(outcome, Exception):
                raise outcome
            return Completion(output_text=outcome, finish_reason="stop")
        finally:
            self.shared["now"] -= 1

    async def aclose(self):
        pass


def test_retries_count_attempts_then_answer():
    context = CallContext(RunSettings(max_retries=3, backoff_base=0.001, backoff_cap=0.001))
    backend = Scripted([TransientError("http 500", "boom"), TransientError("timeout", "slow"),
                        "fine"])
    stats, result = CallStats(), SampleResult(item_id="i", repeat=0, model="m")
    completion = asyncio.run(context.call(backend, request(), stats, result))
    assert completion.output_text == "fine" and not result.failed
    assert (result.attempts, stats.calls, stats.retries) == (3, 3, 2)
    assert stats.retried_causes == {"http 500": 1, "timeout": 1} and not stats.errors


def test_a_lasting_failure_is_an_error_and_a_stopping_one_stops_the_model():
    context = CallContext(RunSettings(max_retries=1, backoff_base=0.001, backoff_cap=0.001))
    stats = CallStats()
    flaky = Scripted([TransientError("http 503", "down")] * 2)
    failed = SampleResult(item_id="i", repeat=0, model="m")
    assert asyncio.run(context.call(flaky, request(), stats, failed)) is None
    assert failed.error_cause == "http 503" and "(after 2 attempts)" in failed.error
    denied = Scripted([CallError("http 401", "bad key")])
    first, second = (SampleResult(item_id="i", repeat=r, model="k") for r in (0, 1))
    assert asyncio.run(context.call(denied, request("k"), stats, first)) is None
    assert asyncio.run(context.call(denied, request("k"), stats, second)) is None
    assert denied.sent == 1  # the second call was not sent
    assert second.error_cause == "not sent" and "http 401" in second.error
    assert stats.errors == {"http 503": 1, "http 401": 1, "not sent": 1}


def test_a_server_that_never_answered_stops_its_model_after_one_sample_of_retries():
    """Connection refused on every attempt of the first sample: the model's other calls are not
    sent (one sample's retries, not every sample's). After an answer, the same errors only fail
    the calls they hit."""
    context = CallContext(RunSettings(max_retries=2, backoff_base=0.001, backoff_cap=0.001))
    stats = CallStats()
    down = Scripted([TransientError("connection", "connection refused (to http://x)")] * 9)
    results = [SampleResult(item_id="i", repeat=r, model="gone") for r in range(4)]
    for result in results:
        assert asyncio.run(context.call(down, request("gone"), stats, result)) is None
    assert down.sent == 3  # the first sample's three attempts, nothing after
    assert results[0].error_cause == "connection" and "(after 3 attempts)" in results[0].error
    assert {r.error_cause for r in results[1:]} == {"not sent"}
    assert "never answered" in results[1].error
    flaky = Scripted(["fine"] + [TransientError("connection", "reset")] * 3 + ["fine again"])
    first, second, third = (SampleResult(item_id="i", repeat=r, model="up") for r in range(3))
    assert asyncio.run(context.call(flaky, request("up"), stats, first)) is not None
    assert asyncio.run(context.call(flaky, request("up"), stats, second)) is None
    assert asyncio.run(context.call(flaky, request("up"), stats, third)) is not None
    assert "up" not in stats.stopped and second.error_cause == "connection"


def test_the_sampler_and_the_judge_share_one_limiter():
    """Calls through one context never exceed its concurrency together, whoever makes them;
    the judge counts its own calls apart."""
    shared = {"now": 0, "peak": 0}
    context = CallContext(RunSettings(concurrency=2))
    model = Scripted([], shared, pause=0.01)
    judge_model = Scripted([], shared, pause=0.01)
    judge = Judge(lambda name, base_url: judge_model, calls=context)
    stats = CallStats()

    async def scenario():
        samples = [context.call(model, request(text=str(i)), stats,
                                SampleResult(item_id="i", repeat=i, model="m"))
                   for i in range(6)]
        judged = [judge.complete(request("judge", text=str(i))) for i in range(6)]
        return await asyncio.gather(*samples, *judged)

    answers = asyncio.run(scenario())
    assert all(a is not None and a.output_text == "ok" for a in answers)
    assert shared["peak"] == 2  # 12 calls, never more than the context's 2 at once
    assert (stats.calls, judge.stats.calls) == (6, 6)
    assert context.limiter.active == 0
