"""The files a session writes when it finishes, one registered plugin object each (as pytest's
junitxml registers ``LogXML``), registered at configure when its option is given: the baselines
(``--rft-baseline-update``), the history (``--rft-history``), the JSON report (``--rft-report``),
the HTML report (``--rft-html``) and the GitHub step summary (``$GITHUB_STEP_SUMMARY``).

Each writes on its own, from the data the session finished with (``Ending``): one that fails (a
read-only folder, a full disk, a folder where the file goes) is one error line in the summary
(``RftSession.problems``) and the others are still written. They run in the order above, after
the plugin's ``pytest_sessionfinish`` wrapper has summarized the runs and before it settles the
exit status (pluggy calls the plain implementations last registered first)."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pytest

from .settings import Settings
from .state import started

if TYPE_CHECKING:
    from ..analysis.summary import SuiteSummary
    from ..core.records import SuiteRun
    from .session import RftSession

ENDING = pytest.StashKey["Ending"]()


@dataclass
class Ending:
    """What the outputs are written from."""

    pairs: list[tuple[SuiteRun, SuiteSummary | None]]
    """Each sampled run and its summary (None when the summaries failed)."""
    exitstatus: int

    @property
    def summarized(self) -> list[tuple[SuiteRun, SuiteSummary]]:
        return [(r, s) for r, s in self.pairs if s is not None]

    @property
    def interrupted(self) -> bool:
        return self.exitstatus == pytest.ExitCode.INTERRUPTED


def ending(state: RftSession, exitstatus: int) -> Ending:
    """The runs and their summaries, never lost because a summary failed."""
    try:
        pairs: list[tuple[SuiteRun, SuiteSummary | None]] = list(state.sampled())
    except Exception as exc:  # never lose the samples because a summary failed
        state.problems.append(f"rft: ERROR: summaries failed ({type(exc).__name__}: {exc}); "
                              "samples written without them")
        pairs = [(run, None) for run in state.runs if run.sampled]
    return Ending(pairs, int(exitstatus))


class Output:
    """One output: ``write`` it when the session finishes (if a suite ran)."""

    what = ""
    """What it is, in the error line: ``JSON report``."""
    option = ""
    """Where its path comes from, in the error line's fix: ``--rft-report``."""

    def __init__(self, target: str):
        self.target = target

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        state = started(session.config)
        end = session.config.stash.get(ENDING, None)
        if state is not None and end is not None:
            self.write(state, end)

    def write(self, state: RftSession, end: Ending) -> None:
        raise NotImplementedError

    def attempt(self, state: RftSession, write: Callable[[], Any], what: str = "",
                where: str | None = None) -> bool:
        """Run ``write``; a failure becomes one located error line. True when it worked."""
        try:
            write()
        except Exception as exc:  # noqa: BLE001 - one output must not cost the others
            from ..core.files import write_problem

            where = self.target if where is None else where
            state.problems.append(f"rft: ERROR: the {what or self.what}"
                                  f"{f' {where}' if where else ''} was not written: "
                                  f"{write_problem(exc)} (fix: make {self.option} a writable "
                                  "file path)")
            return False
        return True


class BaselineWriter(Output):
    what, option = "baseline", "--rft-baseline-dir"

    def write(self, state: RftSession, end: Ending) -> None:
        if end.interrupted:
            return
        from ..analysis.summary import to_baseline
        from ..store import baseline as baseline_io

        for run, summary in end.summarized:
            if state.baselines.reference_run(run) is not run:
                continue
            path = state.baselines.path(run.suite)
            snapshot = to_baseline(run, summary)
            old = _previous_for_partial(run, path)
            written = snapshot if old is None else baseline_io.partial_update(
                old, snapshot, {item.id for item in run.suite.items})
            if not self.attempt(state, lambda: baseline_io.write(path, written),
                                f"baseline of {run.suite.name}", state.shown(path)):
                continue
            if old is None:
                note = (f"rft: baseline of {run.suite.name} written from {run.model} "
                        f"({len(summary.items)} items x {snapshot.repeats} repeats) to "
                        f"{state.shown(path)}")
            else:
                note = _partial_note(run, old, snapshot, written, state.shown(path))
            errors = sum(s.n_errors + s.n_grader_errors for s in summary.items.values())
            if errors:
                note += f"; WARNING: {errors} sample(s) had errors and have no scores in it"
            state.notes.append(note)


def _previous_for_partial(run: SuiteRun, path: Path) -> Any:
    """The baseline file a partial run (-k, --rft-limit) updates; None for a full run, or
    when there is no readable file (the run's items then make the file on their own)."""
    from ..core.errors import RftError
    from ..store import baseline as baseline_io

    if {item.id for item in run.items} >= {item.id for item in run.suite.items} \
            or not path.is_file():
        return None
    try:
        return baseline_io.read(path)
    except RftError:
        return None


def _partial_note(run: SuiteRun, old: Any, new: Any, written: Any, shown: str) -> str:
    from ..store import baseline as baseline_io

    kept = len(written.items) - len(new.items)
    note = (f"rft: baseline of {run.suite.name} in {shown}: {len(new.items)} "
            f"item(s) updated from {run.model} ({new.repeats} repeats), {kept} not selected "
            f"in this run kept; its model, metrics and digests stay those of the last full "
            f"update ({old.model}, {old.created or 'undated'}), this run is listed under "
            f"partial_updates; update the whole suite (no -k, no --rft-limit) to refresh them")
    mixed = [f"model {old.model} -> {new.model}"] if old.model != new.model else []
    mixed += [f"{part} changed" for part in baseline_io.DIGEST_PARTS
              if part in old.digests and part in new.digests
              and old.digests[part] != new.digests[part] and part != "dataset"]
    if mixed:
        note += (f"; WARNING: the kept and the updated items were not scored alike "
                 f"({', '.join(mixed)})")
    return note


