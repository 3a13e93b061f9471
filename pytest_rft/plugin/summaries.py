"""The build's numbers: each run's summary (computed once, after sampling), the items' own
numbers while their suite is still sampled, the build's verdicts (every baseline gate and item
regression test corrected for the others) and what to sample again to confirm a drop."""

from __future__ import annotations

from typing import Any, Callable

from ..analysis import stats
from ..analysis.compare import Comparison, compare
from ..core.records import ItemStats
from ..analysis.summary import SuiteSummary, compared_metrics, run_clusters, summarize, to_baseline
from ..core.records import SuiteRun
from .baselines import Baselines
from .settings import Settings

ITEM_ALPHA = 0.05
"""Family-wise error rate of the items failing as regressed, per build."""
DEFAULT_ITEM_REPEATS = 15
"""Confirmation repeats per item tested for a regression (``benchmarks/gate_calibration.py``:
a broken item, 0.9 -> 0.1, fails in at least 80% of builds of up to 300 items x 6 models at 3-5
repeats; an unchanged one in well under 5%)."""


def pass_views(run: SuiteRun) -> dict[str, Any]:
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


class Summaries:
    """``runs``: the session's runs; ``baselines``: what each is compared with."""

    def __init__(self, settings: Settings, runs: list[SuiteRun], baselines: Baselines,
                 count_suite_files: Callable[[], int] = lambda: 1):
        self.settings = settings
        self.runs = runs
        self.baselines = baselines
        self._count_suite_files = count_suite_files
        self._suite_files: int | None = None
        self.done: dict[str, SuiteSummary] = {}
        """Run key -> its summary."""
        self.worker_verdicts: dict[str, dict[str, Any]] = {}
        """Run key -> the verdicts an xdist worker gave its run (the controller reports them)."""
        self._own: dict[str, dict[str, ItemStats]] = {}
        """run key -> item id -> the item's own numbers, until the run's summary takes them."""
        self._needs_suite: dict[str, bool] = {}
        self._decided: set[int] = set()
        """Gates and comparisons whose verdicts the build's judgement gave (``judge_build``)."""
        self._summarizing: set[str] = set()

    def summary(self, run: SuiteRun) -> SuiteSummary:
        """The run's numbers, computed once (after sampling) and shared by items, gates, reports.
        A run compared with a baseline is judged with the build (``judge_build``): every sampled
        run that is compared is summarized first."""
        if run.key not in self.done:
            if self.needs_suite(run):
                for other in self.runs:
                    if other.sampled and other.key not in self.done \
                            and other.key not in self._summarizing and self.needs_suite(other):
                        self._summarize(other)
            if run.key not in self.done:
                self._summarize(run)
            self.judge_build()
        return self.done[run.key]

    def sampled(self) -> list[tuple[SuiteRun, SuiteSummary]]:
        return [(run, self.summary(run)) for run in self.runs if run.sampled]

    def _summarize(self, run: SuiteRun) -> None:
        """``summarize`` for one run (its baseline may be another run's summary: that one is
        made first; ``_summarizing`` keeps the chain from coming back here)."""
        self._summarizing.add(run.key)
        try:
            self._make_summary(run)
        finally:
            self._summarizing.discard(run.key)

    def _make_summary(self, run: SuiteRun) -> None:
        n_boot, seed = self.settings.bootstrap, self.settings.seed
        base, problem = self.baselines.baseline_for(run)
        summary = summarize(run, n_boot=n_boot, seed=seed, baseline=base,
                            baseline_problem=problem, writing=base is None and problem is None,
                            known=self._own.pop(run.key, None))
        self.done[run.key] = summary
        reference = self.baselines.reference_run(run)
        if reference is not None and reference is not run:
            ref_summary = self.summary(reference)
            summary.versus = compare(
                to_baseline(run, summary), to_baseline(reference, ref_summary),
                compared_metrics(run, everything=True),
                dataset_ids=[i.id for i in run.suite.items],
                labels=summary.labels or None, n_boot=n_boot, seed=seed,
                clusters=run_clusters(run))

    # ------------------------------------------------------------------ items

    def item_numbers(self, run: SuiteRun, item_id: str
                     ) -> tuple[ItemStats, Comparison | None, bool]:
        """An item's numbers, its run's comparison with the baseline, and whether it is flaky:
        the run's summary's once there is one, or when the item is compared with a baseline;
        else the item's own, the same numbers (it reports while the rest of its suite is still
        being sampled, ``streaming.py``)."""
        if run.key in self.done or self.needs_suite(run):
            summary = self.summary(run)
            return summary.items[item_id], summary.comparison, item_id in summary.flaky
        numbers = self.own_numbers(run, item_id)
        return numbers, None, stats.stability(numbers) == "flaky"

    def own_numbers(self, run: SuiteRun, item_id: str) -> ItemStats:
        """An item's stats from its own results (final once they are all in), computed once."""
        own = self._own.setdefault(run.key, {})
        numbers = own.get(item_id)
        if numbers is None:
            numbers = own[item_id] = stats.item_stats(
                item_id, run.results.get(item_id, []), run.suite.primary,
                run.suite.pass_threshold)
        return numbers

    def needs_suite(self, run: SuiteRun) -> bool:
        """Whether the run's item verdicts depend on its whole suite: a baseline to compare with
        (or to write, compared with another model's run)."""
        if run.key not in self._needs_suite:
            self._needs_suite[run.key] = bool(self.settings.baseline_update
                                              or self.baselines.baseline_for(run)[0] is not None)
        return self._needs_suite[run.key]

    # ------------------------------------------------------------------ the build's verdicts

    def judge_build(self) -> None:
        """Correct the build's tests suite by suite: each suite's tested baseline gates (every
        gate and model of it) together, and each run's items tested for a regression over that
        run's items. The families are counted from what was collected of the suite, which
        pytest collects whole whatever is selected, so a verdict doesn't change with -k, a
        pasted id, or which other suite files are run (tests not run here -- deselected, or
        on another xdist worker -- count as p = 1). Verdicts already given stay: deciding
        later with more tests known only adds rejections that were valid then too."""
        from ..analysis.compare import judge_items
        from ..analysis.gates import judge_gates

        correction = self.settings.correction
        share = self.suite_files()
        for suite_runs in self._by_suite().values():
            summaries = [self.done[r.key] for r in suite_runs if r.key in self.done]
            for summary in summaries:
                if summary.key in self.worker_verdicts:
                    self._apply_worker_verdicts(summary, self.worker_verdicts.pop(summary.key))
            gates = [g for s in summaries for g in s.gates if g.tested]
            undecided = [g for g in gates if id(g) not in self._decided]
            for gate in undecided:  # before deciding: a gate's reason names the family
                gate.suite_files = share
            judge_gates(gates, self.gate_family(suite_runs) * share, correction, undecided)
            self._decided.update(id(g) for g in undecided)
            for run in suite_runs:
                summary = self.done.get(run.key)
                comparison = summary.comparison if summary is not None else None
                if comparison is None or id(comparison) in self._decided:
                    continue
                judge_items([comparison], self.item_family([run]) * share, correction,
                            alpha=ITEM_ALPHA)
                comparison.suite_files = share
                self._decided.add(id(comparison))

    def suite_files(self) -> int:
        """The project's suite files the level is shared among (counted once, and never fewer
        than the suites collected: a suite file outside the rootdir counts too)."""
        if self._suite_files is None:
            self._suite_files = max(1, self._count_suite_files(), len(self._by_suite()))
        return self._suite_files

    def _by_suite(self) -> dict[str, list[SuiteRun]]:
        """The collected runs, suite by suite (a suite's name is unique in a build)."""
        groups: dict[str, list[SuiteRun]] = {}
        for run in self.runs:
            groups.setdefault(run.suite.name, []).append(run)
        return groups

    def _apply_worker_verdicts(self, summary: SuiteSummary, verdicts: dict[str, Any]) -> None:
        from ..analysis.gates import decide

        for gate in summary.gates:
            given = verdicts["gates"].get(gate.label)
            if gate.tested and given is not None:
                gate.suite_files = self.suite_files()
                decide(gate, given[0], correction=given[1], family=given[2])
                self._decided.add(id(gate))
        comparison, regressed = summary.comparison, verdicts.get("regressed")
        if comparison is not None and regressed is not None:
            comparison.regressed, comparison.item_family = list(regressed[0]), regressed[1]
            comparison.suite_files = self.suite_files()
            self._decided.add(id(comparison))

    def gate_family(self, runs: list[SuiteRun]) -> int:
        """Baseline-gate tests a suite makes: every baseline gate of each of its collected
        runs that is compared with something (a run writing the baseline is not)."""
        return max(1, sum(sum(1 for g in r.suite.config.gates if g.baseline)
                          for r in runs if not self.baselines.writes_baseline(r)))

    def item_family(self, runs: list[SuiteRun]) -> int:
        """Item tests ``runs`` could make: every item of each that has a baseline to compare
        with (``--rft-limit`` counted)."""
        limit = self.settings.limit
        total = 0
        for run in runs:
            if self.baselines.writes_baseline(run) or not self._compared(run):
                continue
            n = len(run.suite.items)
            total += min(n, limit) if limit is not None else n
        return max(1, total)

    def _compared(self, run: SuiteRun) -> bool:
        if self.settings.baseline_update:
            return True  # compared with the reference run being written
        return self.baselines.baseline_for(run)[0] is not None

    def inconclusive_gates(self) -> list[str]:
        """``suite[model] gate`` of every INCONCLUSIVE gate of the run."""
        return [f"{s.key} gate:{g.label}" for _, s in self.sampled() for g in s.gates
                if g.inconclusive]

    # ------------------------------------------------------------------ confirmation repeats

    def item_repeats(self, run: SuiteRun) -> int:
        """Confirmation repeats per tested item; none when the samples come from a file or a
        batch (``--rft-regrade``, batch modes: nothing more can be drawn)."""
        if self.settings.from_file:
            return 0
        value = self.settings.item_repeats
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
            now = pass_views(run)
            if self.baselines.writes_baseline(run):
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

        if self.settings.baseline_update:
            reference = self.baselines.reference_run(run)
            if reference is None or reference is run:
                return None
            return pass_views(reference)
        base, _ = self.baselines.baseline_for(run)
        if base is None:
            return None
        return {i: PassView.of(item, base.primary) for i, item in base.items.items()}
