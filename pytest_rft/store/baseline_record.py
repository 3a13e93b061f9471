"""What a baseline holds (``Baseline``, ``BaselineItem``: plain data) and the parts of one that
are worked out from a suite: digests of everything its scores depend on, and a partial run's
items merged into an older baseline. Building one from a run is ``analysis/summary.py``'s job,
the file ``baseline.py``'s."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from ..core.digests import digest

SCHEMA_VERSION = 1
KIND = "pytest-rft-baseline"
DIGEST_PARTS = ("dataset", "prompt", "response_schema", "graders", "sampling", "repeats",
                "tools", "judges")
OPTIONAL_PARTS = ("tools",)
"""Digests only suites that use them have: one side lacking it is a change too (``judges``
is compared only when both sides have it: baselines made before it existed lack it)."""


@dataclass
class BaselineItem:
    """One item as the baseline run saw it."""

    scores: dict[str, dict[str, float]]
    """score name -> {mean, std, min, max, n}."""
    passes: int
    """Repeats whose primary score reached the pass threshold."""
    n: int
    """Repeats with a primary score."""
    errors: int = 0
    digest: str = ""
    """Digest of the item's data (empty when unknown): a changed record is named, not mixed in."""
    labels: dict[str, list[int]] | None = None
    """label -> [true positives, predicted, true], summed over repeats (classification suites)."""
    rows: list[float] | None = None
    """[rows, sum of row precision, recall, F1] for the samples_* metrics."""
    stability: str = ""
    """stable-pass / stable-fail / flaky / unknown / no-score, from passes of n (for review)."""
    confirm: list[int] | None = None
    """[passes, n] of the item's confirmation repeats (``item_repeats``), drawn beyond the main
    ones: they count in its regression test only, never in the suite's numbers."""

    def all_passes(self) -> tuple[int, int]:
        """Passing repeats and repeats, main and confirmation together."""
        extra = self.confirm or (0, 0)
        return self.passes + int(extra[0]), self.n + int(extra[1])


@dataclass
class Baseline:
    suite: str
    model: str
    repeats: int
    primary: str
    pass_threshold: float
    items: dict[str, BaselineItem]
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    """metric -> {value, ci_low, ci_high, n}."""
    digests: dict[str, str] = field(default_factory=dict)
    created: str = ""
    plugin_version: str = ""
    source: str = "pytest-rft"
    """Where the scores come from: a pytest-rft run, a report, an imported OpenAI eval run."""
    judges: dict[str, str] = field(default_factory=dict)
    """Score name -> the judge model that scored it (score_model / label_model graders)."""
    partial_updates: list[dict[str, Any]] = field(default_factory=list)
    """Runs that updated only some items since the last full update (``-k``, ``--rft-limit``):
    ``{created, model, repeats, items}`` each. The model, metrics and digests above are the
    last full update's; a full update empties this."""
    path: str | None = None
    """The file it was read from (not written)."""


# --------------------------------------------------------------------------------------------
# Digests


def suite_digests(suite: Any, sampling: dict[str, Any], repeats: int) -> dict[str, str]:
    """Digests of what a suite's scores depend on: dataset, prompt, response schema, graders,
    sampling (for the model run), the number of repeats (pass_rate, .max, .min depend on it),
    for an agent suite its tools, and for a suite with judge graders the judge models."""
    graders = suite.grader_definitions
    if getattr(suite.config, "errors_as_zero", False):
        graders = [graders, "errors_as_zero"]
    digests = {
        "dataset": digest([[item.id, _record_fields(item), item.messages] for item in suite.items]),
        "prompt": digest(suite.prompt),
        "response_schema": digest(suite.response_schema),
        "graders": digest(graders),
        "sampling": digest(sampling),
        "repeats": str(repeats),
    }
    if getattr(suite, "tools", None) is not None or getattr(suite, "item_tools", None):
        digests["tools"] = digest({
            "tools": suite.tools, "tool_choice": suite.tool_choice,
            "parallel_tool_calls": suite.config.parallel_tool_calls,
            "max_turns": suite.max_turns,
            "implementations": dict(sorted(suite.implementation_sources.items()))})
    judges = suite.judge_models() if hasattr(suite, "judge_models") else {}
    if judges:
        digests["judges"] = digest(judges)
    return digests


def item_digest(item: Any) -> str:
    """The record's digest, worked out once per item (items don't change)."""
    known = item._digest
    if known is None:
        known = item._digest = digest([_record_fields(item), item.messages])[:8]
    return known


def _record_fields(item: Any) -> Any:
    """The item's fields without the copy of its messages that RFT rows keep in them (the
    digest stays what it was before rows kept their messages in the item)."""
    data = item.data
    if item.messages is not None and data.get("messages") is item.messages:
        return {k: v for k, v in data.items() if k != "messages"}
    return data


def partial_update(old: Baseline, new: Baseline, dataset_ids: set[str]) -> Baseline:
    """``old`` with the items of a partial run (``new``: -k, --rft-limit) replaced, and the other
    items of the dataset kept. The suite-level fields (model, repeats, metrics, digests, date)
    stay the last full update's: metrics of a subset would misdescribe the file's items, and
    the kept items' spread is not in this run to recompute them. The run is recorded under
    ``partial_updates`` instead, so a reviewer sees which runs the items come from."""
    items = {k: v for k, v in old.items.items() if k in dataset_ids}
    items.update(new.items)
    record = {"created": new.created, "model": new.model, "repeats": new.repeats,
              "items": len(new.items)}
    return Baseline(suite=old.suite, model=old.model, repeats=old.repeats, primary=old.primary,
                    pass_threshold=old.pass_threshold, items=items, metrics=old.metrics,
                    digests=old.digests, created=old.created, plugin_version=old.plugin_version,
                    source=old.source, partial_updates=[*old.partial_updates, record],
                    judges=old.judges)


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
