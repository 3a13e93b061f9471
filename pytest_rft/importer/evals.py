"""``pytest-rft import eval``: an OpenAI eval and one of its runs -> a suite folder.

Writes ``rft_<name>.yaml``, ``data/items.jsonl``, ``graders/*.json``, ``baselines/<suite>.json``
(the platform's per-item scores), ``platform_samples.json`` (its outputs, for re-grading) and
``MIGRATION.md`` (what did not move, with the fix).
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from .. import __version__
from .. import baseline as baseline_mod
from ..dataset import Item, load_items
from ..errors import RftError
from ..suite import Suite
from . import schema_check
from .common import (Output, convert_messages, iso_utc, load_written, map_sampling, parse_jsonl,
                     slug, strip_uuid, unique)
from .source import Source

DATASET = "data/items.jsonl"
SAMPLES = "platform_samples.json"
API = {"completions": "chat", "responses": "responses"}
PLACEHOLDER_PROMPT = [{"role": "user", "content": "{{ item }}"}]


def import_eval(source: Source, eval_id: str, folder: Path, run_id: str | None = None) -> Output:
    """Import ``eval_id`` (and run ``run_id``, else its latest completed run) into ``folder``."""
    evaluation = source.eval(eval_id)
    run = choose_run(source.runs(eval_id), run_id, eval_id)
    out = Output(folder)
    name = slug(str(evaluation.get("name") or ""), default=slug(eval_id))
    data_source = run.get("data_source") or {}
    kind = data_source.get("type")
    outputs = _output_items(source, eval_id, run, out)

    _check_config(evaluation.get("data_source_config") or {}, out)
    rows = _rows(source, data_source, outputs, out)
    prompt, records = _prompt_and_records(data_source, rows, out)
    _check_items(evaluation.get("data_source_config") or {}, [r[0] for r in rows], out)
    graders = _graders(evaluation.get("testing_criteria") or [], out)
    sampling, response_format = map_sampling(data_source.get("sampling_params"), out,
                                             "sampling_params")
    model = str(data_source.get("model") or run.get("model") or "platform-samples")

    out.write_jsonl(DATASET, records)
    for grader in graders:
        out.write_json(grader["file"], grader["definition"])
    primary = graders[0]["key"] if graders else None
    threshold = graders[0]["pass_threshold"] if graders else 0.5
    config: dict[str, Any] = {"suite": name, "dataset": DATASET, "model": model}
    if kind in API:
        config["api"] = API[kind]
    if prompt is not None:
        config["input"] = prompt
    if response_format is not None:
        config["response_format"] = response_format
    if sampling:
        config["sampling"] = sampling
    repeats = _repeats(outputs)
    config["repeats"] = repeats
    config["graders"] = {g["key"]: {"file": g["file"]} for g in graders}
    if primary is not None:
        config["primary"] = primary
        config["pass_threshold"] = threshold
        config["gates"] = [{"metric": f"{primary}.mean", "baseline": True, "max_drop": 0.02},
                           {"metric": "pass_rate", "baseline": True, "max_drop": 0.05}]
    created = iso_utc(run.get("created_at"))
    title = " ".join(str(evaluation.get("name") or "").split())
    header = (f"# Imported from OpenAI eval {eval_id} ({title}), run "
              f"{run.get('id')} ({created}) by 'pytest-rft import eval'.\n"
              "# MIGRATION.md lists what did not move.\n")
    suite_path = out.write_yaml(f"rft_{name}.yaml", config, header)

    suite, _ = load_written(suite_path, out)
    items = suite.items if suite else _items_or_none(folder / DATASET)
    source_label = f"openai eval {eval_id} run {run.get('id')}"
    if items is not None and primary is not None:
        base = _baseline(suite, items, outputs, graders, name=name, model=model, repeats=repeats,
                         primary=primary, threshold=threshold, created=created,
                         source=source_label, out=out)
        baseline_mod.write(baseline_mod.default_path(suite_path, name), base)
        out.written.append(f"baselines/{name}.json")
        _write_samples(out, name, model, items, rows if kind == "jsonl" else None, outputs,
                       source_label)
    out.migration(
        f"Migration notes: OpenAI eval \"{evaluation.get('name', eval_id)}\"",
        [f"Imported from eval `{eval_id}`, run `{run.get('id')}` (\"{run.get('name', '')}\", "
         f"status {run.get('status')}, created {created}, model `{model}`) by "
         "`pytest-rft import eval`.",
         "",
         "Testing criteria became graders (their JSON verbatim, the criterion name without the "
         "platform's `-<uuid>` suffix; the criterion `id` only served to match the run's "
         "results). The run's per-item scores are the baseline, so the first local run is "
         "compared with the last platform run, item by item."],
        [f"pytest . --rft-regrade {SAMPLES}   # re-grade the platform's own samples, no model "
         "calls", "pytest .                                 # sample the model and compare "
         "with the platform run"])
    return out


# -- the run and its objects ------------------------------------------------------------------
def choose_run(runs: list[dict[str, Any]], run_id: str | None, eval_id: str) -> dict[str, Any]:
    """``run_id``, else the latest completed run."""
    if run_id:
        for run in runs:
            if run.get("id") == run_id:
                return run
        raise RftError(f"eval {eval_id} has no run {run_id!r}",
                       fix="use one of: " + (", ".join(str(r.get("id")) for r in runs) or "none"))
    done = [r for r in runs if r.get("status") == "completed"]
    if not done:
        listed = ", ".join(f"{r.get('id')} ({r.get('status')})" for r in runs) or "no runs"
        raise RftError(f"eval {eval_id} has no completed run ({listed})",
                       fix="wait for a run to complete, or pick one with --run RUN_ID")
    return max(done, key=lambda r: (r.get("created_at") or 0, str(r.get("id"))))


def _output_items(source: Source, eval_id: str, run: dict[str, Any], out: Output
                  ) -> list[dict[str, Any]]:
    items = source.output_items(eval_id, str(run.get("id")))
    total = (run.get("result_counts") or {}).get("total")
    if isinstance(total, int) and len(items) != total:
        out.note("Output items incomplete", f"the run counts {total} results, {len(items)} "
                 "output items were read", "import again (or save all pages of output_items)")
    return sorted(items, key=lambda o: int(o.get("datasource_item_id") or 0))


def _check_config(config: dict[str, Any], out: Output) -> None:
    kind = config.get("type")
    if kind in ("logs", "stored_completions"):
        out.note(f"A '{kind}' data source config",
                 "the eval reads items from your stored chat logs on the platform; they are not "
                 "a file", "the dataset was rebuilt from the run's output items; export more logs "
                 "as JSONL ({\"item\": {...}}) and point 'dataset:' at them")


def _rows(source: Source, data_source: dict[str, Any], outputs: list[dict[str, Any]],
          out: Output) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """The run's items (and their pre-computed samples, for ``jsonl`` runs), in data order."""
    src = data_source.get("source") or {}
    if src.get("type") == "file_id":
        where = f"file {src.get('id')}"
        records = parse_jsonl(source.file(str(src.get("id"))), where)
    elif src.get("type") == "file_content":
        records = list(src.get("content") or [])
    else:
        out.note(f"A '{src.get('type')}' data source",
                 "the run read stored completions/responses selected by a query, not a data "
                 f"file; the dataset holds the {len(outputs)} items the run graded",
                 "keep the dataset as written, or export the inputs you care about as JSONL")
        seen: dict[int, dict[str, Any]] = {}
        for o in outputs:
            seen.setdefault(int(o.get("datasource_item_id") or 0), o.get("datasource_item") or {})
        records = [{"item": seen[i]} for i in sorted(seen)]
    rows = []
    for record in records:
        if isinstance(record, dict) and isinstance(record.get("item"), dict):
            rows.append((record["item"], record.get("sample")))
        elif isinstance(record, dict):
            rows.append((record, None))
        else:
            raise RftError(f"a data record is a {type(record).__name__}, not an object",
                           where=f"data source {src.get('type')}",
                           fix='each line of an eval data file is {"item": {...}}')
    return rows


