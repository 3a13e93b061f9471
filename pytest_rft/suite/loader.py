"""The suite file: pydantic models, and loading with errors that name file, line and field."""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import inspect
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..core import files
from ..core import numbers
from ..core import template
from ..core import tools as tools_mod
from .dataset import Item, conversation, load_items, parse_yaml, plain_record, read_text
from ..core.errors import RftError
from ..core.digests import callable_source
from ..graders import build_grader
from ..graders.registry import _import_ref, load_grader_file, nested, registered_graders
from ..graders.base import Grader

LABEL_METRICS = [f"{avg}_{m}" for avg in ("micro", "macro", "samples")
                 for m in ("precision", "recall", "f1")]
SCORE_REDUCTIONS = ("mean", "max", "min")
MAX_SUITE_BYTES = 5 * 1024 * 1024
MAX_REPEATS = 10_000
"""Samples per item; a typo of a billion would otherwise run the machine out of memory."""
DEFAULT_PASS_THRESHOLD = 0.5
DEFAULT_MAX_TURNS = 10
MAX_NAME = 200
"""Characters of a suite name (it heads node ids and names the baseline file)."""


class _Strict(BaseModel):
    # NaN and infinity are never a setting (a NaN temperature, threshold or budget)
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class FileRef(_Strict):
    file: str


class Message(_Strict):
    role: Literal["system", "developer", "user", "assistant"]
    content: Union[str, FileRef]


class MessagesRef(_Strict):
    """An ``input:`` entry standing for a list of messages in the item (a conversation)."""

    messages: str
    """A path such as ``item.conversation`` (braces optional)."""


class Sampling(_Strict):
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    max_output_tokens: int | None = Field(None, gt=0)


class ModelEntry(Sampling):
    """One ``models:`` entry: sampling overrides for that model, or ``use: OTHER`` -- a remap:
    wherever the suite (its ``model:`` or a judge grader's ``model``) names this model, OTHER is
    called instead (how a retired judge is swapped without editing graders)."""

    use: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _alone(self) -> "ModelEntry":
        if self.use is not None and self.model_fields_set - {"use"}:
            raise ValueError("a remap ('use:') takes no sampling keys; give the new model's "
                             "sampling under its own name")
        return self


class Gate(_Strict):
    """An absolute gate (``min``/``max`` on a metric) or a baseline gate (``baseline: true``:
    fails when the metric is significantly worse than the baseline's, paired by item, and the
    drop exceeds ``max_drop``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    metric: str
    min: float | None = None
    max: float | None = None
    baseline: bool = False
    max_drop: float = Field(0.0, ge=0.0)
    confidence: float = Field(0.95, gt=0.5, lt=1.0)

    @model_validator(mode="after")
    def _bound(self) -> "Gate":
        if self.baseline:
            if self.min is not None or self.max is not None:
                raise ValueError("a baseline gate takes 'max_drop' (and 'confidence'), not "
                                 "'min'/'max'; write two gates for both")
        elif self.min is None and self.max is None:
            raise ValueError("a gate needs 'min' or 'max' (or 'baseline: true' with 'max_drop')")
        elif "max_drop" in self.model_fields_set or "confidence" in self.model_fields_set:
            raise ValueError("'max_drop' and 'confidence' belong to baseline gates: add "
                             "'baseline: true'")
        return self

    @property
    def label(self) -> str:
        if self.baseline:
            return f"{self.metric}>=baseline-{self.max_drop:g}"
        parts = []
        if self.min is not None:
            parts.append(f"{self.metric}>={self.min:g}")
        if self.max is not None:
            parts.append(f"{self.metric}<={self.max:g}")
        return ",".join(parts)

    def passes(self, value: float | None) -> bool:
        """An absolute gate's verdict (with a tolerance for float rounding)."""
        if value is None:
            return False
        return ((self.min is None or numbers.at_least(value, self.min))
                and (self.max is None or numbers.at_most(value, self.max)))


class Classification(_Strict):
    """Where the predicted and reference label sets are, for micro/macro P/R/F1."""

    predicted: str
    """Path into the sample, e.g. ``output_json.level1[*].code``."""
    reference: str
    """Path into the item, e.g. ``level1[*].code``."""
    labels: list[str] | None = Field(None, min_length=1)
    """The label set (macro averages over it, like scikit-learn's ``labels=``)."""


