"""One pytest session's pytest-rft state, in one place: the suite runs, what was sampled, the
lines for the summary. The hooks in ``plugin/__init__.py`` delegate here (the way syrupy's hooks
delegate to its ``SnapshotSession``); collecting is ``collection.py``'s job, baselines
``baselines.py``'s, the numbers and the build's verdicts ``summaries.py``'s, the files written at
the end ``outputs.py``'s."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from pathlib import Path
from typing import Any

import pytest

from ..analysis.compare import Comparison
from ..core.records import ItemStats
from ..analysis.summary import SuiteSummary
from ..backends import judge as judges
from ..backends.calls import CallContext, RunSettings
from ..backends.factory import backends_for
from ..core import lazy_numpy
from ..core.errors import RftError
from ..core.secrets import for_terminal
from ..graders import isolation
from ..graders.base import GradingContext
from ..report import brief, json_report, terminal
from ..core.records import CallStats, SuiteRun
from ..sampling.runner import run_all
from ..store import baseline as baseline_io
from ..suite.suite import Suite
from . import calling, scrubbing
from .baselines import Baselines, shown
from .collection import Collection, project_suite_files
from .settings import settings_of
from .summaries import Summaries


class RftSession:
    def __init__(self, config: pytest.Config):
        self.config = config
        self.settings = settings_of(config)
        self.runs: list[SuiteRun] = []
        self.status: dict[str, str] = {}
        self.calls: CallStats | None = None
        self.judge: judges.Judge | None = None
        """score_model / label_model calls of the run (their usage is reported apart)."""
        self.notes: list[str] = []
        """Lines for the terminal summary (baselines written, history appended ...)."""
        self.details: list[str] = []
        """Lines for the terminal summary at ``-v`` only (grader workers, judge calls)."""
        self.pytest_session: Any = None
        """Set when the session finishes (its exit status may change: a failed output)."""
        self.problems: list[str] = []
        """Outputs that could not be written, one error line each (they fail the run)."""
        self.encoded = json_report.Spool()
        """(run key, item id) -> the item's entry in the JSON report, encoded when the item
        reported (while sampling goes on, ``streaming.py``)."""
        self.gate_nodes: list[Any] = []
        """Every collected gate node (so --lf can bring a rerun item's gates back)."""
        self.baselines = Baselines(self.settings, self.runs, config.rootpath,
                                   config.invocation_params.dir, self.summary)
        self.numbers = Summaries(self.settings, self.runs, self.baselines,
                                 lambda: project_suite_files(project_top(config),
                                                             list(self.settings.suite_pattern),
                                                             list(config.getini("norecursedirs"))))
        self.collection = Collection(self.settings, config.rootpath, self.shown,
                                     collect_only=bool(config.option.collectonly))

    def shown(self, path: Path) -> str:
        """A path relative to where pytest was started, unless it lies elsewhere."""
        return shown(path, self.config.invocation_params.dir)

    # ------------------------------------------------------------------ collection

    def load_suite(self, path: Path, resolve_tools: bool = True) -> Suite:
        return self.collection.load_suite(path, resolve_tools)

    def claim_name(self, suite: Suite) -> None:
        self.collection.claim_name(suite)

    def models_for(self, suite: Suite) -> list[str]:
        return self.collection.models_for(suite)

    def suite_loaded(self, suite: Suite) -> None:
        """``--rft-export-graders DIR``: the suite's graders as OpenAI grader JSON."""
        folder = self.settings.export_graders
        if folder:
            from ..graders.export import export_graders

            written = export_graders(suite, Path(folder))
            where = written[0].parent if written else Path(folder)
            self.notes.append(f"rft: {len(written)} grader(s) of {suite.name} exported to "
                              f"{where}")

    def add_run(self, suite: Suite, model: str) -> SuiteRun:
        run = SuiteRun(suite=suite, model=model, repeats=self.settings.repeats,
                       api=self.settings.api)
        self.runs.append(run)
        return run

    # ------------------------------------------------------------------ sampling

    def sample(self, runs: list[SuiteRun], stream: Any = None) -> None:
        """Sample and grade ``runs``; with a ``streaming.Stream``, its nodes report meanwhile
        (the progress line is then not drawn: its last line becomes a note)."""
        options = self.settings
        settings = RunSettings(concurrency=options.concurrency, max_retries=options.max_retries,
                               backoff_base=options.retry_backoff, seed=options.seed,
                               timeout=options.timeout, max_answer=options.max_answer_bytes)
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        progress = terminal.ProgressLine(reporter, quiet=stream is not None) if reporter else None
        # What collection made is frozen already (plugin.pytest_collection): the cyclic GC does
        # not re-walk the nodes while samples, results and reports are allocated.
        lazy_numpy.import_while_waiting()  # the summaries after sampling need it
        pool = isolation.pool_from_options(options.grader_isolation, options.grader_timeout,
                                           options.grader_memory)
        context = CallContext(settings)  # the sampler's and the judge's calls share it
        judge = self.judge = calling.make_judge(options, self.config.rootpath, context)
        try:
            budget = calling.budget(options, runs)
            from ..batch import mode as batch_mode

            backends = batch_mode.backends(
                runs, settings, mode=options.batch_mode, notes=self.notes, send=self._send_batch,
                path=options.batch_import if options.batch_import else options.batch_export)
            if backends == {}:
                return  # --rft-batch-export: written, nothing to sample
            if backends is None:
                try:
                    backends = backends_for(
                        runs, calling.backend_options(options, self.config.rootpath), budget)
                except RftError as exc:  # a --rft-regrade file, a cache folder: one line
                    prefix = "--rft-regrade: " if options.regrade else ""
                    raise pytest.UsageError(prefix + for_terminal(str(exc))) from None
            with pool or contextlib.nullcontext(), scrubbing.user_streams():
                calls = asyncio.run(_run(runs, backends, context, progress,
                                         GradingContext(judge=judge, pool=pool,
                                                        timeout=options.grader_timeout), stream,
                                         lambda: self.numbers.confirmation_targets(runs)))
            if self.calls is None:
                self.calls = calls
            else:  # an xdist worker samples one suite at a time
                from .xdist import dump_calls, merge_calls

                self.calls = merge_calls(self.calls, dump_calls(calls))
            self.notes += [b.note() for b in backends.values() if hasattr(b, "note")]
            if budget is not None:
                self.notes.append(budget.note())
        finally:
            gc.freeze()  # the samples too: they live to the end, collections need not walk them
            if judge.summary_line():  # its errors are said at any verbosity
                (self.notes if judge.stats.errors else self.details).append(judge.summary_line())
            if pool and pool.summary_line():
                (self.notes if pool.replaced else self.details).append(pool.summary_line())
            line = progress.finish() if progress else None
            if line:
                self.notes.insert(0, line)

    def _send_batch(self, collector: Any) -> Any:
        """``--rft-batch``: the requests through the OpenAI Batch API."""
        from ..batch.api import run_batches

        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        return run_batches(collector, base_url=self.settings.base_url,
                           timeout=self.settings.timeout, poll_s=self.settings.batch_poll,
                           root=self.config.rootpath,
                           say=reporter.write_line if reporter else (lambda text: None))

    # ------------------------------------------------------------------ xdist

    def worker_output(self) -> dict[str, Any]:
        from .xdist import dump_calls, dump_run

        return {"runs": [dump_run(run, self.numbers.done.get(run.key))
                         for run in self.runs if run.sampled],
                "calls": dump_calls(self.calls)}

    def merge_worker(self, data: dict[str, Any]) -> None:
        """Rebuild a worker's sampled runs here (same suites, same results): the summaries,
        gates and reports computed from them are the worker's, whole."""
        from .xdist import load_results, merge_calls

        suites: dict[str, Suite] = {str(r.suite.path): r.suite for r in self.runs}
        for raw in data.get("runs", []):
            if raw["path"] not in suites:
                suites[raw["path"]] = self.load_suite(Path(raw["path"]), resolve_tools=False)
                if raw.get("tool_sources"):  # the worker resolved them (for the tools digest)
                    suites[raw["path"]].implementation_sources = raw["tool_sources"]
                suites[raw["path"]].judge_overrides = calling.judge_overrides(self.settings)
            suite = suites[raw["path"]]
            by_id = {item.id: item for item in suite.items}
            run = SuiteRun(suite=suite, model=raw["model"], repeats=raw["repeats"], api=raw["api"],
                           items=[by_id[i] for i in raw["items"] if i in by_id],
                           results=load_results(raw["results"]), sampled=True,
                           untested=raw["untested"], gated=raw["gated"],
                           confirm=load_results(raw.get("confirm", {})))
            self.runs.append(run)
            if raw.get("verdicts"):
                self.numbers.worker_verdicts[run.key] = raw["verdicts"]
        self.calls = merge_calls(self.calls, data.get("calls"))

    # ------------------------------------------------------------------ numbers

    def summary(self, run: SuiteRun) -> SuiteSummary:
        return self.numbers.summary(run)

    def sampled(self) -> list[tuple[SuiteRun, SuiteSummary]]:
        return self.numbers.sampled()

    def item_numbers(self, run: SuiteRun, item_id: str
                     ) -> tuple[ItemStats, Comparison | None, bool]:
        return self.numbers.item_numbers(run, item_id)

    def needs_suite(self, run: SuiteRun) -> bool:
        return self.numbers.needs_suite(run)

    def item_reported(self, run: SuiteRun, item: Any) -> None:
        """What the end of the session will need of a finished item, done now (the loop is idle
        when an item reports): its record's digest, and its entry in ``--rft-report`` unless a
        baseline delta is still to come."""
        baseline_io.item_digest(item)
        if self.settings.report and not self.needs_suite(run):
            self.encoded[run.key, item.id] = json_report.encode_item(
                run, item.id, self.numbers.own_numbers(run, item.id))

    def inconclusive_gates(self) -> list[str]:
        """``suite[model] gate`` of every INCONCLUSIVE gate of the run."""
        return self.numbers.inconclusive_gates()

    # ------------------------------------------------------------------ the terminal

    def terminal_summary(self, reporter: Any) -> None:
        """By default the verdicts, gates, headline metrics and regressions in lines of at most
        120 columns (``report/brief.py``), notes wrapped to fit; ``-v`` the full tables and
        every note, ``-vv`` no list shortened. An ``rft: ERROR`` line is never wrapped: one
        error, one line (whole, for whoever greps the log)."""
        verbosity = _verbosity(self.config)

        def write(text: str, wrap: bool = True, **markup: bool) -> None:
            for line in for_terminal(text).splitlines():
                for part in (brief.fit(line) if wrap and verbosity <= 0 else [line]):
                    reporter.write_line(part, **markup)

        pairs = self.sampled()
        if pairs:
            reporter.write_sep("=", "pytest-rft summary")
            if verbosity > 0:
                reporter.write_line(for_terminal(terminal.render(
                    pairs, self.calls, everything=verbosity > 1)))
            else:
                reporter.write_line(for_terminal(brief.render(pairs, self.calls)))
            report = self.settings.report
            if report and not any("JSON report" in p for p in self.problems):
                write(f"rft: report written to {report}")
        for note in self.notes + (self.details if verbosity > 0 else []):
            write(note)
        for problem in self.problems:
            write(problem, wrap=False, red=True, bold=True)
        undecided = self.inconclusive_gates()
        if undecided:
            what = {"pass": "the build passes anyway (--rft-inconclusive=pass)",
                    "fail": "they fail the build (--rft-inconclusive=fail)",
                    "exit2": "the run exits with status 2 unless something failed "
                             "(--rft-inconclusive=exit2)"}[self.settings.inconclusive]
            write(f"rft: INCONCLUSIVE: {len(undecided)} gate(s) could not tell a regression from "
                  f"none ({', '.join(undecided[:4])}{' ...' if len(undecided) > 4 else ''}); "
                  f"{what}. Each gate's line above says why and what size would decide.",
                  yellow=True, bold=True)


def _verbosity(config: pytest.Config) -> int:
    """-v and -q as pytest counts them (``get_verbosity`` from pytest 8)."""
    get = getattr(config, "get_verbosity", None)
    return int(get() if get is not None else config.getoption("verbose"))


async def _run(runs, backends, context, progress, grading, stream=None,
               confirmations=None) -> CallStats:
    try:
        update = progress.update if progress else None
        if stream is None:
            return await run_all(runs, backends, context, update, confirmations=confirmations,
                                 grading=grading)
        return await stream.alongside(run_all(runs, backends, context, update, stream.item_done,
                                              confirmations=confirmations, grading=grading))
    finally:
        closing = [b.aclose() for b in backends.values()] + [grading.judge.aclose()]
        await asyncio.gather(*closing, return_exceptions=True)


def project_top(config: pytest.Config) -> Path:
    """Where the project's suite files are counted: the folder of the ini file (pyproject.toml,
    pytest.ini, ...), else where pytest started (without an ini file pytest's rootdir follows
    the paths on the command line, option values included)."""
    inipath = getattr(config, "inipath", None)
    return Path(inipath).parent if inipath else Path(config.invocation_params.dir)
