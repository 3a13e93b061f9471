"""Replaying recorded samples: re-grade outputs without calling a model.

The recordings are a file in the ``--rft-report`` JSON shape (``pytest-rft import eval`` writes
the platform's samples as one)::

    {"suites": [{"suite": "arith", "model": "gpt-4.1", "items": [
        {"id": "q1", "samples": [{"repeat": 0, "output_text": "...", ...}]}]}]}

A sample with ``error`` set replays as that error (a ``CallError``), so errors stay errors. A
sample with a ``trajectory`` (an agent loop) replays whole: its tools are not run again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import RftError
from ..records import Completion, Request, Usage
from .base import CallError

Key = tuple[str, str, int]
"""(suite name, item id, repeat)."""
RECORDED_MODEL = "recorded"
"""The model of a suite with ``recorded:``: answered from that file, never called."""


def load_replay(path: Path, model: str | None = None) -> dict[Key, dict[str, Any]]:
    """The recorded samples of a report-shaped file, by (suite, item id, repeat).

    ``model`` keeps only the runs of that model; without it, a sample recorded for two models
    is an error (name the model to replay).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RftError("replay file not found", where=str(path),
                       fix="pass a --rft-report JSON or an imported platform_samples.json") from None
    except (OSError, ValueError) as exc:
        raise RftError(f"cannot read the replay file: {exc}", where=str(path),
                       fix="pass the JSON written by --rft-report or 'pytest-rft import'") from None
    suites = data.get("suites") if isinstance(data, dict) else None
    if not isinstance(suites, list):
        raise RftError("not a report-shaped file (no 'suites' list)", where=str(path),
                       fix="pass the JSON written by --rft-report or 'pytest-rft import'")
    recorded: dict[Key, dict[str, Any]] = {}
    owner: dict[Key, str] = {}
    for n, run in enumerate(suites):
        where = f"{path}: suites[{n}]"
        if not isinstance(run, dict) or not isinstance(run.get("items"), list):
            raise RftError("a suite run needs 'suite' and 'items'", where=where)
        if model is not None and run.get("model") != model:
            continue
        for item in run["items"]:
            item = item or {}
            for sample in [*(item.get("samples") or []), *(item.get("confirm_samples") or [])]:
                key = (str(run.get("suite")), str(item.get("id")), int(sample.get("repeat", 0)))
                if key in recorded:
                    raise RftError(f"item {key[1]!r} repeat {key[2]} of suite {key[0]!r} is "
                                   f"recorded twice (models {owner[key]!r} and "
                                   f"{run.get('model')!r})", where=where,
                                   fix="replay one model's samples: pass its name")
                recorded[key] = sample
                owner[key] = str(run.get("model"))
    return recorded


def load_recorded(path: Path, suite: str) -> dict[Key, dict[str, Any]]:
    """A suite's ``recorded:`` file, keyed for ``suite``: its run of that suite, or its only run
    (so renaming the suite keeps its recordings)."""
    data = load_replay(path)
    names = {key[0] for key in data}
    if suite not in names and len(names) == 1:
        return {(suite, item, repeat): sample for (_, item, repeat), sample in data.items()}
    return {key: sample for key, sample in data.items() if key[0] == suite}


class ReplayBackend:
    """Answers each request with the recorded sample of its (suite, item id, repeat).

    A request with no recording fails with cause ``not recorded``; a recorded error replays as
    a ``CallError`` with the recorded cause.
    """

    def __init__(self, name: str, recorded: dict[Key, dict[str, Any]]):
        self.name = name
        self._recorded = recorded

    @classmethod
    def from_file(cls, name: str, path: Path, model: str | None = None) -> "ReplayBackend":
        return cls(name, load_replay(path, model))

    async def complete(self, request: Request) -> Completion:
        sample = self._recorded.get((request.suite, request.item_id, request.repeat))
        if sample is None:
            raise CallError("not recorded", f"no recorded sample for suite {request.suite!r}, "
                                            f"item {request.item_id!r}, repeat {request.repeat}")
        if sample.get("error"):
            raise CallError(str(sample.get("error_cause") or "recorded error"),
                            str(sample["error"]))
        usage = sample.get("usage")
        return Completion(
            output_text=sample.get("output_text") or "",
            tool_calls=list(sample.get("tool_calls") or []),
            finish_reason=sample.get("finish_reason"),
            refusal=sample.get("refusal"),
            usage=Usage(**{k: int(usage.get(k) or 0) for k in Usage.__dataclass_fields__})
            if isinstance(usage, dict) else None,
            empty=sample.get("kind") == "empty",
            trajectory=list(sample["trajectory"]) if isinstance(sample.get("trajectory"), list)
            else None)

    async def aclose(self) -> None:
        pass
