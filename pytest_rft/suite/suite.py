"""The ``Suite`` a loaded suite file becomes: its keys, items, graders and tools, and what the
run asks of it (messages per item, sampling per model, tools, metrics, clusters)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import template
from ..core import tools as tools_mod
from .dataset import Item, conversation
from .keys import SuiteConfig

if TYPE_CHECKING:
    from ..graders.base import Grader

LABEL_METRICS = [f"{avg}_{m}" for avg in ("micro", "macro", "samples")
                 for m in ("precision", "recall", "f1")]
SCORE_REDUCTIONS = ("mean", "max", "min")
DEFAULT_PASS_THRESHOLD = 0.5
DEFAULT_MAX_TURNS = 10


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