class JudgeConfig(_Strict):
    """Where ``score_model`` / ``label_model`` graders send their judge calls (overrides the
    grader JSON's ``model``; ``--rft-judge-model`` / ``--rft-judge-base-url`` override this)."""

    model: str | None = None
    base_url: str | None = None
    api: Literal["chat", "responses"] | None = None
    embedding_model: str | None = None
    """For ``text_similarity`` cosine (default text-embedding-3-large)."""


class SuiteConfig(_Strict):
    suite: str
    dataset: str
    model: Union[str, list[str], None] = None
    models: dict[str, ModelEntry] | None = None
    """Per-model sampling overrides (name -> sampling keys; ``null`` removes a key), or remaps
    (name -> ``{use: OTHER}``); its other names are the models to run when ``model`` is not
    given."""
    recorded: str | None = None
    """A report-shaped JSON of recorded outputs (``platform_samples.json``): the suite's default
    model is then ``recorded``, answered from that file, no model called."""
    input: list[Union[Message, MessagesRef]] | None = None
    response_format: Union[str, dict[str, Any], None] = None
    sampling: Sampling = Field(default_factory=Sampling)
    repeats: int = Field(1, ge=1, le=MAX_REPEATS)
    graders: dict[str, Any] = Field(min_length=1)
    primary: str | None = None
    pass_threshold: float | None = None
    """None: the primary grader's own ``pass_threshold``, else ``DEFAULT_PASS_THRESHOLD``."""
    gates: list[Gate] = Field(default_factory=list)
    max_error_rate: float = Field(0.0, ge=0.0, le=1.0)
    classification: Classification | None = None
    api: Literal["chat", "responses"] | None = None
    max_tokens: int | None = Field(None, ge=1)
    """Token budget of this suite per run (input + output, all models); see budget.py."""
    max_cost: float | None = Field(None, gt=0)
    """Cost budget of this suite per run, USD (all models); see budget.py."""
    judge: JudgeConfig | None = None
    tools: Union[list[Any], dict[str, Any], None] = None
    """OpenAI function tools (Chat or Responses shape), ``module:Model`` (a pydantic model),
    or ``{file: tools.json}``; records may add their own (``tools`` in the record)."""
    tool_choice: Union[str, dict[str, Any], None] = None
    parallel_tool_calls: bool | None = None
    tool_implementations: Union[dict[str, str], list[str], None] = None
    """Tool name -> a tool registered with ``@pytest_rft.tool`` or ``module:attr``; a list
    names registered tools by their own names."""
    max_turns: int | None = Field(None, ge=1, le=1000)
    """Model calls per sample in the agent loop (RFT's ``max_episode_steps``); default 10 when
    tools can be answered (implementations or recorded results), else 1."""
    errors_as_zero: bool = False
    """Score grader errors 0, as the hosted platform does (they are still shown)."""
    cluster: str | None = None
    """The record field that groups items which are not independent (items cut from one
    document, one topic, one user): ``document_id`` or ``meta.topic``. Every interval and test
    is then cluster-robust."""
    item_repeats: int | None = Field(None, ge=0, le=MAX_REPEATS)
    """Confirmation repeats for items tested for a regression (default: --rft-item-repeats,
    else 15; 0 turns them off); they never count in the suite's numbers."""

    @field_validator("cluster")
    @classmethod
    def _cluster(cls, value: str | None) -> str | None:
        if value is not None:
            from ..core.json_path import parse_path

            path = value[5:] if value.startswith("item.") else value
            if not path or parse_path(path) is None:
                raise ValueError("a field path into the record, such as document_id or "
                                 "meta.topic")
        return value

    @field_validator("suite")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip() or "::" in value or "[" in value or not value.isprintable() \
                or len(value) > MAX_NAME:
            raise ValueError(f"use a short name (at most {MAX_NAME} characters) without '::', "
                             "'[' or control characters")
        return value


