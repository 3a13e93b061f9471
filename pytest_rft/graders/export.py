"""``--rft-export-graders DIR``: a suite's graders as the OpenAI grader JSON they came from
(file references inlined), for the hosted platform or another tool."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core.files import safe_filename, write_atomic

OWN_TYPES = frozenset({"tool_call"})
OWN_METRICS = frozenset({"nltk_bleu"})


def openai_grader(definition: Any) -> bool:
    """Whether OpenAI's grader API knows everything in ``definition`` (sub-graders included)."""
    if not isinstance(definition, dict):
        return False
    if definition.get("type") in OWN_TYPES or definition.get("evaluation_metric") in OWN_METRICS:
        return False
    subs = definition.get("graders")
    return not isinstance(subs, dict) or all(openai_grader(g) for g in subs.values())


def export_graders(suite: Any, folder: Path) -> list[Path]:
    """Write each OpenAI-JSON grader of ``suite`` to ``folder/<suite>/<grader>.json`` (file
    references inlined, ``name`` set); Python-registered graders have no JSON and are skipped,
    and so are pytest-rft's own grader types and metrics."""
    out = folder / safe_filename(suite.name)  # names are safe file names inside ``folder``
    written: list[Path] = []
    for name, definition in suite.grader_definitions.items():
        if not isinstance(definition, dict) or "type" not in definition:
            continue  # a registered Python grader
        if not openai_grader(definition):
            continue  # pytest-rft's own (tool_call, nltk_bleu): OpenAI would refuse it
        data = {"name": name, **{k: v for k, v in definition.items() if k != "name"}}
        out.mkdir(parents=True, exist_ok=True)
        path = out / safe_filename(name, ".json")
        write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    return written
