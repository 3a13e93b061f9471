"""Baseline for throughput benchmarks: the plain OpenAI SDK under a semaphore.

``bare_loop`` uses the same client settings as ``OpenAIBackend`` (max_retries=0, one shared
connection pool of ``concurrency`` connections), so the difference to the runner is the runner's
own overhead. Run the server in a subprocess so its CPU is not counted::

    from benchmarks.bare_sdk import bare_loop, start_server
    with start_server(latency_s=0.1) as server:
        stats = asyncio.run(bare_loop(server.base_url, server.api_key, 2000, 100, "m"))

CLI: ``python -m benchmarks.bare_sdk --calls 2000 --concurrency 100 --latency 0 0.1 --backend
[--transport aiohttp] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

import openai

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pytest_rft.backends.openai_backend import OpenAIBackend, _httpx_module  # noqa: E402
from tests.support.openai_server import ServerProcess  # noqa: E402

MESSAGES = [{"role": "system", "content": "Answer in JSON."}]


def start_server(latency_s: float = 0.0) -> ServerProcess:
    """Start the local OpenAI-compatible server in a child process (``.base_url``, ``.api_key``).

    Use as a context manager, or call ``.stop()``.
    """
    return ServerProcess(latency=latency_s)


def _result(n_calls: int, concurrency: int, wall: float, cpu: float, errors: int
            ) -> dict[str, Any]:
    return {"calls": n_calls, "concurrency": concurrency, "wall_s": wall, "cpu_s": cpu,
            "cpu_ms_per_call": 1000 * cpu / n_calls, "calls_per_s": n_calls / wall,
            "errors": errors}


async def _timed(one, n_calls: int, close) -> tuple[float, float]:
    """Wall and CPU seconds of ``one(i)`` for every i, run concurrently; then ``close()``."""
    w0, c0 = time.perf_counter(), time.process_time()
    try:
        await asyncio.gather(*(one(i) for i in range(n_calls)))
    finally:
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        await close()
    return wall, cpu


async def bare_loop(base_url: str, api_key: str, n_calls: int, concurrency: int,
                    model: str = "m", timeout: float = 60, transport: str = "httpx"
                    ) -> dict[str, Any]:
    """``n_calls`` chat completions with the bare SDK; returns wall_s, cpu_s and derived rates."""
    httpx = _httpx_module()
    factory = (openai.DefaultAioHttpClient if transport == "aiohttp"
               else openai.DefaultAsyncHttpxClient)
    client = openai.AsyncOpenAI(
        api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout,
        http_client=factory(
            limits=httpx.Limits(max_connections=concurrency,
                                max_keepalive_connections=concurrency),
            timeout=timeout))
    sem = asyncio.Semaphore(concurrency)
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        async with sem:
            try:
                resp = await client.chat.completions.create(
                    model=model, messages=[*MESSAGES, {"role": "user", "content": f"item {i}"}])
                _ = resp.choices[0].message.content
            except openai.OpenAIError:
                errors += 1

    wall, cpu = await _timed(one, n_calls, client.close)
    return _result(n_calls, concurrency, wall, cpu, errors)


async def backend_loop(base_url: str, api_key: str, n_calls: int, concurrency: int,
                       model: str = "m", timeout: float = 60, transport: str = "httpx"
                       ) -> dict[str, Any]:
    """Same as ``bare_loop`` through ``OpenAIBackend.complete`` (adapter overhead only)."""
    from pytest_rft.backends.base import CallError
    from pytest_rft.core.records import Request

    backend = OpenAIBackend(model, api_key=api_key, base_url=base_url, timeout=timeout,
                            max_connections=concurrency,
                            transport=transport)  # type: ignore[arg-type]
    sem = asyncio.Semaphore(concurrency)
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        req = Request(model=model, messages=[*MESSAGES, {"role": "user", "content": f"item {i}"}],
                      response_schema=None, sampling={}, item={}, item_id=str(i), repeat=0)
        async with sem:
            try:
                await backend.complete(req)
            except CallError:
                errors += 1

    wall, cpu = await _timed(one, n_calls, backend.aclose)
    return _result(n_calls, concurrency, wall, cpu, errors)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="bare SDK vs OpenAIBackend against a local server")
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.1])
    ap.add_argument("--backend", action="store_true", help="also time OpenAIBackend")
    ap.add_argument("--transport", choices=["httpx", "aiohttp"], default="httpx")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)
    for latency in args.latency:
        with start_server(latency) as server:
            # warm-up (imports, first connections) outside the measurement
            asyncio.run(bare_loop(server.base_url, server.api_key, 50, 10))
            loops = [("bare_sdk", bare_loop)]
            if args.backend:
                loops.append(("backend", backend_loop))
            for _ in range(args.repeat):
                for name, loop in loops:
                    r = asyncio.run(loop(server.base_url, server.api_key, args.calls,
                                         args.concurrency, transport=args.transport))
                    print(json.dumps({"loop": name, "transport": args.transport,
                                      "latency_s": latency,
                                      **{k: round(v, 4) if isinstance(v, float) else v
                                         for k, v in r.items()}}), flush=True)


if __name__ == "__main__":
    main()
