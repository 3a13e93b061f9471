"""Where in the suite file: the YAML line of a key, and a pydantic error as one RftError that
names file, line and field, with a fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..core.errors import RftError
from . import keys


def dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def line_of(node: yaml.Node | None, loc: tuple[str | int, ...]) -> int:
    """1-based line of the YAML node at ``loc`` (or of its deepest existing parent)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if k.value == part]
            if not match:
                break
            key, node = match[0]
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _data_loc(data: Any, loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """``loc`` without pydantic's union-branch tags: the parts that index into the data, plus
    the last part (a missing or unknown key)."""
    kept: list[str | int] = []
    for i, part in enumerate(loc):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        elif i != len(loc) - 1:
            continue
        kept.append(part)
    return tuple(kept)


NESTED = {"sampling": "Sampling", "models": "ModelEntry", "gates": "Gate",
          "classification": "Classification", "input": "Message"}


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model whose fields a key at ``loc`` belongs to (for 'use one of')."""
    if not loc:
        return keys.SuiteConfig
    if loc[-1] == "content" and loc[0] == "input":
        return keys.FileRef
    return getattr(keys, NESTED.get(str(loc[0]), ""), None)


def validation_error(exc: ValidationError, path: Path, node: yaml.Node, raw: Any) -> RftError:
    """The first pydantic error, as one located message with a fix."""
    error = exc.errors()[0]
    loc = _data_loc(raw, error["loc"])
    field_name = dotted(loc) or "(top level)"
    where = f"{path}:{line_of(node, loc)} {field_name}"
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        known = (", ".join(parent.model_fields) if parent
                 else "see the suite reference (docs/suite-reference.md)")
        return RftError(f"unknown key {loc[-1]!r}", where=where, fix=f"remove it or use one of: {known}")
    if kind == "missing":
        return RftError(f"missing required key {loc[-1]!r}", where=where, fix=f"add '{loc[-1]}:'")
    message = error["msg"].removeprefix("Value error, ")
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return RftError(f"{message}; got {json.dumps(error.get('input'), default=str)[:80]}{more}",
                    where=where, fix="see the suite reference (docs/suite-reference.md)")

