"""pytest glue: options, collection of suite files into items and gates, sampling before the
test loop, outcomes. State and work live in ``session.RftSession`` and the pytest-free modules."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import pytest

from .dataset import Item
from .errors import RftError
from .gates import error_gate
from .options import add_options, option, validate
from .runner import SuiteRun
from .session import RftSession
from .suite import Gate, load_suite
from .summary import SuiteSummary

SESSION = pytest.StashKey[RftSession]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    validate(config)
    config.stash[SESSION] = RftSession(config)
    config.addinivalue_line("markers", "rft: a pytest-rft suite item or gate")


def rft_session(config: pytest.Config) -> RftSession:
    return config.stash[SESSION]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    patterns = option(parent.config, "suite-pattern")
    if file_path.suffix in (".yaml", ".yml") and any(
            fnmatch.fnmatch(file_path.name, p) for p in patterns):
        return SuiteFile.from_parent(parent, path=file_path)
    return None


class SuiteFile(pytest.File):
    def collect(self):
        session = rft_session(self.config)
        suite = load_suite(self.path)
        session.suite_loaded(suite)
        limit = option(self.config, "limit")
        items = suite.items[:limit] if limit is not None else suite.items
        for model in session.models_for(suite):
            run = session.add_run(suite, model)
            yield SuiteCollector.from_parent(self, name=run.key, run=run, items=items)

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
        return rft_session(self.config).summary(self.run)

    def show(self, status: str) -> None:
        rft_session(self.config).status[self.nodeid] = status


class RftItem(_RftNode):
    def __init__(self, *, item: Item, **kwargs: Any):
        super().__init__(**kwargs)
        self.item = item

    def runtest(self) -> None:
        if not self.run.sampled:
            raise RftFailure("not sampled: the run stopped before this item's samples were taken")
        suite = self.run.suite
        results = self.run.results.get(self.item.id, [])
        summary = self.summary()
        item_stats = summary.items[self.item.id]
        for name, score in item_stats.scores.items():
            self.user_properties.append((f"{name}.mean", round(score.mean, 6)))
        self.user_properties.append(("samples", len(results)))
        self.user_properties.append(("errors", item_stats.n_errors + item_stats.n_grader_errors))
        delta = summary.comparison.item_deltas.get(self.item.id) if summary.comparison else None
        if delta is not None:
            self.user_properties.append((f"{suite.primary}.delta_vs_baseline", round(delta, 6)))
        primary = item_stats.scores.get(suite.primary)
        status = (f"{suite.primary}={primary.mean:.3f}" + (f"±{primary.std:.3f}" if primary.n > 1 else "")
                  + f" n={primary.n}") if primary else "no score"
        if delta is not None:
            status += f" Δ{delta:+.3f}"
        if self.item.id in summary.flaky:
            status += " flaky"
        self.show(status)
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
                             f"{suite.pass_threshold:g}")
        if summary.comparison and self.item.id in summary.comparison.regressed:
            raise RftFailure(regressed_text(self.run, summary, self.item.id))


def regressed_text(run: SuiteRun, summary: SuiteSummary, item_id: str, width: int = 160) -> str:
    """Why an item counts as regressed: its baseline and current scores, and its outputs."""
    comparison = summary.comparison
    assert comparison is not None
    base = comparison.baseline.items[item_id]
    primary = run.suite.primary
    now = summary.items[item_id]
    then_score = base.scores.get(comparison.baseline.primary, {}).get("mean")
    now_score = now.scores[primary].mean if primary in now.scores else None
    lines = [f"regressed: stable-pass in the baseline ({comparison.baseline.model}: "
             f"{primary}={_num(then_score)}, {base.passes}/{base.n} repeats passed) and stable-fail "
             f"now ({primary}={_num(now_score)}, {now.n_pass}/{len(now.primary_values)} passed)"]
    for result in run.results.get(item_id, []):
        text = (result.output_text or "").replace("\n", " ")
        if len(text) > width:
            text = text[:width - 3] + "..."
        lines.append(f"  repeat {result.repeat}: {primary}="
                     f"{_num(result.scores.get(primary))} output: {text}")
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


class GateItem(_RftNode):
    def __init__(self, *, gate: Gate, **kwargs: Any):
        super().__init__(**kwargs)
        self.gate = gate

    def runtest(self) -> None:
        if not self.run.sampled:
            raise RftFailure("not sampled: the run stopped before this suite was sampled")
        result = next(g for g in self.summary().gates if g.label == self.gate.label)
        self.show(result.detail)
        self.user_properties.append((self.gate.metric, result.value))
        if result.delta is not None:
            self.user_properties.append((f"{self.gate.metric}.delta_vs_baseline", result.delta))
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
    if runs:
        rft_session(config).sample(runs)
    return None


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    status = rft_session(config).status.get(report.nodeid)
    if status is None or report.when != "call":
        return None
    if report.passed:
        return "passed", ".", (f"PASSED ({status})", {"green": True})
    if report.failed:
        return "failed", "F", (f"FAILED ({status})", {"red": True})
    return None


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    rft_session(config).terminal_summary(terminalreporter)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Baselines, history and the JSON report, even after Ctrl-C (partial results are kept)."""
    rft_session(session.config).finish(int(exitstatus))
