"""Throughput: the whole pytest process against a raw aiohttp loop and a bare SDK loop.

    python benchmarks/throughput.py                # 2,000 calls (2,000 items x 1), concurrency 100
    python benchmarks/throughput.py --big          # also 30,000 calls (10,000 items x 3), conc. 200
    python benchmarks/throughput.py --repeat 3 --latency 0.1

The local OpenAI-compatible server runs in a child process with ``--latency`` seconds per call
(its CPU is not counted). Each round runs, against the same server:

* **raw aiohttp**: an ``aiohttp.ClientSession`` + semaphore posting chat bodies and
  ``json.loads``-ing the answers -- the floor for any Python client (timed in-process, the loop
  only);
* **bare SDK**: ``openai.AsyncOpenAI`` + semaphore (``benchmarks/bare_sdk.py``, timed in-process,
  the loop only);
* **pytest-rft**: ``python -m pytest`` on a suite of those items with the direct transport and
  ``--rft-report``, with pytest-rft as the only plugin besides pytest's own (``--dev-plugins``
  loads everything installed), timed as a whole process: interpreter start-up, collection, sampling,
  grading, 2,000 / 30,000 test reports, the summary and the JSON report. Its peak RSS is the
  child's ``ru_maxrss``.

Medians over ``--repeat`` rounds. Goals (issue #9): 2,000 calls, whole process <= 1.45x raw
aiohttp and <= 0.8x bare SDK; 30,000 calls <= 1.35x raw aiohttp with RSS <= 250 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bare_sdk import MESSAGES, bare_loop, start_server  # noqa: E402

SUITE = """\
suite: throughput
dataset: data.jsonl
repeats: {repeats}
input:
  - {{role: system, content: "Answer in JSON."}}
  - {{role: user, content: "{{{{ item.text }}}}"}}
graders:
  ok: {{type: string_check, input: "{{{{ sample.output_text }}}}", reference: "ok", operation: like}}
