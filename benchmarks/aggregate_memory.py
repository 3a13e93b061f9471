"""Wall time and peak memory of aggregating 100,000 sample results.

Builds 10,000 items x 10 repeats (3 scores each, JSON outputs with label lists, 2 % failed
calls, 1 % grader errors), then runs all_item_stats + suite_metrics + label_metrics (labels
extracted from output_json, bootstrap over items). Goal: peak RSS under 300 MB.

    python benchmarks/aggregate_memory.py [--items 10000] [--repeats 10] [--n-boot 1000]
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_rft.core.records import OK, SampleResult  # noqa: E402
from pytest_rft.analysis.labels import extract_labels, label_metrics  # noqa: E402
from pytest_rft.analysis.stats import all_item_stats, suite_metrics  # noqa: E402

LABELS = [f"{i:02d}" for i in range(21)]
SCORES = ["accuracy", "f1", "format"]


def build(n_items: int, repeats: int, seed: int = 0) -> tuple[list[SampleResult], dict[str, Any]]:
    """Synthetic sample results and each item's reference JSON."""
    rnd = random.Random(seed)
    results: list[SampleResult] = []
    references: dict[str, Any] = {}
    for i in range(n_items):
        item_id = f"item-{i:05d}"
        truth = rnd.sample(LABELS, rnd.randint(1, 4))
        references[item_id] = {"level1": [{"code": c} for c in truth]}
        for k in range(repeats):
            if rnd.random() < 0.02:
                results.append(SampleResult(item_id, k, "model", error="http 429"))
                continue
            pred = [c for c in truth if rnd.random() < 0.8] + rnd.sample(LABELS, rnd.randint(0, 1))
            scores = {"accuracy": rnd.random(), "f1": rnd.random(), "format": 1.0}
            grader_errors = {}
            if rnd.random() < 0.01:
                grader_errors["f1"] = "could not parse"
                del scores["f1"]
            results.append(SampleResult(
                item_id, k, "model", output_json={"level1": [{"code": c} for c in pred]},
                kind=OK, scores=scores, grader_errors=grader_errors,
            ))
    return results, references


def aggregate(results: list[SampleResult], references: dict[str, Any], n_boot: int) -> None:
    """The aggregation path the plugin runs at the end of a session."""
    items = all_item_stats(results, primary="accuracy", pass_threshold=0.5)
    suite_metrics(items, SCORES, n_boot=n_boot)
    pred, ref, groups = [], [], []
    for r in results:
        if r.error is not None:
            continue
        pred.append(extract_labels(r.output_json, "level1[*].code"))
        ref.append(extract_labels(references[r.item_id], "level1[*].code"))
        groups.append(r.item_id)
    label_metrics(pred, ref, groups=groups, n_boot=n_boot)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--n-boot", type=int, default=1000)
    args = ap.parse_args()
    n = args.items * args.repeats

    t0 = time.perf_counter()
    results, references = build(args.items, args.repeats)
    t_build = time.perf_counter() - t0
    rss_data_mb = _max_rss_mb()

    # Timed run; ru_maxrss is read before tracemalloc (whose own bookkeeping inflates RSS).
    gc.collect()
    t0 = time.perf_counter()
    aggregate(results, references, args.n_boot)
    t_agg = time.perf_counter() - t0
    rss_mb = _max_rss_mb()

    # Allocations made by the aggregation itself (data built before tracing started).
    gc.collect()
    tracemalloc.start()
    aggregate(results, references, args.n_boot)
    traced_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()

    print(f"build {n} samples: {t_build:.2f} s, peak RSS after build {rss_data_mb:.0f} MB")
    print(f"aggregate {n} samples: {t_agg:.2f} s (n_boot={args.n_boot}), "
          f"peak RSS {rss_mb:.0f} MB (goal < 300 MB), "
          f"tracemalloc peak of the aggregation alone {traced_peak_mb:.0f} MB")
    print("PASS" if rss_mb < 300 else "ABOVE GOAL")


def _max_rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024

if __name__ == "__main__":
    main()
