"""Graders: OpenAI grader JSON (python, string_check, text_similarity, multi, ...) and
Python functions registered with ``@grader``, all behind the :class:`Grader` protocol."""

from __future__ import annotations

from .base import Grader
from .formula import Formula, compile_formula
from .registry import (
    GraderType,
    build_grader,
    grader,
    grader_type,
    known_types,
    register_type,
    registered_graders,
    unregister_grader,
)

# The grader families register their types into the registry when imported (the registry
# never imports them: no import circle).
from . import model_graders, multi, python_grader, string_check, text_similarity, tool_call

__all__ = [
    "Formula",
    "Grader",
    "GraderType",
    "build_grader",
    "compile_formula",
    "grader",
    "grader_type",
    "known_types",
    "register_type",
    "registered_graders",
    "unregister_grader",
]
