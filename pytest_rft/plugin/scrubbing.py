"""The one scrubber (``core/secrets.py``) on what pytest itself prints and writes of a run: the
output, log records and warnings of the user's models, graders and tools (a model that prints
or logs its request, an exception quoting a key) go through it like the plugin's own text.

* log records: every record made in the process while a session runs has its message (and its
  formatted exception) scrubbed, whichever handler shows it (``log_cli``, ``-rA``'s captured
  log, ``--log-file``, the JUnit XML);
* the captured sections of every test report (``Captured stdout call`` ...);
* warnings, before pytest's warnings summary shows them;
* ``sys.stdout`` / ``sys.stderr`` while the sampler runs (pytest does not capture there: the
  sampler runs between tests).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from ..core.secrets import ScrubbingStream, scrub


def install(config: pytest.Config) -> None:
    """Scrub log records, report sections and warnings until ``config`` is cleaned up."""
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a record whose args don't fit: shown as logging would show it
            return record
        shown = scrub(message)
        if shown != message:  # records without a secret stay as made (caplog tests read .args)
            record.msg, record.args = shown, None
        if record.exc_info and record.exc_info[0] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if scrub(text) != text:
                record.exc_text = scrub(text)
        return record

    logging.setLogRecordFactory(factory)
    config.add_cleanup(lambda: logging.setLogRecordFactory(previous))
    config.pluginmanager.register(_Hooks(), "rft-scrubbing")
    config.add_cleanup(lambda: config.pluginmanager.unregister(name="rft-scrubbing"))


class _Hooks:
    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: Any):
        outcome = yield
        report = outcome.get_result()
        if report.sections:
            report.sections = [(title, scrub(text)) for title, text in report.sections]

    @pytest.hookimpl(tryfirst=True)
    def pytest_warning_recorded(self, warning_message: Any, when: str, nodeid: str,
                                location: Any) -> None:
        message = warning_message.message
        text = str(message)
        shown = scrub(text)
        if shown != text:
            try:
                warning_message.message = type(message)(shown)
            except Exception:  # a warning class with other arguments: its text is what counts
                warning_message.message = shown
        if warning_message.line:
            warning_message.line = scrub(warning_message.line)


@contextlib.contextmanager
def user_streams() -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` scrubbed while user code (models, graders, tools) runs
    outside pytest's capture."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = ScrubbingStream(out), ScrubbingStream(err)
    try:
        yield
    finally:
        if isinstance(sys.stdout, ScrubbingStream):
            sys.stdout = out
        if isinstance(sys.stderr, ScrubbingStream):
            sys.stderr = err
