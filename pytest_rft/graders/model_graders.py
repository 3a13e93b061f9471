"""``score_model`` / ``label_model`` graders: an LLM judge reads templated messages and answers
in structured output.

- ``score_model``: the judge answers ``{"steps": [{"description", "conclusion"}], "result":
  number}``; the score is ``result`` clamped to ``range`` (default ``[0, 1]``).
- ``label_model``: the judge answers ``{"steps": [...], "result": <one of labels>}``; the
  score is 1.0 when the label is in ``passing_labels``, else 0.0.

Judge calls go through the run's judge, given with every grading call (``GradingContext``;
:mod:`pytest_rft.backends.judge`: the run's backends, limiter, retries and cache).
A non-numeric, out-of-set, refused, truncated or unparsable answer, or a failed call, is a
grader error with its cause, never a 0. The judge model is, in order: ``--rft-judge-model``,
the suite's ``judge.model``, the grader's ``model``; then a remap of that name
(``--rft-judge-model OLD=NEW``, else the suite's ``models: {OLD: {use: NEW}}``) applies.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..backends import judge as judges
from ..core.errors import RftError
from ..core.records import Grades, Request
from ..core.template import TemplateError, check_template, compile_template
from .base import Grader, GradingContext, read_threshold
from .registry import register_type

SAMPLING_KEYS = {"temperature": "temperature", "top_p": "top_p", "seed": "seed",
                 "reasoning_effort": "reasoning_effort",
                 "max_completions_tokens": "max_output_tokens",
                 "max_completion_tokens": "max_output_tokens",
                 "max_output_tokens": "max_output_tokens", "max_tokens": "max_output_tokens"}
"""OpenAI ``sampling_params`` keys -> the request's sampling keys. The output limit has four
spellings: the API's ``max_completions_tokens``, and ``max_tokens`` as the graders guide's own
label_model example writes it (with the chat and responses names)."""
ROLES = ("system", "developer", "user", "assistant")
TEXT_PARTS = ("input_text", "output_text", "text")

_STEPS = {"type": "array", "items": {
    "type": "object", "additionalProperties": False, "required": ["description", "conclusion"],
    "properties": {"description": {"type": "string"}, "conclusion": {"type": "string"}}}}


def score_schema() -> dict[str, Any]:
    return {"name": "score_model_result", "strict": True, "schema": {
        "type": "object", "additionalProperties": False, "required": ["steps", "result"],
        "properties": {"steps": _STEPS, "result": {"type": "number"}}}}


def label_schema(labels: list[str]) -> dict[str, Any]:
    return {"name": "label_model_result", "strict": True, "schema": {
        "type": "object", "additionalProperties": False, "required": ["steps", "result"],
        "properties": {"steps": _STEPS, "result": {"type": "string", "enum": list(labels)}}}}


def _messages(value: Any, name: str, where: str) -> list[tuple[str, list[str]]]:
    """``input`` as (role, [text templates]); content may be a string, one typed part or a list
    of typed parts (``input_text`` / ``output_text``), in the plain or EvalItem form."""
    if not isinstance(value, list) or not value:
        raise RftError(f"'input' of grader '{name}' must be a list of messages",
                       where=f"{where}: input",
                       fix='e.g. [{"role": "user", "content": "Grade: {{ sample.output_text }}"}]')
    out: list[tuple[str, list[str]]] = []
    for i, message in enumerate(value):
        at = f"{where}: input[{i}]"
        if not isinstance(message, Mapping) or message.get("role") not in ROLES:
            raise RftError(f"input[{i}] of grader '{name}' needs a role ({', '.join(ROLES)}) "
                           "and content", where=at)
        extra = set(message) - {"role", "content", "type"}
        if extra or message.get("type", "message") != "message":
            raise RftError(f"unknown key or type in input[{i}] of grader '{name}': "
                           f"{sorted(extra) or message.get('type')}", where=at,
                           fix="a message is {role, content} (optionally type: message)")
        content = message.get("content")
        parts = content if isinstance(content, list) else [content]
        texts: list[str] = []
        for part in parts:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping) and part.get("type") in TEXT_PARTS \
                    and isinstance(part.get("text"), str):
                texts.append(part["text"])
            else:
                kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
                raise RftError(f"input[{i}] of grader '{name}': content part {kind!r} is not "
                               "supported locally (text parts only: input_text, output_text)",
                               where=f"{at}.content",
                               fix="give the content as a string or input_text parts")
        for text in texts:
            check_template(text, where=f"{at}.content")
        out.append((message["role"], texts))
    return out


def _sampling(value: Any, name: str, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise RftError(f"sampling_params of grader '{name}' must be an object",
                       where=f"{where}: sampling_params")
    out: dict[str, Any] = {}
    for key, v in value.items():
        if key not in SAMPLING_KEYS:
            raise RftError(f"unknown sampling_params key {key!r} in grader '{name}'",
                           where=f"{where}: sampling_params",
                           fix="use: temperature, top_p, seed, max_completions_tokens, "
                               "reasoning_effort")
        if isinstance(v, float) and not math.isfinite(v):
            raise RftError(f"sampling_params.{key} of grader '{name}' must be a finite number, "
                           f"not {v!r}", where=f"{where}: sampling_params")
        if v is None:
            continue
        target = SAMPLING_KEYS[key]
        if target in out and out[target] != v:
            raise RftError(f"sampling_params of grader '{name}' sets the output limit twice "
                           f"({out[target]!r} and {key}={v!r})", where=f"{where}: sampling_params",
                           fix="keep one of max_completions_tokens / max_tokens")
        out[target] = v
    return out


class ModelGrader(Grader):
    """What both judge graders share: messages, model, sampling, the call, the parse."""

    def __init__(self, name: str, model: str, messages: list[tuple[str, list[str]]],
                 sampling: dict[str, Any], schema: dict[str, Any]):
        self.name = name
        self.model = model
        self.messages = messages
        self.sampling = sampling
        self.schema = schema
        self.judge_config: Any = None
        """The suite's ``judge:`` block (model, base_url, api), set when the suite loads."""
        self.judge_remaps: dict[str, str] = {}
        """The suite's ``models:`` remaps (old name -> new), set when the suite loads."""
        self.templates = {f"input[{i}].content": text
                          for i, (_, texts) in enumerate(messages) for text in texts}

    def grade(self, sample: Mapping[str, Any], item: Mapping[str, Any]) -> Grades:
        return Grades(errors={self.name: f"grader '{self.name}' calls a judge model: it grades "
                                         "during a run (agrade), not synchronously"})

    def _request(self, sample: Mapping[str, Any], item: Mapping[str, Any]) -> Request:
        context = {"item": item, "sample": sample}
        messages = [{"role": role, "content": "".join(compile_template(t).render(context)
                                                      for t in texts)}
                    for role, texts in self.messages]
        config = self.judge_config
        model = (config.model if config is not None and config.model else None) or self.model
        api = (config.api if config is not None and config.api else None) or "chat"

        return Request(model=model, messages=messages, response_schema=self.schema,
                       sampling=dict(self.sampling), item=dict(item), item_id="", repeat=0,
                       suite="", api=api)

    async def agrade(self, sample: Mapping[str, Any], item: Mapping[str, Any],
                     context: GradingContext | None = None) -> Grades:
        judge = context.judge if context is not None else None
        if judge is None:
            return self.grade(sample, item)
        try:
            request = self._request(sample, item)
        except TemplateError as exc:
            return Grades(errors={self.name: f"grader '{self.name}': {exc.message}"})
        base_url = self.judge_config.base_url if self.judge_config is not None else None
        try:
            completion = await judge.complete(request, base_url=base_url,
                                              remaps=self.judge_remaps)
        except judges.JudgeError as exc:
            return Grades(errors={self.name: f"grader '{self.name}': {exc}"})
        who = f"grader '{self.name}': the judge ({request.model})"
        if completion.refusal:
            return Grades(errors={self.name: f"{who} refused: {completion.refusal[:200]}"})
        if completion.finish_reason == "length":
            return Grades(errors={self.name: f"{who} answer was cut off (max tokens)"})
        text = (completion.output_text or "").strip()
        try:
            answer = json.loads(text)
        except ValueError:
            return Grades(errors={self.name: f"{who} answer is not JSON: {text[:120]!r}"})
        if not isinstance(answer, dict) or "result" not in answer:
            return Grades(errors={self.name: f"{who} answer has no 'result': {text[:120]!r}"})
        try:
            return Grades(scores={self.name: self.score(answer["result"])})
        except ValueError as exc:
            return Grades(errors={self.name: f"{who} {exc}"})

    def score(self, result: Any) -> float:
        raise NotImplementedError

    def judge_model(self, overrides: Any = None) -> str:
        """The model this grader's judge calls go to, given the run's ``--rft-judge-model``."""
        config = self.judge_config
        model = (config.model if config is not None and config.model else None) or self.model
        return judges.resolve_model(model, overrides, self.judge_remaps)