class HistoryWriter(Output):
    what, option = "history", "--rft-history"

    def write(self, state: RftSession, end: Ending) -> None:
        if not end.interrupted:
            self.attempt(state, lambda: self._append(state, end.summarized))

    def _append(self, state: RftSession, pairs: list[tuple[SuiteRun, SuiteSummary]]) -> None:
        from ..store import baseline as baseline_io
        from ..store import history

        commit = history.git_commit(state.config.rootpath)
        created = baseline_io.now()
        records = [history.record(r, s, git_commit=commit, created=created) for r, s in pairs]
        history.append(Path(self.target), records)
        state.notes.append(f"rft: {len(records)} run(s) appended to the history {self.target}")


class JsonReportWriter(Output):
    what, option = "JSON report", "--rft-report"

    def write(self, state: RftSession, end: Ending) -> None:
        from ..report import json_report

        self.attempt(state, lambda: json_report.write(
            Path(self.target), end.pairs, state.calls, exitstatus=end.exitstatus,
            judge=state.judge, encoded=state.encoded))


class HtmlWriter(Output):
    what, option = "HTML report", "--rft-html"

    def __init__(self, target: str, history: str | None = None):
        super().__init__(target)
        self.history = history
        """``--rft-history``: the page charts the runs before this one too."""

    def write(self, state: RftSession, end: Ending) -> None:
        if any(s is not None for _, s in end.pairs):
            self.attempt(state, lambda: self._write(state, end))

    def _write(self, state: RftSession, end: Ending) -> None:
        from ..report import html

        size = html.write(Path(self.target), end.pairs, state.calls, self._history())
        state.notes.append(f"rft: HTML report written to {self.target} ({size / 1024:.0f} kB)")

    def _history(self) -> list[dict] | None:
        if not (self.history and Path(self.history).is_file()):
            return None
        from ..store import history as history_io

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # broken lines: `pytest-rft history` says which
                return history_io.read(self.history)
        except (OSError, ValueError):
            return None  # the page without the history chart


class StepSummaryWriter(Output):
    what, option = "step summary", "$GITHUB_STEP_SUMMARY"

    def write(self, state: RftSession, end: Ending) -> None:
        if end.summarized:
            from ..report import markdown

            self.attempt(state, lambda: markdown.append(Path(self.target), end.summarized))


def register(config: pytest.Config, settings: Settings) -> None:
    """Register the outputs the options ask for, in reverse: pluggy calls the last registered
    first, and the baselines and history go before the reports (the HTML page charts the
    history, this run included)."""
    refuse_foreign_targets(settings)
    wanted: list[tuple[str, Output]] = []
    if settings.baseline_update:
        wanted.append(("rft-baselines", BaselineWriter("")))
    if settings.history:
        wanted.append(("rft-history", HistoryWriter(settings.history)))
    if settings.report:
        wanted.append(("rft-json-report", JsonReportWriter(settings.report)))
    if settings.html:
        wanted.append(("rft-html", HtmlWriter(settings.html, settings.history)))
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        wanted.append(("rft-step-summary", StepSummaryWriter(step_summary)))
    for name, output in reversed(wanted):
        config.pluginmanager.register(output, name)
        config.add_cleanup(lambda name=name: config.pluginmanager.unregister(name=name))


# What an existing file must start with to be replaced (or appended to) by an output: a file
# of something else (a dataset, the suite, notes) named by a typo is never overwritten.
_KINDS = {
    "--rft-report": ("a pytest-rft JSON report", lambda head: b'"schema_version"' in head[:400]),
    "--rft-html": ("a pytest-rft HTML report", lambda head: b"pytest-rft report" in head[:2000]),
    "--rft-history": ("a pytest-rft history", lambda head: _first_line_has(head, b'"suite"',
                                                                           b'"model"')),
    "--rft-batch-export": ("a Batch API input file",
                           lambda head: _first_line_has(head, b'"custom_id"', b'"body"')),
}


def _first_line_has(head: bytes, *keys: bytes) -> bool:
    line = head.lstrip().split(b"\n", 1)[0]
    return line.startswith(b"{") and all(key in line for key in keys)


def refuse_foreign_targets(settings: Settings) -> None:
    """A usage error, before anything runs, when an output would overwrite or append to an
    existing file that is not an earlier output of its kind."""
    import stat

    for option, target in (("--rft-report", settings.report), ("--rft-html", settings.html),
                           ("--rft-history", settings.history),
                           ("--rft-batch-export", settings.batch_export)):
        if not target:
            continue
        try:
            if not stat.S_ISREG(os.stat(target).st_mode):
                continue  # a folder, a FIFO, /dev/null: the writer says what is wrong
            with open(target, "rb") as handle:
                head = handle.read(4096)
        except (OSError, ValueError):
            continue  # no such file (or a path the writer will name)
        what, looks_right = _KINDS[option]
        if head.strip(b"\x00 \t\r\n") and not looks_right(head):  # NULs: nothing to lose
            from ..core.secrets import for_terminal

            raise pytest.UsageError(
                f"{option} {for_terminal(target)}: this file exists and is not {what}; "
                f"writing it would lose what it holds (fix: name another file for {option}, "
                "or delete this one first)")
