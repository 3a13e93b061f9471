"""pytest glue: options, collection of suite files, sampling before the test loop, outcomes,
terminal summary and reports. The work itself happens in the pytest-free modules."""

from __future__ import annotations

import asyncio
import fnmatch
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from .backends.base import Backend
from .backends.python_backend import PythonBackend, find_python_model
from .dataset import Item
from .errors import RftError
from .gates import error_gate
from .report import json_report, markdown, terminal
from .runner import CallStats, RunSettings, SuiteRun, run_all
from .suite import Gate, Suite, load_suite
from .summary import SuiteSummary, summarize

RUNS = pytest.StashKey[list[SuiteRun]]()
SUMMARIES = pytest.StashKey[dict[str, SuiteSummary]]()
CALLS = pytest.StashKey[CallStats]()
STATUS = pytest.StashKey[dict[str, str]]()

OPTIONS: list[tuple[str, dict[str, Any], str]] = [
    # (name, argparse kwargs, help) -- each is also an ini key rft_<name>
    ("model", {"action": "append"}, "model under test (repeatable): a registered Python model, "
                                    "module:attr, or an OpenAI model name such as ft:o4-mini:org::id"),
    ("repeats", {"type": int}, "samples per item (overrides the suite's repeats)"),
    ("limit", {"type": int}, "only the first N items of each suite"),
    ("concurrency", {"type": int}, "model calls in flight across the whole run (default 16)"),
    ("report", {}, "write every sample, score and error as JSON to this path"),
    ("base-url", {}, "OpenAI-compatible endpoint (default $OPENAI_BASE_URL or OpenAI)"),
    ("api", {"choices": ["chat", "responses"]}, "OpenAI API to call (default chat)"),
    ("timeout", {"type": float}, "seconds per model call before it counts as a timeout (default 60)"),
    ("max-retries", {"type": int}, "retries per sample for 408/409/429/5xx, timeouts and "
                                   "connection errors (default 4)"),
    ("http-client", {"choices": ["httpx", "aiohttp"]}, "HTTP client under the openai SDK: httpx "
                                                       "(default) or aiohttp (less CPU per call)"),
    ("retry-backoff", {"type": float}, "first backoff in seconds, doubling per retry (default 0.5)"),
    ("bootstrap", {"type": int}, "bootstrap resamples for confidence intervals (default 1000)"),
    ("seed", {"type": int}, "seed of the bootstrap and of retry jitter (default 0)"),
    ("suite-pattern", {"action": "append"}, "glob of suite file names (default rft_*.yaml, "
                                             "*.rft.yaml)"),
]
DEFAULTS = {"http-client": "httpx", "concurrency": 16, "timeout": 60.0, "max-retries": 4, "retry-backoff": 0.5,
            "bootstrap": 1000, "seed": 0, "suite-pattern": ["rft_*.yaml", "*.rft.yaml"]}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rft", "model regression testing (pytest-rft)")
    for name, kwargs, help_text in OPTIONS:
        dest = "rft_" + name.replace("-", "_")
        group.addoption(f"--rft-{name}", dest=dest, default=None, help=help_text, **kwargs)
        multi = kwargs.get("action") == "append"
        parser.addini(dest, help=help_text, type="linelist" if multi else "string")


def option(config: pytest.Config, name: str) -> Any:
    """Command line first, then the ini key, then the default."""
    dest = "rft_" + name.replace("-", "_")
    value = config.getoption(dest)
    if value is None:
        raw = config.getini(dest)
        if raw not in ("", [], None):
            kind = next(k for n, k, _ in OPTIONS if n == name).get("type")
            value = kind(raw) if kind else raw
    return DEFAULTS.get(name) if value is None else value


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RUNS] = []
    config.stash[SUMMARIES] = {}
    config.stash[STATUS] = {}
    config.addinivalue_line("markers", "rft: a pytest-rft suite item or gate")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    patterns = option(parent.config, "suite-pattern")
    if file_path.suffix in (".yaml", ".yml") and any(
            fnmatch.fnmatch(file_path.name, p) for p in patterns):
        return SuiteFile.from_parent(parent, path=file_path)
    return None


