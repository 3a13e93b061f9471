"""Write graders/precision.json, recall.json and f1.json from one Python source.

The graders are OpenAI ``python`` graders (``def grade(sample, item) -> float``, standard
library only), so the same files can be used for reinforcement fine-tuning. ``f1`` is a
``multi`` grader that combines the other two, inlined verbatim.

    python example_suite/tools/make_graders.py
"""

from __future__ import annotations

import json
from pathlib import Path

GRADERS = Path(__file__).resolve().parent.parent / "graders"

COMMON = '''\
import json


def _codes(value):
    """The set of codes in [{"code": str}, ...]; None if value has another shape."""
    if not isinstance(value, list):
        return None
    codes = set()
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("code"), str):
            return None
        codes.add(entry["code"])
    return codes


def _counts(sample, item):
    """(correct, predicted, reference) code counts; None if the output is unusable."""
    reference = _codes(item.get("level1"))
    if reference is None:
        raise ValueError("item['level1'] must be a list of {'code': str}")
    try:
        output = json.loads(sample.get("output_text") or "")
    except (TypeError, ValueError):
        return None
    predicted = _codes(output.get("level1")) if isinstance(output, dict) else None
    if predicted is None:
        return None
    return len(predicted & reference), len(predicted), len(reference)
'''

PRECISION = COMMON + '''

def grade(sample, item) -> float:
    """Share of the predicted codes that are in the reference."""
    counts = _counts(sample, item)
    if counts is None or counts[1] == 0:
        return 0.0
    return counts[0] / counts[1]
'''

RECALL = COMMON + '''

def grade(sample, item) -> float:
    """Share of the reference codes that were predicted."""
    counts = _counts(sample, item)
    if counts is None:
        return 0.0
    if counts[2] == 0:
        return 1.0
    return counts[0] / counts[2]
'''


def python_grader(name: str, source: str) -> dict:
    return {"type": "python", "name": name, "source": source}


def main() -> None:
    precision, recall = python_grader("precision", PRECISION), python_grader("recall", RECALL)
    f1 = {
        "type": "multi",
        "name": "f1",
        "graders": {"precision": precision, "recall": recall},
        "calculate_output": "2 * precision * recall / max(precision + recall, 1e-9)",
    }
    for grader in (precision, recall, f1):
        path = GRADERS / f"{grader['name']}.json"
        path.write_text(json.dumps(grader, indent=2) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
