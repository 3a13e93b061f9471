"""``pytest-rft import rft-job``: a reinforcement fine-tuning job -> a checkpoint-comparison suite.

Writes ``rft_<job>.yaml`` (models: the base model, the fine-tuned model and every checkpoint),
the job's grader verbatim under ``graders/``, its validation file (else its training file) under
``data/``, and ``MIGRATION.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import RftError
from ..openai_api import checkpoint_models
from .common import (EFFORTS, Output, decode, load_written, map_response_format, slug,
                     strip_uuid)
from .source import Source


def import_rft_job(source: Source, job_id: str, folder: Path) -> Output:
    """Import fine-tuning job ``job_id`` into ``folder``."""
    job = source.job(job_id)
    method = job.get("method") or {}
    rft = method.get("reinforcement") or {}
    if method.get("type") != "reinforcement" or not isinstance(rft.get("grader"), dict):
        raise RftError(f"{job_id} is a {method.get('type') or 'supervised'} fine-tuning job, "
                       "not a reinforcement one: it has no grader to import",
                       fix="import an RFT job (method.type 'reinforcement'), or write a suite "
                           "by hand for this model")
    out = Output(folder)
    name = slug(job_id, default="rft-job")

    data_file, dataset = job.get("validation_file"), "data/validation.jsonl"
    if not data_file:
        data_file, dataset = job.get("training_file"), "data/training.jsonl"
        message = (f"{job_id} has no validation file: the suite uses the training file "
                   f"{data_file}, so it measures items the model was trained on")
        out.warnings.append(message)
        out.note("Training data as the dataset", message,
                 "hold out records the job never saw, and point 'dataset:' at them")
    if not data_file:
        raise RftError(f"{job_id} has neither a validation nor a training file",
                       fix="write the dataset by hand ('dataset:' in the suite)")
    out.write_text(dataset, decode(source.file(str(data_file)), f"file {data_file}"))

    grader = rft["grader"]
    key = strip_uuid(str(grader.get("name") or "grader")) or "grader"
    grader_file = f"graders/{slug(key, 'grader')}.json"
    out.write_json(grader_file, grader)

    checkpoints = checkpoint_models(source.checkpoints(job_id))
    models = _models(job, checkpoints, out)
    config: dict[str, Any] = {"suite": name, "dataset": dataset, "model": models}
    response_format = map_response_format(rft.get("response_format"), out, "response_format")
    if response_format is not None:
        config["response_format"] = response_format
    hyper = rft.get("hyperparameters") or {}
    effort = hyper.get("reasoning_effort")
    if effort in EFFORTS:
        config["sampling"] = {"reasoning_effort": effort}
    samples = hyper.get("eval_samples")
    config["repeats"] = samples if isinstance(samples, int) and samples > 0 else 1
    config["graders"] = {key: {"file": grader_file}}
    config["primary"] = key
    header = (f"# Imported from OpenAI fine-tuning job {job_id} by 'pytest-rft import rft-job'.\n"
              "# Every model below is sampled and graded; the summary compares them side by "
              "side.\n# MIGRATION.md lists what did not move.\n")
    suite_path = out.write_yaml(f"rft_{name}.yaml", config, header)
    load_written(suite_path, out)
    out.migration(
        f"Migration notes: OpenAI fine-tuning job {job_id}",
        [f"Imported from reinforcement fine-tuning job `{job_id}` (status {job.get('status')}, "
         f"base model `{job.get('model')}`) by `pytest-rft import rft-job`.",
         "",
         "The job's grader is the suite's grader (verbatim); its "
         + ("validation" if dataset.endswith("validation.jsonl") else "training")
         + " file is the dataset; `eval_samples` is `repeats` and `reasoning_effort` the "
         "sampling effort (training-only hyperparameters do not apply). The models are the "
         f"base model, the fine-tuned model and its {len(checkpoints)} checkpoint(s), so one run "
         "compares them."],
        ["pytest .                                 # every model, side by side",
         f"pytest . --rft-model {models[-1]}   # one of them"])
    return out


def _models(job: dict[str, Any], checkpoints: list[str], out: Output) -> list[str]:
    """Base model, fine-tuned model, then checkpoints by step."""
    names = [str(job.get("model"))] if job.get("model") else []
    if job.get("fine_tuned_model"):
        names.append(str(job["fine_tuned_model"]))
    else:
        out.note("No fine-tuned model yet", f"the job is {job.get('status')}; only its base model "
                 "and checkpoints are in the suite", "import again once the job has succeeded")
    for checkpoint in checkpoints:
        if checkpoint not in names:
            names.append(checkpoint)
    if not names:
        raise RftError(f"{job.get('id')} names no model", fix="check the job id")
    return names
