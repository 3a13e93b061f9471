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

from ..core.errors import RftError
from ..core.files import read_text
from ..core.records import Completion, Request, Usage
from .base import CallError

Key = tuple[str, str, int]
"""(suite name, item id, repeat)."""
RECORDED_MODEL = "recorded"
"""The model of a suite with ``recorded:``: answered from that file, never called."""


def load_replay(path: Path, model: str | None = None) -> dict[Key, dict[str, Any]]:
    """The recorded samples of a report-shaped file, by (suite, item id, repeat); every value
    a replay uses is checked, and the first wrong one is an RftError naming the file and where
    in it (``suites[0].items[3].samples[1].repeat``).

    ``model`` keeps only the runs of that model; without it, a sample recorded for two models
    is an error (name the model to replay).
    """
    path = Path(path)
    fix = "pass the JSON written by --rft-report or 'pytest-rft import'"
    try:
        data = json.loads(read_text(path))
    except RftError as exc:
        raise RftError(f"cannot read the replay file: {exc.message}", where=exc.where,
                       fix=exc.fix or fix) from None
    except ValueError as exc:
        raise RftError(f"the replay file is not JSON: {exc}", where=str(path), fix=fix) from None
    except RecursionError:
        raise RftError("the replay file is nested too deeply to read", where=str(path),
                       fix=fix) from None
    suites = data.get("suites") if isinstance(data, dict) else None
    if not isinstance(suites, list):
        raise RftError("not a report-shaped file (no 'suites' list)", where=str(path), fix=fix)
    recorded: dict[Key, dict[str, Any]] = {}
    owner: dict[Key, str] = {}
    for n, run in enumerate(suites):
        where = f"{path}: suites[{n}]"
        if not isinstance(run, dict) or not isinstance(run.get("items"), list):
            raise RftError("a suite run needs 'suite' and 'items'", where=where, fix=fix)
        if model is not None and run.get("model") != model:
            continue
        for i, item in enumerate(run["items"]):
            at = f"{where}.items[{i}]"
            if not isinstance(item, dict) or not all(isinstance(item.get(k) or [], list)
                                                     for k in ("samples", "confirm_samples")):
                raise RftError("an item needs an 'id' and a 'samples' list", where=at, fix=fix)
            for name in ("samples", "confirm_samples"):
                for j, sample in enumerate(item.get(name) or []):
                    _check_sample(sample, f"{at}.{name}[{j}]", fix)
                    key = (str(run.get("suite")), str(item.get("id")), sample.get("repeat", 0))
                    if key in recorded:
                        raise RftError(f"item {key[1]!r} repeat {key[2]} of suite {key[0]!r} is "
                                       f"recorded twice (models {owner[key]!r} and "
                                       f"{run.get('model')!r})", where=where,
                                       fix="replay one model's samples: pass its name")
                    recorded[key] = sample
                    owner[key] = str(run.get("model"))
    return recorded


def recorded_models(path: Path) -> list[str]:
    """The models whose runs a report-shaped file holds (once :func:`load_replay` read it)."""
    data = json.loads(read_text(Path(path)))
    return list(dict.fromkeys(str(run.get("model")) for run in data["suites"]
                              if isinstance(run, dict) and run.get("model") is not None))


def load_recorded(path: Path, suite: str) -> dict[Key, dict[str, Any]]:
    """A suite's ``recorded:`` file, keyed for ``suite``: its run of that suite, or its only run
    (so renaming the suite keeps its recordings)."""
    data = load_replay(path)
    names = {key[0] for key in data}
    if suite not in names and len(names) == 1:
        return {(suite, item, repeat): sample for (_, item, repeat), sample in data.items()}
    return {key: sample for key, sample in data.items() if key[0] == suite}


_TEXT_OR_NONE = ("output_text", "finish_reason", "refusal", "error", "error_cause", "kind")


def _check_sample(sample: Any, where: str, fix: str) -> None:
    if not isinstance(sample, dict):
        raise RftError(f"a sample must be an object, not {type(sample).__name__}", where=where,
                       fix=fix)
    repeat = sample.get("repeat", 0)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 0:
        raise RftError(f"'repeat' must be a whole number >= 0, not {json.dumps(repeat)[:30]}",
                       where=f"{where}.repeat", fix=fix)
    for name in _TEXT_OR_NONE:
        if not isinstance(sample.get(name), (str, type(None))):
            raise RftError(f"{name!r} must be text or null", where=f"{where}.{name}", fix=fix)
    calls = sample.get("tool_calls")
    if calls is not None and not (isinstance(calls, list) and all(isinstance(c, dict)
                                                                  for c in calls)):
        raise RftError("'tool_calls' must be a list of objects", where=f"{where}.tool_calls",
                       fix=fix)
    usage = sample.get("usage")
    if usage is not None and not (isinstance(usage, dict) and all(
            isinstance(usage.get(k) or 0, int) and not isinstance(usage.get(k), bool)
            for k in Usage.__dataclass_fields__)):
        raise RftError("'usage' must hold whole token counts", where=f"{where}.usage", fix=fix)


class ReplayBackend:
    """Answers each request with the recorded sample of its (suite, item id, repeat).

    A request with no recording fails with cause ``not recorded``; a recorded error replays as
    a ``CallError`` with the recorded cause.
    """

    def __init__(self, name: str, recorded: dict[Key, dict[str, Any]]):
        self.name = name
        self._recorded = recorded
        self.borrowed = ""
        """Set when it answers with another model's samples: the note saying so."""

    def note(self) -> str:
        return self.borrowed

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
