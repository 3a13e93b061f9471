"""Collection time of a suite (goals, issue #9: 10,000 items under 2 s, 100,000 under 2.5 s).

    python benchmarks/collection.py [N_ITEMS] [--runs 5] [--dev-plugins]

Builds a suite with N items (default 100,000) in a temporary directory and times pytest's
collection phase, from ``pytest_collection`` to ``pytest_collection_finish``, in a fresh
``python -m pytest --collect-only`` process per run. Each run is paired with a run of the
**floor**: pytest alone collecting N trivial items from a minimal custom collector, with the
cyclic GC off as pytest-rft has it during collection -- what any plugin's N items cost before it
does anything (a third of it is pytest reordering items by fixture scope). The two alternate, so
that a slow spell of the machine hits both; the medians are printed, with the range. (On this
shared machine the process's CPU time tracks its wall time: a slow spell is slow CPU, not
waiting, so the pairing is what makes runs comparable.)

pytest-rft is the only plugin loaded besides pytest's own, as after ``pip install pytest-rft``
(``--dev-plugins`` loads every installed plugin, as the development environment does).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

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

TIMER = """\
import time

class Timer:
    def pytest_collection(self, session):
        self.start = time.perf_counter()

    def pytest_collection_finish(self, session):
        print(f"\\nCOLLECTED {len(session.items)} {time.perf_counter() - self.start:.4f}")

def pytest_configure(config):
    config.pluginmanager.register(Timer(), "collection-timer")
"""

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
    gc.disable()
"""

SUITE_CONFTEST = ("import pytest_rft\n@pytest_rft.model('bench-model')\n"
                  "def m(request):\n    return 'a'\n")


def write_projects(root: Path, n_items: int) -> tuple[Path, Path]:
    suite, floor = root / "suite", root / "floor"
    suite.mkdir()
    floor.mkdir()
    (suite / "rft_big.yaml").write_text(SUITE)
    with (suite / "data.jsonl").open("w") as handle:
        for i in range(n_items):
            handle.write(json.dumps({"id": f"item-{i:05d}", "text": f"text number {i} " * 5,
                                     "label": "a" if i % 2 else "b"}) + "\n")
    (suite / "conftest.py").write_text(SUITE_CONFTEST)
    (floor / "conftest.py").write_text(FLOOR_CONFTEST)
    (floor / "items.txt").write_text("")
    for project in (suite, floor):
        (project / "_collection_timer.py").write_text(TIMER)
    return suite, floor


def collect_once(project: Path, n_items: int, dev_plugins: bool, floor: bool) -> tuple[int, float]:
    """(items collected, seconds) of one ``--collect-only`` process."""
    path = os.pathsep.join(filter(None, [str(project), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, FLOOR_N=str(n_items), PYTHONPATH=path)
    plugins = ["-p", "_collection_timer"]
    if dev_plugins:
        plugins += ["-p", "no:rft"] if floor else []
    else:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        plugins += [] if floor else ["-p", "pytest_rft.plugin"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(project), "--collect-only", "-qq",
         "-p", "no:cacheprovider", f"--rootdir={project}", *plugins],
        env=env, capture_output=True, text=True, cwd=project)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("COLLECTED ")), None)
    if done.returncode != 0 or line is None:
        sys.exit(f"collection failed (exit {done.returncode}):\n{done.stdout[-2000:]}\n"
                 f"{done.stderr[-2000:]}")
    _, count, seconds = line.split()
    return int(count), float(seconds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n_items", nargs="?", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dev-plugins", action="store_true",
                    help="load every installed pytest plugin (default: pytest-rft only)")
    args = ap.parse_args()
    ours: list[float] = []
    floors: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        suite, floor = write_projects(Path(tmp), args.n_items)
        for _ in range(args.runs):
            count, seconds = collect_once(suite, args.n_items, args.dev_plugins, floor=False)
            ours.append(seconds)
            floors.append(collect_once(floor, args.n_items, args.dev_plugins, floor=True)[1])
    goal = "  (goal: < 2.5 s)" if args.n_items == 100_000 else ""
    print(f"collection time, median of {args.runs} fresh processes [range]:")
    print(f"  {args.n_items:,}-item suite ({count:,} nodes): {statistics.median(ours):.2f} s "
          f"[{min(ours):.2f}-{max(ours):.2f}]{goal}")
    print(f"  floor, pytest alone with {args.n_items:,} trivial items: "
          f"{statistics.median(floors):.2f} s [{min(floors):.2f}-{max(floors):.2f}]")
    print(f"  pytest-rft over the floor (median of the paired differences): "
          f"{statistics.median(o - f for o, f in zip(ours, floors)):+.2f} s")


if __name__ == "__main__":
    main()
