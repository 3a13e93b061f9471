"""The grader protocol every grader family implements."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core.errors import RftError
from ..core.records import Grades
from ..core.template import TemplateError, compile_template


@dataclass(frozen=True)
class GradingContext:
    """What a grader may use beyond the sample and the item, given by the runner with every
    grading call: the run's judge (a ``backends.judge.Judge``: score_model, label_model and
    text_similarity's cosine call models through it; None: they give an error) and its grader
    pool (a ``graders.isolation.GraderPool``: isolated Python graders run in its workers;
    None: in this process)."""

    judge: Any = None
    pool: Any = None
    timeout: float | None = None
    """Seconds a grader running in this process may take (``--rft-grader-timeout``); past
    it, the sample has a grader error and the call is left running on its daemon thread."""


class Grader:
    """A named grader. ``grade`` returns all the scores it produces (its own under ``name``,
    and for ``multi`` each sub-grader's too); failures go into ``Grades.errors``, not zeros."""

    name: str
    pass_threshold: float | None = None
    """The grader's own ``pass_threshold`` from its JSON (None when it gives none)."""

    def score_names(self) -> list[str]:
        """Every score name this grader produces, its own first."""
        return [self.name]

    def thresholds(self) -> dict[str, float]:
        """Score name -> pass threshold, for every score of this grader that has one."""
        return {} if self.pass_threshold is None else {self.name: self.pass_threshold}

    def grade(self, sample: Mapping[str, Any], item: Mapping[str, Any]) -> Grades:
        raise NotImplementedError

    async def agrade(self, sample: Mapping[str, Any], item: Mapping[str, Any],
                     context: GradingContext | None = None) -> Grades:
        """Async entry point used by the runner, with the run's ``context``; graders that
        call a model or a worker process override it."""
        return self.grade(sample, item)


class InputReferenceGrader(Grader):
    """A grader comparing two templates, ``input`` and ``reference`` (string_check,
    text_similarity): renders both, then ``compare`` turns them into a score."""

    def __init__(self, name: str, input: str, reference: str):
        self.name = name
        self.templates = {"input": input, "reference": reference}
        self._input = compile_template(input)
        self._reference = compile_template(reference)

    def compare(self, text: str, reference: str) -> float:
        raise NotImplementedError

    def grade(self, sample: Mapping[str, Any], item: Mapping[str, Any]) -> Grades:
        context = {"item": item, "sample": sample}
        try:
            text = self._input.render(context)
            ref = self._reference.render(context)
        except TemplateError as exc:
            return Grades(errors={self.name: f"grader '{self.name}': {exc.message}"})
        try:
            return Grades(scores={self.name: self.compare(text, ref)})
        except Exception as exc:  # a metric library failing on odd input
            return Grades(errors={self.name: f"grader '{self.name}' failed: "
                                             f"{type(exc).__name__}: {exc}"})


def read_threshold(definition: Mapping[str, Any], name: str, where: str) -> float | None:
    """A grader JSON's ``pass_threshold``: a finite number, or None when absent."""
    if "pass_threshold" not in definition or definition["pass_threshold"] is None:
        return None
    value = definition["pass_threshold"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RftError(f"pass_threshold of grader '{name}' must be a number, not {value!r}",
                       where=f"{where}: pass_threshold", fix='e.g. "pass_threshold": 0.8')
    return float(value)