def _prompt_and_records(data_source: dict[str, Any], rows: list[tuple[dict, Any]], out: Output
                        ) -> tuple[list[dict[str, str]] | None, list[dict[str, Any]]]:
    """The suite's ``input`` (None when records carry the prompt) and the dataset records."""
    spec = data_source.get("input_messages") or {}
    if spec.get("type") == "template":
        prompt = convert_messages(spec.get("template"), out, "input_messages")
        return prompt, [{"item": item} for item, _ in rows]
    if spec.get("type") == "item_reference":
        reference = str(spec.get("item_reference", ""))
        field = reference.removeprefix("item.")
        records = []
        for n, (item, _) in enumerate(rows):
            value: Any = item
            for part in field.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                raise RftError(f"item {n} has no '{reference}'", where="input_messages",
                               fix="the run's item_reference must name a field every item has")
            records.append({**item, "messages": convert_messages(value, out, f"{reference}")})
        return None, records
    if data_source.get("type") == "jsonl":
        out.note("No prompt", "a 'jsonl' run grades pre-computed samples: the platform never "
                 "called a model, so there is no prompt template; the suite has a placeholder "
                 "prompt (the item as JSON)",
                 f"re-grade with --rft-regrade {SAMPLES} as is; to sample a model, write "
                 "'input:' (and 'model:') in the suite")
        return PLACEHOLDER_PROMPT, [{"item": item} for item, _ in rows]
    out.note("No input messages", f"the '{data_source.get('type')}' run has no input_messages",
             "write 'input:' in the suite")
    return PLACEHOLDER_PROMPT, [{"item": item} for item, _ in rows]