class SuiteFile(pytest.File):
    def collect(self):
        suite = load_suite(self.path)
        models = self._models(suite)
        limit = option(self.config, "limit")
        items = suite.items[:limit] if limit is not None else suite.items
        for model in models:
            run = SuiteRun(suite=suite, model=model, repeats=option(self.config, "repeats"),
                           api=option(self.config, "api"))
            self.config.stash[RUNS].append(run)
            yield SuiteCollector.from_parent(self, name=run.key, run=run, items=items)

    def _models(self, suite: Suite) -> list[str]:
        models = option(self.config, "model") or suite.config.model
        if not models:
            raise RftError("no model to test", where=f"{self.path} model",
                           fix="add 'model:' to the suite or pass --rft-model NAME")
        models = [models] if isinstance(models, str) else list(models)
        return list(dict.fromkeys(models))

    def repr_failure(self, excinfo):  # type: ignore[override]
        if isinstance(excinfo.value, RftError):
            # a broken suite is a collection error, but the other suites still run
            self.config.option.continue_on_collection_errors = True
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class SuiteCollector(pytest.Collector):
    def __init__(self, *, run: SuiteRun, items: list[Item], **kwargs: Any):
        super().__init__(**kwargs)
        self.run = run
        self.dataset_items = items

    def collect(self):
        for item in self.dataset_items:
            yield RftItem.from_parent(self, name=item.id, run=self.run, item=item)
        config = self.run.suite.config
        for gate in [*config.gates, error_gate(config.max_error_rate)]:
            yield GateItem.from_parent(self, name=f"gate[{gate.label}]", run=self.run, gate=gate)


class RftFailure(Exception):
    """An item or gate outcome, shown as its message without a traceback."""


