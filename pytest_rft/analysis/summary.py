"""From one suite run's samples to its numbers: item stats, suite metrics, label metrics, the
comparison with a baseline, and gate verdicts; and a run's numbers as a ``Baseline``."""

from __future__ import annotations

import collections
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.version import __version__
from . import stats
from ..store.baseline_record import Baseline, BaselineItem, item_digest, now, suite_digests
from .compare import Comparison, compare
from ..core.lazy_numpy import np
from .paired import PairedDelta
from .gates import GateResult, check_gate, error_gate
from .labels import extract_labels, item_counts, label_metrics
from ..core.records import SuiteRun
from ..sampling.grading import sample_view
from .stats import ItemStats, Metric


@dataclass
class SuiteSummary:
    key: str
    model: str
    items: dict[str, ItemStats]
    metrics: dict[str, Metric]
    per_label: list[Any] = field(default_factory=list)
    stability: dict[str, int] = field(default_factory=dict)
    gates: list[GateResult] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    label_counts: dict[str, np.ndarray] = field(default_factory=dict)
    """Per item, its label counts (``labels.item_counts`` layout), for classification suites."""
    flaky: list[str] = field(default_factory=list)
    """Items whose repeats disagree (quarantined: reported, never failing on their own)."""
    warnings: list[str] = field(default_factory=list)
    comparison: Comparison | None = None
    """Against the baseline (file or earlier report)."""
    baseline_problem: str | None = None
    """Why there is no comparison although a baseline gate asks for one."""
    versus: Comparison | None = None
    """Against the session's reference model (the checkpoint table)."""
    judged: bool = True
    """False when no gate of the run was selected (``-k`` an item, a pasted item id): its
    numbers cover the selected items only, so its gates were not judged (``gates`` is empty)."""

    @property
    def passed(self) -> bool | None:
        """No gate FAILed (INCONCLUSIVE gates are the user's choice: ``verdict``); None when the
        gates were not judged."""
        return all(g.passed for g in self.gates) if self.judged else None

    @property
    def verdict(self) -> str:
        """FAIL if a gate failed, else INCONCLUSIVE if one could not tell, else PASS; "not
        judged" when no gate was selected."""
        if self.passed is None:
            return "not judged"
        if not self.passed:
            return "FAIL"
        return "INCONCLUSIVE" if any(g.inconclusive for g in self.gates) else "PASS"


@dataclass
class VersusRow:
    """One row of the side-by-side deltas: a model's paired delta on a metric against the
    reference model, or (``delta`` None) the count of items that flipped each way."""

    model: str
    metric: str
    delta: "PairedDelta | None"
    comparison: Comparison

    @property
    def flips(self) -> str:
        return f"{len(self.comparison.improved)} up, {len(self.comparison.flipped_down)} down"


def versus_rows(group: list[tuple[SuiteRun, "SuiteSummary"]]) -> tuple[str, list[VersusRow]]:
    """The reference model's name and every other model's rows against it."""
    rows: list[VersusRow] = []
    reference = ""
    for run, summary in group:
        v = summary.versus
        if v is None:
            continue
        reference = v.baseline.model
        rows += [VersusRow(run.model, metric, d, v) for metric, d in v.deltas.items()]
        rows.append(VersusRow(run.model, "items flipped", None, v))
    return reference, rows


def compared_metrics(run: SuiteRun, *, everything: bool = False) -> list[str]:
    """Metrics with a paired delta: the primary mean, pass rate, label F1s and any gated one;
    ``everything`` (models side by side): every grader's mean too."""
    suite = run.suite
    names = [f"{suite.primary}.mean", "pass_rate"]
    if everything:
        names += [f"{score}.mean" for score in suite.score_names]
    if suite.config.classification:
        names += ["micro_precision", "micro_recall", "micro_f1", "macro_f1"]
    names += [g.metric for g in suite.config.gates if g.baseline]
    return list(dict.fromkeys(names))


MIN_CLUSTERS = 20
"""Below this many clusters, cluster-robust intervals are rougher (said in the summary)."""


