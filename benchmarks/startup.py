"""What pytest-rft costs a project that has no suites: pytest's start-up with the plugin vs
``-p no:rft``.

    python benchmarks/startup.py [--rounds 21] [--tests 50]

A temporary project with ``--tests`` plain tests and no suite file; each round runs
``python -m pytest -q -p no:cacheprovider`` once with the plugin and once without (alternating,
so drift hits both), in a fresh process. Prints the median wall time of each and the
difference (goal: within 30 ms), and the plugin's own import time (``-X importtime``).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""Bytecode caching on, as in any normal installation (without it every run compiles the
plugin's modules from source, and only the plugin's: site-packages ship their .pyc files)."""


def once(root: Path, *extra: str) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one pytest process."""
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra],
                   cwd=root, check=True, stdout=subprocess.DEVNULL, env=ENV)
    wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def imported(root: Path, *extra: str) -> dict[str, int]:
    """Module -> own import time (us) of a pytest run (``-X importtime``)."""
    err = subprocess.run([sys.executable, "-X", "importtime", "-m", "pytest", "-q",
                          "-p", "no:cacheprovider", *extra], cwd=root, capture_output=True,
                         text=True, env=ENV).stderr
    found = {}
    for line in err.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s+(\S+)", line)
        if m:
            found[m.group(2)] = int(m.group(1))
    return found


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--tests", type=int, default=50)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "pytest.ini").write_text("[pytest]\n")
        (root / "test_plain.py").write_text("".join(
            f"def test_{i}():\n    assert {i} + 1 == {i + 1}\n" for i in range(args.tests)))
        once(root), once(root, "-p", "no:rft")  # warm the file cache
        with_rft, without = [], []
        for n in range(args.rounds):  # alternate which goes first
            if n % 2:
                without.append(once(root, "-p", "no:rft"))
                with_rft.append(once(root))
            else:
                with_rft.append(once(root))
                without.append(once(root, "-p", "no:rft"))
        print(f"pytest start-up, project without suites ({args.tests} plain tests), "
              f"median of {args.rounds} runs, Python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        for i, what in ((0, "wall"), (1, "CPU ")):
            a = statistics.median(r[i] for r in with_rft)
            b = statistics.median(r[i] for r in without)
            print(f"  {what}: with pytest-rft {1000 * a:6.1f} ms, -p no:rft {1000 * b:6.1f} ms, "
                  f"difference {1000 * (a - b):+6.1f} ms (goal <= 30 ms)")
        mods, base = imported(root), imported(root, "-p", "no:rft")
        extra = {m: t for m, t in mods.items() if m not in base}
        print(f"  modules imported only with the plugin: {', '.join(sorted(extra))} "
              f"({sum(extra.values()) / 1000:.1f} ms of imports)")


if __name__ == "__main__":
    main()
