"""The runner's batch modes (``--rft-batch-export``, ``--rft-batch-import``, ``--rft-batch``).

The run's requests come from the runner itself: a first pass with :class:`ExportBackend`
collects every (suite, model, item, repeat) request as a Batch input line, exactly as it would
have been sent, and samples nothing. Then:

* export: the lines are written to the file, the runs stay unsampled (their tests are skipped
  with a note naming the file) -- nothing is called, scored or gated;
* import: the output file is read and the runner runs again on :class:`ImportBackend`s;
* batch API: the lines are sent through the OpenAI Batch API (``batch_api.py``), and the
  output and error files it returns are graded through the import path.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from .files import EXPORTED, BatchCollector, ExportBackend, ImportBackend, load_output
from ..core.errors import RftError
from ..plugin.options import option
from ..backends.calls import CallContext, RunSettings
from ..core.records import SuiteRun
from ..sampling.runner import run_all


def active(config: Any) -> str | None:
    for name in ("batch-export", "batch-import", "batch"):
        if option(config, name):
            return name
    return None


def collect(runs: list[SuiteRun], settings: RunSettings) -> BatchCollector:
    """Every request of ``runs`` as an input line (the runs are left unsampled)."""
    collector = BatchCollector()
    exporters = {model: ExportBackend(model, collector) for model in {r.model for r in runs}}
    quick = RunSettings(concurrency=settings.concurrency, max_retries=0, seed=settings.seed)
    stats = asyncio.run(run_all(runs, exporters, CallContext(quick)))
    for run in runs:
        run.results.clear()
        run.sampled = False
    collector.failed = {cause: n for cause, n in stats.errors.items() if cause != EXPORTED}
    return collector


def backends(session: Any, runs: list[SuiteRun], settings: RunSettings
             ) -> dict[str, Any] | None:
    """None without a batch option; {} when the requests were exported (nothing to sample);
    else the import backends that answer the run from batch output."""
    config = session.config
    mode = active(config)
    if mode is None:
        return None
    models = {r.model for r in runs}
    if mode == "batch-import":
        path = Path(option(config, "batch-import"))
        try:
            lines, foreign = load_output([path])
        except RftError as exc:  # one clear line, not an internal error
            raise pytest.UsageError(f"--rft-batch-import: {exc}") from None
        if foreign:
            session.notes.append(f"rft: {foreign} line(s) of {path} have custom ids that are "
                                 "not pytest-rft's (ignored)")
        return {m: ImportBackend(m, lines, source=str(path)) for m in models}
    collector = collect(runs, settings)
    if mode == "batch-export":
        path = Path(option(config, "batch-export"))
        n = collector.write(path)
        groups = collector.groups()
        session.notes.append(
            f"rft: {n} request(s) written to {path} as Batch API input "
            f"({', '.join(f'{len(v)} {model} {url}' for (url, model), v in groups.items())}); "
            "nothing was sampled: grade the batch's output with --rft-batch-import FILE")
        if collector.failed:
            session.notes.append("rft: WARNING: request(s) not exported (they can't be built): "
                                 + ", ".join(f"{c} {n}" for c, n in collector.failed.items()))
        return {}
    from .api import run_batches

    lines, notes = run_batches(session, collector)
    session.notes.extend(notes)
    return {m: ImportBackend(m, lines, source="the Batch API output") for m in models}
