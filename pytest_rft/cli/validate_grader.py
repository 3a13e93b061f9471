"""``pytest-rft validate-grader FILE.json ...``: check OpenAI grader JSON the way a suite loads it
(every key, template, formula, threshold, label), without a suite, a dataset or a model; and
``export_graders``: a suite's graders as standalone OpenAI grader JSON (``--rft-export-graders``).

Each problem is reported as ``file[: field]: what is wrong`` with a ``fix:`` line. With
``--sample`` / ``--item`` the grader also grades one sample (model graders need a run), completed
as a run completes a model's output (``output_json`` parsed from ``output_text``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..core.errors import RftError
from ..graders.registry import build_grader, load_grader_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE.json", help="grader JSON files")
    parser.add_argument("--sample", default=None,
                        help='also grade this sample (JSON), e.g. \'{"output_text": "4"}\'')
    parser.add_argument("--item", default="{}", help="the item for --sample (JSON object)")


def _json_arg(text: str, flag: str) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RftError(f"{flag} is not JSON: {exc.msg} (column {exc.colno})",
                       fix=f"quote it for the shell: {flag} '{{\"output_text\": \"4\"}}'") from None
    if not isinstance(value, dict):
        raise RftError(f"{flag} must be a JSON object, not {type(value).__name__}")
    return value


def validate_file(path: Path) -> tuple[Any, str]:
    """Build the grader in ``path``: (grader, one-line description); RftError when invalid."""
    data, where, folder = load_grader_file(str(path), Path.cwd(), str(path))
    name = data.get("name") if isinstance(data.get("name"), str) and data.get("name") else path.stem
    grader = build_grader(name, data, base_dir=folder, where=where)
    parts = [f"type {data.get('type')}", "scores: " + ", ".join(grader.score_names())]
    thresholds = grader.thresholds()
    if thresholds:
        parts.append("pass_threshold: " + ", ".join(f"{k} {v:g}" for k, v in thresholds.items()))
    return grader, "; ".join(parts)


def as_in_a_run(sample: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """``--sample`` completed as a run completes a model's output: ``output_json`` parsed from
    ``output_text`` (unless given), the chat ``choices``; and a note saying what was derived."""
    text = sample.get("output_text")
    if not isinstance(text, str) or "output_json" in sample:
        return sample, None
    from ..sampling.grading import sample_for_output

    derived = {**sample_for_output(text), **sample}
    note = ("output_json parsed from output_text, as in a run" if "output_json" in derived
            else "output_text is not JSON: no output_json, as in a run")
    return derived, note


def run(args: argparse.Namespace) -> int:
    sample = _json_arg(args.sample, "--sample") if args.sample is not None else None
    item = _json_arg(args.item, "--item")
    note = None
    if sample is not None:
        sample, note = as_in_a_run(sample)
    failed = 0
    for file in args.files:
        try:
            grader, description = validate_file(Path(file))
        except RftError as exc:
            failed += 1
            print(f"INVALID {exc}")
            continue
        print(f"OK {file}: {description}")
        if sample is not None:
            if note:
                print(f"  sample: {note}")
            grades = grader.grade(sample, item)
            for name, value in grades.scores.items():
                print(f"  {name} = {value:g}")
            for name, message in grades.errors.items():
                print(f"  {name}: error: {message}")
    if failed:
        print(f"{failed} of {len(args.files)} grader file(s) invalid", file=sys.stderr)
    return 1 if failed else 0
