"""Collection time of a 10,000-item suite (goal: under 2 s).

    python benchmarks/collection.py [N_ITEMS]

Builds a suite with N items in a temporary directory and times pytest's collection phase
(from pytest_collection start to pytest_collection_finish), in process.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import pytest

SUITE = """\
suite: big
dataset: data.jsonl
model: bench-model
input:
  - {role: developer, content: "Answer with the label."}
  - {role: user, content: "{{ item.text }}"}
repeats: 3
graders:
  exact: {type: string_check, input: "{{ sample.output_text }}", reference: "{{ item.label }}", operation: eq}
gates:
  - {metric: exact.mean, min: 0.5}
"""


class Timer:
    def pytest_collection(self, session):
        self.start = time.perf_counter()

    def pytest_collection_finish(self, session):
        self.seconds = time.perf_counter() - self.start
        self.count = len(session.items)


def main(n_items: int = 10_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "rft_big.yaml").write_text(SUITE)
        with (root / "data.jsonl").open("w") as handle:
            for i in range(n_items):
                handle.write(json.dumps({"id": f"item-{i:05d}", "text": f"text number {i} " * 5,
                                         "label": "a" if i % 2 else "b"}) + "\n")
        (root / "conftest.py").write_text(
            "import pytest_rft\n@pytest_rft.model('bench-model')\ndef m(request):\n    return 'a'\n")
        timer = Timer()
        code = pytest.main([str(root), "--collect-only", "-qq", "-p", "no:cacheprovider",
                            f"--rootdir={root}"], plugins=[timer])
        assert code == 0, code
    print(f"collection of a {n_items}-item suite: {timer.seconds:.2f} s "
          f"({timer.count} test items; goal < 2 s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
