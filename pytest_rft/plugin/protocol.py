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
``--trace``, ``--setup-show``/``--setup-only``/``--setup-plan``, ``-p no:runner`` or allure
(``--alluredir``).

This is the one module that touches pytest's internals. Each use below names the pytest versions
it was checked on (7.4.4, 8.4.2, 9.0.3, 9.2.0); where an internal is missing, suite nodes take
pytest's own protocol (slower, same results) instead of failing.

* ``session._setupstate`` with ``setup(item)`` and ``teardown_exact(nextitem)``: the session's
  setup stack, the same object pytest's ``runtestprotocol`` drives (7.0 onwards).
* which exceptions pass through a phase rather than becoming its report: written out here
  (``pytest.exit.Exception``, and ``KeyboardInterrupt`` unless ``--pdb``), the rule pytest 7.4
  to 9.2 all apply; only pytest 9 names it ``_pytest.runner.get_reraise_exceptions``.
"""

from __future__ import annotations

from typing import Any

import pytest

# options under which a node takes pytest's full protocol
FULL_PROTOCOL_OPTIONS = ("usepdb", "trace", "setupshow", "setuponly", "setupplan")
# plugins (by registered name) whose work per test lives in the setup/call/teardown hooks:
# allure-pytest's listener (--alluredir) names each test, files its suite labels and history
# id there
FULL_PROTOCOL_PLUGINS = ("allure_listener",)


def lean_allowed(config: pytest.Config) -> bool:
    """Whether this session may use the lean protocol at all (decided once)."""
    plugins = config.pluginmanager
    return (plugins.has_plugin("runner") and _has_setupstate()
            and not any(config.getoption(name, False) for name in FULL_PROTOCOL_OPTIONS)
            and not any(plugins.has_plugin(name) for name in FULL_PROTOCOL_PLUGINS))


def _has_setupstate() -> bool:
    """The internal the lean protocol drives, present and shaped as on pytest 7.0 to 9.2."""
    try:
        from _pytest.runner import SetupState
    except ImportError:
        return False
    return all(callable(getattr(SetupState, name, None)) for name in ("setup", "teardown_exact"))


def reraise_exceptions(config: pytest.Config) -> tuple[type[BaseException], ...]:
    """Exceptions that end the run instead of failing the phase (pytest's own rule)."""
    if config.getoption("usepdb", False):
        return (pytest.exit.Exception,)
    return (pytest.exit.Exception, KeyboardInterrupt)


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
    CallInfo = pytest.CallInfo
    ihook = item.ihook
    session = item.session
    setupstate: Any = session._setupstate
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    reraise = reraise_exceptions(item.config)
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
