"""Loading a suite file: read, validate its keys, resolve what it names (dataset, prompt files,
recorded outputs, tools, graders, response schema) and check it hangs together; every user
mistake is one RftError naming file, line and field.

The keys are keys.py's models, the sections tool_section.py's and grader_section.py's, the
result a suite.py ``Suite``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from ..core import numbers
from ..core import template
from ..core.errors import RftError
from .dataset import Item, load_items, parse_yaml, plain_record, read_text
from .grader_section import build_graders
from .keys import FileRef, Gate, MessagesRef, SuiteConfig
from .locate import dotted, line_of, validation_error
from .references import MAX_SUITE_BYTES, confined, response_schema
from .suite import Suite
from .tool_section import load_tools


def load_suite(path: Path, roots: tuple[Path, ...] | None = (), *,
               resolve_tools: bool = True) -> Suite:
    """Read, validate and resolve a suite file; every user mistake is one RftError.

    Files the suite names must lie in its folder or one of ``roots`` (None: anywhere).
    ``resolve_tools=False`` leaves tool implementations that are not registered here
    unresolved (an xdist controller: the conftest registering them was loaded by the workers).
    """
    node, raw = parse_yaml(path, read_text(path, MAX_SUITE_BYTES))
    raw = plain_record(raw, str(path))
    if not isinstance(raw, dict):
        raise RftError("a suite file must be a YAML mapping (suite:, dataset:, graders: ...)",
                       where=str(path))
    try:
        config = SuiteConfig.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, path, node, raw) from None

    def where(*loc: str | int) -> str:
        return f"{path}:{line_of(node, loc)} {dotted(loc)}"

    base = path.parent
    try:
        items = load_items(confined(base, config.dataset, roots, where("dataset"), "dataset"))
    except RftError as exc:
        raise exc.at(where("dataset")) if exc.where is None else exc from None
    item_keys = set().union(*(item.data.keys() for item in items)) if items else set()

    prompt = _prompt(config, items, item_keys, base, roots, where)
    recorded_path = None
    if config.recorded is not None:
        recorded_path = confined(base, config.recorded, roots, where("recorded"),
                                 "recorded outputs file")
        if not recorded_path.is_file():
            raise RftError(f"recorded outputs file not found: {config.recorded}",
                           where=where("recorded"),
                           fix="the path is relative to the suite file (pytest-rft import writes "
                               "platform_samples.json)")
    tool_parts = load_tools(config, items, base, roots, where, resolve_tools)

    graders, definitions, score_names, thresholds = build_graders(config, base, roots, item_keys,
                                                                  where)
    suite = Suite(path=path, config=config, items=items, graders=graders, prompt=prompt,
                  response_schema=None, score_names=score_names, grader_definitions=definitions,
                  score_thresholds=thresholds, recorded_path=recorded_path, **tool_parts)
    if config.primary is not None and config.primary not in score_names:
        raise RftError(f"primary {config.primary!r} is not a score of this suite",
                       where=where("primary"), fix=f"use one of: {', '.join(score_names)}")
    own = thresholds.get(suite.primary)
    if config.pass_threshold is not None and own is not None and \
            abs(own - config.pass_threshold) > numbers.TOLERANCE:
        suite.threshold_note = (
            f"items pass at the suite's pass_threshold {config.pass_threshold:g}, not the "
            f"primary grader '{suite.primary}''s own pass_threshold {own:g} (remove the "
            f"suite's to use the grader's; {suite.primary}.pass_rate uses {own:g})")
    if config.response_format is not None:
        if isinstance(config.response_format, str):
            confined(base, config.response_format.partition(":")[0].replace(".", "/") + ".py",
                     roots, where("response_format"), "response_format module")
        suite.response_schema = response_schema(config.response_format, base, where("response_format"))
    suite.gate_lines = {gate.label: line_of(node, ("gates", i))
                        for i, gate in enumerate(config.gates)}
    error_label = Gate(metric="error_rate", max=config.max_error_rate).label  # gates.error_gate
    suite.gate_lines[error_label] = line_of(node, ("max_error_rate",))
    known = suite.metric_names()
    for i, gate in enumerate(config.gates):
        if gate.metric not in known:
            hint = "" if config.classification or "_f1" not in gate.metric else \
                " (label metrics need a 'classification:' section)"
            raise RftError(f"unknown metric {gate.metric!r}{hint}", where=where("gates", i, "metric"),
                           fix=f"use one of: {', '.join(known)}")
    return suite


def _prompt(config: SuiteConfig, items: list[Item], item_keys: set[str], base: Path,
            roots: tuple[Path, ...] | None, where: Callable[..., str]
            ) -> list[dict[str, str]] | None:
    """``input:`` as message templates (files read, paths into the item checked); None: the
    records carry their own messages."""
    prompt = None
    if config.input is not None:
        prompt = []
        for i, message in enumerate(config.input):
            if isinstance(message, MessagesRef):
                ref = message.messages.strip().removeprefix("{{").removesuffix("}}").strip()
                try:
                    template.check_template("{{ " + ref + " }}", allowed_roots=("item",),
                                            item_keys=item_keys)
                except RftError as exc:
                    raise exc.at(where("input", i, "messages")) from None
                prompt.append({"messages": ref})
                continue
            content = message.content
            if isinstance(content, FileRef):
                file = confined(base, content.file, roots, where("input", i, "content"),
                                "prompt file")
                if not file.exists():
                    raise RftError(f"prompt file not found: {file}", where=where("input", i, "content"),
                                   fix="the path is relative to the suite file")
                content = read_text(file, MAX_SUITE_BYTES)
            try:
                template.check_template(content, allowed_roots=("item",), item_keys=item_keys)
            except RftError as exc:
                raise exc.at(where("input", i, "content")) from None
            prompt.append({"role": message.role, "content": content})
    elif items and config.recorded is None and any(item.messages is None for item in items):
        first = next(item for item in items if item.messages is None)
        raise RftError("the suite has no 'input:' and this record carries no messages",
                       where=f"{base / config.dataset}:{first.line}",
                       fix="add 'input:' (a chat template) to the suite, or give records 'messages'")
    return prompt
