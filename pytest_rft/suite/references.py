"""Files and Python a suite file names: kept inside the project, pydantic models imported from
modules next to the suite (``response_format``, tool models) as OpenAI strict schemas."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from ..core import files
from ..core.errors import RftError

MAX_SUITE_BYTES = 5 * 1024 * 1024


def confined(base: Path, name: str, roots: tuple[Path, ...] | None, where: str, what: str) -> Path:
    """``base / name``, refused when it resolves outside the suite's folder and ``roots`` (the
    project): a suite must not be able to read, say, /proc/self/environ into a prompt."""
    problem = files.path_problem(base / name)
    if problem:
        raise RftError(f"{what} {files.shown_path(name)!r}: {problem}", where=where,
                       fix="give a shorter, plain path")
    path = base / name
    if roots is None:
        return path
    real = path.resolve()
    allowed = (base.resolve(), *(r.resolve() for r in roots))
    if not any(real == root or root in real.parents for root in allowed):
        raise RftError(f"{what} {name!r} is outside the suite's folder and the project",
                       where=where, fix="keep the files a suite uses inside the project (or pass "
                                        "--rft-allow-outside-files if you trust this suite)")
    return path


def response_schema(value: str | dict[str, Any], base: Path, where: str) -> dict[str, Any]:
    """``module:Model`` (a pydantic model in a file next to the suite) or an inline schema,
    as ``{"name", "schema", "strict"}``."""
    if isinstance(value, dict):
        if value.get("type") == "json_schema" and isinstance(value.get("json_schema"), dict):
            value = value["json_schema"]
        if "schema" in value:
            found = {"name": value.get("name", "output"), "schema": value["schema"],
                     "strict": value.get("strict", True)}
        else:
            found = {"name": "output", "schema": value, "strict": True}
    else:
        model = pydantic_model(value, base, where)
        found = {"name": value.partition(":")[2],
                 "schema": strict_schema(model.model_json_schema()), "strict": True}
    from .output_schema import schema_problem

    problem = schema_problem(found["schema"])
    if problem:
        raise RftError(f"response_format: {problem}", where=where,
                       fix="give a JSON schema (https://json-schema.org) that checks an output, "
                           "or a pydantic model as module:Model")
    return found


def pydantic_model(value: str, base: Path, where: str) -> Any:
    """The pydantic model at ``module:Model`` (module.py next to the suite)."""
    module_name, _, attr = value.partition(":")
    file = base / (module_name.replace(".", "/") + ".py")
    if not attr or not file.is_file():
        raise RftError(f"cannot find {value!r}", where=where,
                       fix=f"write 'module:Model' with module.py next to the suite ({file} not found)")
    module = import_file(file)
    model = getattr(module, attr, None)
    if model is None or not hasattr(model, "model_json_schema"):
        raise RftError(f"{file} has no pydantic model {attr!r}", where=where,
                       fix="name a pydantic BaseModel subclass defined in that file")
    return model


def strict_schema(schema: Any) -> Any:
    """OpenAI strict mode: every object closed and every property required."""
    if isinstance(schema, dict):
        schema = {k: strict_schema(v) for k, v in schema.items()}
        if schema.get("type") == "object" and "properties" in schema:
            schema["additionalProperties"] = False
            schema["required"] = list(schema["properties"])
        schema.pop("default", None)
        return schema
    if isinstance(schema, list):
        return [strict_schema(v) for v in schema]
    return schema


def import_file(file: Path) -> Any:
    digest = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:10]
    name = f"_rft_suite_{file.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise RftError(f"importing {file} failed: {type(exc).__name__}: {exc}",
                       where=str(file)) from None
    return module