@dataclass
class Suite:
    """A validated suite ready to run: config plus everything it refers to, loaded."""

    path: Path
    config: SuiteConfig
    items: list[Item]
    graders: list[Grader]
    prompt: list[dict[str, str]] | None
    """Message templates (content already read from files); None = the records' messages."""
    response_schema: dict[str, Any] | None
    score_names: list[str] = field(default_factory=list)
    grader_definitions: dict[str, Any] = field(default_factory=dict)
    """Each grader's definition with file references read (what its digest is made of)."""
    score_thresholds: dict[str, float] = field(default_factory=dict)
    """Score name -> the grader's own ``pass_threshold`` (each gives ``<score>.pass_rate``)."""
    threshold_note: str | None = None
    """Set when the suite's and the primary grader's thresholds differ: which one wins."""
    tools_note: str | None = None
    """Set when ``max_turns`` asks for a loop that nothing can run (shown with the summary)."""
    tools: list[dict[str, Any]] | None = None
    """The suite's function tools (Chat shape), None without ``tools:``."""
    item_tools: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Item id -> its tools (the suite's merged with the record's own), for records that
    carry ``tools``."""
    tool_choice: Any = None
    implementations: dict[str, Any] = field(default_factory=dict)
    """Tool name -> the Python callable that answers its calls (None: not resolved, in an
    xdist controller, which never samples)."""
    implementation_sources: dict[str, str] = field(default_factory=dict)
    """Tool name -> its implementation's source (what the ``tools`` digest is made of)."""
    recorded_tools: bool = False
    """Whether any record carries ``tool_results``."""
    recorded_path: Path | None = None
    """``recorded:`` resolved (the recorded outputs the ``recorded`` model answers with)."""
    judge_overrides: Any = None
    """The run's ``--rft-judge-model`` (a ``judge.JudgeOverrides``), set when it collects."""
    gate_lines: dict[str, int] = field(default_factory=dict)
    """Gate label -> its line in the suite file (the error gate's: ``max_error_rate:``, else
    line 1); where reports (GitHub annotations, ``-rs``) point for a gate."""
    _sampling: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    _clusters: dict[str, object] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.config.suite

    @property
    def primary(self) -> str:
        return self.config.primary or self.score_names[0]

    @property
    def pass_threshold(self) -> float:
        """The item threshold: the suite's ``pass_threshold``, else the primary grader's own,
        else 0.5."""
        if self.config.pass_threshold is not None:
            return self.config.pass_threshold
        return self.score_thresholds.get(self.primary, DEFAULT_PASS_THRESHOLD)

    def metric_names(self) -> list[str]:
        names = [f"{s}.{r}" for s in self.score_names for r in SCORE_REDUCTIONS]
        names += [f"{s}.pass_rate" for s in self.score_thresholds]
        names += ["pass_rate", "error_rate"]
        if self.config.classification:
            names += LABEL_METRICS
        return names

    def render_messages(self, item: Item) -> list[dict[str, Any]]:
        if self.prompt is None:
            return item.messages or []
        context = {"item": item.data}
        out: list[dict[str, Any]] = []
        for m in self.prompt:
            if "messages" in m:  # the item's own conversation, spliced in
                where = f"input: messages: {m['messages']}"
                out.extend(conversation(template.resolve(m["messages"], context), where))
            else:
                out.append({"role": m["role"], "content": template.render(m["content"], context)})
        return out

    # -- tools ---------------------------------------------------------------------------
    def tools_for(self, item: Item) -> list[dict[str, Any]] | None:
        """The tools offered for ``item`` (the suite's, with the record's own); None: none."""
        return self.item_tools.get(item.id, self.tools)

    @property
    def executes_tools(self) -> bool:
        """Whether tool calls can be answered (implementations or recorded results)."""
        return bool(self.implementations) or self.recorded_tools

    @property
    def max_turns(self) -> int:
        if self.config.max_turns is not None:
            return self.config.max_turns
        return DEFAULT_MAX_TURNS if self.executes_tools else 1

    def toolbox(self, item: Item, timeout: float | None = None) -> tools_mod.Toolbox | None:
        """What answers ``item``'s tool calls in the agent loop (None: the first answer is
        final, its calls are the output)."""
        offered = self.tools_for(item)
        if not offered or self.max_turns < 2 or not self.executes_tools:
            return None
        recorded = item.data.get("tool_results")
        return tools_mod.Toolbox({t["function"]["name"] for t in offered}, self.implementations,
                                 recorded if isinstance(recorded, dict) else None, item.data,
                                 timeout)

    def clusters(self) -> dict[str, object] | None:
        """Item id -> its cluster (``cluster:``), worked out once; an item without the field is
        a cluster of its own. None when the suite has no ``cluster:``."""
        if self.config.cluster is None:
            return None
        if self._clusters is None:
            from ..core.json_path import parse_path

            path = self.config.cluster
            steps = parse_path(path[5:] if path.startswith("item.") else path) or ()
            self._clusters = {item.id: _lookup(item.data, steps, item.id) for item in self.items}
        return self._clusters

    def remaps(self) -> dict[str, str]:
        """``models:`` entries with ``use:``: old name -> the model called instead."""
        return {name: entry.use for name, entry in (self.config.models or {}).items()
                if entry.use is not None}

    def default_models(self) -> list[str]:
        """``model:`` (one or a list), else the names under ``models:`` (not remaps), else
        ``recorded`` when the suite grades recorded outputs; remaps applied."""
        model = self.config.model
        remaps = self.remaps()
        if model:
            names = [model] if isinstance(model, str) else list(model)
        else:
            names = [n for n in self.config.models or {} if n not in remaps]
        if not names and self.config.recorded is not None:
            from ..backends.replay import RECORDED_MODEL

            names = [RECORDED_MODEL]
        return list(dict.fromkeys(remaps.get(n, n) for n in names))

    def judge_models(self) -> dict[str, str]:
        """Score name -> the judge model each ``score_model`` / ``label_model`` grader calls,
        after ``--rft-judge-model`` (``judge_overrides``), the suite's ``judge.model`` and remaps:
        what a baseline records, so that a changed judge is named when comparing."""
        found: dict[str, str] = {}

        def walk(grader: Any) -> None:
            if hasattr(grader, "judge_config") and isinstance(getattr(grader, "model", None), str):
                found[grader.name] = grader.judge_model(self.judge_overrides)
            for sub in getattr(grader, "graders", {}).values():
                walk(sub)

        for grader in self.graders:
            walk(grader)
        return found

    def sampling_for_model(self, model: str) -> dict[str, Any]:
        """The suite's sampling with the model's overrides from ``models:`` (None removes)."""
        if model not in self._sampling:
            params = self.config.sampling.model_dump(exclude_none=True)
            override = (self.config.models or {}).get(model)
            if override is not None and override.use is None:
                params.update(override.model_dump(exclude_unset=True))
            self._sampling[model] = {k: v for k, v in params.items() if v is not None}
        return self._sampling[model]

    def sampling_for(self, repeat: int, model: str = "") -> dict[str, Any]:
        """Sampling params for one repeat; the seed moves with the repeat so repeats differ."""
        params = dict(self.sampling_for_model(model))
        if "seed" in params:
            params["seed"] += repeat
        return params