def run_clusters(run: SuiteRun) -> dict[str, object] | None:
    """The run's items' clusters (``cluster:``), or None."""
    clusters = run.suite.clusters()
    if clusters is None:
        return None
    return {item.id: clusters[item.id] for item in run.items if item.id in clusters}


def summarize(run: SuiteRun, *, n_boot: int = 1000, seed: int = 0,
              baseline: Baseline | None = None, baseline_problem: str | None = None,
              known: dict[str, stats.ItemStats] | None = None,
              writing: bool = False) -> SuiteSummary:
    """The run's numbers. ``known``: items' stats worked out already (from the same, final
    results); ``writing``: the run becomes the baseline (nothing to compare)."""
    suite = run.suite
    known = known or {}
    item_stats = {
        item.id: known.get(item.id) or stats.item_stats(
            item.id, run.results.get(item.id, []), suite.primary, suite.pass_threshold)
        for item in run.items
    }
    clusters = run_clusters(run)
    metrics = stats.suite_metrics(list(item_stats.values()), suite.score_names,
                                  thresholds=suite.score_thresholds, clusters=clusters)
    summary = SuiteSummary(key=run.key, model=run.model, items=item_stats, metrics=metrics)
    if suite.threshold_note:
        summary.warnings.append(suite.threshold_note)
    if suite.tools_note:
        summary.warnings.append(suite.tools_note)
    if clusters is not None:
        summary.warnings += _cluster_warnings(suite.config.cluster or "", clusters)
    if suite.config.classification:
        _label_summary(run, summary, n_boot=n_boot, seed=seed, clusters=clusters)
    classes = {item_id: stats.stability(s) for item_id, s in item_stats.items()}
    summary.stability = dict(collections.Counter(classes.values()))
    summary.flaky = [item_id for item_id, c in classes.items() if c == "flaky"]
    summary.baseline_problem = baseline_problem
    if baseline is not None:
        confidence = {g.metric: g.confidence for g in suite.config.gates if g.baseline}
        summary.comparison = compare(
            to_baseline(run, summary), baseline, compared_metrics(run),
            dataset_ids=[item.id for item in suite.items],
            labels=suite.config.classification.labels if suite.config.classification else None,
            confidence=confidence, n_boot=n_boot, seed=seed, clusters=clusters)
    summary.judged = run.gated
    if run.gated:  # a subset's numbers judge nothing: no verdict is made of them
        gates = [*suite.config.gates, error_gate(suite.config.max_error_rate)]
        summary.gates = [check_gate(gate, metrics, summary.comparison, baseline_problem,
                                    writing=writing) for gate in gates]
    return summary


def _cluster_warnings(field: str, clusters: dict[str, object]) -> list[str]:
    alone = sum(1 for c in clusters.values() if isinstance(c, tuple) and c[:1] == ("no cluster",))
    count = len(set(clusters.values()))
    notes = []
    if alone:
        notes.append(f"{alone} item(s) have no {field!r}: each counts as a cluster of its own")
    if count < MIN_CLUSTERS:
        notes.append(f"only {count} clusters of {field!r}: cluster-robust intervals (t on "
                     f"{max(count - 1, 1)} df) are wide and rougher below {MIN_CLUSTERS}")
    return notes


def _label_summary(run: SuiteRun, summary: SuiteSummary, *, n_boot: int, seed: int,
                   clusters: dict[str, object] | None = None) -> None:
    classification = run.suite.config.classification
    predicted, reference, groups = [], [], []
    per_item: dict[str, tuple[list[list[str]], list[list[str]]]] = {}
    support: collections.Counter = collections.Counter()
    for item in run.items:
        truth = extract_labels(item.data, classification.reference)
        support.update(set(truth))
        group = item.id if clusters is None else clusters.get(item.id, item.id)
        rows = per_item.setdefault(item.id, ([], []))
        for result in run.results.get(item.id, []):
            if result.failed:
                continue
            guess = extract_labels(sample_view(result), classification.predicted)
            predicted.append(guess)
            reference.append(truth)
            groups.append(group)
            rows[0].append(guess)
            rows[1].append(truth)
    labels = label_metrics(predicted, reference, classification.labels, groups=groups,
                           n_boot=n_boot, seed=seed, label_items=dict(support))
    summary.metrics.update(labels.metrics())
    summary.per_label = labels.per_label
    summary.labels = labels.labels
    summary.label_counts = {item_id: item_counts(p, t, labels.labels)
                            for item_id, (p, t) in per_item.items() if p}
    unsupported = len(labels.labels) - len(labels.macro_labels)
    if unsupported and labels.macro_labels:
        summary.warnings.append(
            f"macro averages are over the {len(labels.macro_labels)} label(s) some item has; "
            f"{unsupported} listed label(s) no item has are left out")


