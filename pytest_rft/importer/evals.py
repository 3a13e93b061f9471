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
import statistics
from pathlib import Path
from typing import Any

from ..core.version import __version__
from ..analysis import stats
from ..store import baseline as baseline_mod
from ..backends.replay import RECORDED_MODEL
from ..suite.dataset import Item, load_items
from ..core.errors import RftError
from .openai_api import is_model_name
from ..suite.loader import Suite
from . import schema_check
from .common import (Output, arr, convert_messages, count, iso_utc, kind, load_written,
                     note_retired, number, obj, one_line, parse_jsonl, slug, strip_uuid, text,
                     unique)
from .grader_check import GraderEntry, check_graders, reads_sample, redact
from .sampling import map_sampling
from .source import Source

DATASET = "data/items.jsonl"
SAMPLES = "platform_samples.json"
API = {"completions": "chat", "responses": "responses"}
PLACEHOLDER_PROMPT = [{"role": "user", "content": "{{ item }}"}]


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
    outputs = _output_items(source, eval_id, run, out)
    config_source = obj(evaluation, "data_source_config", "eval")

    _check_config(config_source, out)
    rows = _rows(source, data_source, outputs, out)
    entries = _graders(arr(evaluation, "testing_criteria", "eval"), out)
    item_only = bool(entries) and not any(reads_sample(e.definition) for e in entries)
    recorded = kind_ == "jsonl" or item_only
    prompt, records = _prompt_and_records(data_source, rows, out, recorded)
    _check_items(config_source, [r[0] for r in rows], out)
    mapped = map_sampling(data_source.get("sampling_params"), out, "sampling_params")
    model = _model(data_source, run, out, recorded)

    out.write_jsonl(DATASET, _unique_ids(records, out))
    items = _items_or_none(out.root / DATASET)
    keys = set().union(*(i.data.keys() for i in items)) if items else None
    check_graders(entries, keys, out.root, out)
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
        _write_samples(out, name, run_model, items, rows if kind_ == "jsonl" else None, outputs,
                       source_label, item_only)
    suite, _ = load_written(suite_path, out)
    items = suite.items if suite else items
    if items is not None and primary is not None:
        base = _baseline(suite, items, outputs, active, name=name, model=run_model,
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


def _index(output: dict[str, Any]) -> int | None:
    return count(output.get("datasource_item_id"))


def _output_items(source: Source, eval_id: str, run: dict[str, Any], out: Output
                  ) -> list[dict[str, Any]]:
    run_id = run.get("id")
    if not isinstance(run_id, str):
        raise RftError(f"a run of eval {eval_id} has no id", fix="check --base-url")
    items = source.output_items(eval_id, run_id)
    total = count(obj(run, "result_counts", f"run {run_id}").get("total"))
    if total is not None and len(items) != total:
        out.note("Output items incomplete", f"the run counts {total} results, {len(items)} "
                 "output items were read", "import again (or save all pages of output_items)")
    usable = [o for o in items if _index(o) is not None]
    if len(usable) < len(items):
        out.note("Output items without a usable datasource_item_id",
                 f"{len(items) - len(usable)} output item(s) name no data row; left out",
                 "nothing to do unless those results matter")
    return sorted(usable, key=lambda o: _index(o) or 0)


def _check_config(config: dict[str, Any], out: Output) -> None:
    kind_ = config.get("type")
    if kind_ in ("logs", "stored_completions"):
        out.note(f"A '{kind_}' data source config",
                 "the eval reads items from your stored chat logs on the platform; they are not "
                 "a file", "the dataset was rebuilt from the run's output items; export more logs "
                 "as JSONL ({\"item\": {...}}) and point 'dataset:' at them")


def _rows(source: Source, data_source: dict[str, Any], outputs: list[dict[str, Any]],
          out: Output) -> list[tuple[dict[str, Any], Any]]:
    """The run's items (and their pre-computed samples, for ``jsonl`` runs), in data order."""
    src = obj(data_source, "source", "data_source")
    src_kind = src.get("type")
    if src_kind == "file_id":
        file_id = src.get("id")
        if not isinstance(file_id, str):
            raise RftError(f"data_source.source.id is {kind(file_id)}, not a file id",
                           fix="check --base-url / the saved files")
        records = parse_jsonl(source.file(file_id), f"file {one_line(file_id, 80)}")
    elif src_kind == "file_content":
        records = arr(src, "content", "data_source.source")
    else:
        out.note(f"A '{one_line(src_kind, 40)}' data source",
                 "the run read stored completions/responses selected by a query, not a data "
                 f"file; the dataset holds the {len(outputs)} items the run graded",
                 "keep the dataset as written, or export the inputs you care about as JSONL")
        seen: dict[int, dict[str, Any]] = {}
        for o in outputs:
            item = o.get("datasource_item")
            seen.setdefault(_index(o) or 0, item if isinstance(item, dict) else {})
        records = [{"item": seen[i]} for i in sorted(seen)]
    rows = []
    for n, record in enumerate(records, start=1):
        if isinstance(record, dict) and isinstance(record.get("item"), dict):
            rows.append((record["item"], record.get("sample")))
        elif isinstance(record, dict):
            rows.append((record, None))
        else:
            raise RftError(f"data record {n} is {kind(record)}, not an object",
                           where=f"data source {one_line(src_kind, 40)}",
                           fix='each line of an eval data file is {"item": {...}}')
    return rows


def _prompt_and_records(data_source: dict[str, Any], rows: list[tuple[dict, Any]], out: Output,
                        recorded: bool) -> tuple[list[dict[str, str]] | None, list[dict[str, Any]]]:
    """The suite's ``input`` (None when records carry the prompt, or when outputs are
    recorded and there was no prompt) and the dataset records."""
    spec = obj(data_source, "input_messages", "data_source")
    plain = [{"item": item} for item, _ in rows]
    if spec.get("type") == "template":
        prompt = convert_messages(spec.get("template"), out, "input_messages")
        return prompt or None if recorded else prompt or PLACEHOLDER_PROMPT, plain
    if spec.get("type") == "item_reference":
        reference = text(spec.get("item_reference"))
        field = reference.removeprefix("item.")
        records = []
        for n, (item, _) in enumerate(rows):
            value: Any = item
            for part in field.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                raise RftError(f"item {n} has no {one_line(reference, 80)!r}",
                               where="input_messages",
                               fix="the run's item_reference must name a field every item has")
            records.append({**item, "messages": convert_messages(value, out, "item_reference")})
        return None, records
    if recorded:
        return None, plain  # graded as recorded: no prompt needed
    out.note("No input messages", f"the '{one_line(data_source.get('type'), 40)}' run has no "
             "input_messages; the suite has a placeholder prompt (the item as JSON)",
             "write 'input:' in the suite")
    return PLACEHOLDER_PROMPT, plain


def _unique_ids(records: list[dict[str, Any]], out: Output) -> list[dict[str, Any]]:
    """Records whose item ids (``item.id``, else ``line-N``) repeat or cannot name a test get a
    record-level ``id`` (the item itself is unchanged: graders see what the platform's saw)."""
    seen: set[str] = set()
    renamed: list[str] = []
    result = []
    for line, record in enumerate(records, start=1):
        item = record.get("item", record)
        raw = item.get("id") if isinstance(item, dict) else None
        wanted = raw if isinstance(raw, str) else str(raw) if raw is not None else f"line-{line}"
        usable = wanted.strip() and "::" not in wanted and wanted == one_line(wanted, 200)
        if usable and wanted not in seen:
            seen.add(wanted)
            result.append(record)
            continue
        new = f"line-{line}"
        n = 2
        while new in seen:
            new, n = f"line-{line}-{n}", n + 1
        seen.add(new)
        renamed.append(f"{one_line(wanted, 40)!r} -> {new}")
        result.append({"id": new, **record} if "item" in record else {**record, "id": new})
    if renamed:
        out.note(f"{len(renamed)} item id(s) renamed",
                 "pytest-rft names each test by its item id, and these repeat or cannot name a "
                 "test: " + ", ".join(renamed[:5]) + (" ..." if len(renamed) > 5 else ""),
                 "nothing to do (a record-level 'id' in the data file names them; graders see "
                 "the items unchanged, except records that carry their own prompt, whose 'id' "
                 "is replaced), or give the items unique ids")
    return result


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


def _check_items(config: dict[str, Any], items: list[dict[str, Any]], out: Output) -> None:
    schema = config.get("item_schema")
    if schema is None:
        schema = obj(obj(config, "schema", "data_source_config"), "properties",
                     "data_source_config.schema").get("item")
    if not isinstance(schema, dict) or config.get("type") not in (None, "custom"):
        return
    try:
        found = [(n, p) for n, item in enumerate(items) for p in schema_check.problems(item, schema)]
    except RecursionError:
        out.note("item_schema not checked", "the eval's item_schema is nested too deeply",
                 "check the records by hand")
        return
    if found:
        shown = "; ".join(f"data line {n + 1}: {p}" for n, p in found[:5])
        more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
        out.note(f"{len(found)} item_schema mismatch(es)",
                 f"the eval's item_schema does not hold for every item: {shown}{more}",
                 f"fix those records in {DATASET} (or the schema, if the data is right); graders "
                 "that read a missing field report an error for that item")


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
        i = _index(o) or 0
        counts[i] = counts.get(i, 0) + 1
    return max(max(counts.values(), default=1), asked or 1)


def _items_or_none(path: Path) -> list[Item] | None:
    try:
        return load_items(path)
    except RftError:
        return None


# -- the platform's results ------------------------------------------------------------------
def sample_error(output: dict[str, Any]) -> tuple[str, str] | None:
    """(cause, message) when the platform's sample failed, else None."""
    sample = output.get("sample")
    error = sample.get("error") if isinstance(sample, dict) else None
    if isinstance(error, dict) and (error.get("code") or error.get("message")):
        return (one_line(error.get("code"), 80) if error.get("code") else "platform error",
                one_line(error.get("message"), 300) if error.get("message") else "")
    return None


def _baseline(suite: Suite | None, items: list[Item], outputs: list[dict[str, Any]],
              graders: list[GraderEntry], *, name: str, model: str, repeats: int,
              primary: str, threshold: float, created: str, source: str, out: Output
              ) -> baseline_mod.Baseline:
    names = {i: g.key for g in graders for i in g.ids}
    names.update({strip_uuid(i): g.key for g in graders for i in g.ids})
    per_item: dict[int, list[dict[str, Any]]] = {}
    for o in outputs:
        per_item.setdefault(_index(o) or 0, []).append(o)
    result: dict[str, baseline_mod.BaselineItem] = {}
    unknown: set[str] = set()
    for index, group in sorted(per_item.items()):
        if not 0 <= index < len(items):
            out.note("Output item outside the data", f"datasource_item_id {index} is not in the "
                     f"data file ({len(items)} items)", "import the run whose data file matches")
            continue
        scores: dict[str, list[float]] = {}
        errors = passes = n = 0
        for o in group:
            if sample_error(o):
                errors += 1
                continue
            got = {}
            for r in o.get("results") or [] if isinstance(o.get("results"), list) else []:
                if not isinstance(r, dict):
                    continue
                result_name = text(r.get("name"))
                key = names.get(result_name) or names.get(strip_uuid(result_name))
                score = number(r.get("score"))
                if key is None:
                    unknown.add(one_line(result_name or "?", 80))
                elif score is not None:
                    got[key] = score
            for key, value in got.items():
                scores.setdefault(key, []).append(value)
            if primary in got:
                n += 1
                passes += stats.at_least(got[primary], threshold)
            else:
                errors += 1
        item = items[index]
        result[item.id] = baseline_mod.BaselineItem(
            scores={k: _stats(v) for k, v in sorted(scores.items())}, passes=passes, n=n,
            errors=errors, digest=baseline_mod.item_digest(item))
    if unknown:
        out.note("Results of unknown or disabled graders", "the run has results named "
                 + ", ".join(sorted(unknown)[:10]) + ", which are not graders of the suite",
                 "they are left out of the baseline; nothing to do unless you need them")
    missing = len(items) - len(result)
    if missing > 0:
        out.note("Items without a platform result", f"{missing} of {len(items)} items have no "
                 "output item in the run", "their first local run has nothing to compare with")
    digests: dict[str, str] = {}
    judges: dict[str, str] = {}
    if suite is not None:
        digests = baseline_mod.suite_digests(suite, suite.sampling_for_model(model), repeats)
        judges = suite.judge_models()
    return baseline_mod.Baseline(suite=name, model=model, repeats=repeats, primary=primary,
                                 pass_threshold=threshold, items=result, metrics={},
                                 digests=digests, created=created, source=source,
                                 plugin_version=__version__, judges=judges)


def _stats(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values), "n": len(values)}


