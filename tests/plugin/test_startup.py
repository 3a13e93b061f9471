"""The plugin costs nothing until a suite is found: a project without suites never imports the
core (numpy, pydantic, yaml, the runner, the backends). Timing is in benchmarks/startup.py."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HEAVY = ["numpy", "pydantic", "yaml", "aiohttp", "openai", "pytest_rft.sampling.runner",
         "pytest_rft.plugin.session", "pytest_rft.suite.loader", "pytest_rft.analysis.stats", "pytest_rft.backends"]

PROBE = """
import sys, pytest
heavy = sys.argv[1].split(",")
class Probe:
    def pytest_sessionfinish(self, session):
        self.seen = [m for m in heavy if m in sys.modules]
probe = Probe()
code = pytest.main(sys.argv[2:], plugins=[probe])
print("LOADED", ",".join(probe.seen) or "-", "EXIT", int(code))
"""

SUITE = """
suite: tiny
dataset: data.jsonl
model: echo
input: [{role: user, content: "{{ item.q }}"}]
graders:
  ok: {type: string_check, input: "{{ sample.output_text }}", reference: "a", operation: like}
"""

CONFTEST = """
import pytest_rft

@pytest_rft.model("echo")
def echo(request):
    return request.messages[-1]["content"]
"""


def loaded(tmp_path: Path, *args: str) -> tuple[list[str], int]:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(PROBE), ",".join(HEAVY),
                          str(tmp_path), "-p", "no:cacheprovider", f"--rootdir={tmp_path}",
                          # pytest-randomly, where installed, imports numpy itself
                          "-p", "no:randomly", "-q", *args],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("LOADED"))
    _, mods, _, code = line.split()
    return ([] if mods == "-" else mods.split(",")), int(code)


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    # an ordinary test module: the plugin is registered (its options exist), its core isn't needed
    (tmp_path / "test_plain.py").write_text(
        "def test_plugin_registered(pytestconfig):\n"
        "    assert pytestconfig.pluginmanager.has_plugin('rft')\n"
        "    assert pytestconfig.getoption('rft_model') is None\n")
    return tmp_path


def test_no_suite_no_core(plain: Path) -> None:
    mods, code = loaded(plain)
    assert code == 0 and mods == []


def test_a_suite_loads_the_core(plain: Path) -> None:
    (plain / "rft_tiny.yaml").write_text(SUITE)
    (plain / "data.jsonl").write_text('{"q": "a"}\n{"q": "b"}\n')
    (plain / "conftest.py").write_text(CONFTEST)
    mods, code = loaded(plain)
    assert code == 0
    assert {"numpy", "pydantic", "yaml", "pytest_rft.sampling.runner", "pytest_rft.plugin.session"} <= set(mods)
    assert "openai" not in mods  # a Python model needs no OpenAI client at all
