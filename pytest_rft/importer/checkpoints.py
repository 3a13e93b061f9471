"""A fine-tuning job's checkpoints as model names, ordered by step (``--rft-checkpoints`` and
``pytest-rft import rft-job``)."""

from __future__ import annotations

import json
import time
from typing import Any

from ..core.errors import RftError
from .guards import is_model_name, resolve, safe_id
from .openai_api import OpenAIClient

CHECKPOINTS_DEADLINE = 300.0
"""Seconds ``--rft-checkpoints`` may spend listing one job's checkpoints."""


def list_checkpoint_models(job_id: str, *, api_key: str | None = None,
                           base_url: str | None = None) -> list[str]:
    """Every ``fine_tuned_model_checkpoint`` of a fine-tuning job, by ``step_number`` ascending.

    ``api_key`` / ``base_url`` default to ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``. A name that
    is not an OpenAI model name is an error (it would otherwise be resolved like a suite's
    model names, which include Python ``module:attr`` references).
    """
    key, url = resolve(api_key, base_url)
    deadline = time.monotonic() + CHECKPOINTS_DEADLINE
    with OpenAIClient(key, url, deadline=deadline) as client:
        checkpoints = client.list_all(f"/fine_tuning/jobs/{safe_id(job_id, 'job id')}/checkpoints")
    return checkpoint_models(checkpoints, where=f"--rft-checkpoints {job_id}")


def checkpoint_models(checkpoints: list[dict[str, Any]], *, rejected: list[str] | None = None,
                      where: str = "checkpoints") -> list[str]:
    """Checkpoint model names ordered by step (duplicates dropped). A name that is not an
    OpenAI model name goes to ``rejected`` when given, else is an RftError."""
    def order(checkpoint: dict[str, Any]) -> tuple[float, str]:
        step = checkpoint.get("step_number")
        step = step if isinstance(step, (int, float)) and not isinstance(step, bool) \
            and step == step else 0
        return float(step), str(checkpoint.get("id") or "")

    names: list[str] = []
    for checkpoint in sorted((c for c in checkpoints if isinstance(c, dict)), key=order):
        name = checkpoint.get("fine_tuned_model_checkpoint")
        if name is None or name in names:
            continue
        if not is_model_name(name):
            shown = json.dumps(name, default=str)[:80]
            if rejected is None:
                raise RftError(f"checkpoint {shown} is not an OpenAI model name", where=where,
                               fix="check --base-url: the platform answered something else")
            rejected.append(shown)
            continue
        names.append(name)
    return names
