"""``score_model`` / ``label_model`` placeholders.

Their JSON keys are validated, then loading fails with a clear message until a model backend
registers real builders via ``register_type("score_model", build, ...)`` (which replaces these).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import RftError
from .base import Grader
from .registry import register_type

SCORE_MODEL_KEYS = {
    "required": {"input", "model"},
    "optional": {"range", "sampling_params", "pass_threshold"},
}
LABEL_MODEL_KEYS = {
    "required": {"input", "model", "labels", "passing_labels"},
    "optional": set(),
}


def _not_yet(type_name: str) -> Any:
    def build(name: str, definition: Mapping[str, Any], *, base_dir: Path, where: str) -> Grader:
        raise RftError(
            f"{type_name} graders need a model backend; coming soon (grader '{name}')",
            where=where,
            fix="use python, string_check, text_similarity or multi graders for now",
        )

    return build


register_type("score_model", _not_yet("score_model"), **SCORE_MODEL_KEYS, default=True)
register_type("label_model", _not_yet("label_model"), **LABEL_MODEL_KEYS, default=True)
