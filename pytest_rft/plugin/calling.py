"""How the run calls its models, from its settings: the backend of each model (a Python model,
OpenAI over HTTP, a ``--rft-regrade`` file or a suite's ``recorded:`` outputs; wrapped in the
spending budget and the ``--rft-cache``), and the judge of score_model / label_model graders."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..backends import judge as judges
from ..backends.base import Backend
from ..backends.python_backend import PythonBackend, find_python_model, registered_models
from ..core import files
from ..sampling.runner import SuiteRun
from .settings import Settings


def make_judge(settings: Settings) -> judges.Judge:
    """The run's judge for score_model / label_model graders (same backends and limits)."""
    factory = judges.default_backend_factory(
        base_url=settings.base_url, timeout=settings.timeout, concurrency=settings.concurrency,
        transport=settings.http_client, max_answer_bytes=settings.max_answer_bytes)
    return judges.Judge(factory, judge_overrides(settings))


def judge_overrides(settings: Settings) -> judges.JudgeOverrides:
    """``--rft-judge-model`` (a name, and OLD=NEW remaps) and ``--rft-judge-base-url``."""
    return judges.JudgeOverrides.from_option(settings.judge_model or None,
                                             settings.judge_base_url)


def budget(settings: Settings, runs: list[SuiteRun]) -> Any:
    """The run's spending limits (None when neither the options nor a suite set one)."""
    suites = {r.suite.name: (r.suite.config.max_tokens, r.suite.config.max_cost) for r in runs}
    tokens, cost = settings.budget_tokens, settings.budget_cost
    if tokens is None and cost is None and not any(t or c for t, c in suites.values()):
        return None
    from ..sampling.budget import Budget

    return Budget(tokens, cost, suites)


def is_recorded(settings: Settings, model: str) -> bool:
    """Whether ``model`` is ``recorded``: each suite's ``recorded:`` outputs answer it."""
    from ..backends.replay import RECORDED_MODEL

    return model == RECORDED_MODEL and not settings.regrade \
        and model not in registered_models()


def recorded_backend(runs: list[SuiteRun]) -> Backend:
    """The ``recorded`` model: each suite's ``recorded:`` outputs, no model called."""
    from ..backends.replay import RECORDED_MODEL, ReplayBackend, load_recorded

    recorded: dict[Any, Any] = {}
    for run in runs:
        if run.model == RECORDED_MODEL and run.suite.recorded_path is not None:
            recorded.update(load_recorded(run.suite.recorded_path, run.suite.name))
    return ReplayBackend(RECORDED_MODEL, recorded)


def make_backend(settings: Settings, model: str, rootpath: Path, spending: Any = None
                 ) -> Backend:
    """``model``'s backend, inside the spending budget and the cache when there are some."""
    backend = _model_backend(settings, model)
    if spending is not None and not settings.regrade:
        from ..sampling.budget import BudgetBackend

        backend = BudgetBackend(backend, spending, model,
                                priced=not isinstance(backend, PythonBackend))
    if settings.cache and not settings.regrade:
        from ..backends.cache import CacheBackend, CacheStore

        mode = "record" if settings.record else "replay" if settings.replay else "use"
        store = CacheStore(files.checked(rootpath / settings.cache, "--rft-cache"),
                           raw=settings.cache_raw, read_only=mode == "replay")
        backend = CacheBackend(backend, store, mode)
    return backend


def _model_backend(settings: Settings, model: str) -> Backend:
    if settings.regrade:
        from ..backends.replay import ReplayBackend, load_replay

        # the model's own recordings; a file of one model's samples serves any model
        recorded = load_replay(Path(settings.regrade), model) or load_replay(Path(settings.regrade))
        return ReplayBackend(model, recorded)
    fn = find_python_model(model)
    if fn is not None:
        return PythonBackend(model, fn, max_workers=settings.concurrency,
                             timeout=settings.timeout)
    client = settings.http_client
    kwargs = dict(api_key=os.environ.get("OPENAI_API_KEY"),
                  base_url=settings.base_url or os.environ.get("OPENAI_BASE_URL"),
                  timeout=settings.timeout, max_connections=settings.concurrency,
                  max_answer_bytes=settings.max_answer_bytes)
    if client == "direct":
        from ..backends.direct import DirectBackend

        return DirectBackend(model, **kwargs)
    from ..backends.openai_backend import OpenAIBackend

    return OpenAIBackend(model, **kwargs, transport="httpx" if client == "sdk" else client)