def _lookup(data: Any, steps: tuple, item_id: str) -> object:
    """The value at ``steps`` in a record (hashable), or a cluster of its own when absent."""
    value: Any = data
    for step in steps:
        if isinstance(step, str) and isinstance(value, dict) and step in value:
            value = value[step]
        elif isinstance(step, int) and isinstance(value, list) and -len(value) <= step < len(value):
            value = value[step]
        else:
            return ("no cluster", item_id)
    if value is None:
        return ("no cluster", item_id)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return value


def confined(base: Path, name: str, roots: tuple[Path, ...] | None, where: str, what: str) -> Path:
    """``base / name``, refused when it resolves outside the suite's folder and ``roots`` (the
    project): a suite must not be able to read, say, /proc/self/environ into a prompt."""
    problem = files.path_problem(base / name)
    if problem:
        raise RftError(f"{what} {files.shown_path(name)!r}: {problem}", where=where,
                       fix="give a shorter, plain path")
    path = base / name
    if roots is None:
        return path
    real = path.resolve()
    allowed = (base.resolve(), *(r.resolve() for r in roots))
    if not any(real == root or root in real.parents for root in allowed):
        raise RftError(f"{what} {name!r} is outside the suite's folder and the project",
                       where=where, fix="keep the files a suite uses inside the project (or pass "
                                        "--rft-allow-outside-files if you trust this suite)")
    return path


