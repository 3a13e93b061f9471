"""The runner's scheduling pieces: the adaptive limiter and backoff, without HTTP."""

import asyncio
import random

from pytest_rft.sampling.runner import AdaptiveLimiter, RunSettings, _backoff


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
    assert _backoff(1, 2.5, settings, rng) == 2.5
    assert _backoff(3, 0.0, settings, rng) == 0.0
    assert _backoff(1, 999, settings, rng) == 30  # capped
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (10, 30.0)]:
        delays = [_backoff(attempt, None, settings, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 100  # jittered
