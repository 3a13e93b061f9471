"""What collecting a suite file checks: its name is its own, its python graders load under the
run's limits, and each model it runs can answer it (a typo in a model name is one error at
collection, not one per sample); retired models are warned about once."""

from __future__ import annotations

import fnmatch
import os
import shlex
from pathlib import Path
from typing import Callable

from ..backends.python_backend import find_python_model, registered_models
from ..core.errors import RftError
from ..suite.suite import Suite
from .calling import judge_overrides
from .settings import Settings


class Collection:
    """``shown(path)``: a path as the user reads it (relative to where pytest started);
    ``collect_only``: ``--collect-only`` (nothing is sampled, so nothing need be reachable)."""

    def __init__(self, settings: Settings, rootpath: Path, shown: Callable[[Path], str],
                 collect_only: bool = False):
        self.settings = settings
        self.rootpath = rootpath
        self.shown = shown
        self.collect_only = collect_only
        self._checkpoints: dict[str, list[str]] = {}
        self._names: dict[str, Path] = {}
        self._warned: set[tuple[str, str]] = set()

    def load_suite(self, path: Path, resolve_tools: bool = True) -> Suite:
        """A suite file, its python graders loaded under the run's grader limits."""
        from ..core.sizes import parse_size
        from ..graders.python_grader import load_limits
        from ..suite.loader import load_suite

        roots = None if self.settings.allow_outside_files else (self.rootpath,)
        with load_limits(float(self.settings.grader_timeout),
                         parse_size(self.settings.grader_memory)):
            return load_suite(path, roots, resolve_tools=resolve_tools)

    def claim_name(self, suite: Suite) -> None:
        """Suite names key baselines, reports and history: two files may not share one."""
        other = self._names.setdefault(suite.name, suite.path)
        if other != suite.path:
            raise RftError(f"suite name {suite.name!r} is already used by {self.shown(other)}",
                           where=f"{self.shown(suite.path)} suite",
                           fix="give each suite file its own 'suite:' name")

    def models_for(self, suite: Suite) -> list[str]:
        """The models the suite runs (``--rft-model``, else the suite's; with every checkpoint
        of ``--rft-checkpoints``), each checked."""
        models = list(self.settings.model or suite.default_models())
        for job in self.settings.checkpoints:
            if job not in self._checkpoints:
                from ..importer.checkpoints import list_checkpoint_models

                self._checkpoints[job] = list_checkpoint_models(
                    job, base_url=self.settings.base_url)
            models += self._checkpoints[job]
        if not models:
            raise RftError("no model to test", where=f"{suite.path} model",
                           fix="add 'model:' to the suite or pass --rft-model NAME")
        models = list(dict.fromkeys(models))
        suite.judge_overrides = judge_overrides(self.settings)
        for model in models:
            self._check_recorded(model, suite)
            self._check_reachable(model, suite)
        self._warn_retired(suite, models)
        reference = self.settings.baseline_model
        if reference is not None and reference not in models:
            raise RftError(f"--rft-baseline-model {reference!r} is not one of the models run: "
                           f"{', '.join(models)}", where=str(suite.path),
                           fix="name one of them, or add it with --rft-model")
        return models

    def _check_recorded(self, model: str, suite: Suite) -> None:
        """``recorded`` answers from a suite's ``recorded:`` file; a suite with no prompt (it
        grades recorded outputs) cannot sample another model."""
        from ..backends.replay import RECORDED_MODEL

        if model == RECORDED_MODEL and suite.recorded_path is None \
                and model not in registered_models():
            raise RftError(f"model {model!r} answers from the suite's 'recorded:' file, and this "
                           "suite has none", where=f"{self.shown(suite.path)} model",
                           fix="add 'recorded: platform_samples.json' (or another report JSON), "
                               "or name a model to sample")
        if model != RECORDED_MODEL and suite.prompt is None and suite.recorded_path is not None \
                and any(item.messages is None for item in suite.items):
            raise RftError(f"model {model!r}: this suite grades recorded outputs and has no prompt "
                           "to send", where=f"{self.shown(suite.path)} input",
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

        settings = self.settings
        if self.collect_only or settings.regrade \
                or find_python_model(model) is not None or model == RECORDED_MODEL:
            return
        if settings.cache and settings.replay:
            return  # answered from the cache, never sent
        if settings.batch_export or settings.batch_import:
            return  # written to or read from a batch file, never sent
        if os.environ.get("OPENAI_API_KEY"):
            return
        known = sorted(registered_models())
        raise RftError(
            f"model {model!r} is not a registered Python model"
            + (f" (registered: {', '.join(known)})" if known else "")
            + " and OPENAI_API_KEY is not set to call it on an OpenAI-compatible API",
            where=f"{self.shown(suite.path)} model",
            fix="fix the name, or export OPENAI_API_KEY (any value for local servers such as "
                "vLLM or Ollama) and --rft-base-url")


def absent_models(args: list[str], invocation_dir: Path, suite: Suite,
                  models: list[str]) -> list[str]:
    """A line for each pasted id of ``suite``'s file whose ``[model]`` this run doesn't test
    (an id copied from a run with another ``--rft-model``): pytest alone says only "not
    found"."""
    lines = []
    for arg in args:
        path, sep, rest = arg.partition("::")
        if not sep or not rest.endswith("]") or "[" not in rest:
            continue
        if (invocation_dir / path).resolve() != suite.path.resolve():
            continue
        # suite::node[model]: suite names have no '::', node names no '[' (the model may)
        model = rest.partition("::")[2].partition("[")[2][:-1]
        if model and model not in models:
            lines.append(f"rft: {arg} names model {model!r}, which this run doesn't test "
                         f"(it tests: {', '.join(models)}); to run it: pytest "
                         f"{shlex.quote(arg)} --rft-model {shlex.quote(model)}")
    return lines


SKIPPED_FOLDERS = ("node_modules", "__pycache__", "site-packages")


MAX_FOLDERS = 20_000
"""Folders the count of suite files looks into at most (a project, not a home folder)."""


def project_suite_files(top: Path, patterns: list[str], norecurse: list[str]) -> int:
    """The suite files of the project: every file under ``top`` (the folder of the ini file,
    else where pytest started) that a run collects as a suite (pytest's ``norecursedirs``,
    hidden folders and virtualenvs skipped), whatever this run selected. The build's level is
    shared among them, so a suite's verdicts don't change with which other suite files are
    run, and a build of several suites stays calibrated."""
    count = 0
    for seen, (folder, subfolders, names) in enumerate(os.walk(top)):
        if seen >= MAX_FOLDERS:
            break
        subfolders[:] = [d for d in subfolders if not (
            d.startswith(".") or d in SKIPPED_FOLDERS
            or any(fnmatch.fnmatch(d, p) for p in norecurse)
            or os.path.exists(os.path.join(folder, d, "pyvenv.cfg")))]
        count += sum(1 for name in names if name.endswith((".yaml", ".yml"))
                     and any(fnmatch.fnmatch(name, p) for p in patterns))
    return count
