"""The grader protocol every grader family implements."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..records import Grades
from ..template import TemplateError, compile_template


class Grader:
    """A named grader. ``grade`` returns all the scores it produces (its own under ``name``,
    and for ``multi`` each sub-grader's too); failures go into ``Grades.errors``, not zeros."""

    name: str

    def score_names(self) -> list[str]:
        """Every score name this grader produces, its own first."""
        return [self.name]

    def grade(self, sample: Mapping[str, Any], item: Mapping[str, Any]) -> Grades:
        raise NotImplementedError

    async def agrade(self, sample: Mapping[str, Any], item: Mapping[str, Any]) -> Grades:
        """Async entry point used by the runner; model-based graders override it."""
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