def load_suite(path: Path, roots: tuple[Path, ...] | None = (), *,
               resolve_tools: bool = True) -> Suite:
    """Read, validate and resolve a suite file; every user mistake is one RftError.

    Files the suite names must lie in its folder or one of ``roots`` (None: anywhere).
    ``resolve_tools=False`` leaves tool implementations that are not registered here
    unresolved (an xdist controller: the conftest registering them was loaded by the workers).
    """
    node, raw = parse_yaml(path, read_text(path, MAX_SUITE_BYTES))
    raw = plain_record(raw, str(path))
    if not isinstance(raw, dict):
        raise RftError("a suite file must be a YAML mapping (suite:, dataset:, graders: ...)",
                       where=str(path))
    try:
        config = SuiteConfig.model_validate(raw)
    except ValidationError as exc:
        raise _validation_error(exc, path, node, raw) from None

    def where(*loc: str | int) -> str:
        return f"{path}:{_line_of(node, loc)} {_dotted(loc)}"

    base = path.parent
    try:
        items = load_items(confined(base, config.dataset, roots, where("dataset"), "dataset"))
    except RftError as exc:
        raise exc.at(where("dataset")) if exc.where is None else exc from None
    item_keys = set().union(*(item.data.keys() for item in items)) if items else set()

    prompt = None
    if config.input is not None:
        prompt = []
        for i, message in enumerate(config.input):
            if isinstance(message, MessagesRef):
                ref = message.messages.strip().removeprefix("{{").removesuffix("}}").strip()
                try:
                    template.check_template("{{ " + ref + " }}", allowed_roots=("item",),
                                            item_keys=item_keys)
                except RftError as exc:
                    raise exc.at(where("input", i, "messages")) from None
                prompt.append({"messages": ref})
                continue
            content = message.content
            if isinstance(content, FileRef):
                file = confined(base, content.file, roots, where("input", i, "content"),
                                "prompt file")
                if not file.exists():
                    raise RftError(f"prompt file not found: {file}", where=where("input", i, "content"),
                                   fix="the path is relative to the suite file")
                content = read_text(file, MAX_SUITE_BYTES)
            try:
                template.check_template(content, allowed_roots=("item",), item_keys=item_keys)
            except RftError as exc:
                raise exc.at(where("input", i, "content")) from None
            prompt.append({"role": message.role, "content": content})
    elif items and config.recorded is None and any(item.messages is None for item in items):
        first = next(item for item in items if item.messages is None)
        raise RftError("the suite has no 'input:' and this record carries no messages",
                       where=f"{base / config.dataset}:{first.line}",
                       fix="add 'input:' (a chat template) to the suite, or give records 'messages'")

    recorded_path = None
    if config.recorded is not None:
        recorded_path = confined(base, config.recorded, roots, where("recorded"),
                                 "recorded outputs file")
        if not recorded_path.is_file():
            raise RftError(f"recorded outputs file not found: {config.recorded}",
                           where=where("recorded"),
                           fix="the path is relative to the suite file (pytest-rft import writes "
                               "platform_samples.json)")
    tool_parts = _load_tools(config, items, base, roots, where, resolve_tools)

    graders: list[Grader] = []
    definitions: dict[str, Any] = {}
    remaps = {name: entry.use for name, entry in (config.models or {}).items()
              if entry.use is not None}
    for name, definition in config.graders.items():
        _check_grader_files(definition, base, roots, where("graders", name))
        grader = build_grader(name, definition, base_dir=base, where=where("graders", name))
        definitions[name] = _resolved(definition, base, where("graders", name))
        _check_grader_templates(grader, item_keys, where("graders", name))
        _set_judge(grader, config.judge, remaps)
        _set_errors_as_zero(grader, config.errors_as_zero)
        graders.append(grader)
    score_names = _score_names(graders, where)
    thresholds = {k: v for g in graders for k, v in g.thresholds().items()}
    suite = Suite(path=path, config=config, items=items, graders=graders, prompt=prompt,
                  response_schema=None, score_names=score_names, grader_definitions=definitions,
                  score_thresholds=thresholds, recorded_path=recorded_path, **tool_parts)
    if config.primary is not None and config.primary not in score_names:
        raise RftError(f"primary {config.primary!r} is not a score of this suite",
                       where=where("primary"), fix=f"use one of: {', '.join(score_names)}")
    own = thresholds.get(suite.primary)
    if config.pass_threshold is not None and own is not None and \
            abs(own - config.pass_threshold) > numbers.TOLERANCE:
        suite.threshold_note = (
            f"items pass at the suite's pass_threshold {config.pass_threshold:g}, not the "
            f"primary grader '{suite.primary}''s own pass_threshold {own:g} (remove the "
            f"suite's to use the grader's; {suite.primary}.pass_rate uses {own:g})")
    if config.response_format is not None:
        if isinstance(config.response_format, str):
            confined(base, config.response_format.partition(":")[0].replace(".", "/") + ".py",
                     roots, where("response_format"), "response_format module")
        suite.response_schema = _response_schema(config.response_format, base, where("response_format"))
    suite.gate_lines = {gate.label: _line_of(node, ("gates", i))
                        for i, gate in enumerate(config.gates)}
    error_label = Gate(metric="error_rate", max=config.max_error_rate).label  # gates.error_gate
    suite.gate_lines[error_label] = _line_of(node, ("max_error_rate",))
    known = suite.metric_names()
    for i, gate in enumerate(config.gates):
        if gate.metric not in known:
            hint = "" if config.classification or "_f1" not in gate.metric else \
                " (label metrics need a 'classification:' section)"
            raise RftError(f"unknown metric {gate.metric!r}{hint}", where=where("gates", i, "metric"),
                           fix=f"use one of: {', '.join(known)}")
    return suite


