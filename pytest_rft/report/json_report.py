"""The JSON report: every sample with its output, scores, usage, latency and errors."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ..runner import CallStats, SuiteRun
from ..summary import SuiteSummary


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def build(pairs: list[tuple[SuiteRun, SuiteSummary | None]], calls: CallStats | None,
          *, exitstatus: int) -> dict[str, Any]:
    suites = []
    for run, summary in pairs:
        suites.append({
            "suite": run.suite.name,
            "file": str(run.suite.path),
            "model": run.model,
            "repeats": run.repeats or run.suite.config.repeats,
            "complete": all(len(run.results.get(i.id, [])) == (run.repeats or run.suite.config.repeats)
                            for i in run.items),
            "metrics": _plain(summary.metrics) if summary else None,
            "gates": _plain(summary.gates) if summary else None,
            "per_label": _plain(summary.per_label) if summary else None,
            "items": [{"id": item.id,
                       "stats": _plain(summary.items.get(item.id)) if summary else None,
                       "samples": _plain(run.results.get(item.id, []))}
                      for item in run.items],
        })
    report = {"created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
              "exitstatus": exitstatus, "suites": suites}
    if calls is not None:
        report["calls"] = {**_plain({k: v for k, v in vars(calls).items() if k != "latencies"}),
                           "latency": calls.latency_percentiles()}
    return report


def write(path: Path, pairs, calls, *, exitstatus: int) -> None:
    """Write atomically: a reader never sees half a report."""
    data = build(pairs, calls, exitstatus=exitstatus)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, ensure_ascii=False, default=str)
    os.replace(tmp, path)