class ScoreModelGrader(ModelGrader):
    def __init__(self, *args: Any, range: tuple[float, float] = (0.0, 1.0), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.range = range

    def score(self, result: Any) -> float:
        if isinstance(result, bool) or not isinstance(result, (int, float)) \
                or not math.isfinite(result):
            raise ValueError(f"gave a result that is not a number: {result!r}")
        low, high = self.range
        return float(min(max(result, low), high))


class LabelModelGrader(ModelGrader):
    def __init__(self, *args: Any, labels: list[str], passing: list[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.labels = labels
        self.passing = set(passing)

    def score(self, result: Any) -> float:
        if not isinstance(result, str) or result not in self.labels:
            raise ValueError(f"answered {result!r}, not one of the labels "
                             f"{', '.join(self.labels)}")
        return 1.0 if result in self.passing else 0.0


def _common(name: str, definition: Mapping[str, Any], where: str) -> dict[str, Any]:
    model = definition["model"]
    if not isinstance(model, str) or not model:
        raise RftError(f"'model' of grader '{name}' must be a model name", where=f"{where}: model")
    return {"model": model, "messages": _messages(definition["input"], name, where),
            "sampling": _sampling(definition.get("sampling_params"), name, where)}


def _build_score(name: str, definition: Mapping[str, Any], *, base_dir: Path,
                 where: str) -> Grader:
    bounds = definition.get("range", [0, 1])
    if not (isinstance(bounds, list) and len(bounds) == 2
            and all(isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b)
                    for b in bounds)
            and bounds[0] < bounds[1]):
        raise RftError(f"'range' of grader '{name}' must be [low, high] with low < high, "
                       f"not {bounds!r}", where=f"{where}: range", fix="e.g. [0, 1] or [1, 10]")
    grader = ScoreModelGrader(name, **_common(name, definition, where), schema=score_schema(),
                              range=(float(bounds[0]), float(bounds[1])))
    grader.pass_threshold = read_threshold(definition, name, where)
    return grader


def _build_label(name: str, definition: Mapping[str, Any], *, base_dir: Path,
                 where: str) -> Grader:
    labels, passing = definition["labels"], definition["passing_labels"]
    for key, value in (("labels", labels), ("passing_labels", passing)):
        if not isinstance(value, list) or not value or \
                not all(isinstance(v, str) and v for v in value):
            raise RftError(f"'{key}' of grader '{name}' must be a non-empty list of strings",
                           where=f"{where}: {key}")
    if len(set(labels)) != len(labels):
        raise RftError(f"'labels' of grader '{name}' has duplicates", where=f"{where}: labels")
    unknown = [p for p in passing if p not in labels]
    if unknown:
        raise RftError(f"passing_labels of grader '{name}' are not in its labels: "
                       f"{', '.join(unknown)}", where=f"{where}: passing_labels",
                       fix=f"choose passing labels among: {', '.join(labels)}")
    return LabelModelGrader(name, **_common(name, definition, where),
                            schema=label_schema(labels), labels=list(labels),
                            passing=list(passing))


register_type("score_model", _build_score, required={"input", "model"},
              optional={"range", "sampling_params", "pass_threshold"}, default=True)
register_type("label_model", _build_label,  # sampling_params: as the graders guide's example
              required={"input", "model", "labels", "passing_labels"},
              optional={"sampling_params"}, default=True)