def _check_grader_files(definition: Any, base: Path, roots: tuple[Path, ...] | None,
                        where: str) -> None:
    """Every ``{file: ...}`` a grader definition names must be inside the project."""
    if isinstance(definition, dict):
        if isinstance(definition.get("file"), str) and "type" not in definition:
            file = confined(base, definition["file"], roots, where, "grader file")
            if file.exists():
                data, _, file_dir = load_grader_file(definition["file"], base, where)
                with nested(where, file):
                    _check_grader_files(data, file_dir, roots, where)
        for value in definition.values():
            if isinstance(value, (dict, list)):
                with nested(where):
                    _check_grader_files(value, base, roots, where)
    elif isinstance(definition, list):
        for value in definition:
            with nested(where):
                _check_grader_files(value, base, roots, where)


def _resolved(definition: Any, base: Path, where: str) -> Any:
    """A grader definition with ``{file: ...}`` references replaced by the files' JSON, and a
    registered grader's name by its source, so that the digest changes when the grader does."""
    if isinstance(definition, str):
        fn = registered_graders().get(definition)
        return {"registered": definition, "source": callable_source(fn) if fn else None}
    if isinstance(definition, dict) and "file" in definition and "type" not in definition:
        data, _, file_dir = load_grader_file(definition["file"], base, where)
        with nested(where, file_dir / Path(definition["file"]).name):
            return _resolved(data, file_dir, where)
    if isinstance(definition, dict) and isinstance(definition.get("graders"), dict):
        with nested(where):
            return {**definition, "graders": {k: _resolved(v, base, where)
                                              for k, v in definition["graders"].items()}}
    return definition


def _load_tools(config: SuiteConfig, items: list[Item], base: Path,
                roots: tuple[Path, ...] | None, where: Callable[..., str],
                resolve: bool = True) -> dict[str, Any]:
    """The suite's tools, the records' own tools and recorded results (checked), tool_choice
    and the implementations, as keyword arguments of :class:`Suite`."""
    suite_tools = None
    if config.tools is not None:
        value: Any = config.tools
        if isinstance(value, dict) and set(value) == {"file"}:
            value = _tools_file(value["file"], base, roots, where("tools"))
        suite_tools = tools_mod.tool_list(
            value, where("tools"), convert=lambda e, w: _tool_entry(e, base, roots, w))
    dataset = base / config.dataset
    item_tools: dict[str, list[dict[str, Any]]] = {}
    names = {t["function"]["name"] for t in suite_tools or []}
    recorded = False
    for item in items:
        own = item.data.get("tools")
        if own is not None and (suite_tools is not None or _looks_like_tools(own)):
            listed = tools_mod.tool_list(own, f"{dataset}:{item.line} tools")
            item_tools[item.id] = tools_mod.merged(suite_tools or [], listed)
            names.update(t["function"]["name"] for t in listed)
        results = item.data.get("tool_results")
        if results is not None:
            offered = item_tools.get(item.id, suite_tools) or []
            tools_mod.check_recorded(results, {t["function"]["name"] for t in offered},
                                     f"{dataset}:{item.line} tool_results")
            recorded = True
    if not names:
        for key in ("tool_choice", "parallel_tool_calls", "tool_implementations", "max_turns"):
            if getattr(config, key) is not None:
                raise RftError(f"'{key}' needs tools, and this suite offers none",
                               where=where(key), fix="add 'tools:' (OpenAI function tools)")
        return {}
    choice = None
    if config.tool_choice is not None:
        choice = tools_mod.tool_choice(config.tool_choice, names, where("tool_choice"))
    implementations: dict[str, Any] = {}
    spec = config.tool_implementations or {}
    pairs = [(n, n) for n in spec] if isinstance(spec, list) else list(spec.items())
    for name, ref in pairs:
        here = where("tool_implementations", name)
        if name not in names:
            close = difflib.get_close_matches(name, sorted(names), n=1)
            raise RftError(f"implementation for {name!r}, which is not one of the tools "
                           f"({', '.join(sorted(names))})", where=here,
                           fix=f"did you mean {close[0]!r}?" if close else "name a tool")
        try:
            implementations[name] = _implementation(ref, base, here)
        except RftError:
            if resolve:
                raise
            implementations[name] = None
    note = None
    if config.max_turns is not None and config.max_turns > 1 and not (implementations or recorded):
        # an imported agentic RFT job (its tools were endpoints): still loads and scores
        note = (f"max_turns is {config.max_turns} but nothing answers tool calls (no "
                "tool_implementations, no records' tool_results): each sample ends at its "
                "first tool calls, which are its output")
    sources = {k: callable_source(v) for k, v in implementations.items() if v is not None}
    return {"tools": suite_tools, "item_tools": item_tools, "tool_choice": choice,
            "implementations": implementations, "implementation_sources": sources,
            "recorded_tools": recorded, "tools_note": note}


