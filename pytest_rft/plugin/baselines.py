"""Which baseline each run is compared with: the suite's baseline file (``--rft-baseline-dir``),
an explicit file or report (``--rft-baseline``), or, while ``--rft-baseline-update`` writes
one, the reference run of another model (``--rft-baseline-model``, else the first)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any, Callable

from ..analysis.summary import SuiteSummary, to_baseline
from ..core.errors import RftError
from ..core.records import SuiteRun
from ..store import baseline as baseline_io
from ..store.baseline import Baseline
from ..suite.suite import Suite
from .settings import Settings


class Baselines:
    """``runs``: the session's runs (the list grows as suites are collected); ``summary(run)``
    the run's summary (a reference run's, when it stands in for the baseline)."""

    def __init__(self, settings: Settings, runs: list[SuiteRun], rootpath: Path,
                 invocation_dir: Path, summary: Callable[[SuiteRun], SuiteSummary]):
        self.settings = settings
        self.runs = runs
        self.rootpath = rootpath
        self.invocation_dir = invocation_dir
        self.summary = summary
        self._loaded: dict[str, tuple[Baseline | None, str | None]] = {}

    def reference_run(self, run: SuiteRun) -> SuiteRun | None:
        """The run of the same suite that others are compared with (and that becomes the baseline
        on update): ``--rft-baseline-model``, else the first model."""
        same = [r for r in self.runs if r.suite.path == run.suite.path and r.sampled]
        wanted = self.settings.baseline_model
        chosen = [r for r in same if r.model == wanted] if wanted else same[:1]
        return chosen[0] if chosen else None

    def writes_baseline(self, run: SuiteRun) -> bool:
        """Whether ``run`` is the one --rft-baseline-update writes (its suite's reference)."""
        if not self.settings.baseline_update:
            return False
        wanted = self.settings.baseline_model
        same = [r for r in self.runs if r.suite.path == run.suite.path]
        reference = next((r for r in same if r.model == wanted), None) if wanted else same[0]
        return reference is run

    def baseline_for(self, run: SuiteRun) -> tuple[Baseline | None, str | None]:
        """The run's baseline, or None and why there is none (None, None: the run being
        written is its own baseline)."""
        suite = run.suite
        if self.settings.baseline_update:
            reference = self.reference_run(run)
            if reference is not None and reference is not run:
                return to_baseline(reference, self.summary(reference)), None
            return None, None
        explicit = self.settings.baseline
        key = f"{explicit or ''}|{suite.path}"
        if key not in self._loaded:
            self._loaded[key] = self._load(suite, explicit, run.model)
        return self._loaded[key]

    def _load(self, suite: Suite, explicit: str | None, model: str
              ) -> tuple[Baseline | None, str | None]:
        if explicit:
            path = Path(explicit)
            try:
                data = baseline_io.read_any(path, suite.name, self.settings.baseline_model)
            except RftError as exc:
                return None, str(exc)
            if data is None:
                return None, (f"{path} has no run of suite {suite.name!r}; pass a report of a run "
                              "that included it, or the suite's baseline file")
            return data, None
        path = self.path(suite)
        if not path.is_file():
            return None, (f"no baseline for suite {suite.name!r} (expected {self.shown(path)}); "
                          f"create it with:  {self.update_command(suite, model)}")
        try:
            data = baseline_io.read(path)
        except RftError as exc:
            return None, str(exc)
        if data.suite != suite.name:
            return None, (f"{self.shown(path)} is the baseline of suite {data.suite!r}, not "
                          f"{suite.name!r}; re-create it with:  {self.update_command(suite, model)}")
        return data, None

    def path(self, suite: Suite) -> Path:
        """Where the suite's baseline file is (``--rft-baseline-dir``, relative to the rootdir)."""
        folder: Any = self.settings.baseline_dir
        if folder and not Path(folder).is_absolute():
            folder = self.rootpath / folder
        return baseline_io.default_path(suite.path, suite.name, folder)

    def update_command(self, suite: Suite, model: str) -> str:
        parts = ["pytest", self.shown(suite.path)]
        if self.settings.model:
            parts += ["--rft-model", model]
        if self.settings.baseline_dir:
            parts += ["--rft-baseline-dir", self.settings.baseline_dir]
        return shlex.join([*parts, "--rft-baseline-update"])

    def shown(self, path: Path) -> str:
        """A path relative to where pytest was started, unless it lies elsewhere."""
        return shown(path, self.invocation_dir)


def shown(path: Path, start: Path) -> str:
    """``path`` relative to ``start``, unless it lies two or more levels above it."""
    try:
        relative = os.path.relpath(path, start)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith(os.pardir + os.sep + os.pardir) else relative
