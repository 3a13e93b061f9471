"""Which backend answers a model, written once: a registered Python model, else an
OpenAI-compatible API over the chosen transport; for the models under test, recordings instead
(``--rft-regrade``, the ``recorded`` model), and around them the spending limits and the cache.
Judges resolve their models the same way (:func:`judge_factory`), never cached nor budgeted.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import DEFAULT_MAX_ANSWER, Backend

BackendFactory = Callable[[str, "str | None"], Backend]
"""(model, base_url or None) -> a backend."""


@dataclass(frozen=True)
class BackendOptions:
    """How models are called (the run's options, read once by the session)."""

    base_url: str | None = None
    """``--rft-base-url`` (else ``$OPENAI_BASE_URL``)."""
    timeout: float | None = 60.0
    concurrency: int = 16
    http_client: str = "httpx"
    """``direct``, ``httpx``, ``aiohttp`` or ``sdk`` (the SDK over httpx)."""
    max_answer_bytes: int | None = DEFAULT_MAX_ANSWER
    """Bytes of one answer a transport reads (None: no limit)."""
    regrade: str | None = None
    """``--rft-regrade FILE``: the models under test answer from its recordings."""
    cache: Path | None = None
    """``--rft-cache`` folder (checked when a backend is made), None without a cache."""
    cache_mode: str = "use"
    """``use``, ``record`` or ``replay``."""
    cache_raw: bool = False


def api_backend(model: str, options: BackendOptions, base_url: str | None = None) -> Backend:
    """A registered Python model, else ``model`` on an OpenAI-compatible API at ``base_url``
    (a judge's own), else ``--rft-base-url``, else ``$OPENAI_BASE_URL``."""
    from .python_backend import PythonBackend, find_python_model

    fn = find_python_model(model)
    if fn is not None:
        return PythonBackend(model, fn, max_workers=options.concurrency, timeout=options.timeout)
    kwargs: dict[str, Any] = dict(
        api_key=os.environ.get("OPENAI_API_KEY"),
        base_url=base_url or options.base_url or os.environ.get("OPENAI_BASE_URL"),
        timeout=options.timeout, max_connections=options.concurrency,
        max_answer_bytes=options.max_answer_bytes)
    if options.http_client == "direct":
        from .direct import DirectBackend

        return DirectBackend(model, **kwargs)
    from .openai_backend import OpenAIBackend

    transport = "httpx" if options.http_client == "sdk" else options.http_client
    return OpenAIBackend(model, **kwargs, transport=transport)  # type: ignore[arg-type]


def model_backend(model: str, options: BackendOptions, budget: Any = None) -> Backend:
    """The backend of a model under test: ``--rft-regrade``'s recordings of it, else
    :func:`api_backend`; within the ``budget`` (a ``budget.Budget``), then behind the cache."""
    if options.regrade:
        from .replay import RECORDED_MODEL, ReplayBackend, load_replay, recorded_models

        # the model's own recordings; a file of one model's samples serves any model
        path = Path(options.regrade)
        own = load_replay(path, model)
        if own:
            return ReplayBackend(model, own)
        backend = ReplayBackend(model, load_replay(path))
        others = recorded_models(path)
        if model != RECORDED_MODEL and others:  # say whose outputs carry this model's name
            backend.borrowed = (f"rft: --rft-regrade {path} has no samples of {model!r}: the "
                                f"samples of {', '.join(others)} are graded and reported as "
                                f"{model!r} (--rft-model {others[0]} keeps their name)")
        return backend
    backend = api_backend(model, options)
    if budget is not None:
        from .budget import BudgetBackend
        from .python_backend import PythonBackend

        backend = BudgetBackend(backend, budget, model,
                                priced=not isinstance(backend, PythonBackend))
    if options.cache is not None:
        from .cache import CacheBackend, CacheStore

        from ..core.files import checked

        store = CacheStore(checked(options.cache, "--rft-cache"), raw=options.cache_raw,
                           read_only=options.cache_mode == "replay")
        backend = CacheBackend(backend, store, options.cache_mode)
    return backend


def is_recorded(model: str, options: BackendOptions) -> bool:
    """Whether ``model`` is the ``recorded`` model (the suites' ``recorded:`` outputs), not a
    registered Python model of that name nor a ``--rft-regrade``."""
    from .python_backend import registered_models
    from .replay import RECORDED_MODEL

    return model == RECORDED_MODEL and not options.regrade and model not in registered_models()


def recorded_backend(files: Iterable[tuple[Path, str]]) -> Backend:
    """The ``recorded`` model: the outputs of each (``recorded:`` file, suite name), no model
    called."""
    from .replay import RECORDED_MODEL, ReplayBackend, load_recorded

    recorded: dict[Any, Any] = {}
    for path, suite in files:
        recorded.update(load_recorded(path, suite))
    return ReplayBackend(RECORDED_MODEL, recorded)


def backends_for(runs: Iterable[Any], options: BackendOptions, budget: Any = None
                 ) -> dict[str, Backend]:
    """Model -> its backend, for every model of ``runs`` (``core.records.SuiteRun``)."""
    from .replay import RECORDED_MODEL

    runs = list(runs)
    recorded = [(r.suite.recorded_path, r.suite.name) for r in runs
                if r.model == RECORDED_MODEL and r.suite.recorded_path is not None]
    return {model: recorded_backend(recorded) if is_recorded(model, options)
            else model_backend(model, options, budget) for model in {r.model for r in runs}}


def judge_factory(options: BackendOptions) -> BackendFactory:
    """Judges resolve like models under test (a registered Python model, else the API at the
    judge's ``base_url``, else the run's), without recordings, budget or cache."""
    return lambda model, base_url: api_backend(model, options, base_url)
