"""pytest glue: options, collection of suite files into items and gates, sampling before the
test loop, outcomes. State and work live in ``session.RftSession`` and the pytest-free modules."""

from __future__ import annotations

import fnmatch
import functools
import gc
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pytest

from ..analysis import problems
from ..core.errors import RftError
from .options import add_options, option, validate
from ..core import secrets
from . import signals
from ..core.secrets import for_terminal

if TYPE_CHECKING:  # the core (numpy, pydantic, yaml, runner, backends) loads with the first suite
    from ..suite.dataset import Item
    from ..sampling.runner import SuiteRun
    from .session import RftSession
    from ..suite.keys import Gate
    from ..analysis.summary import SuiteSummary

SESSION = pytest.StashKey["RftSession"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


OLDEST_PYTEST = (7, 4)


def pytest_configure(config: pytest.Config) -> None:
    found = tuple(int(part) for part in pytest.__version__.split(".")[:2] if part.isdigit())
    if found < OLDEST_PYTEST:  # pip enforces it; an install with --no-deps may not
        raise pytest.UsageError(f"pytest-rft needs pytest 7.4 or newer, found {pytest.__version__}; "
                                "fix: pip install -U 'pytest>=7.4'")
    validate(config)
    for name in ("base-url", "judge-base-url"):  # a password in a URL is a secret
        secrets.register(option(config, name))
    config.addinivalue_line("markers", "rft: a pytest-rft suite item or gate")
    if signals.term_as_interrupt(config):
        config.pluginmanager.register(_FinishGuard(), "rft-finish-guard")
        config.add_cleanup(lambda: config.pluginmanager.unregister(name="rft-finish-guard"))
    _scope_registrations(config)
    _release_frozen()


def _release_frozen() -> None:
    """What an earlier session in this process froze (after its collection and its sampling)
    becomes collectable again when the next session starts: a process that runs pytest more
    than once (pytester, IDEs) keeps nothing for good. Not at the session's end: a one-off run
    would then walk every node in the interpreter's final collection (0.4 s at 2,000 items)."""
    if gc.get_freeze_count():
        gc.unfreeze()


REGISTRATIONS = pytest.StashKey[dict]()


REGISTRIES = (("pytest_rft.backends.python_backend", "_MODELS"),
              ("pytest_rft.graders.registry", "_FUNCTIONS"),
              ("pytest_rft.core.tools", "_TOOLS"))


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Remember the registered models and graders before conftest files add theirs (modules
    not imported yet have none)."""
    early_config.stash[REGISTRATIONS] = {
        (module, table): dict(getattr(sys.modules[module], table))
        for module, table in REGISTRIES if module in sys.modules}


def _scope_registrations(config: pytest.Config) -> None:
    """Models and graders registered while a session runs (by its conftest files) belong to
    that session: a later session in the same process (pytester) starts without them."""
    saved = config.stash.get(REGISTRATIONS, {})

    def restore() -> None:
        for module, table in REGISTRIES:
            if module in sys.modules:
                registry = getattr(sys.modules[module], table)
                registry.clear()
                registry.update(saved.get((module, table), {}))

    config.add_cleanup(restore)


class _FinishGuard:
    """Holds signals from the first ``pytest_sessionfinish`` on (other plugins write their
    files there too: JUnit XML), so the outputs are finished whatever arrives meanwhile."""

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session):
        if _started(session.config) is not None and not is_worker(session.config):
            signals.finishing(session.config)
        yield


def rft_session(config: pytest.Config) -> RftSession:
    """The session state, created (with the imports it needs) when the first suite is found."""
    session = config.stash.get(SESSION, None)
    if session is None:
        from .session import RftSession

        session = config.stash[SESSION] = RftSession(config)
    return session


def _started(config: pytest.Config) -> RftSession | None:
    """The session state if a suite was found, else None (hooks then have nothing to do)."""
    return config.stash.get(SESSION, None)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    patterns = option(parent.config, "suite-pattern")
    if file_path.suffix in (".yaml", ".yml") and any(
            fnmatch.fnmatch(file_path.name, p) for p in patterns):
        return SuiteFile.from_parent(parent, path=file_path)
    return None


GC_PAUSED = pytest.StashKey[bool]()


def _pause_gc(config: pytest.Config) -> None:
    """No cyclic GC while suites are collected: each full collection walks every node made so
    far, over and over (a third of the time at 100,000 items). It resumes when collection ends."""
    if gc.isenabled() and not config.stash.get(GC_PAUSED, False):
        gc.disable()
        config.stash[GC_PAUSED] = True


@pytest.hookimpl(hookwrapper=True)
def pytest_collection(session: pytest.Session):
    """After collecting suites, the cyclic GC resumes with everything collected frozen: the
    nodes live to the end of the session, and no collection need walk them again (pytest's own
    ``gc.collect()`` at exit took 0.6 s at 100,000 items). ``_release_frozen`` lets them go."""
    try:
        yield
    finally:
        if session.config.stash.get(GC_PAUSED, False):
            session.config.stash[GC_PAUSED] = False
            gc.freeze()
            gc.enable()


class SuiteFile(pytest.File):
    def collect(self):
        _pause_gc(self.config)
        session = rft_session(self.config)
        suite = session.load_suite(self.path)
        session.claim_name(suite)
        session.suite_loaded(suite)
        limit = option(self.config, "limit")
        items = suite.items[:limit] if limit is not None else suite.items
        names = node_names(suite, items)
        runs = [session.add_run(suite, model) for model in session.models_for(suite)]
        yield SuiteCollector.from_parent(self, name=suite.name, runs=runs, items=items,
                                         names=names)

    def repr_failure(self, excinfo):  # type: ignore[override]
        if isinstance(excinfo.value, RftError):
            # a broken suite is a collection error, but the other suites still run
            self.config.option.continue_on_collection_errors = True
            return for_terminal(str(excinfo.value))
        return super().repr_failure(excinfo)


def safe_name(text: str) -> str:
    """An item id usable as a node name (``doc-003`` in ``doc-003[model]``: the model goes in
    brackets at the end, like a pytest parameter, so every printed node id pastes back whatever
    ``::`` or ``/`` the model name holds); ``::`` and brackets in the id would split or end it,
    and control characters (a newline, an escape sequence) are shown as escapes."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    return text.replace("::", ":").replace("[", "(").replace("]", ")")


def suite_gates(suite: Any) -> list[Gate]:
    """The suite's gates and the error gate every suite has, one per label (a gate written
    twice, or the error gate written out, is one node)."""
    from ..analysis.gates import error_gate

    config = suite.config
    gates: dict[str, Gate] = {}
    for gate in [*config.gates, error_gate(config.max_error_rate)]:
        gates.setdefault(gate.label, gate)
    return list(gates.values())


def node_names(suite: Any, items: list[Item]) -> list[str]:
    """The node name of each item; an RftError locating the record whose name is another
    item's or a gate's (``a[1]`` and ``a(1)`` both become ``a(1)``; an item ``gate:...``)."""
    names = [safe_name(item.id) for item in items]
    gates = {safe_name(f"gate:{gate.label}") for gate in suite_gates(suite)}
    if len(set(names)) == len(names) and gates.isdisjoint(names):
        return names
    seen: dict[str, Item] = {}
    dataset = suite.path.parent / suite.config.dataset
    for name, item in zip(names, items):
        other = seen.setdefault(name, item)
        if name in gates:
            clash = f"the gate {name!r}"
        elif other is not item:
            clash = f"item {other.id!r} (line {other.line})"
        else:
            continue
        raise RftError(f"item id {item.id!r} becomes the test name {name!r}, which {clash} has "
                       "already", where=f"{dataset}:{item.line}",
                       fix="give the record an id that stays distinct (ids show '::' as ':' and "
                           "brackets as parentheses)")
    return names


class SuiteCollector(pytest.Collector):
    def __init__(self, *, runs: list[SuiteRun], items: list[Item], names: list[str],
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.runs = runs
        self.dataset_items = items
        self.names = names
        self.add_marker(RFT_MARK)  # its nodes inherit it (-m rft), as a class's tests do

    def collect(self):
        child_id = self._child_ids()
        for run in self.runs:
            model = run.model
            for what, item in zip(self.names, self.dataset_items):
                yield RftItem.from_parent(self, name=f"{what}[{model}]",
                                          nodeid=child_id(what, model), run=run, item=item)
            for gate in suite_gates(run.suite):
                what = safe_name(f"gate:{gate.label}")
                yield GateItem.from_parent(self, name=f"{what}[{model}]",
                                           nodeid=child_id(what, model), run=run, gate=gate)

    def _child_ids(self) -> Callable[[str, str], Any]:
        """Builds a child's id with the trailing [model] as its params, exactly as pytest 9
        parses the ids it reads back (the --lf cache, the command line); a plain string on
        pytest 8."""
        structured = getattr(self, "id", None)
        if hasattr(structured, "with_params"):  # .child(what).with_params(model), in one step
            node_id, path, names = type(structured), structured.path, structured.names
            return lambda what, model: node_id(path=path, names=(*names, what), params=model)
        prefix = self.nodeid
        return lambda what, model: f"{prefix}::{what}[{model}]"


class RftFailure(AssertionError):
    """A verdict against an item or gate (a gate missed, a regression, a critical item below
    its threshold), shown as its message without a traceback. An ``AssertionError``, like a
    failed ``assert``: reporters that tell failures from crashes (allure: "failed", not
    "broken") file it as a test failure."""


class RftBroken(Exception):
    """An item that could not be judged: its samples have errors (a model call that failed, a
    grader that crashed) or were never taken. Errors are not scores, nor verdicts: allure shows
    it as "broken". Shown as its message without a traceback."""


RFT_MARK = pytest.mark.rft


class _RftNode(pytest.Item):
    run: SuiteRun  # set by the subclass's constructor (one level of keyword passing, not two)

    def repr_failure(self, excinfo):  # type: ignore[override]
        if isinstance(excinfo.value, (RftFailure, RftBroken, RftError)):
            return for_terminal(str(excinfo.value))
        return for_terminal(str(super().repr_failure(excinfo)))

    def source(self) -> tuple[Path, int]:
        """Where the node is defined: (file, 1-based line). The node id stays the suite's."""
        raise NotImplementedError

    def reportinfo(self):
        # The file and line where the node is defined (an item's record in the dataset, a
        # gate's entry in the suite file): GitHub annotations, -rs and JUnit's xunit1 file/line
        # point there. The "domain" heads failure sections; one that isn't a suffix of the node
        # id keeps pytest from rewriting the id's dots in -v lines (rft_eurovoc::yaml::...)
        path, line = self.source()
        return path, line - 1, f"{self.parent.name} · {self.name}"

    _relpath_key = "_rft_relpath"

    @functools.cached_property
    def location(self) -> tuple[str, int, str]:
        """``reportinfo`` with the file relative to the root, as pytest's, worked out once per
        suite (and file) rather than once per node."""
        parent: Any = self.parent
        relpath = getattr(parent, self._relpath_key, None)
        if relpath is None:
            relpath = super().location[0]
            setattr(parent, self._relpath_key, relpath)
        return relpath, self.source()[1] - 1, f"{parent.name} · {self.name}"

    def tell_allure(self) -> None:
        """Under allure (``--alluredir``) the model is a test parameter, so the same item of two
        models is two tests in its history, not retries of one."""
        if _allure_active(self.config):
            import allure

            allure.dynamic.parameter("model", self.run.model)

    def summary(self) -> SuiteSummary:
        return rft_session(self.config).summary(self.run)

    def setup(self) -> None:
        if not self.run.sampled and is_worker(self.config):
            rft_session(self.config).sample([self.run])
        if option(self.config, "batch-export"):
            pytest.skip(f"--rft-batch-export: request(s) written to "
                        f"{option(self.config, 'batch-export')}, nothing sampled")

    def show(self, status: str) -> None:
        rft_session(self.config).status[self.nodeid] = for_terminal(status)


class RftItem(_RftNode):
    def __init__(self, *, run: SuiteRun, item: Item, **kwargs: Any):
        super().__init__(**kwargs)
        self.run = run
        self.item = item

    _relpath_key = "_rft_dataset_relpath"

    def source(self) -> tuple[Path, int]:
        suite = self.run.suite
        return suite.path.parent / suite.config.dataset, self.item.line

    def runtest(self) -> None:
        self.tell_allure()
        if not self.run.sampled:
            raise RftBroken("not sampled: the run stopped before this item's samples were taken")
        suite = self.run.suite
        results = self.run.results.get(self.item.id, [])
        item_stats, comparison, flaky = rft_session(self.config).item_numbers(self.run,
                                                                               self.item.id)
        for name, score in item_stats.scores.items():
            self.user_properties.append((_mean_key(name), round(score.mean, 6)))
        self.user_properties.append(("samples", len(results)))
        self.user_properties.append(("errors", item_stats.n_errors + item_stats.n_grader_errors))
        delta = comparison.item_deltas.get(self.item.id) if comparison else None
        if delta is not None:
            self.user_properties.append((f"{suite.primary}.delta_vs_baseline", round(delta, 6)))
        primary = item_stats.scores.get(suite.primary)
        status = (f"{suite.primary}={primary.mean:.3f}" + (f"±{primary.std:.3f}" if primary.n > 1 else "")
                  + f" n={primary.n}") if primary else "no score"
        if delta is not None:
            status += f" Δ{delta:+.3f}"
        if comparison and self.item.id in comparison.regressed:
            status += " regressed"
        elif comparison and self.item.id in comparison.dropped:
            status += " dropped, not confirmed"
        if flaky:
            status += " flaky"
        self.show(status)
        if option(self.config, "show-outputs") or self.config.getoption("verbose") >= 2:
            self.add_report_section("call", "rft outputs",
                                    for_terminal(outputs_text(self.run, self.item.id).lstrip("\n")))
        errors = problems.item_errors(results)
        if errors:
            raise RftBroken(errors_text(errors) + outputs_text(self.run, self.item.id, errors=False))
        if self.item.critical and not item_stats.passed:
            raise RftFailure(f"critical item below threshold: {status} < pass_threshold "
                             f"{suite.pass_threshold:g}" + outputs_text(self.run, self.item.id))
        if comparison and self.item.id in comparison.regressed:
            raise RftFailure(regressed_text(self.run, self.summary(), self.item.id))


@functools.lru_cache(maxsize=1024)
def _mean_key(name: str) -> str:
    """``<score>.mean``, one string per score name (not one per item: 200,000 items keep
    their properties in their reports)."""
    return f"{name}.mean"


def regressed_text(run: SuiteRun, summary: SuiteSummary, item_id: str, width: int = 160) -> str:
    """Why an item counts as regressed: its baseline and current passes (main and confirmation
    repeats), the test and its correction, and its outputs."""
    comparison = summary.comparison
    assert comparison is not None
    base = comparison.baseline.items[item_id]
    primary = run.suite.primary
    now = summary.items[item_id]
    then_score = base.scores.get(comparison.baseline.primary, {}).get("mean")
    now_score = now.scores[primary].mean if primary in now.scores else None
    from ..analysis.stats import pass_counts

    then_passes, then_n = base.all_passes()
    confirm = pass_counts(run.confirm.get(item_id, []), primary, run.suite.pass_threshold)
    now_passes, now_n = now.n_pass + confirm[0], len(now.primary_values) + confirm[1]
    lines = [f"regressed: passed in the baseline ({comparison.baseline.model}: "
             f"{primary}={_num(then_score)}, {then_passes}/{then_n} repeats passed) and fails now "
             f"({primary}={_num(now_score)}, {now_passes}/{now_n} repeats passed, "
             f"{confirm[1]} of them confirmation repeats); one-sided Fisher exact "
             f"p={comparison.item_p[item_id]:.2g}, below {0.05:g} after {comparison.correction} "
             f"over the build's {comparison.item_family or len(comparison.paired)} items"]
    return "\n".join(lines) + outputs_text(run, item_id, width)


MAX_ERROR_LINES = 10


def errors_text(errors: list[problems.ErrorGroup]) -> str:
    """An item's errors, one line per distinct error with the repeats it hit; one distinct error
    (a wrong key, a server that is down) on the first line, which ``-rf`` and reporters show."""
    head = f"{sum(g.count for g in errors)} error(s) (errors are not scores):"
    lines = problems.item_lines(errors)
    if len(lines) == 1:
        return f"{head} {lines[0]}"
    if len(lines) > MAX_ERROR_LINES:
        lines[MAX_ERROR_LINES:] = [f"... and {len(lines) - MAX_ERROR_LINES} more distinct "
                                   "error(s) (see --rft-report)"]
    return head + "".join(f"\n  {line}" for line in lines)


def outputs_text(run: SuiteRun, item_id: str, width: int = 160, errors: bool = True) -> str:
    """Each answered repeat's primary score and (shortened) output, then (unless ``errors`` is
    False: the caller lists them) the item's errors, identical ones once with their repeats."""
    primary = run.suite.primary
    results = run.results.get(item_id, [])
    lines = []
    for result in results:
        if result.failed:
            if result.trajectory:  # an agent loop that failed midway: what it did so far
                lines.append(f"  repeat {result.repeat}: failed after:")
                lines += tool_lines(result, width)
            continue
        text = (result.output_text or "").replace("\n", " ")
        if len(text) > width:
            text = text[:width - 3] + "..."
        lines.append(f"  repeat {result.repeat}: {primary}="
                     f"{_num(result.scores.get(primary))} output: {text}")
        lines += tool_lines(result, width)
        for name, message in result.zeroed.items():
            lines.append(f"    grader {name!r} error scored 0 (errors_as_zero): {message}")
    if errors:
        lines += [f"  {line}" for line in problems.item_lines(problems.item_errors(results))]
    return "".join(f"\n{line}" for line in lines)


def tool_lines(result: Any, width: int = 160) -> list[str]:
    """A sample's tool use: its trajectory (or its calls), and what a tool_call grader missed
    or did not expect."""
    import json

    from ..sampling import agent

    lines: list[str] = []
    if result.trajectory and any(s.get("tool_calls") or s.get("role") == "tool"
                                 for s in result.trajectory):
        stop = f" (stopped: {result.stop})" if result.stop not in (None, "answer") else ""
        lines.append(f"    trajectory, {result.turns} turn(s){stop}:")
        lines += [f"      {line}" for line in agent.trajectory_lines(result.trajectory, width)]
    elif result.tool_calls:
        lines.append("    calls: " + "; ".join(agent.call_text(c, 80) for c in result.tool_calls))
    for name, details in result.grader_details.items():
        if not isinstance(details, dict) or "expected" not in details:
            continue
        missed = [f"{d['name']}({json.dumps(d.get('arguments'), ensure_ascii=False)})"
                  + (" [called with other arguments]" if d.get("name_called") else "")
                  for d in details["expected"] if not d.get("score")]
        extra = [agent.call_text(result.tool_calls[i], 80)
                 for i in details.get("unexpected_calls", []) if i < len(result.tool_calls)]
        if missed or extra:
            lines.append(f"    {name}: " + "; ".join(
                [f"missed {m}" for m in missed] + [f"unexpected {x}" for x in extra]))
    return lines


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


class GateItem(_RftNode):
    def __init__(self, *, run: SuiteRun, gate: Gate, **kwargs: Any):
        super().__init__(**kwargs)
        self.run = run
        self.gate = gate
        rft_session(self.config).gate_nodes.append(self)

    def source(self) -> tuple[Path, int]:
        suite = self.run.suite
        return suite.path, suite.gate_lines.get(self.gate.label, 1)

    def runtest(self) -> None:
        self.tell_allure()
        if not self.run.sampled:
            raise RftBroken("not sampled: the run stopped before this suite was sampled")
        result = next(g for g in self.summary().gates if g.label == self.gate.label)
        self.show(result.status)
        self.user_properties.append((self.gate.metric, result.value))
        self.user_properties.append(("verdict", result.verdict))
        if result.delta is not None:
            self.user_properties.append((f"{self.gate.metric}.delta_vs_baseline", result.delta))
        if result.verdict == "FAIL":
            raise RftFailure(f"gate failed: {result.detail}")
        if result.inconclusive and option(self.config, "inconclusive") == "fail":
            raise RftFailure(f"gate INCONCLUSIVE (--rft-inconclusive=fail): {result.detail}")


def _selected_runs(session: pytest.Session) -> list[SuiteRun]:
    """Runs with at least one selected node, and what each must sample: a gate judges its whole
    suite, so a run with a selected gate samples every item (selected as a test or not); a run
    with only items selected samples just those."""
    selected: dict[str, SuiteRun] = {}
    chosen: dict[str, list[Item]] = {}
    gated: set[str] = set()
    for node in getattr(session, "items", ()):  # an xdist controller never collects (pytest < 9: none)
        if isinstance(node, _RftNode):
            selected[node.run.key] = node.run
            if isinstance(node, RftItem):
                chosen.setdefault(node.run.key, []).append(node.item)
            else:
                gated.add(node.run.key)
    limit = option(session.config, "limit")
    for key, run in selected.items():
        tested = chosen.get(key, [])
        run.gated = key in gated
        if run.gated:
            every = run.suite.items[:limit] if limit is not None else run.suite.items
            run.items = list(every)
            run.untested = len(every) - len(tested)
        else:
            run.items = tested
    return list(selected.values())


# Options of other plugins that act per test run and do nothing for a suite node; said once.
NOT_FOR_SUITE_NODES = {
    "reruns": "--reruns (pytest-rerunfailures) does not rerun suite nodes: their verdicts come "
              "from samples drawn once per run, and a rerun would judge the same samples again; "
              "for more samples per item raise the suite's repeats or pass --rft-repeats",
    "count": "--count (pytest-repeat) does not repeat suite nodes: each item is sampled 'repeats' "
             "times per run already; raise the suite's repeats or pass --rft-repeats",
}


def _foreign_option_notes(config: pytest.Config) -> list[str]:
    notes = []
    for name, note in NOT_FOR_SUITE_NODES.items():
        value = getattr(config.option, name, None)
        if value and not (name == "count" and value == 1):
            notes.append(f"rft: {note}")
    return notes


def pytest_collection_finish(session: pytest.Session) -> None:
    """With --lf, rerun the gates of every suite whose items are rerun: the failed items'
    verdicts depend on them (and a gate must not turn green by being left out)."""
    config = session.config
    state = _started(config)
    if not (config.getoption("lf", False) and config.pluginmanager.has_plugin("cacheprovider")):
        return
    if state is None:
        return
    keys = {node.run.key for node in session.items if isinstance(node, RftItem)}
    present = {id(node) for node in session.items}
    for gate in state.gate_nodes:
        if gate.run.key in keys and id(gate) not in present:
            session.items.append(gate)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """Sample everything selected, concurrently; the leading suite nodes report while their
    samples come in (``streaming.py``), the rest after. An xdist worker samples each suite when
    its first node arrives (it only gets some suites), and a batch is sent whole."""
    config = session.config
    if config.option.collectonly or (
            session.testsfailed and not config.option.continue_on_collection_errors):
        return None  # pytest's own loop reports the collection errors and stops
    runs = _selected_runs(session)
    if not runs or is_worker(config):
        return None
    state = rft_session(config)
    nodes = _streamable(session)
    if not nodes:
        state.sample(runs)
        return None
    from . import streaming

    stream = streaming.Stream(session, nodes, runs, state.needs_suite, state.item_reported)
    state.sample(runs, stream)
    streaming.run_rest(session, stream.reported)
    return True


def _streamable(session: pytest.Session) -> list[_RftNode]:
    """The leading suite nodes that take the lean protocol (they may report while sampling);
    none in batch modes (a batch is sent, or written, whole)."""
    config = session.config
    if not _lean_allowed(config) or any(option(config, mode) for mode in
                                        ("batch", "batch-export", "batch-import")):
        return []
    from . import protocol

    nodes = []
    for node in session.items:
        if not (isinstance(node, _RftNode) and protocol.plain(node)):
            break
        nodes.append(node)
    return nodes


LEAN = pytest.StashKey[bool]()
ALLURE = pytest.StashKey[bool]()


def _allure_active(config: pytest.Config) -> bool:
    if ALLURE not in config.stash:
        config.stash[ALLURE] = config.pluginmanager.has_plugin("allure_listener")
    return config.stash[ALLURE]


def _lean_allowed(config: pytest.Config) -> bool:
    if LEAN not in config.stash:
        from . import protocol

        config.stash[LEAN] = protocol.lean_allowed(config)
    return config.stash[LEAN]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    """Suite nodes take the lean protocol (``protocol.py``), unless marked or debugged."""
    if not isinstance(item, _RftNode):
        return None
    from . import protocol

    if not (_lean_allowed(item.config) and protocol.plain(item)):
        return None
    return protocol.run_lean(item, nextitem)


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any):
    """Keep each suite on one worker under ``-n`` (the default ``--dist load`` would scatter
    its items, and every worker would sample the whole suite for its gates)."""
    if config.getvalue("dist") in ("load", "worksteal"):
        from .xdist import SuiteScheduling

        return SuiteScheduling(config, log)
    return None


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """The controller takes over what a worker sampled."""
    data = getattr(node, "workeroutput", {}).get("rft")
    if data:
        rft_session(node.config).merge_worker(data)


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    session = _started(config)
    status = session.status.get(report.nodeid) if session is not None else None
    if status is None or report.when != "call":
        return None
    # a plain verbose word: pytest colours it by outcome, and pytest 7 prints a (word, markup)
    # pair raw in its short summary
    if report.passed:
        return "passed", ".", f"PASSED ({status})"
    if report.failed:
        return "failed", "F", f"FAILED ({status})"
    return None


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    state = _started(config)
    if state is not None:
        if state.runs:  # suites ran (here, or on xdist workers)
            state.notes += _foreign_option_notes(config)
        state.terminal_summary(terminalreporter)
        if state.pytest_session is not None:
            signals.exit_status(config, state.pytest_session, state)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Baselines, history and the JSON report, even after Ctrl-C (partial results are kept);
    an xdist worker hands its runs to the controller instead."""
    config = session.config
    state = _started(config)
    if state is None:
        return
    if is_worker(config):
        config.workeroutput["rft"] = state.worker_output()
        return
    state.pytest_session = session
    state.finish(int(exitstatus))
    signals.exit_status(config, session, state)
    if option(config, "inconclusive") == "exit2" and session.exitstatus == 0 \
            and state.inconclusive_gates():
        session.exitstatus = 2  # its own status: no gate failed, some could not tell
