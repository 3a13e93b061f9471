"""Signals around a run: SIGTERM (what CI runners send on cancel) ends the run like Ctrl-C, and
nothing arriving while the outputs are written interrupts them.

* :func:`term_as_interrupt` (at configure): a SIGTERM raises KeyboardInterrupt, once; the run
  stops, and its partial results are reported and written with a non-zero exit status. A
  second SIGTERM is noted, not raised: the first one is already ending the run.
* :func:`finishing` (when the session finishes): from then on a SIGTERM, and a first Ctrl-C, are
  held until the outputs are written (a second Ctrl-C stops at once).
* :func:`exit_status`: a held signal makes the run interrupted (exit 2), said once; an output
  that could not be written fails a run that passed.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

import pytest

SIGNALS = pytest.StashKey[dict]()


def term_as_interrupt(config: pytest.Config) -> bool:
    """Install the SIGTERM handler; False when another one (pytest-timeout, xdist ...) is there
    already, or off the main thread."""
    state: dict[str, Any] = {"stopping": False, "deferred": None}
    config.stash[SIGNALS] = state
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        return False
    previous = signal.getsignal(signal.SIGTERM)
    if previous not in (signal.SIG_DFL, None):
        return False

    def interrupt(signum, frame):
        if state["stopping"]:
            state["deferred"] = signum
            return
        state["stopping"] = True
        raise KeyboardInterrupt("SIGTERM")

    signal.signal(signal.SIGTERM, interrupt)
    config.add_cleanup(lambda: signal.signal(signal.SIGTERM, previous))
    return True


def finishing(config: pytest.Config) -> None:
    """The outputs are being written: hold SIGTERM, and a first Ctrl-C, until they are."""
    state = config.stash.get(SIGNALS, None)
    if state is None or state["stopping"] == "finishing":
        return
    state["stopping"] = "finishing"
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:
        return  # a debugger's or another plugin's: theirs

    def hold(signum, frame):
        if state["deferred"] == signum:
            raise KeyboardInterrupt
        state["deferred"] = signum

    signal.signal(signal.SIGINT, hold)
    config.add_cleanup(lambda: signal.signal(signal.SIGINT, previous))


def exit_status(config: pytest.Config, session: pytest.Session, rft: Any) -> None:
    """Make ``session.exitstatus`` tell the truth: interrupted when a signal was held (said in
    ``rft.notes``, once), failed when one of ``rft.problems`` (outputs not written) happened
    in a run that passed."""
    state = config.stash.get(SIGNALS, {})
    if state.get("deferred") is not None:
        if session.exitstatus != pytest.ExitCode.INTERRUPTED:
            name = signal.Signals(state["deferred"]).name
            rft.notes.append(f"rft: {name} arrived while the outputs were written: they were "
                             "finished, and the run counts as interrupted")
        session.exitstatus = pytest.ExitCode.INTERRUPTED
    elif rft.problems and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