def _check_items(config: dict[str, Any], items: list[dict[str, Any]], out: Output) -> None:
    schema = config.get("item_schema")
    if schema is None:
        schema = ((config.get("schema") or {}).get("properties") or {}).get("item")
    if not isinstance(schema, dict) or config.get("type") not in (None, "custom"):
        return
    found = [(n, p) for n, item in enumerate(items) for p in schema_check.problems(item, schema)]
    if found:
        shown = "; ".join(f"data line {n + 1}: {p}" for n, p in found[:5])
        more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
        out.note(f"{len(found)} item_schema mismatch(es)",
                 f"the eval's item_schema does not hold for every item: {shown}{more}",
                 f"fix those records in {DATASET} (or the schema, if the data is right); graders "
                 "that read a missing field report an error for that item")


def _graders(criteria: list[dict[str, Any]], out: Output) -> list[dict[str, Any]]:
    """Testing criteria -> [{key, file, definition, pass_threshold, ids}]."""
    graders, keys, files = [], set(), set()
    for n, criterion in enumerate(criteria):
        if not isinstance(criterion, dict):
            continue
        raw = str(criterion.get("name") or criterion.get("id") or criterion.get("type") or n)
        key = unique(strip_uuid(raw), keys)
        definition = {k: v for k, v in criterion.items() if k != "id"}
        if "name" in definition:
            definition["name"] = key
        threshold = criterion.get("pass_threshold")
        entry = {"key": key, "file": f"graders/{unique(slug(key, 'grader'), files)}.json",
                 "definition": definition,
                 "pass_threshold": float(threshold) if isinstance(threshold, (int, float)) else 0.5,
                 "ids": {raw, key, str(criterion.get("id") or raw)}}
        graders.append(entry)
        _note_grader(definition, key, out)
    if not graders:
        out.note("No testing criteria", "the eval has no graders", "add graders to the suite")
    return graders


def _note_grader(definition: dict[str, Any], key: str, out: Output) -> None:
    from ..graders.registry import grader_type

    kind = definition.get("type")
    if kind in ("score_model", "label_model"):
        out.note(f"Grader '{key}' ({kind})",
                 f"written verbatim; an LLM judge: every sample costs a call to "
                 f"{definition.get('model')!r} (OPENAI_API_KEY), counted apart from the model's",
                 "to use another judge, add 'judge: {model: ..., base_url: ...}' to the suite "
                 "or pass --rft-judge-model / --rft-judge-base-url")
    elif grader_type(str(kind)) is None:
        out.note(f"Grader '{key}' (type {kind!r})",
                 "written verbatim, but pytest-rft does not know this grader type",
                 "rewrite it as a python, string_check, text_similarity or multi grader")
    for sub_key, sub in (definition.get("graders") or {}).items():
        if isinstance(sub, dict):
            _note_grader(sub, f"{key}.{sub_key}", out)


def _repeats(outputs: list[dict[str, Any]]) -> int:
    counts: dict[int, int] = {}
    for o in outputs:
        i = int(o.get("datasource_item_id") or 0)
        counts[i] = counts.get(i, 0) + 1
    return max(counts.values(), default=1)


def _items_or_none(path: Path) -> list[Item] | None:
    try:
        return load_items(path)
    except RftError:
        return None


# -- the platform's results ------------------------------------------------------------------
def sample_error(output: dict[str, Any]) -> tuple[str, str] | None:
    """(cause, message) when the platform's sample failed, else None."""
    error = (output.get("sample") or {}).get("error")
    if isinstance(error, dict) and (error.get("code") or error.get("message")):
        return str(error.get("code") or "platform error"), str(error.get("message") or "")
    return None