def output_text(output: dict[str, Any]) -> str:
    """The text the model produced in a platform sample (assistant messages, joined)."""
    sample = output.get("sample")
    messages = sample.get("output") if isinstance(sample, dict) else None
    parts = []
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, dict) and message.get("role") in (None, "assistant"):
            content = message.get("content")
            if isinstance(content, list):
                content = "".join(p["text"] for p in content
                                  if isinstance(p, dict) and isinstance(p.get("text"), str))
            parts.append(content if isinstance(content, str) else "")
    return "".join(parts)


def output_tool_calls(entries: Any) -> list[dict[str, Any]]:
    """Tool calls in a platform sample, in the chat form pytest-rft records (``{id, type:
    function, function: {name, arguments}}``), from any of: output messages with chat
    ``tool_calls``, Responses ``function_call`` items, or a list of calls (``output_tools``)."""
    calls: list[dict[str, Any]] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        if entry.get("type") == "function_call":
            calls += _call(entry.get("call_id") or entry.get("id"), entry.get("name"),
                           entry.get("arguments"))
        elif isinstance(entry.get("function"), dict):
            calls += _call(entry.get("id"), entry["function"].get("name"),
                           entry["function"].get("arguments"))
        for call in entry.get("tool_calls") if isinstance(entry.get("tool_calls"), list) else []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                calls += _call(call.get("id"), function.get("name"), function.get("arguments"))
    return calls


