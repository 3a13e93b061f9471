"""One pytest session's pytest-rft state, in one place: the suite runs, sampling, summaries,
baselines (read, compared, written), history and reports. The hooks in ``plugin.py`` delegate
here (the way syrupy's hooks delegate to its ``SnapshotSession``)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import shlex
from pathlib import Path
from typing import Any

import pytest

from ..store import baseline as baseline_io
from ..core import files
from ..store import history
from ..backends import judge as judges
from ..core import lazy_numpy
from ..analysis import stats
from ..backends.calls import CallContext, RunSettings
from ..backends.factory import BackendOptions, backends_for, judge_factory
from ..backends.python_backend import find_python_model, registered_models
from ..store.baseline import Baseline
from ..analysis.compare import Comparison, compare
from ..core.errors import RftError
from ..graders import isolation
from .options import option
from ..report import brief, html, json_report, markdown, terminal
from ..sampling.runner import run_all
from ..core.records import CallStats, ItemStats, SuiteRun
from ..core.secrets import for_terminal
from ..graders.base import GradingContext
from ..suite.suite import Suite
from ..analysis.summary import SuiteSummary, compared_metrics, run_clusters, summarize, to_baseline


ITEM_ALPHA = 0.05
"""Family-wise error rate of the items failing as regressed, per build."""
DEFAULT_ITEM_REPEATS = 15
"""Confirmation repeats per item tested for a regression (``benchmarks/gate_calibration.py``:
a broken item, 0.9 -> 0.1, fails in at least 80% of builds of up to 300 items x 6 models at 3-5
repeats; an unchanged one in well under 5%)."""


def _pass_views(run: SuiteRun) -> dict[str, Any]:
    """Each item's primary mean and passing repeats over its main repeats."""
    from ..analysis.compare import PassView

    suite = run.suite
    views = {}
    for item in run.items:
        results = run.results.get(item.id, [])
        passes, n = stats.pass_counts(results, suite.primary, suite.pass_threshold)
        st = stats.item_stats(item.id, results, suite.primary, suite.pass_threshold)
        score = st.scores.get(suite.primary)
        views[item.id] = PassView(None if score is None else score.mean, passes, n)
    return views


