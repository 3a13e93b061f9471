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
import errno
from pathlib import Path
from typing import Any, Callable

import pytest

from .files import EXPORTED, BatchCollector, ExportBackend, ImportBackend, load_output
from ..core.errors import RftError
from ..core.secrets import for_terminal
from ..backends.calls import CallContext, RunSettings
from ..core.records import SuiteRun
from ..sampling.runner import run_all


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


def backends(runs: list[SuiteRun], settings: RunSettings, *, mode: str | None,
             path: str | None, notes: list[str], send: Callable[[BatchCollector], Any] | None = None
             ) -> dict[str, Any] | None:
    """None without a batch ``mode`` (``batch-export``, ``batch-import`` or ``batch``, with its
    file ``path``); {} when the requests were exported (nothing to sample); else the import
    backends that answer the run from batch output. ``send`` runs a collector's requests
    through the Batch API (``api.run_batches`` with the run's settings); ``notes`` gets the
    lines for the summary."""
    if mode is None:
        return None
    models = {r.model for r in runs}
    if mode == "batch-import":
        source = Path(str(path))
        try:
            lines, foreign = load_output([source])
        except RftError as exc:  # one clear line, not an internal error
            raise pytest.UsageError(f"--rft-batch-import: {exc}") from None
        if foreign:
            notes.append(f"rft: {foreign} line(s) of {source} have custom ids that are not "
                         "pytest-rft's (ignored)")
        return {m: ImportBackend(m, lines, source=str(source)) for m in models}
    collector = collect(runs, settings)
    if mode == "batch-export":
        target = Path(str(path))
        from ..core import files

        try:
            problem = files.path_problem(target)
            if problem:
                raise OSError(errno.EINVAL, problem)
            n = collector.write(target)
        except OSError as exc:  # one clear line, not an internal error
            raise pytest.UsageError(
                f"--rft-batch-export {for_terminal(str(target))}: not written: "
                f"{files.write_problem(exc)} (fix: name a writable file path)") from None
        groups = collector.groups()
        notes.append(
            f"rft: {n} request(s) written to {target} as Batch API input "
            f"({', '.join(f'{len(v)} {model} {url}' for (url, model), v in groups.items())}); "
            "nothing was sampled: grade the batch's output with --rft-batch-import FILE")
        if collector.failed:
            notes.append("rft: WARNING: request(s) not exported (they can't be built): "
                         + ", ".join(f"{c} {n}" for c, n in collector.failed.items()))
        return {}
    assert send is not None, "--rft-batch: the Batch API sender"
    lines, sent = send(collector)
    notes.extend(sent)
    return {m: ImportBackend(m, lines, source="the Batch API output") for m in models}
