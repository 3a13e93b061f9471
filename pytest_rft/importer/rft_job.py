"""``pytest-rft import rft-job``: a reinforcement fine-tuning job -> a checkpoint-comparison suite.

Writes ``rft_<job>.yaml`` (models: the base model, the fine-tuned model and every checkpoint),
the job's grader verbatim under ``graders/``, its validation file (else its training file) under
``data/`` (every key of every row kept, per-row ``tools`` included), and ``MIGRATION.md``.
An agentic job's ``tools`` and ``max_episode_steps`` become the suite's ``tools:`` and
``max_turns:``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core.errors import RftError
from .checkpoints import checkpoint_models
from .guards import is_model_name
from .output import Output
from .platform_data import count, decode, kind, obj, one_line, slug, strip_uuid, text
from .suite_check import load_written, note_retired
from .grader_check import GraderEntry, check_graders, redact
from .sampling import EFFORTS, map_response_format, map_tools
from .source import Source

_TRAINING_ONLY = ("n_epochs", "batch_size", "learning_rate_multiplier", "compute_multiplier",
                  "eval_interval")


def import_rft_job(source: Source, job_id: str, folder: Path, stage: Path | None = None
                   ) -> Output:
    """Import fine-tuning job ``job_id`` into ``folder`` (staged in ``stage`` until commit)."""
    job = source.job(job_id)
    method = obj(job, "method", f"job {job_id}")
    rft = obj(method, "reinforcement", f"job {job_id} method")
    if method.get("type") != "reinforcement" or not isinstance(rft.get("grader"), dict):
        raise RftError(f"{job_id} is a {one_line(text(method.get('type')) or 'supervised', 40)} "
                       "fine-tuning job, not a reinforcement one: it has no grader to import",
                       fix="import an RFT job (method.type 'reinforcement'), or write a suite "
                           "by hand for this model")
    out = Output(folder, stage)
    name = slug(job_id, default="rft-job")

    data_file, dataset = job.get("validation_file"), "data/validation.jsonl"
    if not data_file:
        data_file, dataset = job.get("training_file"), "data/training.jsonl"
        message = (f"{job_id} has no validation file: the suite uses the training file "
                   f"{one_line(text(data_file), 80)}, so it measures items the model was "
                   "trained on")
        out.warnings.append(message)
        out.note("Training data as the dataset", message,
                 "hold out records the job never saw, and point 'dataset:' at them")
    if not data_file:
        raise RftError(f"{job_id} has neither a validation nor a training file",
                       fix="write the dataset by hand ('dataset:' in the suite)")
    if not isinstance(data_file, str):
        raise RftError(f"{job_id}: its data file is {kind(data_file)}, not a file id",
                       fix="check --base-url / the saved files")
    out.write_text(dataset, decode(source.file(data_file), f"file {one_line(data_file, 80)}"))
    items = _items_or_none(out.root / dataset)
    keys = set().union(*(i.data.keys() for i in items)) if items else None

    grader = rft["grader"]
    key = one_line(strip_uuid(text(grader.get("name"))), 80) or "grader"
    entry = GraderEntry(key=key, file=f"graders/{slug(key, 'grader')}.json", definition=grader)
    check_graders([entry], keys, out.root, out)
    out.write_json(entry.file, redact(grader))

    rejected: list[str] = []
    checkpoints = checkpoint_models(source.checkpoints(job_id), rejected=rejected)
    if rejected:
        out.note("Checkpoints left out", f"{len(rejected)} checkpoint name(s) are not OpenAI "
                 f"model names: {', '.join(rejected[:3])}", "nothing to do unless you need them")
    models = _models(job, checkpoints, out)
    config: dict[str, Any] = {"suite": name, "dataset": dataset, "model": models}
    response_format = map_response_format(rft.get("response_format"), out, "response_format")
    if response_format is not None:
        config["response_format"] = response_format
    hyper = obj(rft, "hyperparameters", "method.reinforcement")
    effort = hyper.get("reasoning_effort")
    if effort in EFFORTS:
        config["sampling"] = {"reasoning_effort": effort}
    elif effort not in (None, "default", "auto"):
        out.note(f"reasoning_effort {one_line(json.dumps(effort, default=str), 40)}",
                 f"pytest-rft sends one of {', '.join(EFFORTS)}",
                 "set sampling.reasoning_effort to the closest of those, or leave it out")
    samples = count(hyper.get("eval_samples"))
    config["repeats"] = samples if samples else 1
    _agentic(rft, config, out)
    config["graders"] = {} if entry.disabled else {key: {"file": entry.file}}
    if not entry.disabled:
        config["primary"] = key
    disabled = [f"disabled, see MIGRATION.md: {key}: {{file: {entry.file}}}  ({entry.disabled})"
                ] if entry.disabled else []
    header = (f"# Imported from OpenAI fine-tuning job {one_line(job_id, 80)} by 'pytest-rft "
              "import rft-job'.\n# Every model below is sampled and graded; the summary compares "
              "them side by side.\n# MIGRATION.md lists what did not move.\n")
    suite_path = out.write_yaml(f"rft_{name}.yaml", config, header, {"graders": disabled})
    load_written(suite_path, out, [key] if entry.disabled else [], 0 if entry.disabled else 1)
    note_retired(models, "model", out)
    training = [k for k in _TRAINING_ONLY if k in hyper]
    out.migration(
        f"Migration notes: OpenAI fine-tuning job {one_line(job_id, 80)}",
        [f"Imported from reinforcement fine-tuning job `{one_line(job_id, 80)}` (status "
         f"{one_line(text(job.get('status')) or '?', 40)}, base model "
         f"`{one_line(text(job.get('model')) or '?', 80)}`) by `pytest-rft import rft-job`.",
         "",
         "The job's grader is the suite's grader (verbatim); its "
         + ("validation" if dataset.endswith("validation.jsonl") else "training")
         + " file is the dataset, copied as is (its rows' other keys are `item.*` to the "
         "graders); `eval_samples` is `repeats` and `reasoning_effort` the sampling effort"
         + (f" (training-only hyperparameters do not apply: {', '.join(training)})"
            if training else "")
         + ". The models are the base model, the fine-tuned model and its "
         f"{len(checkpoints)} checkpoint(s), so one run compares them."],
        ["pytest .                                 # every model, side by side",
         f"pytest . --rft-model {models[-1]}   # one of them"])
    return out


def _agentic(rft: dict[str, Any], config: dict[str, Any], out: Output) -> None:
    """Agentic RFT: the job's tools and its bound on model turns."""
    if rft.get("tools") is not None:
        tools = map_tools(rft["tools"], out, "method.reinforcement.tools")
        if tools:
            config["tools"] = tools
    steps = rft.get("max_episode_steps")
    if steps is not None:
        turns = count(steps)
        if turns:
            config["max_turns"] = turns
        else:
            out.note(f"max_episode_steps {one_line(json.dumps(steps, default=str), 40)}",
                     "not a positive whole number", "set max_turns: in the suite by hand")
    for extra in sorted(set(rft) - {"grader", "response_format", "hyperparameters", "tools",
                                    "max_episode_steps"}):
        if rft[extra] is not None:
            out.note(f"method.reinforcement.{one_line(extra, 60)}",
                     f"value {one_line(json.dumps(rft[extra], default=str), 80)}; pytest-rft has "
                     "no such setting", "nothing to do unless it changed how samples were drawn")


