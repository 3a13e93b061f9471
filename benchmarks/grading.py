"""Grading throughput: 10,000 samples through the example suite's F1 multi grader (two python
sub-graders), with grader isolation on (worker processes, batched) and off (in process).

    python benchmarks/grading.py [N_SAMPLES] [--workers N]

Samples are graded the way the runner grades them: one ``await grader.agrade(sample, item)``
per sample, all concurrently on one event loop. "on" includes starting the worker processes.
Goal: isolation on under 5 s for 10,000 samples on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import time
from pathlib import Path

from pytest_rft.graders import build_grader
from pytest_rft.graders.base import GradingContext
from pytest_rft.graders.isolation import GraderPool, PoolSettings, usable_cores

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "example_suite"


def workload(n: int, seed: int = 0) -> list[tuple[dict, dict]]:
    rng = random.Random(seed)
    items = [json.loads(line) for line in (SUITE / "data/validation.jsonl").read_text().splitlines()]
    items = [row.get("item", row) for row in items]
    codes = sorted({c["code"] for it in items for c in it["level1"]})
    out = []
    for i in range(n):
        item = items[i % len(items)]
        guess = rng.sample(codes, rng.randint(0, 4)) + [c["code"] for c in item["level1"]
                                                        if rng.random() < 0.6]
        text = json.dumps({"level1": [{"code": c} for c in sorted(set(guess))]})
        if i % 50 == 0:
            text = text[:-3]  # some invalid JSON
        out.append(({"output_text": text, "output_tools": [], "choices": []}, item))
    return out


async def grade_all(grader, samples, context) -> list:
    return await asyncio.gather(*(grader.agrade(s, i, context) for s, i in samples))


def timed(grader, samples, pool) -> tuple[float, list]:
    started = time.perf_counter()
    with pool or contextlib.nullcontext():
        results = asyncio.run(grade_all(grader, samples, GradingContext(pool=pool)))
    return time.perf_counter() - started, results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    grader = build_grader("f1", {"file": "graders/f1.json"}, base_dir=SUITE, where="bench")
    samples = workload(args.n)
    off, plain_results = timed(grader, samples, None)
    workers = args.workers or usable_cores()
    on, pooled = timed(grader, samples, GraderPool(PoolSettings(workers=workers)))
    same = all(a.scores == b.scores and a.errors == b.errors for a, b in zip(plain_results, pooled))
    mean = sum(r.scores.get("f1", 0.0) for r in pooled) / len(pooled)
    print(f"{args.n} samples, F1 multi grader (2 python sub-graders), {usable_cores()} core(s)")
    print(f"isolation off (in process):            {off:6.2f} s")
    print(f"isolation on  ({workers} worker processes):    {on:6.2f} s  (incl. worker start)")
    print(f"identical scores: {same}; mean f1 {mean:.4f}")


if __name__ == "__main__":
    main()
