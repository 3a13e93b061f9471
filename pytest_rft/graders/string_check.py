"""``string_check`` graders: compare two rendered templates with eq / ne / like / ilike."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..core.errors import RftError
from ..core.records import Grades
from ..core.template import check_template
from .base import Grader, InputReferenceGrader
from .registry import register_type

OPERATIONS: dict[str, Callable[[str, str], bool]] = {
    "eq": lambda text, ref: text == ref,
    "ne": lambda text, ref: text != ref,
    "like": lambda text, ref: ref in text,
    "ilike": lambda text, ref: ref.casefold() in text.casefold(),
}
"""``like``/``ilike``: the reference is contained in the input; ilike ignores case by Unicode
case folding (``casefold``: "STRASSE" contains "straße", which ``lower`` misses)."""


def template_field(definition: Mapping[str, Any], key: str, *, name: str, where: str) -> str:
    """A template-valued key, checked (type and paths) at load."""
    value = definition[key]
    if not isinstance(value, str):
        raise RftError(
            f"'{key}' of grader '{name}' must be a string template, not {type(value).__name__}",
            where=where,
            fix='e.g. "{{ sample.output_text }}" or "{{ item.answer }}"',
        )
    check_template(value, where=f"{where}: {key}")
    return value


class StringCheckGrader(InputReferenceGrader):
    """1.0 when ``operation`` holds between rendered ``input`` and ``reference``, else 0.0."""

    def __init__(self, name: str, input: str, reference: str, operation: str):
        super().__init__(name, input, reference)
        self.operation = operation
        self._op = OPERATIONS[operation]

    def compare(self, text: str, reference: str) -> float:
        return 1.0 if self._op(text, reference) else 0.0


def _build(name: str, definition: Mapping[str, Any], *, base_dir: Path, where: str) -> Grader:
    operation = definition["operation"]
    if not isinstance(operation, str) or operation not in OPERATIONS:
        raise RftError(
            f"unknown string_check operation {operation!r} in grader '{name}'",
            where=where,
            fix="use one of: " + ", ".join(OPERATIONS),
        )
    return StringCheckGrader(
        name,
        template_field(definition, "input", name=name, where=where),
        template_field(definition, "reference", name=name, where=where),
        operation,
    )


register_type(
    "string_check",
    _build,
    required={"input", "reference", "operation"},
    default=True,
)