def _baseline(suite: Suite | None, items: list[Item], outputs: list[dict[str, Any]],
              graders: list[dict[str, Any]], *, name: str, model: str, repeats: int,
              primary: str, threshold: float, created: str, source: str, out: Output
              ) -> baseline_mod.Baseline:
    names = {i: g["key"] for g in graders for i in g["ids"]}
    names.update({strip_uuid(i): g["key"] for g in graders for i in g["ids"]})
    per_item: dict[int, list[dict[str, Any]]] = {}
    for o in outputs:
        per_item.setdefault(int(o.get("datasource_item_id") or 0), []).append(o)
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
            for r in o.get("results") or []:
                key = names.get(str(r.get("name"))) or names.get(strip_uuid(str(r.get("name"))))
                if key is None:
                    unknown.add(str(r.get("name")))
                elif isinstance(r.get("score"), (int, float)):
                    got[key] = float(r["score"])
            for key, value in got.items():
                scores.setdefault(key, []).append(value)
            if primary in got:
                n += 1
                passes += got[primary] >= threshold
            else:
                errors += 1
        item = items[index]
        result[item.id] = baseline_mod.BaselineItem(
            scores={k: _stats(v) for k, v in sorted(scores.items())}, passes=passes, n=n,
            errors=errors, digest=baseline_mod.item_digest(item))
    if unknown:
        out.note("Results of unknown graders", "the run has results named "
                 + ", ".join(sorted(unknown)) + ", which are not testing criteria of the eval",
                 "they are left out of the baseline; nothing to do unless you need them")
    missing = len(items) - len(result)
    if missing > 0:
        out.note("Items without a platform result", f"{missing} of {len(items)} items have no "
                 "output item in the run", "their first local run has nothing to compare with")
    digests: dict[str, str] = {}
    if suite is not None:
        digests = baseline_mod.suite_digests(suite, suite.sampling_for_model(model), repeats)
    return baseline_mod.Baseline(suite=name, model=model, repeats=repeats, primary=primary,
                                 pass_threshold=threshold, items=result, metrics={},
                                 digests=digests, created=created, source=source,
                                 plugin_version=__version__)


def _stats(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values), "n": len(values)}


def output_text(output: dict[str, Any]) -> str:
    """The text the model produced in a platform sample (assistant messages, joined)."""
    parts = []
    for message in (output.get("sample") or {}).get("output") or []:
        if isinstance(message, dict) and message.get("role") in (None, "assistant"):
            content = message.get("content")
            if isinstance(content, list):
                content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            parts.append(content or "")
    return "".join(parts)


def _recorded_text(sample: Any) -> str | None:
    if not isinstance(sample, dict):
        return None
    if isinstance(sample.get("output_text"), str):
        return sample["output_text"]
    if "output_json" in sample:
        return json.dumps(sample["output_json"], ensure_ascii=False)
    choices = sample.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return str((choices[0].get("message") or {}).get("content") or "")
    return None


def _write_samples(out: Output, name: str, model: str, items: list[Item],
                   rows: list[tuple[dict, Any]] | None, outputs: list[dict[str, Any]],
                   source: str) -> None:
    """``platform_samples.json``: the platform's outputs in the ``--rft-report`` shape."""
    samples: dict[int, list[dict[str, Any]]] = {}
    if rows is not None:  # a jsonl run: the samples the platform graded are in the data
        for index, (_, sample) in enumerate(rows):
            text = _recorded_text(sample)
            if text is not None:
                samples[index] = [{"repeat": 0, "output_text": text, "finish_reason": "stop",
                                   "error": None, "error_cause": None}]
        if len(samples) < len(rows):
            out.note("Rows without a sample", f"{len(rows) - len(samples)} rows have no "
                     "sample.output_text", "those items cannot be re-grade offline")
    else:
        for o in outputs:
            index = int(o.get("datasource_item_id") or 0)
            group = samples.setdefault(index, [])
            error = sample_error(o)
            group.append({"repeat": len(group),
                          "output_text": None if error else output_text(o),
                          "finish_reason": None if error else (o.get("sample") or {}).get(
                              "finish_reason") or "stop",
                          "error": error[1] or error[0] if error else None,
                          "error_cause": error[0] if error else None})
    report = {"source": source, "suites": [{
        "suite": name, "model": model,
        "items": [{"id": items[i].id, "samples": samples[i]}
                  for i in sorted(samples) if 0 <= i < len(items)]}]}
    out.write_text(SAMPLES, json.dumps(report, indent=1, ensure_ascii=False) + "\n")