def to_baseline(run: SuiteRun, summary: SuiteSummary, *, created: str | None = None,
                lazy: bool = False) -> Baseline:
    """The run's numbers as a baseline record (what ``--rft-baseline-update`` writes).
    ``lazy``: each item is built when it is read (the report streams it: a 200,000-item
    snapshot never exists whole)."""
    suite = run.suite
    repeats = run.repeats
    by_id = {item.id: item for item in run.items}

    def build(item_id: str) -> BaselineItem:
        return _baseline_item(run, summary, item_id, by_id)

    items: Mapping[str, BaselineItem] = (_LazyItems(summary.items, build) if lazy else
                                         {item_id: build(item_id) for item_id in summary.items})
    metrics = {name: {"value": _r(m.value), "ci_low": _r(m.ci_low), "ci_high": _r(m.ci_high),
                      "n": m.n} for name, m in summary.metrics.items()}
    return Baseline(suite=suite.name, model=run.model, repeats=repeats, primary=suite.primary,
                    pass_threshold=suite.pass_threshold, items=items, metrics=metrics,
                    digests=suite_digests(suite, suite.sampling_for_model(run.model), repeats),
                    created=created or now(), plugin_version=__version__,
                    judges=suite.judge_models())


def _baseline_item(run: SuiteRun, summary: SuiteSummary, item_id: str,
                   by_id: dict[str, Any]) -> BaselineItem:
    st = summary.items[item_id]
    labels = summary.labels
    counts = summary.label_counts.get(item_id)
    label_counts = rows = None
    if counts is not None:
        L = len(labels)
        label_counts = {lab: [int(counts[i]), int(counts[L + i]), int(counts[2 * L + i])]
                        for i, lab in enumerate(labels)
                        if counts[i] or counts[L + i] or counts[2 * L + i]}
        rows = [int(counts[3 * L])] + [round(float(v), 10) for v in counts[3 * L + 1:]]
    return BaselineItem(
        scores={name: {"mean": _r(s.mean), "std": _r(s.std), "min": _r(s.min),
                       "max": _r(s.max), "n": s.n} for name, s in st.scores.items()},
        passes=st.n_pass, n=len(st.primary_values),
        errors=st.n_errors + st.n_grader_errors,
        digest=item_digest(by_id[item_id]) if item_id in by_id else "",
        labels=label_counts, rows=rows, stability=stats.stability(st),
        confirm=_confirm_counts(run, item_id))


class _LazyItems(Mapping):
    """Item id -> BaselineItem, each built when it is read and not kept."""

    def __init__(self, ids: Mapping[str, Any], build: Callable[[str], BaselineItem]):
        self._ids = ids
        self._build = build

    def __getitem__(self, item_id: str) -> BaselineItem:
        if item_id not in self._ids:
            raise KeyError(item_id)
        return self._build(item_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


def _confirm_counts(run: SuiteRun, item_id: str) -> list[int] | None:
    results = run.confirm.get(item_id)
    if not results:
        return None
    return list(stats.pass_counts(results, run.suite.primary, run.suite.pass_threshold))


def _r(value: float | None) -> float | None:
    """Rounded for a readable file; 10 digits keep every comparison exact enough (NaN and
    infinity, which JSON can't hold, are None: no number)."""
    if value is None or not math.isfinite(float(value)):
        return None
    return round(float(value), 10)
