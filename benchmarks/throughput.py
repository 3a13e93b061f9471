"""The plugin against a bare loop over the openai SDK: same 2,000 calls, same local server.

    python benchmarks/throughput.py [--calls 2000] [--concurrency 100] [--repeat 3]

For each latency (0 ms and 100 ms) the local OpenAI-compatible server runs in a child process
(its CPU is not counted). In this process, alternately: the bare SDK loop
(``benchmarks/bare_sdk.py``: AsyncOpenAI + a semaphore) and pytest running a suite of
``--calls`` items through the plugin (rendering, the adaptive limiter, retries bookkeeping,
parsing, grading with a string_check grader). The plugin's figures are those of its sampling
phase (``CallStats``: wall and CPU time while all calls run); the whole pytest session, with
collection and 2,000 test reports, is printed too. Medians over ``--repeat`` rounds.

Goals (issue #3): at 100 ms the plugin's wall time is within 10% of the larger of
N x latency / concurrency and the bare loop's; at 0 ms the plugin's CPU per call is at most
15% above the bare loop's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.bare_sdk import bare_loop, start_server  # noqa: E402
from pytest_rft.plugin import CALLS  # noqa: E402

SUITE = """\
suite: throughput
dataset: data.jsonl
input:
  - {role: system, content: "Answer in JSON."}
  - {role: user, content: "{{ item.text }}"}
graders:
  ok: {type: string_check, input: "{{ sample.output_text }}", reference: "ok", operation: like}
"""


class Capture:
    """Reads the run's CallStats at the end of the session."""

    def pytest_sessionfinish(self, session):
        self.calls = session.config.stash.get(CALLS, None)


def plugin_run(root: Path, base_url: str, api_key: str, concurrency: int,
               client: str) -> dict[str, float]:
    os.environ["OPENAI_API_KEY"] = api_key
    capture = Capture()
    w0, c0 = time.perf_counter(), time.process_time()
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        code = pytest.main([str(root), "-qq", "-p", "no:cacheprovider", f"--rootdir={root}",
                            "--rft-model=m", f"--rft-base-url={base_url}",
                            f"--rft-concurrency={concurrency}", f"--rft-http-client={client}"],
                           plugins=[capture])
    session_wall, session_cpu = time.perf_counter() - w0, time.process_time() - c0
    calls = capture.calls
    assert code == 0 and calls is not None and not calls.errors, (code, calls)
    return {"wall_s": calls.wall_s, "cpu_s": calls.cpu_s, "session_wall_s": session_wall,
            "session_cpu_s": session_cpu}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.1])
    ap.add_argument("--http-client", choices=["httpx", "aiohttp"], default="httpx",
                    help="HTTP client under the SDK, for both loops")
    args = ap.parse_args(argv)
    n, conc = args.calls, args.concurrency
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "rft_throughput.yaml").write_text(SUITE)
        (root / "data.jsonl").write_text(
            "".join(json.dumps({"id": f"i{i}", "text": f"item {i}"}) + "\n" for i in range(n)))
        for latency in args.latency:
            bare, plugin = [], []
            with start_server(latency) as server:
                asyncio.run(bare_loop(server.base_url, server.api_key, 100, 20))  # warm-up
                for _ in range(args.repeat):
                    bare.append(asyncio.run(bare_loop(server.base_url, server.api_key, n, conc,
                                                      transport=args.http_client)))
                    plugin.append(plugin_run(root, server.base_url, server.api_key, conc,
                                             args.http_client))
            med = lambda rows, key: statistics.median(r[key] for r in rows)  # noqa: E731
            b_wall, b_cpu = med(bare, "wall_s"), med(bare, "cpu_s")
            p_wall, p_cpu = med(plugin, "wall_s"), med(plugin, "cpu_s")
            ideal = n * latency / conc
            print(f"\n{n} calls, concurrency {conc}, server latency {latency * 1000:.0f} ms, "
                  f"{args.http_client} (median of {args.repeat})")
            print(f"  bare SDK loop : wall {b_wall:6.2f} s  CPU {1000 * b_cpu / n:5.2f} ms/call  "
                  f"{n / b_wall:6.0f} calls/s")
            print(f"  pytest-rft    : wall {p_wall:6.2f} s  CPU {1000 * p_cpu / n:5.2f} ms/call  "
                  f"{n / p_wall:6.0f} calls/s   (whole pytest session: "
                  f"{med(plugin, 'session_wall_s'):.2f} s wall)")
            if latency:
                bound = max(ideal, b_wall)
                print(f"  wall vs max(ideal {ideal:.2f} s, bare {b_wall:.2f} s): "
                      f"{100 * (p_wall / bound - 1):+.1f}% (goal <= +10%)")
            else:
                print(f"  CPU per call vs bare: {100 * (p_cpu / b_cpu - 1):+.1f}% (goal <= +15%)")


if __name__ == "__main__":
    main()