def _items_or_none(path: Path) -> Any:
    from ..suite.dataset import load_items

    try:
        return load_items(path)
    except RftError:
        return None


def _models(job: dict[str, Any], checkpoints: list[str], out: Output) -> list[str]:
    """Base model, fine-tuned model, then checkpoints by step (names that are not OpenAI model
    names are left out, with a note)."""
    names: list[str] = []
    for field_ in ("model", "fine_tuned_model"):
        value = job.get(field_)
        if value in (None, ""):
            continue
        if is_model_name(value):
            names.append(value)
        else:
            out.note(f"The job's {field_} was not kept",
                     f"{one_line(json.dumps(value, default=str), 80)} is not an OpenAI model name",
                     "add the model to 'model:' by hand")
    if not job.get("fine_tuned_model"):
        status = one_line(text(job.get("status")), 40)
        out.note("No fine-tuned model yet", f"the job is {status}; only its base model and "
                 "checkpoints are in the suite",
                 "import again once the job has succeeded" if status != "succeeded" else
                 "the platform names no fine-tuned model for this succeeded job: add it to "
                 "'model:' by hand if it has one")
    for checkpoint in checkpoints:
        if checkpoint not in names:
            names.append(checkpoint)
    if not names:
        raise RftError(f"{one_line(text(job.get('id')), 80) or 'the job'} names no model",
                       fix="check the job id")
    return names
