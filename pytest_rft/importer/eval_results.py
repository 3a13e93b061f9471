"""An eval run's results -> the suite's baseline and recorded outputs: the platform's per-item
scores as ``baselines/<suite>.json`` (passes counted as the plugin counts them), and its samples
as ``platform_samples.json`` (the ``--rft-report`` shape, for re-grading or grading as
recorded)."""

from __future__ import annotations

import json
import statistics
from typing import Any

from ..core.numbers import at_least
from ..core.version import __version__
from ..store import baseline as baseline_mod
from ..suite.dataset import Item
from ..suite.suite import Suite
from .eval_data import output_index
from .grader_check import GraderEntry
from .output import Output
from .platform_data import number, one_line, strip_uuid, text

SAMPLES = "platform_samples.json"


def sample_error(output: dict[str, Any]) -> tuple[str, str] | None:
    """(cause, message) when the platform's sample failed, else None."""
    sample = output.get("sample")
    error = sample.get("error") if isinstance(sample, dict) else None
    if isinstance(error, dict) and (error.get("code") or error.get("message")):
        return (one_line(error.get("code"), 80) if error.get("code") else "platform error",
                one_line(error.get("message"), 300) if error.get("message") else "")
    return None


def platform_baseline(suite: Suite | None, items: list[Item], outputs: list[dict[str, Any]],
              graders: list[GraderEntry], *, name: str, model: str, repeats: int,
              primary: str, threshold: float, created: str, source: str, out: Output
              ) -> baseline_mod.Baseline:
    names = {i: g.key for g in graders for i in g.ids}
    names.update({strip_uuid(i): g.key for g in graders for i in g.ids})
    per_item: dict[int, list[dict[str, Any]]] = {}
    for o in outputs:
        per_item.setdefault(output_index(o) or 0, []).append(o)
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
                passes += at_least(got[primary], threshold)
            else:
                errors += 1
        item = items[index]
        result[item.id] = baseline_mod.BaselineItem(
            scores={k: _stats(v) for k, v in sorted(scores.items())}, passes=passes, n=n,
            errors=errors, digest=baseline_mod.item_digest(item))
    if unknown:
        out.note("Results of unknown or disabled graders", "the run has results named "
                 + ", ".join(sorted(unknown)[:10]) + ", which are not graders of the suite",
                 "they are left out of the baseline; where a note above disabled one of "
                 "these graders, fix it as that note says and import again to keep its results")
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


def write_samples(out: Output, name: str, model: str, items: list[Item],
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
            index = output_index(o) or 0
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