def _looks_like_tools(value: Any) -> bool:
    """A record's ``tools`` holding OpenAI function tools (not a field that happens to be
    called ``tools``)."""
    return isinstance(value, list) and bool(value) and all(
        isinstance(t, dict) and t.get("type") == "function" for t in value)


def _tools_file(file: Any, base: Path, roots: tuple[Path, ...] | None, where: str) -> Any:
    """A JSON file of tools: a list, one tool, or ``{"tools": [...]}``."""
    if not isinstance(file, str):
        raise RftError("'file' must be a path to a JSON file of tools", where=where)
    path = confined(base, file, roots, where, "tools file")
    if not path.is_file():
        raise RftError(f"tools file not found: {path}", where=where,
                       fix="the path is relative to the suite file")
    try:
        data = json.loads(read_text(path, MAX_SUITE_BYTES))
    except ValueError as exc:
        raise RftError(f"invalid JSON in tools file: {exc}", where=str(path)) from None
    if isinstance(data, dict) and "tools" in data:
        data = data["tools"]
    return data


def _tool_entry(entry: Any, base: Path, roots: tuple[Path, ...] | None, where: str) -> Any:
    """A ``tools:`` entry as definitions: ``module:Model`` (a pydantic model, like OpenAI's
    ``pydantic_function_tool``: its class name, docstring and strict schema) or
    ``{file: ...}``; a dict is a definition already."""
    if isinstance(entry, dict) and set(entry) == {"file"}:
        return _tools_file(entry["file"], base, roots, where)
    if not isinstance(entry, str):
        return entry
    confined(base, entry.partition(":")[0].replace(".", "/") + ".py", roots, where,
             "tool model module")
    model = _pydantic_model(entry, base, where)
    doc = inspect.cleandoc(model.__doc__) if model.__doc__ else None
    spec = {"name": model.__name__, "parameters": strict_schema(model.model_json_schema()),
            "strict": True}
    if doc:
        spec["description"] = doc
    return {"type": "function", "function": spec}


def _implementation(ref: Any, base: Path, where: str) -> Any:
    """A tool registered with ``@pytest_rft.tool``, or the callable at ``module:attr``."""
    registered = tools_mod.registered_tools()
    if isinstance(ref, str) and ref in registered:
        return registered[ref]
    if isinstance(ref, str) and ":" in ref:
        fn = _import_ref(ref, base, where)
        if not callable(fn):
            raise RftError(f"{ref!r} is not callable", where=where,
                           fix="name a function that takes the tool's arguments")
        return fn
    known = ", ".join(sorted(registered)) or "none"
    raise RftError(f"unknown tool implementation {ref!r} (registered tools: {known})",
                   where=where, fix=f"register it with @pytest_rft.tool({ref!r}) in conftest.py, "
                                    "or write 'module:function'")


def _set_errors_as_zero(grader: Grader, value: bool) -> None:
    """Tell multi graders (also nested) to score failed sub-graders 0 in their formula."""
    if hasattr(grader, "errors_as_zero"):
        grader.errors_as_zero = value
    for sub in getattr(grader, "graders", {}).values():
        _set_errors_as_zero(sub, value)


def _set_judge(grader: Grader, judge: JudgeConfig | None,
               remaps: dict[str, str] | None = None) -> None:
    """Give judge graders (also inside multi graders) the suite's ``judge:`` block and its
    ``models:`` remaps."""
    if hasattr(grader, "judge_config"):
        grader.judge_config = judge
        grader.judge_remaps = dict(remaps or {})
    for sub in getattr(grader, "graders", {}).values():
        _set_judge(sub, judge, remaps)


def _check_grader_templates(grader: Grader, item_keys: set[str], where: str) -> None:
    """Template paths into ``item`` must name fields the dataset has (caught at load, not per
    sample)."""
    for key, text in getattr(grader, "templates", {}).items():
        template.check_template(text, item_keys=item_keys or None, where=f"{where}.{key}")
    for name, sub in getattr(grader, "graders", {}).items():
        _check_grader_templates(sub, item_keys, f"{where}.graders.{name}")


