"""Collection time of a suite (goals: 10,000 items under 2 s, 100,000 under 2.5 s).

    python benchmarks/collection.py [N_ITEMS]
    python benchmarks/collection.py --floor [N_ITEMS]

Builds a suite with N items in a temporary directory and times pytest's collection phase
(from pytest_collection start to pytest_collection_finish), in process. ``--floor`` times
pytest alone collecting N trivial items from a minimal custom collector (no pytest-rft), with
the cyclic GC on and off: what any plugin's N items cost before it does anything.
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
          f"({timer.count} test items; goal at 100,000: < 2.5 s)")


FLOOR_CONFTEST = """
import gc, os, pytest

class Trivial(pytest.Item):
    def runtest(self):
        pass

class Items(pytest.File):
    def collect(self):
        for i in range(int(os.environ["FLOOR_N"])):
            yield Trivial.from_parent(self, name=f"i{i}")

def pytest_collect_file(file_path, parent):
    if file_path.name == "items.txt":
        return Items.from_parent(parent, path=file_path)

@pytest.hookimpl(tryfirst=True)
def pytest_collection(session):
    if os.environ.get("FLOOR_NO_GC"):
        gc.disable()
"""


def floor(n_items: int) -> None:
    import os

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "conftest.py").write_text(FLOOR_CONFTEST)
        (root / "items.txt").write_text("")
        for no_gc in ("", "1"):
            os.environ.update(FLOOR_N=str(n_items), FLOOR_NO_GC=no_gc)
            timer = Timer()
            code = pytest.main([str(root), "--collect-only", "-qq", "-p", "no:cacheprovider",
                                "-p", "no:rft", f"--rootdir={root}"], plugins=[timer])
            assert code == 0, code
            print(f"pytest alone, {timer.count} trivial items, cyclic GC "
                  f"{'off' if no_gc else 'on'}: {timer.seconds:.2f} s")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--floor"]
    n = int(args[0]) if args else 10_000
    floor(n) if "--floor" in sys.argv else main(n)
