"""Split corpus.jsonl into train.jsonl and validation.jsonl, balanced per label.

Iterative stratification for multi-label data (Sechidis, Tsoumakas & Vlahavas, 2011): take the
label with the fewest examples still unassigned, and give each of its examples to the split that
most lacks that label (ties: the split that most lacks examples, then a seeded coin flip).
The default seed is the one, among the first ten, that gave the most even split.

    python example_suite/tools/split.py [--validation 0.25] [--seed 3]
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
SPLITS = ("train", "validation")


def labels_of(record: dict) -> set[str]:
    return {entry["code"] for entry in record["level1"]}


def stratify(records: list[dict], fractions: list[float], seed: int) -> list[list[dict]]:
    """Assign every record to one of ``len(fractions)`` subsets; deterministic for a seed."""
    rng = random.Random(seed)
    pool = list(records)
    rng.shuffle(pool)
    want = [f * len(pool) for f in fractions]  # examples each subset still needs
    per_label = Counter(code for r in pool for code in labels_of(r))
    want_label = {code: [f * n for f in fractions] for code, n in per_label.items()}
    subsets: list[list[dict]] = [[] for _ in fractions]

    while pool:
        remaining = Counter(code for r in pool for code in labels_of(r))
        if remaining:
            label = min(sorted(remaining), key=lambda c: remaining[c])
            batch = [r for r in pool if label in labels_of(r)]
        else:  # only unlabelled records left
            label, batch = None, list(pool)
        for record in batch:
            def need(j: int) -> tuple[float, float, float]:
                by_label = want_label[label][j] if label else 0.0
                return (by_label, want[j], rng.random())
            j = max(range(len(fractions)), key=need)
            subsets[j].append(record)
            want[j] -= 1
            for code in labels_of(record):
                want_label[code][j] -= 1
            pool.remove(record)
    return [sorted(s, key=lambda r: r["id"]) for s in subsets]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--validation", type=float, default=0.25, help="validation fraction")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    records = [json.loads(line) for line in (DATA / "corpus.jsonl").open() if line.strip()]
    subsets = stratify(records, [1 - args.validation, args.validation], args.seed)
    for name, subset in zip(SPLITS, subsets):
        with (DATA / f"{name}.jsonl").open("w") as f:
            for record in subset:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")

    counts = [Counter(code for r in s for code in labels_of(r)) for s in subsets]
    names = {e["code"]: e["label"] for r in records for e in r["level1"]}
    print(f"{'code':4}  {'label':36} {'train':>5} {'valid':>5}")
    for code in sorted(names):
        print(f"{code:4}  {names[code]:36} {counts[0][code]:5} {counts[1][code]:5}")
    print(f"{'':4}  {'items':36} {len(subsets[0]):5} {len(subsets[1]):5}")


if __name__ == "__main__":
    main()
