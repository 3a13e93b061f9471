"""The grader protocol every grader family implements."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..records import Grades


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
