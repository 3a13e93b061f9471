"""Every benchmark script still starts: the figures in benchmarks/README.md can be re-measured
after a refactoring moved what the scripts import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if p.name != "phase_timer.py")


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_benchmark_starts_and_explains_itself(script):
    done = subprocess.run([sys.executable, f"benchmarks/{script}", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout


def test_the_phase_timer_plugin_imports():
    done = subprocess.run([sys.executable, "-c", "import benchmarks.phase_timer"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]


def test_every_benchmark_is_in_the_readme_table():
    table = (ROOT / "benchmarks" / "README.md").read_text()
    assert [s for s in SCRIPTS + ["phase_timer.py"] if f"`{s}`" not in table] == []
