"""The suite nodes: a suite file collects one collector per suite, and under it, for each
model, an item per dataset record and a gate per gate of the suite (``doc-003[model]``,
``gate:f1.mean[model]``). Their verdicts are ``verdicts.py``'s; the numbers come from the
session (``session.RftSession``)."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pytest

from ..analysis import problems
from ..core.errors import RftError
from ..core.secrets import for_terminal
from . import freezing, verdicts
from .explain import errors_text, outputs_text, regressed_text
from .settings import settings_of
from .state import is_worker, rft_session

if TYPE_CHECKING:
    from ..analysis.summary import SuiteSummary
    from ..core.records import SuiteRun
    from ..suite.dataset import Item
    from ..suite.keys import Gate

ALLURE = pytest.StashKey[bool]()


class SuiteFile(pytest.File):
    def collect(self):
        freezing.pause(self.config)
        session = rft_session(self.config)
        suite = session.load_suite(self.path)
        session.claim_name(suite)
        session.suite_loaded(suite)
        limit = session.settings.limit
        items = suite.items[:limit] if limit is not None else suite.items
        names = node_names(suite, items)
        runs = [session.add_run(suite, model) for model in session.models_for(suite)]
        from .collection import absent_models  # not at import: a project without suites

        session.notes += absent_models(list(self.config.args), self.config.invocation_params.dir,
                                       suite, [run.model for run in runs])
        yield SuiteCollector.from_parent(self, name=suite.name, runs=runs, items=items,
                                         names=names)

    def repr_failure(self, excinfo):  # type: ignore[override]
        if isinstance(excinfo.value, RftError):
            # a broken suite is a collection error, but the other suites still run
            self.config.option.continue_on_collection_errors = True
            # paths under where pytest started, as the user typed them (evals/rft_x.yaml:7)
            start = str(self.config.invocation_params.dir).rstrip(os.sep) + os.sep
            return for_terminal(str(excinfo.value).replace(start, ""))
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


class RftNode(pytest.Item):
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
        if allure_active(self.config):
            import allure

            allure.dynamic.parameter("model", self.run.model)

    def summary(self) -> SuiteSummary:
        return rft_session(self.config).summary(self.run)

    def setup(self) -> None:
        if not self.run.sampled and is_worker(self.config):
            rft_session(self.config).sample([self.run])
        exported = settings_of(self.config).batch_export
        if exported:
            pytest.skip(f"--rft-batch-export: request(s) written to {exported}, nothing sampled")

    def show(self, status: str) -> None:
        rft_session(self.config).status[self.nodeid] = for_terminal(status)


class RftItem(RftNode):
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
        errors = problems.item_errors(results)
        verdict = verdicts.item_verdict(
            item_stats, suite.primary, errors=bool(errors), critical=self.item.critical,
            delta=delta, regressed=bool(comparison and self.item.id in comparison.regressed),
            dropped=bool(comparison and self.item.id in comparison.dropped), flaky=flaky)
        self.show(verdict.status)
        if settings_of(self.config).show_outputs or self.config.getoption("verbose") >= 2:
            self.add_report_section("call", "rft outputs",
                                    for_terminal(outputs_text(self.run, self.item.id).lstrip("\n")))
        if verdict.fault == verdicts.BROKEN:
            raise RftBroken(errors_text(errors) + outputs_text(self.run, self.item.id, errors=False))
        if verdict.fault == verdicts.CRITICAL:
            raise RftFailure(verdicts.critical_text(verdict.status, suite.pass_threshold)
                             + outputs_text(self.run, self.item.id))
        if verdict.fault == verdicts.REGRESSED:
            raise RftFailure(regressed_text(self.run, self.summary(), self.item.id))


@functools.lru_cache(maxsize=1024)
def _mean_key(name: str) -> str:
    """``<score>.mean``, one string per score name (not one per item: 200,000 items keep
    their properties in their reports)."""
    return f"{name}.mean"


class GateItem(RftNode):
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
        failure = verdicts.gate_failure(result.verdict, result.inconclusive,
                                        settings_of(self.config).inconclusive, result.detail)
        if failure is not None:
            raise RftFailure(failure)


def allure_active(config: pytest.Config) -> bool:
    if ALLURE not in config.stash:
        config.stash[ALLURE] = config.pluginmanager.has_plugin("allure_listener")
    return config.stash[ALLURE]
