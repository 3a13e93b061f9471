"""pytest-xdist glue: each suite goes to one worker, which samples it once and judges its
gates there; the controller rebuilds the runs from what the workers send back and writes the
summary, reports, baselines and history, whole.

Only imported when pytest-xdist is active.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from xdist.scheduler import LoadScopeScheduling

from ..core.records import SampleResult, Usage
from ..sampling.runner import CallStats

SUITE_SUFFIXES = (".yaml", ".yml")


class SuiteScheduling(LoadScopeScheduling):
    """Like ``--dist load``, except that every node of a suite file's suite stays together
    (its items share one sampling pass and its gates need all of them)."""

    def _split_scope(self, nodeid: str) -> str:
        path, sep, rest = nodeid.partition("::")
        if sep and path.endswith(SUITE_SUFFIXES):
            suite = rest.partition("[")[0].split("::")[0]
            return f"{path}::{suite}"
        return nodeid


def dump_run(run: Any, summary: Any = None) -> dict[str, Any]:
    """What a worker sends about one sampled run (JSON-able), with the verdicts it gave: the
    controller reports those, not ones of its own (its correction would see every worker's
    tests, the worker's saw its own)."""
    data = {"path": str(run.suite.path), "model": run.model, "repeats": run.repeats,
            "api": run.api, "gated": run.gated, "untested": run.untested,
            "items": [item.id for item in run.items],
            "tool_sources": run.suite.implementation_sources,
            "results": {item_id: [dataclasses.asdict(r) for r in results]
                        for item_id, results in run.results.items()},
            "confirm": {item_id: [dataclasses.asdict(r) for r in results]
                        for item_id, results in run.confirm.items()}}
    if summary is not None:
        data["verdicts"] = {
            "gates": {g.label: [g.p_adjusted, g.correction, g.family]
                      for g in summary.gates if g.tested},
            "regressed": None if summary.comparison is None else
            [list(summary.comparison.regressed), summary.comparison.item_family]}
    return data


def load_results(data: dict[str, list[dict[str, Any]]]) -> dict[str, list[SampleResult]]:
    out: dict[str, list[SampleResult]] = {}
    for item_id, results in data.items():
        rebuilt = []
        for raw in results:
            raw = dict(raw)
            if raw.get("usage") is not None:
                raw["usage"] = Usage(**raw["usage"])
            rebuilt.append(SampleResult(**raw))
        out[item_id] = rebuilt
    return out


def dump_calls(calls: CallStats | None) -> dict[str, Any] | None:
    if calls is None:
        return None
    data = {f.name: getattr(calls, f.name) for f in dataclasses.fields(calls)}
    data["usage"] = dataclasses.asdict(calls.usage)
    for name in ("errors", "retried_causes", "kinds"):
        data[name] = dict(data[name])
    return data


def merge_calls(total: CallStats | None, data: dict[str, Any] | None) -> CallStats | None:
    """Add a worker's call statistics to the controller's."""
    if data is None:
        return total
    total = total or CallStats(min_concurrency=data["min_concurrency"])
    for name in ("planned", "done", "calls", "retries", "grader_errors", "zeroed"):
        setattr(total, name, getattr(total, name) + data[name])
    for name in ("errors", "retried_causes", "kinds"):
        getattr(total, name).update(data[name])
    total.usage.add(Usage(**data["usage"]))
    total.latencies.extend(data["latencies"])
    total.stopped.update(data["stopped"])
    total.min_concurrency = min(total.min_concurrency, data["min_concurrency"])
    total.wall_s = max(total.wall_s, data["wall_s"])
    total.cpu_s += data["cpu_s"]
    return total
