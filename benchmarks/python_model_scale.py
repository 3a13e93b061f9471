"""Time and peak memory of a whole pytest run over a big suite with a Python model.

    python benchmarks/python_model_scale.py                    # 30,000 and 200,000 samples
    python benchmarks/python_model_scale.py --samples 30000 --repeat 3
    python benchmarks/python_model_scale.py --profile 200000   # cProfile, top functions

Each size is one fresh ``python -m pytest`` process on a suite of N items x 1 repeat (or
N / R items x R repeats with ``--repeats R``) whose
model is a registered Python function (no network), graded by one ``string_check``, with
``--rft-report`` (the whole run: start-up, collection, sampling, grading, N test reports, the
summary and the report). Wall time and the child's peak RSS (``ru_maxrss`` from ``wait4``) are
printed, with the time per 1,000 samples and the memory per 30,000: linear means both stay flat
as N grows. Goal (issue 17): linear, peak RSS <= 250 MB per 30,000 samples.

Beside each size, pytest's own floor: the peak RSS of pytest alone running N trivial
parametrized tests (no plugin), so what pytest-rft adds can be read off.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONFTEST = '''
import pytest_rft

@pytest_rft.model("echo")
def echo(request):
    return {"answer": request.item["expected"]}
'''

SUITE = '''
suite: scale
dataset: data.jsonl
model: echo
input:
  - {role: user, content: "Question {{ item.question }}?"}
repeats: REPEATS
graders:
  exact: {type: string_check, input: "{{ sample.output_json.answer }}",
          reference: "{{ item.expected }}", operation: eq}
gates:
  - {metric: exact.mean, min: 0.9}
'''


def project(folder: Path, n: int, repeats: int = 1) -> None:
    """A suite of ``n`` samples: n / repeats items, each sampled ``repeats`` times."""
    folder.joinpath("conftest.py").write_text(CONFTEST)
    folder.joinpath("rft_scale.yaml").write_text(SUITE.replace("REPEATS", str(repeats)))
    with folder.joinpath("data.jsonl").open("w") as out:
        for i in range(n // repeats):
            out.write(json.dumps({"id": f"q{i:06d}", "question": f"what is {i}",
                                  "expected": str(i)}) + "\n")


FLOOR = '''
import pytest

@pytest.mark.parametrize("i", range(N))
def test_trivial(i):
    pass
'''


def run(folder: Path, extra: list[str], plugin: bool = True) -> tuple[float, int, int]:
    """(wall seconds, peak RSS bytes, exit code) of one pytest process."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # pytest-rft alone, as after `pip install`
    rft = ["-p", "pytest_rft.plugin", "--rft-report", str(folder / "report.json")]
    cmd = [sys.executable, *extra, "-m", "pytest", "-p", "no:cacheprovider", "-q",
           *(rft if plugin else [])]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=folder, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    return wall, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, action="append",
                    help="suite sizes (default 30000 and 200000)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per size (median printed)")
    ap.add_argument("--repeats", type=int, default=1,
                    help="samples per item (default 1: as many items as samples)")
    ap.add_argument("--profile", type=int, metavar="N", help="profile one run of N samples")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.profile:
            folder = Path(tmp) / "profile"
            folder.mkdir()
            project(folder, args.profile, args.repeats)
            stats = Path(tmp) / "run.prof"
            wall, rss, code = run(folder, ["-m", "cProfile", "-o", str(stats)])
            print(f"{args.profile:,} samples under cProfile: {wall:.1f} s, peak RSS "
                  f"{rss / 2**20:.0f} MB, exit {code}")
            import pstats

            pstats.Stats(str(stats)).sort_stats("cumulative").print_stats(35)
            return
        print(f"{'samples':>9} {'wall s':>8} {'ms/1k':>7} {'peak RSS MB':>12} "
              f"{'MB per 30k':>11} exit {'pytest alone MB':>16} {'rft adds MB/30k':>16}")
        for n in args.samples or [30_000, 200_000]:
            folder = Path(tmp) / str(n)
            folder.mkdir()
            project(folder, n, args.repeats)
            runs = [run(folder, []) for _ in range(args.repeat)]
            wall = statistics.median(r[0] for r in runs)
            rss = statistics.median(r[1] for r in runs)
            floor_folder = Path(tmp) / f"floor-{n}"
            floor_folder.mkdir()
            floor_folder.joinpath("test_floor.py").write_text(FLOOR.replace("N", str(n)))
            floor = run(floor_folder, [], plugin=False)[1]
            print(f"{n:>9,} {wall:>8.1f} {wall / n * 1e6:>7.0f} {rss / 2**20:>12.0f} "
                  f"{rss / 2**20 * 30_000 / n:>11.0f} {runs[0][2]:>4} {floor / 2**20:>16.0f} "
                  f"{(rss - floor) / 2**20 * 30_000 / n:>16.0f}", flush=True)


if __name__ == "__main__":
    main()
