"""Checking a model's JSON output against the suite's ``response_format`` schema (jsonschema).

Structured outputs can still break the schema: a server without strict mode, a Python model, a
JSON-mode fallback. Such an output is kept (graders still see ``output_json``) and counted as
``schema_violation``.
"""

from __future__ import annotations

from typing import Any

_VALIDATORS: dict[int, tuple[Any, Any]] = {}
"""id(schema) -> (schema, validator); the schema is kept so its id is never reused."""


def _validator(schema: dict[str, Any]) -> Any:
    import jsonschema  # only suites with a response schema pay for the import (50 ms)
    from jsonschema import validators

    entry = _VALIDATORS.get(id(schema))
    if entry is None or entry[0] is not schema:
        cls = validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        entry = (schema, cls(schema))
        _VALIDATORS[id(schema)] = entry
    return entry[1]


def violation(schema: dict[str, Any] | None, value: Any) -> str | None:
    """Why ``value`` breaks ``schema`` (the most relevant error, with its JSON path), or None."""
    if not schema:
        return None
    import jsonschema

    try:
        error = jsonschema.exceptions.best_match(_validator(schema).iter_errors(value))
    except jsonschema.exceptions.SchemaError as exc:  # pragma: no cover - a broken schema
        return f"the response schema itself is invalid: {exc.message}"
    if error is None:
        return None
    where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
    return f"{where}: {message}"
