"""A small JSON-schema check of dataset items against an eval's ``item_schema``.

Covers what item schemas use (``type``, ``properties``, ``required``, ``additionalProperties:
false``, ``items``, ``enum``, ``const``, ``anyOf``); anything else is not checked.
"""

from __future__ import annotations

from typing import Any

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def problems(value: Any, schema: Any, path: str = "item") -> list[str]:
    """Every way ``value`` breaks ``schema``, as ``"item.a: expected string, got int"``.
    Keywords of the wrong type (the schema is platform data too) are not checked."""
    if not isinstance(schema, dict):
        return []
    any_of = schema.get("anyOf")
    if isinstance(any_of, list) and any_of:
        if not any(not problems(value, s, path) for s in any_of):
            return [f"{path}: matches none of anyOf"]
    kinds = schema.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if not any(_TYPES.get(k, lambda v: True)(value) if isinstance(k, str) else True
                   for k in kinds):
            return [f"{path}: expected {' or '.join(map(str, kinds))}, got {_kind(value)}"[:200]]
    enum = schema.get("enum")
    if isinstance(enum, list) and not any(_same(value, e) for e in enum):
        return [f"{path}: {value!r} is not one of {enum!r}"[:200]]
    if "const" in schema and not _same(value, schema["const"]):
        return [f"{path}: expected {schema['const']!r}"[:200]]
    found: list[str] = []
    if isinstance(value, dict):
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = schema.get("required")
        for key in required if isinstance(required, list) else []:
            if isinstance(key, str) and key not in value:
                found.append(f"{path}: missing required field '{key}'")
        for key, sub in properties.items():
            if key in value:
                found += problems(value[key], sub, f"{path}.{key}")
        if schema.get("additionalProperties") is False:
            found += [f"{path}: unexpected field '{k}'" for k in value if k not in properties]
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, element in enumerate(value):
            found += problems(element, schema["items"], f"{path}[{i}]")
    return found


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b) or (
            _TYPES["number"](a) and _TYPES["number"](b) and a == b)
    except Exception:  # noqa: BLE001  (comparing platform data of any type)
        return False


def _kind(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPES[name](value):
            return name
    return type(value).__name__