class _RftNode(pytest.Item):
    def __init__(self, *, run: SuiteRun, **kwargs: Any):
        super().__init__(**kwargs)
        self.run = run
        self.add_marker("rft")

    def repr_failure(self, excinfo):  # type: ignore[override]
        if isinstance(excinfo.value, (RftFailure, RftError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, self.nodeid

    def summary(self) -> SuiteSummary:
        return summary_of(self.config, self.run)


class RftItem(_RftNode):
    def __init__(self, *, item: Item, **kwargs: Any):
        super().__init__(**kwargs)
        self.item = item

    def runtest(self) -> None:
        if not self.run.sampled:
            raise RftFailure("not sampled: the run stopped before this item's samples were taken")
        suite = self.run.suite
        results = self.run.results.get(self.item.id, [])
        item_stats = self.summary().items[self.item.id]
        for name, score in item_stats.scores.items():
            self.user_properties.append((f"{name}.mean", round(score.mean, 6)))
        self.user_properties.append(("samples", len(results)))
        self.user_properties.append(("errors", item_stats.n_errors + item_stats.n_grader_errors))
        primary = item_stats.scores.get(suite.primary)
        status = (f"{suite.primary}={primary.mean:.3f}" + (f"±{primary.std:.3f}" if primary.n > 1 else "")
                  + f" n={primary.n}") if primary else "no score"
        self.config.stash[STATUS][self.nodeid] = status
        problems = [f"repeat {r.repeat}: model call failed: {r.error}" for r in results if r.failed]
        problems += [f"repeat {r.repeat}: grader {name!r} failed: {message}"
                     for r in results for name, message in r.grader_errors.items()]
        if problems:
            shown = problems[:10] + ([f"... and {len(problems) - 10} more (see --rft-report)"]
                                     if len(problems) > 10 else [])
            raise RftFailure(f"{len(problems)} error(s) (errors are not scores):\n  "
                             + "\n  ".join(shown))
        if self.item.critical and not item_stats.passed:
            raise RftFailure(f"critical item below threshold: {status} < pass_threshold "
                             f"{suite.config.pass_threshold:g}")


class GateItem(_RftNode):
    def __init__(self, *, gate: Gate, **kwargs: Any):
        super().__init__(**kwargs)
        self.gate = gate

    def runtest(self) -> None:
        if not self.run.sampled:
            raise RftFailure("not sampled: the run stopped before this suite was sampled")
        result = next(g for g in self.summary().gates if g.label == self.gate.label)
        self.config.stash[STATUS][self.nodeid] = result.detail
        self.user_properties.append((self.gate.metric, result.value))
        if not result.passed:
            raise RftFailure(f"gate failed: {result.detail}")


def _selected_runs(session: pytest.Session) -> list[SuiteRun]:
    """Runs with at least one selected node; each run's items = its selected dataset items."""
    selected: dict[str, SuiteRun] = {}
    chosen: dict[str, list[Item]] = {}
    for node in session.items:
        if isinstance(node, _RftNode):
            selected[node.run.key] = node.run
            if isinstance(node, RftItem):
                chosen.setdefault(node.run.key, []).append(node.item)
    for key, run in selected.items():
        run.items = chosen.get(key, [])
    return list(selected.values())


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Sample everything selected, concurrently, before items report their results."""
    config = session.config
    if config.option.collectonly or (
            session.testsfailed and not config.option.continue_on_collection_errors):
        return None  # pytest's own loop reports the collection errors and stops
    runs = _selected_runs(session)
    if not runs:
        return None
    settings = RunSettings(concurrency=option(config, "concurrency"),
                           max_retries=option(config, "max-retries"),
                           backoff_base=option(config, "retry-backoff"),
                           seed=option(config, "seed"))
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    progress = terminal.ProgressLine(reporter) if reporter else None
    backends: dict[str, Backend] = {}
    try:
        backends = {model: make_backend(config, model) for model in {r.model for r in runs}}
        config.stash[CALLS] = asyncio.run(_run(runs, backends, settings, progress))
    finally:
        if progress:
            progress.finish()
    return None


async def _run(runs, backends, settings, progress) -> CallStats:
    try:
        return await run_all(runs, backends, settings, progress.update if progress else None)
    finally:
        await asyncio.gather(*(b.aclose() for b in backends.values()), return_exceptions=True)


def make_backend(config: pytest.Config, model: str) -> Backend:
    fn = find_python_model(model)
    if fn is not None:
        return PythonBackend(model, fn, max_workers=option(config, "concurrency"),
                             timeout=option(config, "timeout"))
    from .backends.openai_backend import OpenAIBackend

    return OpenAIBackend(model, api_key=os.environ.get("OPENAI_API_KEY"),
                         base_url=option(config, "base-url") or os.environ.get("OPENAI_BASE_URL"),
                         timeout=option(config, "timeout"),
                         max_connections=option(config, "concurrency"),
                         transport=option(config, "http-client"))


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    status = config.stash[STATUS].get(report.nodeid)
    if status is None or report.when != "call":
        return None
    if report.passed:
        return "passed", ".", (f"PASSED ({status})", {"green": True})
    if report.failed:
        return "failed", "F", (f"FAILED ({status})", {"red": True})
    return None


def summary_of(config: pytest.Config, run: SuiteRun) -> SuiteSummary:
    """The run's numbers, computed once (after sampling) and shared by items, gates, reports."""
    cache = config.stash[SUMMARIES]
    if run.key not in cache:
        cache[run.key] = summarize(run, n_boot=option(config, "bootstrap"),
                                   seed=option(config, "seed"))
    return cache[run.key]


def _summaries(config: pytest.Config) -> list[tuple[SuiteRun, SuiteSummary]]:
    return [(run, summary_of(config, run)) for run in config.stash[RUNS] if run.sampled]


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    pairs = _summaries(config)
    if not pairs:
        return
    terminalreporter.write_sep("=", "pytest-rft summary")
    terminalreporter.write_line(terminal.render(pairs, config.stash.get(CALLS, None)))
    path = option(config, "report")
    if path:
        terminalreporter.write_line(f"rft: report written to {path}")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        markdown.append(Path(step_summary), pairs)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the JSON report, even after Ctrl-C (partial results are kept)."""
    config = session.config
    path = option(config, "report")
    if not path:
        return
    try:
        pairs = _summaries(config)
    except Exception as exc:  # never lose the samples because a summary failed
        print(f"rft: summaries failed ({exc}); writing samples only", file=sys.stderr)
        pairs = [(run, None) for run in config.stash[RUNS] if run.sampled]
    json_report.write(Path(path), pairs, config.stash.get(CALLS, None), exitstatus=int(exitstatus))