def _call(call_id: Any, name: Any, arguments: Any) -> list[dict[str, Any]]:
    if not isinstance(name, str) or not name:
        return []
    return [{"id": text(call_id), "type": "function", "function": {
        "name": name, "arguments": arguments if isinstance(arguments, str)
        else json.dumps(arguments, ensure_ascii=False, default=str)}}]


def _recorded_text(sample: Any) -> str | None:
    if not isinstance(sample, dict):
        return None
    if isinstance(sample.get("output_text"), str):
        return sample["output_text"]
    if "output_json" in sample:
        return json.dumps(sample["output_json"], ensure_ascii=False)
    choices = sample.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        content = message.get("content") if isinstance(message, dict) else None
        return content if isinstance(content, str) else ""
    return None


def _write_samples(out: Output, name: str, model: str, items: list[Item],
                   rows: list[tuple[dict, Any]] | None, outputs: list[dict[str, Any]],
                   source: str, item_only: bool) -> None:
    """``platform_samples.json``: the platform's outputs in the ``--rft-report`` shape. When the
    graders read only the item, an item the run has no output for is recorded with an empty
    output (there is nothing else to grade)."""
    samples: dict[int, list[dict[str, Any]]] = {}
    if rows is not None:  # a jsonl run: the samples the platform graded are in the data
        for index, (_, sample) in enumerate(rows):
            recorded_text = _recorded_text(sample)
            if recorded_text is not None:
                samples[index] = [_sample(0, recorded_text, "stop",
                                          output_tool_calls(sample.get("output_tools")))]
    if rows is None or not samples:
        for o in outputs:
            index = _index(o) or 0
            group = samples.setdefault(index, [])
            error = sample_error(o)
            sample = o.get("sample")
            reason = sample.get("finish_reason") if isinstance(sample, dict) else None
            calls = [] if error else output_tool_calls(
                sample.get("output") if isinstance(sample, dict) else None)
            group.append({"repeat": len(group),
                          "output_text": None if error else output_text(o),
                          "finish_reason": None if error else one_line(reason or "stop", 40),
                          "error": (error[1] or error[0]) if error else None,
                          "error_cause": error[0] if error else None,
                          **({"tool_calls": calls} if calls else {})})
    if item_only:
        for index in range(len(items)):
            samples.setdefault(index, [_sample(0, "", "stop")])
    missing = len(items) - len([i for i in samples if 0 <= i < len(items)])
    if rows is not None and missing > 0 and not item_only:
        out.note("Rows without a sample", f"{missing} rows have no sample.output_text",
                 "those items are errors ('not recorded') when the suite grades them")
    head = json.dumps({"source": source, "suites": [{"suite": name, "model": model,
                                                     "items": []}]}, ensure_ascii=False)
    lines = [json.dumps({"id": items[i].id, "samples": samples[i]}, ensure_ascii=False)
             for i in sorted(samples) if 0 <= i < len(items)]
    # one item per line: the same JSON as the --rft-report shape, written by json's C encoder
    body = head[:-len("]}]}")] + "\n" + ",\n".join(lines) + "\n]}]}\n"
    out.write_text(SAMPLES, body)


def _sample(repeat: int, output: str, finish: str,
            tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"repeat": repeat, "output_text": output, "finish_reason": finish, "error": None,
            "error_cause": None, **({"tool_calls": tool_calls} if tool_calls else {})}
