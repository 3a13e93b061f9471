"""From one suite run's samples to its numbers: item stats, suite metrics, label metrics."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

from . import stats
from .gates import GateResult, check_gate, error_gate
from .runner import SuiteRun, sample_view
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


def summarize(run: SuiteRun, *, n_boot: int = 1000, seed: int = 0) -> SuiteSummary:
    suite = run.suite
    item_stats = {
        item.id: stats.item_stats(item.id, run.results.get(item.id, []), suite.primary,
                                  suite.config.pass_threshold)
        for item in run.items
    }
    metrics = stats.suite_metrics(list(item_stats.values()), suite.score_names,
                                  n_boot=n_boot, seed=seed)
    per_label: list[Any] = []
    classification = suite.config.classification
    if classification:
        predicted, reference, groups = [], [], []
        for item in run.items:
            truth = stats.extract_labels(item.data, classification.reference)
            for result in run.results.get(item.id, []):
                if result.failed:
                    continue
                predicted.append(stats.extract_labels(sample_view(result), classification.predicted))
                reference.append(truth)
                groups.append(item.id)
        labels = stats.label_metrics(predicted, reference, classification.labels, groups=groups,
                                     n_boot=n_boot, seed=seed)
        for name in ("micro", "macro", "samples"):
            for measure in ("precision", "recall", "f1"):
                metrics[f"{name}_{measure}"] = getattr(labels, f"{name}_{measure}")
        per_label = labels.per_label
    stability = collections.Counter(stats.stability(s) for s in item_stats.values())
    summary = SuiteSummary(key=run.key, model=run.model, items=item_stats, metrics=metrics,
                           per_label=per_label, stability=dict(stability))
    gates = [*suite.config.gates, error_gate(suite.config.max_error_rate)]
    summary.gates = [check_gate(gate, metrics) for gate in gates]
    return summary
