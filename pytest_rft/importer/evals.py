"""``pytest-rft import eval``: an OpenAI eval and one of its runs -> a suite folder.

Writes ``rft_<name>.yaml``, ``data/items.jsonl``, ``graders/*.json``, ``baselines/<suite>.json``
(the platform's per-item scores), ``platform_samples.json`` (its outputs, for re-grading) and
``MIGRATION.md`` (what did not move, with the fix).

An eval whose graders read only the item (the outputs were recorded in the items) and a
pre-sampled (``jsonl``) run become a suite that grades the recorded outputs: ``recorded:
platform_samples.json``, no model call.
"""


from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..backends.replay import RECORDED_MODEL
from ..core.errors import RftError
from ..store import baseline as baseline_mod
from .eval_data import (DATASET, check_config, check_items, items_or_none, output_index,
                        output_items, prompt_and_records, rows_of, unique_ids)
from .eval_results import SAMPLES, platform_baseline, write_samples
from .grader_check import GraderEntry, check_graders, note_tool_readers, reads_sample, \
    redact
from .guards import is_model_name
from .output import Output
from .platform_data import (arr, iso_utc, kind, number, obj, one_line, slug, strip_uuid, text,
                            unique)
from .sampling import map_sampling
from .source import Source
from .suite_check import load_written, note_retired

API = {"completions": "chat", "responses": "responses"}


def import_eval(source: Source, eval_id: str, folder: Path, run_id: str | None = None,
                stage: Path | None = None) -> Output:
    """Import ``eval_id`` (and run ``run_id``, else its latest completed run) into ``folder``
    (files staged in ``stage`` until :meth:`Output.commit`)."""
    evaluation = source.eval(eval_id)
    run = choose_run(source.runs(eval_id), run_id, eval_id)
    out = Output(folder, stage)
    run_label = one_line(text(run.get("id")) or "?", 80)
    name = slug(text(evaluation.get("name")), default=slug(eval_id))
    data_source = obj(run, "data_source", f"run {run_label}")
    kind_ = text(data_source.get("type"))
    outputs = output_items(source, eval_id, run, out)
    config_source = obj(evaluation, "data_source_config", "eval")

    check_config(config_source, out)
    rows = rows_of(source, data_source, outputs, out)
    entries = _graders(arr(evaluation, "testing_criteria", "eval"), out)
    item_only = bool(entries) and not any(reads_sample(e.definition) for e in entries)
    recorded = kind_ == "jsonl" or item_only
    prompt, records = prompt_and_records(data_source, rows, out, recorded)
    check_items(config_source, [r[0] for r in rows], out)
    mapped = map_sampling(data_source.get("sampling_params"), out, "sampling_params")
    model = _model(data_source, run, out, recorded)

    out.write_jsonl(DATASET, unique_ids(records, out))
    items = items_or_none(out.root / DATASET)
    keys = set().union(*(i.data.keys() for i in items)) if items else None
    check_graders(entries, keys, out.root, out)
    note_tool_readers(entries, mapped.hosted, out)
    for entry in entries:
        out.write_json(entry.file, redact(entry.definition))
    active = [e for e in entries if e.disabled is None]
    primary = active[0].key if active else None
    threshold = active[0].pass_threshold if active else 0.5

    config: dict[str, Any] = {"suite": name, "dataset": DATASET}
    if recorded:
        config["recorded"] = SAMPLES
    elif model is not None:
        config["model"] = model
    if kind_ in API:
        config["api"] = API[kind_]
    if prompt is not None:
        config["input"] = prompt
    if mapped.response_format is not None:
        config["response_format"] = mapped.response_format
    if mapped.sampling:
        config["sampling"] = mapped.sampling
    if mapped.tools:
        config["tools"] = mapped.tools
    if mapped.tool_choice is not None:
        config["tool_choice"] = mapped.tool_choice
    if mapped.parallel_tool_calls is not None:
        config["parallel_tool_calls"] = mapped.parallel_tool_calls
    repeats = _repeats(outputs, mapped.repeats)
    config["repeats"] = repeats
    config["graders"] = {e.key: {"file": e.file} for e in active}
    if primary is not None:
        config["primary"] = primary
        config["pass_threshold"] = threshold
        config["gates"] = [{"metric": f"{primary}.mean", "baseline": True, "max_drop": 0.02},
                           {"metric": "pass_rate", "baseline": True, "max_drop": 0.05}]
    disabled = [f"disabled, see MIGRATION.md: {e.key}: {{file: {e.file}}}  ({e.disabled})"
                for e in entries if e.disabled is not None]
    created = iso_utc(run.get("created_at"))
    title = one_line(text(evaluation.get("name")), 120)
    header = (f"# Imported from OpenAI eval {one_line(eval_id, 80)} ({title}), run "
              f"{run_label} ({created}) by 'pytest-rft import eval'.\n"
              + ("# The outputs recorded on the platform are graded (recorded:): no model is "
                 "called.\n" if recorded else "")
              + "# MIGRATION.md lists what did not move.\n")
    suite_path = out.write_yaml(f"rft_{name}.yaml", config, header, {"graders": disabled})

    source_label = f"openai eval {one_line(eval_id, 80)} run {run_label}"
    run_model = RECORDED_MODEL if recorded else model or ""
    if items is not None:
        write_samples(out, name, run_model, items, rows if kind_ == "jsonl" else None, outputs,
                       source_label, item_only)
    suite, _ = load_written(suite_path, out, [e.key for e in entries if e.disabled],
                            len(active))
    items = suite.items if suite else items
    if items is not None and primary is not None:
        base = platform_baseline(suite, items, outputs, active, name=name, model=run_model,
                         repeats=repeats, primary=primary, threshold=threshold, created=created,
                         source=source_label, out=out)
        baseline_mod.write(baseline_mod.default_path(suite_path, name), base)
        out.written.append(f"baselines/{name}.json")
    if not recorded and model:
        note_retired([model], "model", out)
    sample_it = [f"pytest . --rft-model {model}   # sample the model instead"] \
        if recorded and model and prompt else []
    run_it = ["pytest .                                 # grade the recorded outputs (no model "
              "calls) and compare with the platform run", *sample_it] if recorded else [
        f"pytest . --rft-regrade {SAMPLES}   # re-grade the platform's own samples, no model "
        "calls", "pytest .                                 # sample the model and compare "
        "with the platform run"]
    out.migration(
        f"Migration notes: OpenAI eval \"{title or one_line(eval_id, 80)}\"",
        [f"Imported from eval `{one_line(eval_id, 80)}`, run `{run_label}` "
         f"(\"{one_line(text(run.get('name')), 80)}\", status "
         f"{one_line(text(run.get('status')), 40)}, created {created}, model "
         f"`{model or '(none: outputs recorded)'}`) by `pytest-rft import eval`.",
         "",
         "Testing criteria became graders (their JSON verbatim, the criterion name without the "
         "platform's `-<uuid>` suffix; the criterion `id` only served to match the run's "
         "results). The run's per-item scores are the baseline, so the first local run is "
         "compared with the last platform run, item by item.",
         *(["", "The graders read only the items (or the run graded pre-computed samples): the "
            f"suite grades the outputs recorded in `{SAMPLES}` (`recorded:`) and calls no model."]
           if recorded else [])],
        run_it)
    return out


