"""Helpers for tests that start a child process and interrupt it."""

import signal


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# Popen arguments for a child the test sends SIGINT (Ctrl-C) to. A test runner started in the
# background of a non-interactive shell inherits SIGINT *ignored* and would pass that on, so the
# child would never see the Ctrl-C the test sends; the child gets the default disposition back.
INTERRUPTIBLE = {"preexec_fn": _default_sigint}