class RftSession:
    def __init__(self, config: pytest.Config):
        self.config = config
        self.runs: list[SuiteRun] = []
        self.summaries: dict[str, SuiteSummary] = {}
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
        self._baselines: dict[str, tuple[Baseline | None, str | None]] = {}
        self._checkpoints: dict[str, list[str]] = {}
        self._names: dict[str, Path] = {}
        self._needs_suite: dict[str, bool] = {}
        self._own: dict[str, dict[str, ItemStats]] = {}
        """run key -> item id -> the item's own numbers, until the run's summary takes them."""
        self.encoded = json_report.Spool()
        """(run key, item id) -> the item's entry in the JSON report, encoded when the item
        reported (while sampling goes on, ``streaming.py``)."""
        self.gate_nodes: list[Any] = []
        """Every collected gate node (so --lf can bring a rerun item's gates back)."""
        self._worker_verdicts: dict[str, dict[str, Any]] = {}
        """Run key -> the verdicts an xdist worker gave its run (the controller reports them)."""
        self._decided: set[int] = set()
        """Gates and comparisons whose verdicts the build's judgement gave (``judge_build``)."""
        self._summarizing: set[str] = set()
        self._warned: set[tuple[str, str]] = set()

    # ------------------------------------------------------------------ collection

    def models_for(self, suite: Suite) -> list[str]:
        models = list(option(self.config, "model") or suite.default_models())
        for job in option(self.config, "checkpoints") or []:
            if job not in self._checkpoints:
                from ..importer.checkpoints import list_checkpoint_models

                self._checkpoints[job] = list_checkpoint_models(
                    job, base_url=option(self.config, "base-url"))
            models += self._checkpoints[job]
        if not models:
            raise RftError("no model to test", where=f"{suite.path} model",
                           fix="add 'model:' to the suite or pass --rft-model NAME")
        models = list(dict.fromkeys(models))
        suite.judge_overrides = self.judge_overrides()
        for model in models:
            self._check_recorded(model, suite)
            self._check_reachable(model, suite)
        self._warn_retired(suite, models)
        reference = option(self.config, "baseline-model")
        if reference is not None and reference not in models:
            raise RftError(f"--rft-baseline-model {reference!r} is not one of the models run: "
                           f"{', '.join(models)}", where=str(suite.path),
                           fix="name one of them, or add it with --rft-model")
        return models

    def load_suite(self, path: Path, resolve_tools: bool = True) -> Suite:
        """A suite file, its python graders loaded under the run's grader limits."""
        from ..graders.python_grader import load_limits
        from ..core.sizes import parse_size
        from ..suite.loader import load_suite

        roots = None if option(self.config, "allow-outside-files") else (self.config.rootpath,)
        with load_limits(float(option(self.config, "grader-timeout")),
                         parse_size(option(self.config, "grader-memory"))):
            return load_suite(path, roots, resolve_tools=resolve_tools)

    def claim_name(self, suite: Suite) -> None:
        """Suite names key baselines, reports and history: two files may not share one."""
        other = self._names.setdefault(suite.name, suite.path)
        if other != suite.path:
            raise RftError(f"suite name {suite.name!r} is already used by {self._shown(other)}",
                           where=f"{self._shown(suite.path)} suite",
                           fix="give each suite file its own 'suite:' name")

    def _check_recorded(self, model: str, suite: Suite) -> None:
        """``recorded`` answers from a suite's ``recorded:`` file; a suite with no prompt (it
        grades recorded outputs) cannot sample another model."""
        from ..backends.replay import RECORDED_MODEL

        if model == RECORDED_MODEL and suite.recorded_path is None \
                and model not in registered_models():
            raise RftError(f"model {model!r} answers from the suite's 'recorded:' file, and this "
                           "suite has none", where=f"{self._shown(suite.path)} model",
                           fix="add 'recorded: platform_samples.json' (or another report JSON), "
                               "or name a model to sample")
        if model != RECORDED_MODEL and suite.prompt is None and suite.recorded_path is not None \
                and any(item.messages is None for item in suite.items):
            raise RftError(f"model {model!r}: this suite grades recorded outputs and has no prompt "
                           "to send", where=f"{self._shown(suite.path)} input",
                           fix="add 'input:' (a chat template) to sample a model, or run the "
                               "suite without --rft-model")

    def _warn_retired(self, suite: Suite, models: list[str]) -> None:
        """A warning (once per name) for a model under test or a judge OpenAI retired."""
        import warnings

        from ..backends import retired

        named = [(m, "model") for m in models] + [
            (m, f"judge of {suite.name}") for m in dict.fromkeys(suite.judge_models().values())]
        for model, role in named:
            found = retired.retirement(model)
            key = (found[0] if found else "", role.split()[0])  # once per family and role
            line = retired.warning(model, role)
            if line and key not in self._warned:
                self._warned.add(key)
                warnings.warn(retired.RetiredModelWarning(line), stacklevel=2)

    def _check_reachable(self, model: str, suite: Suite) -> None:
        """A name that is neither a Python model nor callable on an API is a typo: say so once,
        at collection, instead of once per sample."""
        from ..backends.replay import RECORDED_MODEL

        if self.config.option.collectonly or option(self.config, "regrade") \
                or find_python_model(model) is not None or model == RECORDED_MODEL:
            return
        if option(self.config, "cache") and option(self.config, "replay"):
            return  # answered from the cache, never sent
        if option(self.config, "batch-export") or option(self.config, "batch-import"):
            return  # written to or read from a batch file, never sent
        if os.environ.get("OPENAI_API_KEY"):
            return
        known = sorted(registered_models())
        raise RftError(
            f"model {model!r} is not a registered Python model"
            + (f" (registered: {', '.join(known)})" if known else "")
            + " and OPENAI_API_KEY is not set to call it on an OpenAI-compatible API",
            where=f"{self._shown(suite.path)} model",
            fix="fix the name, or export OPENAI_API_KEY (any value for local servers such as "
                "vLLM or Ollama) and --rft-base-url")

    def suite_loaded(self, suite: Suite) -> None:
        """``--rft-export-graders DIR``: the suite's graders as OpenAI grader JSON."""
        folder = option(self.config, "export-graders")
        if folder:
            from ..graders.export import export_graders

            written = export_graders(suite, Path(folder))
            where = written[0].parent if written else Path(folder)
            self.notes.append(f"rft: {len(written)} grader(s) of {suite.name} exported to "
                              f"{where}")

    def add_run(self, suite: Suite, model: str) -> SuiteRun:
        run = SuiteRun(suite=suite, model=model, repeats=option(self.config, "repeats"),
                       api=option(self.config, "api"))
        self.runs.append(run)
        return run

    # ------------------------------------------------------------------ sampling

    def sample(self, runs: list[SuiteRun], stream: Any = None) -> None:
        """Sample and grade ``runs``; with a ``streaming.Stream``, its nodes report meanwhile
        (the progress line is then not drawn: its last line becomes a note)."""
        settings = RunSettings(concurrency=option(self.config, "concurrency"),
                               max_retries=option(self.config, "max-retries"),
                               backoff_base=option(self.config, "retry-backoff"),
                               seed=option(self.config, "seed"),
                               timeout=option(self.config, "timeout"),
                               max_answer=self.max_answer())
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        progress = terminal.ProgressLine(reporter, quiet=stream is not None) if reporter else None
        # What collection made is frozen already (plugin.pytest_collection): the cyclic GC does
        # not re-walk the nodes while samples, results and reports are allocated.
        lazy_numpy.import_while_waiting()  # the summaries after sampling need it
        pool = isolation.pool_from_options(option(self.config, "grader-isolation"),
                                           option(self.config, "grader-timeout"),
                                           option(self.config, "grader-memory"))
        context = CallContext(settings)  # the sampler's and the judge's calls share it
        judge = self.judge = self.make_judge(context)
        try:
            budget = self._budget(runs)
            from ..batch import mode as batch_mode

            backends = batch_mode.backends(self, runs, settings)
            if backends == {}:
                return  # --rft-batch-export: written, nothing to sample
            if backends is None:
                try:
                    backends = backends_for(runs, self.backend_options(), budget)
                except RftError as exc:  # a --rft-regrade file, a cache folder: one line
                    prefix = "--rft-regrade: " if option(self.config, "regrade") else ""
                    raise pytest.UsageError(prefix + for_terminal(str(exc))) from None
            with pool or contextlib.nullcontext():  # python graders: workers (closed after)
                calls = asyncio.run(_run(runs, backends, context, progress,
                                         GradingContext(judge=judge, pool=pool), stream,
                                         lambda: self.confirmation_targets(runs)))
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

    # ------------------------------------------------------------------ xdist

    def worker_output(self) -> dict[str, Any]:
        from .xdist import dump_calls, dump_run

        return {"runs": [dump_run(run, self.summaries.get(run.key))
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
                suites[raw["path"]].judge_overrides = self.judge_overrides()
            suite = suites[raw["path"]]
            by_id = {item.id: item for item in suite.items}
            run = SuiteRun(suite=suite, model=raw["model"], repeats=raw["repeats"], api=raw["api"],
                           items=[by_id[i] for i in raw["items"] if i in by_id],
                           results=load_results(raw["results"]), sampled=True,
                           untested=raw["untested"], gated=raw["gated"],
                           confirm=load_results(raw.get("confirm", {})))
            self.runs.append(run)
            if raw.get("verdicts"):
                self._worker_verdicts[run.key] = raw["verdicts"]
        self.calls = merge_calls(self.calls, data.get("calls"))


    def max_answer(self) -> int | None:
        """``--rft-max-answer-size`` in bytes (None: no limit)."""
        from ..core.sizes import parse_size

        return parse_size(option(self.config, "max-answer-size"))

    def make_judge(self, context: CallContext) -> judges.Judge:
        """The run's judge for score_model / label_model graders (same backends and calls)."""
        return judges.Judge(judge_factory(self.backend_options()), self.judge_overrides(),
                            context)

    def backend_options(self) -> BackendOptions:
        """How models are called (``backends.factory``)."""
        regrade, folder = option(self.config, "regrade"), option(self.config, "cache")
        return BackendOptions(
            base_url=option(self.config, "base-url"), timeout=option(self.config, "timeout"),
            concurrency=option(self.config, "concurrency"),
            http_client=option(self.config, "http-client"), max_answer_bytes=self.max_answer(),
            regrade=regrade, cache=self.config.rootpath / folder if folder else None,
            cache_mode=("record" if option(self.config, "record")
                        else "replay" if option(self.config, "replay") else "use"),
            cache_raw=bool(option(self.config, "cache-raw")))

    def judge_overrides(self) -> judges.JudgeOverrides:
        """``--rft-judge-model`` (a name, and OLD=NEW remaps) and ``--rft-judge-base-url``."""
        return judges.JudgeOverrides.from_option(option(self.config, "judge-model"),
                                                 option(self.config, "judge-base-url"))

    def _budget(self, runs: list[SuiteRun]) -> Any:
        """The run's spending limits (None when neither the options nor a suite set one)."""
        suites = {r.suite.name: (r.suite.config.max_tokens, r.suite.config.max_cost) for r in runs}
        tokens, cost = option(self.config, "budget-tokens"), option(self.config, "budget-cost")
        if tokens is None and cost is None and not any(t or c for t, c in suites.values()):
            return None
        from ..backends.budget import Budget

        return Budget(tokens, cost, suites)

    # ------------------------------------------------------------------ numbers

    def summary(self, run: SuiteRun) -> SuiteSummary:
        """The run's numbers, computed once (after sampling) and shared by items, gates, reports.
        A run compared with a baseline is judged with the build (``judge_build``): every sampled
        run that is compared is summarized first."""
        if run.key not in self.summaries:
            if self.needs_suite(run):
                for other in self.runs:
                    if other.sampled and other.key not in self.summaries \
                            and other.key not in self._summarizing and self.needs_suite(other):
                        self._summarize(other)
            if run.key not in self.summaries:
                self._summarize(run)
            self.judge_build()
        return self.summaries[run.key]

    def _summarize(self, run: SuiteRun) -> None:
        """``summarize`` for one run (its baseline may be another run's summary: that one is
        made first; ``_summarizing`` keeps the chain from coming back here)."""
        self._summarizing.add(run.key)
        try:
            self._make_summary(run)
        finally:
            self._summarizing.discard(run.key)

    def _make_summary(self, run: SuiteRun) -> None:
        n_boot, seed = option(self.config, "bootstrap"), option(self.config, "seed")
        base, problem = self._baseline_for(run)
        summary = summarize(run, n_boot=n_boot, seed=seed, baseline=base,
                            baseline_problem=problem, writing=base is None and problem is None,
                            known=self._own.pop(run.key, None))
        self.summaries[run.key] = summary
        reference = self.reference_run(run)
        if reference is not None and reference is not run:
            ref_summary = self.summary(reference)
            summary.versus = compare(
                to_baseline(run, summary), to_baseline(reference, ref_summary),
                compared_metrics(run, everything=True),
                dataset_ids=[i.id for i in run.suite.items],
                labels=summary.labels or None, n_boot=n_boot, seed=seed,
                clusters=run_clusters(run))

    # ------------------------------------------------------------------ the build's verdicts

    def judge_build(self) -> None:
        """Correct every test of the build at once: each tested baseline gate (every gate,
        model and suite) and each item tested for a regression, over families counted from
        what was collected (so a verdict doesn't change with -k or a pasted id; tests not run
        here -- deselected, or on another xdist worker -- count as p = 1). Verdicts already
        given stay: deciding later with more tests known only adds rejections that were valid
        then too."""
        from ..analysis.compare import judge_items
        from ..analysis.gates import judge_gates

        summaries = [self.summaries[r.key] for r in self.runs if r.key in self.summaries]
        for summary in summaries:
            if summary.key in self._worker_verdicts:
                self._apply_worker_verdicts(summary, self._worker_verdicts.pop(summary.key))
        correction = option(self.config, "correction")
        gates = [g for s in summaries for g in s.gates if g.tested]
        undecided = [g for g in gates if id(g) not in self._decided]
        judge_gates(gates, self.gate_family(), correction, undecided)
        self._decided.update(id(g) for g in undecided)
        comparisons = [s.comparison for s in summaries if s.comparison is not None]
        pending = [c for c in comparisons if id(c) not in self._decided]
        judge_items(comparisons, self.item_family(), correction, pending, alpha=ITEM_ALPHA)
        self._decided.update(id(c) for c in pending)

    def _apply_worker_verdicts(self, summary: SuiteSummary, verdicts: dict[str, Any]) -> None:
        from ..analysis.gates import decide

        for gate in summary.gates:
            given = verdicts["gates"].get(gate.label)
            if gate.tested and given is not None:
                decide(gate, given[0], correction=given[1], family=given[2])
                self._decided.add(id(gate))
        comparison, regressed = summary.comparison, verdicts.get("regressed")
        if comparison is not None and regressed is not None:
            comparison.regressed, comparison.item_family = list(regressed[0]), regressed[1]
            self._decided.add(id(comparison))

    def gate_family(self) -> int:
        """Baseline-gate tests the build makes: every baseline gate of every collected run
        that is compared with something (a run writing the baseline is not)."""
        return max(1, sum(sum(1 for g in r.suite.config.gates if g.baseline)
                          for r in self.runs if not self.writes_baseline(r)))

    def item_family(self) -> int:
        """Item tests the build could make: every item of every collected run that has a
        baseline to compare with (``--rft-limit`` counted)."""
        limit = option(self.config, "limit")
        total = 0
        for run in self.runs:
            if self.writes_baseline(run) or self._baseline_for_family(run) is None:
                continue
            n = len(run.suite.items)
            total += min(n, limit) if limit is not None else n
        return max(1, total)

    def _baseline_for_family(self, run: SuiteRun) -> Any:
        if option(self.config, "baseline-update"):
            return True  # compared with the reference run being written
        return self._baseline_for(run)[0]

    def writes_baseline(self, run: SuiteRun) -> bool:
        """Whether ``run`` is the one --rft-baseline-update writes (its suite's reference)."""
        if not option(self.config, "baseline-update"):
            return False
        wanted = option(self.config, "baseline-model")
        same = [r for r in self.runs if r.suite.path == run.suite.path]
        reference = next((r for r in same if r.model == wanted), None) if wanted else same[0]
        return reference is run

    def item_repeats(self, run: SuiteRun) -> int:
        """Confirmation repeats per tested item; none when the samples come from a file or a
        batch (``--rft-regrade``, batch modes: nothing more can be drawn)."""
        if any(option(self.config, mode) for mode in ("regrade", "batch", "batch-export",
                                                      "batch-import")):
            return 0
        value = option(self.config, "item-repeats")
        if value is None:
            value = run.suite.config.item_repeats
        return DEFAULT_ITEM_REPEATS if value is None else value

    def confirmation_targets(self, runs: list[SuiteRun]) -> list[tuple[SuiteRun, Any, int]]:
        """What to sample again once the main repeats are in: each item a compared run drops
        (``compare.dropped``), and each passing item of a baseline being written (its
        confirmation counts go into the file, for later runs' item tests)."""
        from ..analysis.compare import dropped

        targets = []
        for run in runs:
            k = self.item_repeats(run)
            if k <= 0:
                continue
            now = _pass_views(run)
            if self.writes_baseline(run):
                targets += [(run, item, k) for item in run.items
                            if now[item.id].passed(run.suite.pass_threshold)]
                continue
            then = self._comparison_views(run)
            if then is None:
                continue
            targets += [(run, item, k) for item in run.items if item.id in then
                        and dropped(then[item.id], now[item.id], run.suite.pass_threshold)]
        return targets

    def _comparison_views(self, run: SuiteRun) -> dict[str, Any] | None:
        """The baseline's items as ``PassView``s: from the file, or (updating, another model)
        from the reference run's main repeats."""
        from ..analysis.compare import PassView

        if option(self.config, "baseline-update"):
            reference = self.reference_run(run)
            if reference is None or reference is run:
                return None
            return _pass_views(reference)
        base, _ = self._baseline_for(run)
        if base is None:
            return None
        return {i: PassView.of(item, base.primary) for i, item in base.items.items()}

    def item_numbers(self, run: SuiteRun, item_id: str
                     ) -> tuple[ItemStats, Comparison | None, bool]:
        """An item's numbers, its run's comparison with the baseline, and whether it is flaky:
        the run's summary's once there is one, or when the item is compared with a baseline;
        else the item's own, the same numbers (it reports while the rest of its suite is still
        being sampled, ``streaming.py``)."""
        if run.key in self.summaries or self.needs_suite(run):
            summary = self.summary(run)
            return summary.items[item_id], summary.comparison, item_id in summary.flaky
        numbers = self._own_numbers(run, item_id)
        return numbers, None, stats.stability(numbers) == "flaky"

    def _own_numbers(self, run: SuiteRun, item_id: str) -> ItemStats:
        """An item's stats from its own results (final once they are all in), computed once."""
        own = self._own.setdefault(run.key, {})
        numbers = own.get(item_id)
        if numbers is None:
            numbers = own[item_id] = stats.item_stats(
                item_id, run.results.get(item_id, []), run.suite.primary,
                run.suite.pass_threshold)
        return numbers

    def item_reported(self, run: SuiteRun, item: Any) -> None:
        """What the end of the session will need of a finished item, done now (the loop is idle
        when an item reports): its record's digest, and its entry in ``--rft-report`` unless a
        baseline delta is still to come."""
        baseline_io.item_digest(item)
        if option(self.config, "report") and not self.needs_suite(run):
            self.encoded[run.key, item.id] = json_report.encode_item(
                run, item.id, self._own_numbers(run, item.id))

    def needs_suite(self, run: SuiteRun) -> bool:
        """Whether the run's item verdicts depend on its whole suite: a baseline to compare with
        (or to write, compared with another model's run)."""
        if run.key not in self._needs_suite:
            self._needs_suite[run.key] = bool(option(self.config, "baseline-update")
                                              or self._baseline_for(run)[0] is not None)
        return self._needs_suite[run.key]

    def sampled(self) -> list[tuple[SuiteRun, SuiteSummary]]:
        return [(run, self.summary(run)) for run in self.runs if run.sampled]

    def reference_run(self, run: SuiteRun) -> SuiteRun | None:
        """The run of the same suite that others are compared with (and that becomes the baseline
        on update): ``--rft-baseline-model``, else the first model."""
        same = [r for r in self.runs if r.suite.path == run.suite.path and r.sampled]
        wanted = option(self.config, "baseline-model")
        chosen = [r for r in same if r.model == wanted] if wanted else same[:1]
        return chosen[0] if chosen else None

    def _baseline_for(self, run: SuiteRun) -> tuple[Baseline | None, str | None]:
        suite = run.suite
        if option(self.config, "baseline-update"):
            reference = self.reference_run(run)
            if reference is not None and reference is not run:
                return to_baseline(reference, self.summary(reference)), None
            return None, None  # the run being written is its own baseline
        explicit = option(self.config, "baseline")
        key = f"{explicit or ''}|{suite.path}"
        if key not in self._baselines:
            self._baselines[key] = self._load_baseline(suite, explicit, run.model)
        return self._baselines[key]

    def _load_baseline(self, suite: Suite, explicit: str | None, model: str
                       ) -> tuple[Baseline | None, str | None]:
        if explicit:
            path = Path(explicit)
            try:
                data = baseline_io.read_any(path, suite.name, option(self.config, "baseline-model"))
            except RftError as exc:
                return None, str(exc)
            if data is None:
                return None, (f"{path} has no run of suite {suite.name!r}; pass a report of a run "
                              "that included it, or the suite's baseline file")
            return data, None
        path = self.baseline_path(suite)
        if not path.is_file():
            return None, (f"no baseline for suite {suite.name!r} (expected {self._shown(path)}); "
                          f"create it with:  {self.update_command(suite, model)}")
        try:
            data = baseline_io.read(path)
        except RftError as exc:
            return None, str(exc)
        if data.suite != suite.name:
            return None, (f"{self._shown(path)} is the baseline of suite {data.suite!r}, not "
                          f"{suite.name!r}; re-create it with:  {self.update_command(suite, model)}")
        return data, None

    def baseline_path(self, suite: Suite) -> Path:
        folder = option(self.config, "baseline-dir")
        if folder and not Path(folder).is_absolute():
            folder = self.config.rootpath / folder
        return baseline_io.default_path(suite.path, suite.name, folder)

    def update_command(self, suite: Suite, model: str) -> str:
        models = option(self.config, "model") or []
        parts = ["pytest", self._shown(suite.path)]
        if models:
            parts += ["--rft-model", model]
        if option(self.config, "baseline-dir"):
            parts += ["--rft-baseline-dir", option(self.config, "baseline-dir")]
        return shlex.join([*parts, "--rft-baseline-update"])

    def _shown(self, path: Path) -> str:
        """A path relative to where pytest was started, unless it lies elsewhere."""
        try:
            relative = os.path.relpath(path, self.config.invocation_params.dir)
        except ValueError:
            return str(path)
        return str(path) if relative.startswith(os.pardir + os.sep + os.pardir) else relative

    # ------------------------------------------------------------------ finish

    def finish(self, exitstatus: int) -> bool:
        """Baselines (on update), history, the JSON and HTML reports and the step summary;
        partial results are kept. Each output is written on its own: one that fails (a
        read-only folder, a full disk, a folder where the file goes) is one error line in the
        summary and the others are still written. Returns False when any output failed."""
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        try:
            pairs: list[tuple[SuiteRun, SuiteSummary | None]] = list(self.sampled())
        except Exception as exc:  # never lose the samples because a summary failed
            self.problems.append(f"rft: ERROR: summaries failed ({type(exc).__name__}: {exc}); "
                                 "samples written without them")
            pairs = [(run, None) for run in self.runs if run.sampled]
        summarized = [(r, s) for r, s in pairs if s is not None]
        if option(self.config, "baseline-update") and not interrupted:
            self._write_baselines(summarized)
        path = option(self.config, "history")
        if path and not interrupted:
            self._output("history", path, "--rft-history", lambda: self._append_history(
                Path(path), summarized))
        report = option(self.config, "report")
        if report:
            self._output("JSON report", report, "--rft-report", lambda: json_report.write(
                Path(report), pairs, self.calls, exitstatus=int(exitstatus), judge=self.judge,
                encoded=self.encoded))
        self._output("HTML report", self._html_target(), "--rft-html",
                     lambda: html.write_for(self, pairs))
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if step_summary and summarized:
            self._output("step summary", step_summary, "$GITHUB_STEP_SUMMARY",
                         lambda: markdown.append(Path(step_summary), summarized))
        self.encoded.close()
        return not self.problems

    def _output(self, what: str, path: str, option_name: str, write: Any) -> None:
        """Run one output's ``write``; a failure becomes one located error line."""
        try:
            write()
        except Exception as exc:  # noqa: BLE001 - one output must not cost the others
            where = f" {path}" if path else ""
            self.problems.append(f"rft: ERROR: the {what}{where} was not written: "
                                 f"{files.write_problem(exc)} (fix: make {option_name} a "
                                 "writable file path)")

    def _html_target(self) -> str:
        try:
            return option(self.config, "html") or ""
        except Exception:  # noqa: BLE001 - an ini value whose check fails: write_for says why
            return ""

    def _append_history(self, path: Path, pairs: list[tuple[SuiteRun, SuiteSummary]]) -> None:
        commit = history.git_commit(self.config.rootpath)
        created = baseline_io.now()
        records = [history.record(r, s, git_commit=commit, created=created) for r, s in pairs]
        history.append(path, records)
        self.notes.append(f"rft: {len(records)} run(s) appended to the history {path}")

    def _write_baselines(self, pairs: list[tuple[SuiteRun, SuiteSummary]]) -> None:
        for run, summary in pairs:
            if self.reference_run(run) is not run:
                continue
            path = self.baseline_path(run.suite)
            snapshot = to_baseline(run, summary)
            old = self._previous_for_partial(run, path)
            written = snapshot if old is None else baseline_io.partial_update(
                old, snapshot, {item.id for item in run.suite.items})
            before = len(self.problems)
            self._output(f"baseline of {run.suite.name}", self._shown(path),
                         "--rft-baseline-dir", lambda: baseline_io.write(path, written))
            if len(self.problems) > before:
                continue
            if old is None:
                note = (f"rft: baseline of {run.suite.name} written from {run.model} "
                        f"({len(summary.items)} items x {snapshot.repeats} repeats) to "
                        f"{self._shown(path)}")
            else:
                note = self._partial_note(run, old, snapshot, written, path)
            errors = sum(s.n_errors + s.n_grader_errors for s in summary.items.values())
            if errors:
                note += f"; WARNING: {errors} sample(s) had errors and have no scores in it"
            self.notes.append(note)

    @staticmethod
    def _previous_for_partial(run: SuiteRun, path: Path) -> Baseline | None:
        """The baseline file a partial run (-k, --rft-limit) updates; None for a full run, or
        when there is no readable file (the run's items then make the file on their own)."""
        if {item.id for item in run.items} >= {item.id for item in run.suite.items} \
                or not path.is_file():
            return None
        try:
            return baseline_io.read(path)
        except RftError:
            return None

    def _partial_note(self, run: SuiteRun, old: Baseline, new: Baseline, written: Baseline,
                      path: Path) -> str:
        kept = len(written.items) - len(new.items)
        note = (f"rft: baseline of {run.suite.name} in {self._shown(path)}: {len(new.items)} "
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
            report = option(self.config, "report")
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
                             "(--rft-inconclusive=exit2)"}[option(self.config, "inconclusive")]
            write(f"rft: INCONCLUSIVE: {len(undecided)} gate(s) could not tell a regression from "
                  f"none ({', '.join(undecided[:4])}{' ...' if len(undecided) > 4 else ''}); "
                  f"{what}. Each gate's line above says why and what size would decide.",
                  yellow=True, bold=True)

    def inconclusive_gates(self) -> list[str]:
        """``suite[model] gate`` of every INCONCLUSIVE gate of the run."""
        return [f"{s.key} gate:{g.label}" for _, s in self.sampled() for g in s.gates
                if g.inconclusive]


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
