"""The ``--rft-*`` options as one frozen ``Settings``, read and checked once at configure (the
command line first, then the ini key ``rft_*``, then the default) and passed to whatever needs
a value: modules below the plugin get the values, never the pytest config."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest

from .options import DEFAULTS, MAXIMUM, MINIMUM, OPTIONS, option
from .options import _dest as dest

SETTINGS = pytest.StashKey["Settings"]()


@dataclass(frozen=True)
class Settings:
    """Every option, by its name with ``_`` for ``-`` (``--rft-baseline-dir``: ``baseline_dir``);
    the defaults are the options' defaults. Repeatable options are tuples."""

    model: tuple[str, ...] = ()
    checkpoints: tuple[str, ...] = ()
    repeats: int | None = None
    limit: int | None = None
    concurrency: int = DEFAULTS["concurrency"]
    report: str | None = None
    html: str | None = None
    baseline_update: bool = DEFAULTS["baseline-update"]
    baseline_dir: str | None = None
    baseline: str | None = None
    baseline_model: str | None = None
    history: str | None = None
    allow_outside_files: bool = False
    show_outputs: bool = False
    regrade: str | None = None
    cache: str | None = None
    record: bool = False
    replay: bool = False
    cache_raw: bool = DEFAULTS["cache-raw"]
    batch_export: str | None = None
    batch_import: str | None = None
    batch: bool = False
    batch_poll: float = DEFAULTS["batch-poll"]
    base_url: str | None = None
    api: str | None = None
    budget_tokens: int | None = None
    budget_cost: float | None = None
    timeout: float = DEFAULTS["timeout"]
    max_retries: int = DEFAULTS["max-retries"]
    http_client: str = DEFAULTS["http-client"]
    max_answer_size: str = DEFAULTS["max-answer-size"]
    retry_backoff: float = DEFAULTS["retry-backoff"]
    bootstrap: int = DEFAULTS["bootstrap"]
    inconclusive: str = DEFAULTS["inconclusive"]
    correction: str = DEFAULTS["correction"]
    item_repeats: int | None = None
    seed: int = DEFAULTS["seed"]
    grader_isolation: str = DEFAULTS["grader-isolation"]
    grader_timeout: float = DEFAULTS["grader-timeout"]
    grader_memory: str = DEFAULTS["grader-memory"]
    judge_model: tuple[str, ...] = ()
    judge_base_url: str | None = None
    export_graders: str | None = None
    suite_pattern: tuple[str, ...] = tuple(DEFAULTS["suite-pattern"])

    @property
    def batch_mode(self) -> str | None:
        """``batch-export``, ``batch-import`` or ``batch`` (the one given), else None."""
        for name in ("batch-export", "batch-import", "batch"):
            if getattr(self, name.replace("-", "_")):
                return name
        return None

    @property
    def max_answer_bytes(self) -> int | None:
        """``--rft-max-answer-size`` in bytes (None: no limit)."""
        from ..core.sizes import parse_size

        return parse_size(self.max_answer_size)

    @property
    def from_file(self) -> bool:
        """The samples come from a file or a batch (``--rft-regrade``, batch modes): nothing
        more can be drawn."""
        return bool(self.regrade or self.batch_mode)


def field_name(name: str) -> str:
    return name.replace("-", "_")


def read(config: pytest.Config) -> Settings:
    """The options of ``config`` as ``Settings``; a pytest.UsageError for a value that would
    silently mean something else (``--rft-repeats 0``)."""
    values: dict[str, Any] = {}
    for name, _, _ in OPTIONS:
        value = option(config, name)
        if value is not None:
            values[field_name(name)] = tuple(value) if isinstance(value, list) else value
    settings = Settings(**values)
    check(settings, numprocesses=config.getoption("numprocesses", None) or 0)
    return settings


def settings_of(config: pytest.Config) -> Settings:
    """The session's settings, read at configure."""
    return config.stash[SETTINGS]


def check(settings: Settings, numprocesses: int = 0) -> None:
    """Reject values that would silently mean something else."""
    if settings.record and settings.replay:
        raise pytest.UsageError("--rft-record and --rft-replay exclude each other")
    for name in ("record", "replay", "cache-raw"):
        if getattr(settings, field_name(name)) and not settings.cache:
            raise pytest.UsageError(f"--rft-{name} needs --rft-cache DIR (or the ini key "
                                    "rft_cache)")
    modes = [f"--rft-{n}" for n in ("batch-export", "batch-import", "batch", "regrade")
             if getattr(settings, field_name(n))]
    if len(modes) > 1:
        raise pytest.UsageError(f"{' and '.join(modes)} exclude each other")
    if modes and modes[0] != "--rft-regrade" and numprocesses:
        raise pytest.UsageError(f"{modes[0]} needs one process: run it without -n (xdist)")
    from ..core.sizes import parse_size

    for name in ("grader-memory", "max-answer-size"):
        try:
            parse_size(getattr(settings, field_name(name)))
        except ValueError as exc:
            raise pytest.UsageError(f"--rft-{name} / {dest(name)}: {exc}") from None
    try:
        from ..core.judge_names import judge_models

        judge_models(settings.judge_model)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    for name in ("grader-isolation", "inconclusive", "correction"):  # an ini value: unchecked
        choices = next(k for n, k, _ in OPTIONS if n == name)["choices"]
        if getattr(settings, field_name(name)) not in choices:
            raise pytest.UsageError(f"--rft-{name} / {dest(name)} must be one of "
                                    f"{', '.join(choices)}, got {getattr(settings, field_name(name))!r}")
    for name, kwargs, _ in OPTIONS:
        value = getattr(settings, field_name(name))
        if kwargs.get("type") is float and value is not None and not math.isfinite(value):
            raise pytest.UsageError(f"--rft-{name} / {dest(name)} must be a finite number, "
                                    f"got {value!r}")
    for name, low in MINIMUM.items():
        value = getattr(settings, field_name(name))
        if value is not None and not value >= low:
            raise pytest.UsageError(f"--rft-{name} / {dest(name)} must be at least {low:g}, "
                                    f"got {value!r}")
    for name, high in MAXIMUM.items():
        value = getattr(settings, field_name(name))
        if value is not None and value > high:
            raise pytest.UsageError(f"--rft-{name} / {dest(name)} must be at most {high:,}, "
                                    f"got {value!r}")
