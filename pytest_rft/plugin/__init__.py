"""pytest glue: the hooks, and only the hooks (the ``pytest11`` entry point). Options are read
into ``settings.Settings``; suite files are collected into the nodes of ``nodes.py``; everything
selected is sampled before the test loop (``selection.py``, ``streaming.py``); the session's
state and work live in ``session.RftSession`` and the pytest-free stages; the files written at
the end are the registered writers of ``outputs.py``."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import pytest

from ..core import secrets
from . import freezing, scrubbing, signals
from .nodes import GateItem, RftItem, RftNode, SuiteFile
from .options import add_options
from .selection import foreign_option_notes, lean_allowed, selected_runs, streamable
from .settings import SETTINGS, read, settings_of
from .state import is_worker, rft_session, started

OLDEST_PYTEST = (7, 4)
REGISTRATIONS = pytest.StashKey[Any]()

__all__ = ["GateItem", "RftItem", "RftNode", "SuiteFile", "rft_session"]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Remember the registered models, graders and tools before conftest files add theirs."""
    from ..core.registry import REGISTRY

    early_config.stash[REGISTRATIONS] = REGISTRY.snapshot()


def pytest_configure(config: pytest.Config) -> None:
    found = tuple(int(part) for part in pytest.__version__.split(".")[:2] if part.isdigit())
    if found < OLDEST_PYTEST:  # pip enforces it; an install with --no-deps may not
        raise pytest.UsageError(f"pytest-rft needs pytest 7.4 or newer, found {pytest.__version__}; "
                                "fix: pip install -U 'pytest>=7.4'")
    settings = config.stash[SETTINGS] = read(config)
    scrubbing.install(config)  # pytest's own sinks: captured output, log records, warnings
    for url in (settings.base_url, settings.judge_base_url):  # a password in a URL is a secret
        secrets.register(url)
    config.addinivalue_line("markers", "rft: a pytest-rft suite item or gate")
    if signals.term_as_interrupt(config):
        config.pluginmanager.register(_FinishGuard(), "rft-finish-guard")
        config.add_cleanup(lambda: config.pluginmanager.unregister(name="rft-finish-guard"))
    if not is_worker(config):  # a worker hands its runs to the controller, which writes
        from . import outputs

        outputs.register(config, settings)
    _scope_registrations(config)
    freezing.release_frozen()


def _scope_registrations(config: pytest.Config) -> None:
    """Models, graders and tools registered while a session runs (by its conftest files) belong
    to that session: a later session in the same process (pytester) starts without them."""
    from ..core.registry import REGISTRY, Snapshot

    saved = config.stash.get(REGISTRATIONS, None) or Snapshot({}, {}, frozenset(), {})
    config.add_cleanup(lambda: REGISTRY.restore(saved))


class _FinishGuard:
    """Holds signals from the first ``pytest_sessionfinish`` on (other plugins write their
    files there too: JUnit XML), so the outputs are finished whatever arrives meanwhile."""

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session):
        if started(session.config) is not None and not is_worker(session.config):
            signals.finishing(session.config)
        yield


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    patterns = settings_of(parent.config).suite_pattern
    if file_path.suffix in (".yaml", ".yml") and any(
            fnmatch.fnmatch(file_path.name, p) for p in patterns):
        return SuiteFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_collection(session: pytest.Session):
    """After collecting suites, what collection made is frozen (``freezing.py``)."""
    try:
        yield
    finally:
        freezing.resume_frozen(session.config)


def pytest_collection_finish(session: pytest.Session) -> None:
    """With --lf, rerun the gates of every suite whose items are rerun: the failed items'
    verdicts depend on them (and a gate must not turn green by being left out)."""
    config = session.config
    state = started(config)
    if not (config.getoption("lf", False) and config.pluginmanager.has_plugin("cacheprovider")):
        return
    if state is None:
        return
    keys = {node.run.key for node in session.items if isinstance(node, RftItem)}
    present = {id(node) for node in session.items}
    for gate in state.gate_nodes:
        if gate.run.key in keys and id(gate) not in present:
            session.items.append(gate)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """Sample everything selected, concurrently; the leading suite nodes report while their
    samples come in (``streaming.py``), the rest after. An xdist worker samples each suite when
    its first node arrives (it only gets some suites), and a batch is sent whole."""
    config = session.config
    if config.option.collectonly or (
            session.testsfailed and not config.option.continue_on_collection_errors):
        return None  # pytest's own loop reports the collection errors and stops
    runs = selected_runs(session)
    if not runs or is_worker(config):
        return None
    state = rft_session(config)
    nodes = streamable(session)
    if not nodes:
        state.sample(runs)
        return None
    from . import streaming

    stream = streaming.Stream(session, nodes, runs, state.needs_suite, state.item_reported)
    state.sample(runs, stream)
    streaming.run_rest(session, stream.reported)
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    """Suite nodes take the lean protocol (``protocol.py``), unless marked or debugged."""
    if not isinstance(item, RftNode):
        return None
    from . import protocol

    if not (lean_allowed(item.config) and protocol.plain(item)):
        return None
    return protocol.run_lean(item, nextitem)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any):
    """Keep each suite on one worker under ``-n`` (the default ``--dist load`` would scatter
    its items, and every worker would sample the whole suite for its gates)."""
    if config.getvalue("dist") in ("load", "worksteal"):
        from .xdist import SuiteScheduling

        return SuiteScheduling(config, log)
    return None


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """The controller takes over what a worker sampled."""
    data = getattr(node, "workeroutput", {}).get("rft")
    if data:
        rft_session(node.config).merge_worker(data)


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    session = started(config)
    status = session.status.get(report.nodeid) if session is not None else None
    if status is None or report.when != "call":
        return None
    # a plain verbose word: pytest colours it by outcome, and pytest 7 prints a (word, markup)
    # pair raw in its short summary
    if report.passed:
        return "passed", ".", f"PASSED ({status})"
    if report.failed:
        return "failed", "F", f"FAILED ({status})"
    return None


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    state = started(config)
    if state is not None:
        if state.runs:  # suites ran (here, or on xdist workers)
            state.notes += foreign_option_notes(config)
        state.terminal_summary(terminalreporter)
        if state.pytest_session is not None:
            signals.exit_status(config, state.pytest_session, state)


@pytest.hookimpl(hookwrapper=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int):
    """Around the writers of ``outputs.py`` (baselines, history, the reports: written even
    after Ctrl-C, partial results are kept): the runs summarized before, the exit status
    settled after. An xdist worker hands its runs to the controller instead."""
    config = session.config
    state = started(config)
    if state is not None and is_worker(config):
        config.workeroutput["rft"] = state.worker_output()
        state = None
    if state is not None:
        from . import outputs

        state.pytest_session = session
        config.stash[outputs.ENDING] = outputs.ending(state, int(exitstatus))
    try:
        yield
    finally:
        if state is not None:
            state.encoded.close()
            signals.exit_status(config, session, state)
            if settings_of(config).inconclusive == "exit2" and session.exitstatus == 0 \
                    and state.inconclusive_gates():
                session.exitstatus = 2  # its own status: no gate failed, some could not tell
