"""A pytest plugin for the benchmarks: when the pytest process reached each phase.

    RFT_PHASES_FILE=phases.json RFT_T0=<time.time() at launch> python -m pytest -p benchmarks.phase_timer ...

writes ``{"configure": s, "collected": s, "first test": s, "last test": s, "finished": s,
"exit": s}``, seconds since ``RFT_T0`` (the parent's clock at launch, so interpreter start-up
counts). ``exit`` is the last atexit handler, just before the interpreter finalizes.
"""

from __future__ import annotations

import atexit
import json
import os
import time

import pytest

T0 = float(os.environ.get("RFT_T0", time.time()))
MARKS: dict[str, float] = {}


def _mark(name: str) -> None:
    MARKS.setdefault(name, time.time() - T0)


def _dump() -> None:
    _mark("exit")
    path = os.environ.get("RFT_PHASES_FILE")
    if path:
        with open(path, "w") as handle:
            json.dump(MARKS, handle)


atexit.register(_dump)  # registered first, so it runs last


def pytest_configure(config: pytest.Config) -> None:
    _mark("configure")


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    _mark("collected")


def pytest_runtest_logstart(nodeid: str, location: tuple) -> None:
    _mark("first test")


def pytest_runtest_logfinish(nodeid: str, location: tuple) -> None:
    MARKS["last test"] = time.time() - T0


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    _mark("finished")
