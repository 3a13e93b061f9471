"""A lean runtest protocol for suite items and gates.

pytest's own protocol runs every test through the ``pytest_runtest_setup/call/teardown`` hooks,
whose wrappers capture output, route logging, catch warnings and set up fixtures: about 1 ms of
CPU per test, more than the rest of the plugin spends on a sample. A suite node has no fixtures,
prints nothing and only reads results already computed, so it skips those hooks and keeps
everything users and other plugins rely on: ``pytest_runtest_logstart``/``logfinish``, one
report per phase built by ``pytest_runtest_makereport`` and sent to ``pytest_runtest_logreport``
(the terminal, ``-rf``, ``-x``/``--maxfail``, JUnit XML, xdist, ``--durations``), the session's
setup state, and the wrappers of ``pytest_runtest_protocol`` itself (warnings, timeouts).

Nodes that need more get pytest's protocol: a skip/skipif/xfail or any other mark added by a user
(``pytest_collection_modifyitems``, ``-m`` keeps working either way), and runs under ``--pdb``,
``--trace``, ``--setup-show``/``--setup-only``/``--setup-plan`` or ``-p no:runner``.
"""

from __future__ import annotations

from typing import Any

import pytest

# options under which a node takes pytest's full protocol
FULL_PROTOCOL_OPTIONS = ("usepdb", "trace", "setupshow", "setuponly", "setupplan")


def lean_allowed(config: pytest.Config) -> bool:
    """Whether this session may use the lean protocol at all (decided once)."""
    return (config.pluginmanager.has_plugin("runner")
            and not any(config.getoption(name, False) for name in FULL_PROTOCOL_OPTIONS))


def plain(item: pytest.Item) -> bool:
    """A node with no mark but the plugin's own (a user's skip or xfail needs pytest's hooks).
    The collectors above it are checked once, for their first node."""
    if not all(mark.name == "rft" for mark in item.own_markers):
        return False
    parent = item.parent
    if parent is None:
        return True
    known = getattr(parent, "_rft_plain", None)
    if known is None:
        known = all(mark.name == "rft" for node in parent.listchain() for mark in node.own_markers)
        parent._rft_plain = known
    return known


def run_lean(item: pytest.Item, nextitem: pytest.Item | None) -> bool:
    """``item`` through setup, call and teardown, reporting each phase like pytest does."""
    from _pytest.runner import CallInfo, get_reraise_exceptions

    ihook = item.ihook
    session = item.session
    setupstate: Any = session._setupstate
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    reraise = get_reraise_exceptions(item.config)
    setup = _report(item, ihook, CallInfo.from_call(lambda: setupstate.setup(item), "setup",
                                                    reraise=reraise))
    if setup.passed:
        _report(item, ihook, CallInfo.from_call(item.runtest, "call", reraise=reraise))
    if session.shouldfail or session.shouldstop:
        nextitem = None  # tear everything down, as pytest does before stopping
    _report(item, ihook, CallInfo.from_call(lambda: setupstate.teardown_exact(nextitem),
                                            "teardown", reraise=reraise))
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def _report(item: pytest.Item, ihook: Any, call: Any) -> pytest.TestReport:
    report: pytest.TestReport = ihook.pytest_runtest_makereport(item=item, call=call)
    ihook.pytest_runtest_logreport(report=report)
    return report