"""


async def raw_loop(base_url: str, api_key: str, n_calls: int, concurrency: int,
                   model: str = "m") -> dict[str, float]:
    """``n_calls`` chat completions with nothing but aiohttp and json."""
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency),
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"})
    sem = asyncio.Semaphore(concurrency)
    url = base_url + "/chat/completions"
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        body = {"model": model, "messages": [*MESSAGES, {"role": "user", "content": f"item {i}"}]}
        async with sem:
            async with session.post(url, data=json.dumps(body).encode()) as resp:
                data = json.loads(await resp.read())
                if resp.status != 200:
                    errors += 1
                else:
                    _ = data["choices"][0]["message"]["content"]

    w0, c0 = time.perf_counter(), time.process_time()
    try:
        await asyncio.gather(*(one(i) for i in range(n_calls)))
    finally:
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        await session.close()
    assert not errors, errors
    return {"wall_s": wall, "cpu_s": cpu}


def write_project(root: Path, items: int, repeats: int) -> None:
    (root / "rft_throughput.yaml").write_text(SUITE.format(repeats=repeats))
    (root / "data.jsonl").write_text(
        "".join(json.dumps({"id": f"i{i}", "text": f"item {i}"}) + "\n" for i in range(items)))
    (root / "pytest.ini").write_text("[pytest]\n")


def pytest_process(root: Path, base_url: str, api_key: str, concurrency: int,
                   client: str = "direct") -> dict[str, float]:
    """The whole ``python -m pytest`` process: wall, CPU, peak RSS, and its sampling phase."""
    report, phases = root / "report.json", root / "phases.json"
    env = {**os.environ, "OPENAI_API_KEY": api_key, "RFT_PHASES_FILE": str(phases),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a normal installation caches bytecode
    plugins = []
    if not DEV_PLUGINS:  # what `pip install pytest-rft` gives: no hypothesis, xdist, anyio ...
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        plugins = ["-p", "pytest_rft.plugin"]
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rft-model=m",
           *plugins, "-p", "benchmarks.phase_timer",
           f"--rft-base-url={base_url}", f"--rft-concurrency={concurrency}",
           f"--rft-http-client={client}", f"--rft-report={report}"]
    env["RFT_T0"] = repr(time.time())
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, f"pytest exited {proc.returncode}: {' '.join(cmd)}"
    calls = json.loads(report.read_text())["calls"]
    assert not calls["errors"], calls["errors"]
    marks = json.loads(phases.read_text())
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "rss_mb": usage.ru_maxrss / 1024, "sampling_wall_s": calls["wall_s"],
            # where the process's time went (the sampling phase is inside "collected -> tests")
            "startup_s": marks["configure"],
            "collection_s": marks["collected"] - marks["configure"],
            "to_first_test_s": marks["first test"] - marks["collected"],
            "tests_s": marks["last test"] - marks["first test"],
            "finish_s": marks["finished"] - marks["last test"],
            "exit_s": wall - marks["finished"]}


def measure(items: int, repeats: int, concurrency: int, latency: float, rounds: int,
            sdk_client: str) -> dict[str, dict[str, float]]:
    n = items * repeats
    rows: dict[str, list[dict[str, float]]] = {"raw": [], "sdk": [], "rft": []}
    with tempfile.TemporaryDirectory() as tmp, start_server(latency) as server:
        root = Path(tmp)
        write_project(root, items, repeats)
        asyncio.run(raw_loop(server.base_url, server.api_key, 200, 50))  # warm-up
        asyncio.run(bare_loop(server.base_url, server.api_key, 200, 50))
        for _ in range(rounds):
            rows["raw"].append(asyncio.run(raw_loop(server.base_url, server.api_key, n,
                                                    concurrency)))
            rows["sdk"].append(asyncio.run(bare_loop(server.base_url, server.api_key, n,
                                                     concurrency, transport=sdk_client)))
            rows["rft"].append(pytest_process(root, server.base_url, server.api_key,
                                              concurrency))
    return {name: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
            for name, runs in rows.items()}


def show(items: int, repeats: int, concurrency: int, latency: float, rounds: int,
         result: dict[str, dict[str, float]], goals: dict[str, float]) -> None:
    n = items * repeats
    raw, sdk, rft = result["raw"], result["sdk"], result["rft"]
    print(f"\n{n:,} calls ({items:,} items x {repeats}), concurrency {concurrency}, server latency "
          f"{latency * 1000:.0f} ms, median of {rounds}; ideal {n * latency / concurrency:.2f} s")
    print(f"  {'':34} {'wall s':>7} {'calls/s':>8} {'CPU ms/call':>12} {'vs raw':>7}")
    for label, row in (("raw aiohttp loop", raw), ("bare SDK loop (" + SDK_CLIENT + ")", sdk),
                       ("pytest-rft, whole pytest process", rft)):
        print(f"  {label:34} {row['wall_s']:7.2f} {n / row['wall_s']:8.0f} "
              f"{1000 * row['cpu_s'] / n:12.3f} {row['wall_s'] / raw['wall_s']:6.2f}x")
    print(f"  pytest-rft sampling phase: {rft['sampling_wall_s']:.2f} s; "
          f"peak RSS {rft['rss_mb']:.0f} MB")
    print(f"  pytest-rft process phases (medians, s): start-up to configure "
          f"{rft['startup_s']:.2f}, collection {rft['collection_s']:.2f}, to the first test "
          f"(sampling and its set-up) {rft['to_first_test_s']:.2f}, {items:,} tests "
          f"{rft['tests_s']:.2f}, summary + report + unconfigure {rft['finish_s']:.2f}, "
          f"exit {rft['exit_s']:.2f}")
    checks = [f"whole process / raw = {rft['wall_s'] / raw['wall_s']:.2f} (goal <= {goals['raw']})"]
    if "sdk" in goals:
        checks.append(f"whole process / bare SDK = {rft['wall_s'] / sdk['wall_s']:.2f} "
                      f"(goal <= {goals['sdk']})")
    if "rss" in goals:
        checks.append(f"RSS {rft['rss_mb']:.0f} MB (goal <= {goals['rss']:.0f} MB)")
    print("  " + "; ".join(checks))


SDK_CLIENT = "httpx"
DEV_PLUGINS = False


def main(argv: list[str] | None = None) -> None:
    global SDK_CLIENT, DEV_PLUGINS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--repeat", type=int, default=3, help="rounds (the median is shown)")
    ap.add_argument("--big", action="store_true", help="also 10,000 items x 3 at concurrency 200")
    ap.add_argument("--only-big", action="store_true", help="only the 30,000-call run")
    ap.add_argument("--sdk-client", choices=["httpx", "aiohttp"], default="httpx",
                    help="HTTP client under the bare SDK loop (default: the SDK's default)")
    ap.add_argument("--dev-plugins", action="store_true",
                    help="let pytest load every installed plugin (in a development environment: "
                         "hypothesis, xdist, anyio ...; they add 0.2-0.4 s to each start); by "
                         "default pytest-rft is the only one, as after `pip install pytest-rft`")
    args = ap.parse_args(argv)
    SDK_CLIENT, DEV_PLUGINS = args.sdk_client, args.dev_plugins
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} (other processes share the CPUs: compare ratios)")
    if not args.only_big:
        result = measure(args.items, 1, args.concurrency, args.latency, args.repeat,
                         args.sdk_client)
        show(args.items, 1, args.concurrency, args.latency, args.repeat, result,
             {"raw": 1.45, "sdk": 0.8})
    if args.big or args.only_big:
        result = measure(10_000, 3, 200, args.latency, args.repeat, args.sdk_client)
        show(10_000, 3, 200, args.latency, args.repeat, result, {"raw": 1.35, "rss": 250})


if __name__ == "__main__":
    main()
