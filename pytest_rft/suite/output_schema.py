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
    except jsonschema.exceptions.SchemaError as exc:  # pragma: no cover - checked at load
        return f"the response schema itself is invalid: {exc.message}"
    except (Exception, RecursionError) as exc:  # pragma: no cover - checked at load
        return f"the response schema can't be checked ({type(exc).__name__})"
    if error is None:
        return None
    where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
    return f"{where}: {message}"


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` can't check outputs (None when it can): not a valid JSON schema, a
    ``$ref`` that loops or can't be resolved. Checked when the suite loads, not per sample."""
    import jsonschema
    from jsonschema import validators

    if not isinstance(schema, dict):
        return f"a JSON schema is an object, not {type(schema).__name__}"
    try:
        cls = validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        cls.check_schema(schema)
        for probe in ({}, [], "", 0, None):  # a $ref loop or a dangling $ref shows at once
            for _ in cls(schema).iter_errors(probe):
                pass
    except jsonschema.exceptions.SchemaError as exc:
        return f"not a valid JSON schema: {exc.message[:200]}"
    except RecursionError:
        return "it refers to itself without end (a $ref loop)"
    except Exception as exc:  # noqa: BLE001 - an unresolvable $ref, a bad pattern ...
        return f"it can't be used ({type(exc).__name__}: {str(exc)[:200]})"
    return None
