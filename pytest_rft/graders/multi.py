"""``multi`` graders: named sub-graders combined by a ``calculate_output`` formula."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..core.errors import GraderError, RftError
from ..core.records import Grades
from . import isolation
from .base import Grader, GradingContext, read_threshold
from .function import FunctionGrader
from .formula import Formula, compile_formula
from .registry import build_grader, register_type


class MultiGrader(Grader):
    """Its own score (the formula) under ``name`` plus every sub-grader's scores.

    When a sub-grader fails, the own score is an error too; the other sub-scores are kept.
    With ``errors_as_zero`` (the suite's option) a failed sub-grader counts 0 in the formula,
    as on the hosted platform, and its error is kept in ``Grades.zeroed``.
    """

    errors_as_zero: bool = False

    def __init__(self, name: str, graders: Mapping[str, Grader], formula: Formula):
        self.name = name
        self.graders = dict(graders)
        self.formula = formula
        self._group: isolation.CallSpec | bool | None = None

    def score_names(self) -> list[str]:
        names = [self.name]
        for sub in self.graders.values():
            names.extend(sub.score_names())
        return names

    def thresholds(self) -> dict[str, float]:
        out = super().thresholds()
        for sub in self.graders.values():
            out.update(sub.thresholds())
        return out

    def grade(self, sample: Mapping[str, Any], item: Mapping[str, Any]) -> Grades:
        return self._combine([g.grade(sample, item) for g in self.graders.values()])

    async def agrade(self, sample: Mapping[str, Any], item: Mapping[str, Any],
                     context: GradingContext | None = None) -> Grades:
        pool = context.pool if context is not None else None
        group = self._group_spec() if pool is not None else None
        if group is not None:  # all sub-graders isolated: one trip to a worker per sample
            return self._combine([await pool.agrade(group, sample, item)])
        results = await asyncio.gather(*(g.agrade(sample, item, context)
                                         for g in self.graders.values()))
        return self._combine(list(results))

    def _group_spec(self) -> isolation.CallSpec | None:
        if self._group is None:
            specs = []
            for sub in self.graders.values():
                if not (isinstance(sub, FunctionGrader) and sub.isolated):
                    self._group = False
                    return None
                try:
                    specs.append(sub.call_spec())
                except Exception:  # noqa: BLE001 - graded one by one, which reports it
                    self._group = False
                    return None
            self._group = isolation.CallSpec.group(self.name, specs)
        return self._group or None

    def _combine(self, results: list[Grades]) -> Grades:
        sub_scores: dict[str, float] = {}
        errors: dict[str, str] = {}
        zeroed: dict[str, str] = {}
        details: dict[str, Any] = {}
        for grades in results:
            sub_scores.update(grades.scores)
            errors.update(grades.errors)
            zeroed.update(grades.zeroed)
            details.update(grades.details)
        if self.errors_as_zero:
            for key in self.graders:
                if key in errors or key not in sub_scores:
                    zeroed[key] = errors.pop(key, "it gave no score")
                    sub_scores[key] = 0.0
            for key in list(errors):  # nested sub-scores
                zeroed[key] = errors.pop(key)
                sub_scores[key] = 0.0
        own: dict[str, float] = {}
        failed = next((k for k in self.graders if k in errors or k not in sub_scores), None)
        if failed is not None:
            why = errors.get(failed, "it gave no score")
            errors = {self.name: f"sub-grader '{failed}' failed: {why}", **errors}
        else:
            try:
                own[self.name] = self.formula.evaluate({k: sub_scores[k] for k in self.graders})
            except GraderError as exc:
                errors = {self.name: f"grader '{self.name}': {exc}", **errors}
        return Grades(scores={**own, **sub_scores}, errors=errors, details=details,
                      zeroed=zeroed)


def _build(name: str, definition: Mapping[str, Any], *, base_dir: Path, where: str) -> Grader:
    subs = definition["graders"]
    if not isinstance(subs, Mapping) or not subs:
        raise RftError(
            f"'graders' of multi grader '{name}' must map sub-grader names to graders",
            where=where,
            fix='e.g. "graders": {"precision": {"type": "python", ...}, "recall": {...}}',
        )
    graders: dict[str, Grader] = {}
    for key, sub in subs.items():
        if key == name:
            raise RftError(
                f"sub-grader '{key}' has the same name as its multi grader",
                where=f"{where}: graders.{key}",
                fix="rename the sub-grader (its score is reported under its own name)",
            )
        graders[key] = build_grader(key, sub, base_dir=base_dir, where=f"{where}: graders.{key}")
    seen: set[str] = set()
    for score in [name, *(s for g in graders.values() for s in g.score_names())]:
        if score in seen:
            raise RftError(
                f"score name '{score}' appears twice inside multi grader '{name}'",
                where=where,
                fix="give nested sub-graders distinct names",
            )
        seen.add(score)
    formula_text = definition["calculate_output"]
    if not isinstance(formula_text, str):
        raise RftError("calculate_output must be a string", where=f"{where}: calculate_output")
    formula = compile_formula(formula_text, set(graders), where=f"{where}: calculate_output")
    grader = MultiGrader(name, graders, formula)
    grader.pass_threshold = read_threshold(definition, name, where)
    return grader


register_type(
    "multi",
    _build,
    required={"graders", "calculate_output"},
    optional={"pass_threshold"},
    ignored={"image_tag"},
    default=True,
)