# -- the run and its objects ------------------------------------------------------------------
def choose_run(runs: list[dict[str, Any]], run_id: str | None, eval_id: str) -> dict[str, Any]:
    """``run_id``, else the latest completed run."""
    runs = [r for r in runs if isinstance(r, dict)]
    if run_id:
        for run in runs:
            if run.get("id") == run_id:
                return run
        listed = ", ".join(one_line(text(r.get("id")) or "?", 60) for r in runs[:20])
        raise RftError(f"eval {eval_id} has no run {run_id!r}", fix="use one of: "
                       + (listed or "none"))
    done = [r for r in runs if r.get("status") == "completed"]
    if not done:
        listed = ", ".join(f"{one_line(text(r.get('id')) or '?', 60)} "
                           f"({one_line(text(r.get('status')) or '?', 30)})"
                           for r in runs[:20]) or "no runs"
        raise RftError(f"eval {eval_id} has no completed run ({listed})",
                       fix="wait for a run to complete, or pick one with --run RUN_ID")
    return max(done, key=lambda r: (number(r.get("created_at")) or 0.0, text(r.get("id"))))


def _model(data_source: dict[str, Any], run: dict[str, Any], out: Output,
           recorded: bool) -> str | None:
    value = data_source.get("model") or run.get("model")
    if value in (None, ""):
        if not recorded:
            out.note("No model", "the run names no model", "add 'model:' or pass --rft-model")
        return None
    if not is_model_name(value):
        out.note("The run's model name was not kept",
                 f"{one_line(json.dumps(value, default=str), 80)} is not an OpenAI model name "
                 "(pytest-rft would read some such names as Python objects)",
                 "add 'model:' with the model to test, or pass --rft-model NAME")
        return None
    return value


def _graders(criteria: list[Any], out: Output) -> list[GraderEntry]:
    """Testing criteria -> grader entries (not yet checked)."""
    entries, keys, files = [], set(), set()
    for n, criterion in enumerate(criteria):
        if not isinstance(criterion, dict):
            out.note(f"Testing criterion {n + 1} left out", f"it is {kind(criterion)}, not a "
                     "grader object", "write that grader by hand")
            continue
        raw = next((v for v in (criterion.get("name"), criterion.get("id"),
                                criterion.get("type")) if isinstance(v, str) and v.strip()),
                   f"criterion {n + 1}")
        key = unique(one_line(strip_uuid(raw), 80) or f"criterion {n + 1}", keys)
        definition = {k: v for k, v in criterion.items() if k != "id"}
        if "name" in definition:
            definition["name"] = key
        threshold = number(criterion.get("pass_threshold"))
        ids = {raw, key, strip_uuid(raw)}
        if isinstance(criterion.get("id"), str):
            ids.add(criterion["id"])
        entries.append(GraderEntry(key=key, file=f"graders/{unique(slug(key, 'grader'), files)}"
                                                 ".json", definition=definition,
                                   pass_threshold=threshold if threshold is not None else 0.5,
                                   ids=ids))
    if not entries:
        out.note("No testing criteria", "the eval has no graders", "add graders to the suite")
    return entries


def _repeats(outputs: list[dict[str, Any]], asked: int | None) -> int:
    counts: dict[int, int] = {}
    for o in outputs:
        i = output_index(o) or 0
        counts[i] = counts.get(i, 0) + 1
    return max(max(counts.values(), default=1), asked or 1)