def _score_names(graders: list[Grader], where) -> list[str]:
    names: list[str] = []
    for grader in graders:
        for score in grader.score_names():
            if score in names:
                raise RftError(f"score name {score!r} is produced twice (graders and multi "
                               "sub-graders share one namespace)", where=where("graders", grader.name),
                               fix="rename one of the graders")
            names.append(score)
    return names


def _response_schema(value: str | dict[str, Any], base: Path, where: str) -> dict[str, Any]:
    """``module:Model`` (a pydantic model in a file next to the suite) or an inline schema,
    as ``{"name", "schema", "strict"}``."""
    if isinstance(value, dict):
        if value.get("type") == "json_schema" and "json_schema" in value:
            value = value["json_schema"]
        if "schema" in value:
            return {"name": value.get("name", "output"), "schema": value["schema"],
                    "strict": value.get("strict", True)}
        return {"name": "output", "schema": value, "strict": True}
    model = _pydantic_model(value, base, where)
    return {"name": value.partition(":")[2], "schema": strict_schema(model.model_json_schema()),
            "strict": True}


def _pydantic_model(value: str, base: Path, where: str) -> Any:
    """The pydantic model at ``module:Model`` (module.py next to the suite)."""
    module_name, _, attr = value.partition(":")
    file = base / (module_name.replace(".", "/") + ".py")
    if not attr or not file.is_file():
        raise RftError(f"cannot find {value!r}", where=where,
                       fix=f"write 'module:Model' with module.py next to the suite ({file} not found)")
    module = _import_file(file)
    model = getattr(module, attr, None)
    if model is None or not hasattr(model, "model_json_schema"):
        raise RftError(f"{file} has no pydantic model {attr!r}", where=where,
                       fix="name a pydantic BaseModel subclass defined in that file")
    return model


def strict_schema(schema: Any) -> Any:
    """OpenAI strict mode: every object closed and every property required."""
    if isinstance(schema, dict):
        schema = {k: strict_schema(v) for k, v in schema.items()}
        if schema.get("type") == "object" and "properties" in schema:
            schema["additionalProperties"] = False
            schema["required"] = list(schema["properties"])
        schema.pop("default", None)
        return schema
    if isinstance(schema, list):
        return [strict_schema(v) for v in schema]
    return schema


def _import_file(file: Path) -> Any:
    digest = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:10]
    name = f"_rft_suite_{file.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise RftError(f"importing {file} failed: {type(exc).__name__}: {exc}",
                       where=str(file)) from None
    return module


def _dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_of(node: yaml.Node | None, loc: tuple[str | int, ...]) -> int:
    """1-based line of the YAML node at ``loc`` (or of its deepest existing parent)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if k.value == part]
            if not match:
                break
            key, node = match[0]
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _data_loc(data: Any, loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """``loc`` without pydantic's union-branch tags: the parts that index into the data, plus
    the last part (a missing or unknown key)."""
    kept: list[str | int] = []
    for i, part in enumerate(loc):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        elif i != len(loc) - 1:
            continue
        kept.append(part)
    return tuple(kept)


NESTED = {"sampling": "Sampling", "models": "ModelEntry", "gates": "Gate",
          "classification": "Classification", "input": "Message"}


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model whose fields a key at ``loc`` belongs to (for 'use one of')."""
    if not loc:
        return SuiteConfig
    if loc[-1] == "content" and loc[0] == "input":
        return FileRef
    return globals().get(NESTED.get(str(loc[0]), ""))


def _validation_error(exc: ValidationError, path: Path, node: yaml.Node, raw: Any) -> RftError:
    """The first pydantic error, as one located message with a fix."""
    error = exc.errors()[0]
    loc = _data_loc(raw, error["loc"])
    field_name = _dotted(loc) or "(top level)"
    where = f"{path}:{_line_of(node, loc)} {field_name}"
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        known = (", ".join(parent.model_fields) if parent
                 else "see the suite reference (docs/suite-reference.md)")
        return RftError(f"unknown key {loc[-1]!r}", where=where, fix=f"remove it or use one of: {known}")
    if kind == "missing":
        return RftError(f"missing required key {loc[-1]!r}", where=where, fix=f"add '{loc[-1]}:'")
    message = error["msg"].removeprefix("Value error, ")
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return RftError(f"{message}; got {json.dumps(error.get('input'), default=str)[:80]}{more}",
                    where=where, fix="see the suite reference (docs/suite-reference.md)")

