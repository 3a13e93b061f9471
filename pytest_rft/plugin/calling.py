"""How the run calls its models, from its settings: the options of the backend factory
(``backends/factory.py``), the spending budget, and the judge of score_model / label_model
graders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..backends import judge as judges
from ..backends.calls import CallContext
from ..backends.factory import BackendOptions, judge_factory
from ..core.records import SuiteRun
from .settings import Settings


def backend_options(settings: Settings, rootpath: Path) -> BackendOptions:
    """How models are called (``backends.factory``); the cache folder is relative to the
    rootdir."""
    return BackendOptions(
        base_url=settings.base_url, timeout=settings.timeout, concurrency=settings.concurrency,
        http_client=settings.http_client, max_answer_bytes=settings.max_answer_bytes,
        regrade=settings.regrade, cache=rootpath / settings.cache if settings.cache else None,
        cache_mode="record" if settings.record else "replay" if settings.replay else "use",
        cache_raw=bool(settings.cache_raw))


def make_judge(settings: Settings, rootpath: Path, context: CallContext) -> judges.Judge:
    """The run's judge for score_model / label_model graders (same backends and calls)."""
    return judges.Judge(judge_factory(backend_options(settings, rootpath)),
                        judge_overrides(settings), context)


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
    from ..backends.budget import Budget

    return Budget(tokens, cost, suites)
