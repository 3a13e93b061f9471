"""The ``--rft-*`` options: each is also an ini key ``rft_*``; the command line wins."""

from __future__ import annotations

import math
from typing import Any

import pytest


from ..report.html_charts import checked_path

OPTIONS: list[tuple[str, dict[str, Any], str]] = [
    # (name, argparse kwargs, help) -- each is also an ini key rft_<name>
    ("model", {"action": "append"}, "model under test (repeatable): a registered Python model, "
                                    "module:attr, or an OpenAI model name such as ft:o4-mini:org::id"),
    ("checkpoints", {"action": "append"}, "also test every checkpoint model of this fine-tuning "
                                          "job (ftjob-...; repeatable)"),
    ("repeats", {"type": int}, "samples per item (overrides the suite's repeats; at least 1)"),
    ("limit", {"type": int}, "only the first N items of each suite"),
    ("concurrency", {"type": int}, "model calls in flight across the whole run (default 16)"),
    ("report", {}, "write every sample, score and error as JSON to this path"),
    ("html", {"type": checked_path}, "write one self-contained HTML report to this path "
                                     "(needs pytest-rft[html])"),
    ("baseline-update", {"action": "store_true"}, "write each suite's baseline from this run "
                                                  "(like syrupy's --snapshot-update)"),
    ("baseline-dir", {}, "where baseline files live (default: baselines/ next to each suite)"),
    ("baseline", {}, "compare against this baseline file or earlier --rft-report JSON instead"),
    ("baseline-model", {}, "with several models: the run that becomes the baseline and the "
                           "reference of the side-by-side deltas (default: the first)"),
    ("history", {}, "append one JSON line per suite x model run to this file"),
    ("allow-outside-files", {"action": "store_true"}, "let suites read files outside their "
                                                      "folder and the rootdir (trusted suites)"),
    ("show-outputs", {"action": "store_true"}, "show every item's outputs (failing items always "
                                               "show theirs; -vv too)"),
    ("regrade", {}, "grade the outputs recorded in this report JSON again, calling no model"),
    ("cache", {}, "keep every completion in DIR/rft-cache.sqlite3 (relative to the rootdir) and "
                  "answer a request seen before from it"),
    ("record", {"action": "store_true"}, "with --rft-cache: call the model for every sample and "
                                         "store the answers (replacing recorded ones)"),
    ("replay", {"action": "store_true"}, "with --rft-cache: answer only from the cache, never "
                                         "call the model; a request not recorded is an error"),
    ("cache-raw", {"action": "store_true"}, "with --rft-cache: store outputs as they came, "
                                            "secrets included (default: scrubbed)"),
    ("batch-export", {}, "write every request of the run to this file as OpenAI Batch input "
                         "JSONL and sample nothing"),
    ("batch-import", {}, "grade this OpenAI Batch output JSONL (from the Batch API, vllm "
                         "run-batch ...) instead of calling the model"),
    ("batch", {"action": "store_true"}, "send the run's requests through the OpenAI Batch API "
                                        "(upload, create, poll, download) and grade the output"),
    ("batch-poll", {"type": float}, "seconds between polls of a batch's status (default 30)"),
    ("base-url", {}, "OpenAI-compatible endpoint (default $OPENAI_BASE_URL or OpenAI)"),
    ("api", {"choices": ["chat", "responses"]}, "OpenAI API to call (default chat)"),
    ("budget-tokens", {"type": int}, "stop starting model calls once the run has used this many "
                                     "tokens (input + output); the rest are errors"),
    ("budget-cost", {"type": float}, "stop starting model calls once the run has cost this many "
                                     "USD (OpenAI list prices); the rest are errors"),
    ("timeout", {"type": float}, "deadline in seconds for one whole model call (connect, send, "
                                "wait, read) before it counts as a timeout (default 60)"),
    ("max-retries", {"type": int}, "retries per sample for 408/409/429/5xx, timeouts and "
                                   "connection errors (default 4)"),
    ("http-client", {"choices": ["direct", "sdk", "httpx", "aiohttp"]},
     "how OpenAI is called: direct (default: JSON over aiohttp, no SDK), or the openai SDK: "
     "sdk / httpx (its default client) or aiohttp"),
    ("max-answer-size", {}, "largest answer accepted from a model once decoded, e.g. 16MB "
                            "(0 for no limit; default 16MB); a larger one is that sample's error"),
    ("retry-backoff", {"type": float}, "first backoff in seconds, doubling per retry (default 0.5)"),
    ("bootstrap", {"type": int}, "bootstrap resamples for the intervals of label metrics "
                                 "(default 1000)"),
    ("inconclusive", {"choices": ["pass", "fail", "exit2"]},
     "what a gate that can't tell (INCONCLUSIVE) does to the build: pass (default: exit 0, "
     "said loudly), fail (the gate fails), exit2 (the gate passes, the run exits with 2)"),
    ("correction", {"choices": ["holm", "bh", "none"]},
     "correction for the many tests of a build (every baseline gate, model and suite; every "
     "item tested for a regression): holm (default, family-wise), bh (false discovery rate), "
     "none"),
    ("item-repeats", {"type": int}, "confirmation repeats for an item tested for a regression "
                                    "(and for each passing item of a baseline being written); "
                                    "0 turns them off (default: the suite's item_repeats, "
                                    "else 15)"),
    ("seed", {"type": int}, "seed of the bootstrap and of retry jitter (default 0)"),
    ("grader-isolation", {"choices": ["on", "off"]}, "run python graders in worker processes "
                                                     "with time and memory limits (default on)"),
    ("grader-timeout", {"type": float}, "seconds per isolated grader call (default 120)"),
    ("grader-memory", {}, "address-space limit per grader worker process, e.g. 2GB, 512MB, "
                          "0 for none (default 2GB)"),
    ("judge-model", {"action": "append"}, "model for score_model / label_model graders "
                                          "(overrides the suite's judge.model and the grader's "
                                          "own); OLD=NEW swaps only judges named OLD "
                                          "(repeatable)"),
    ("judge-base-url", {}, "OpenAI-compatible endpoint of the judge model (default: the "
                           "suite's judge.base_url, else --rft-base-url)"),
    ("export-graders", {}, "write each collected suite's graders as OpenAI grader JSON to "
                           "DIR/<suite>/<grader>.json"),
    ("suite-pattern", {"action": "append"}, "glob of suite file names (default rft_*.yaml, "
                                             "*.rft.yaml)"),
]
DEFAULTS = {"http-client": "direct", "concurrency": 16, "timeout": 60.0, "max-retries": 4,
            "retry-backoff": 0.5, "bootstrap": 1000, "seed": 0, "baseline-update": False,
            "suite-pattern": ["rft_*.yaml", "*.rft.yaml"], "grader-isolation": "on", "cache-raw": False,
            "grader-timeout": 120.0, "grader-memory": "2GB", "batch-poll": 30.0,
            "max-answer-size": "16MB", "inconclusive": "pass", "correction": "holm"}
MAXIMUM = {"repeats": 10_000, "item-repeats": 10_000}
MINIMUM = {"budget-tokens": 1, "budget-cost": 0.0, "repeats": 1, "limit": 0, "concurrency": 1,
           "timeout": 0.001, "max-retries": 0, "retry-backoff": 0.0, "bootstrap": 0,
           "grader-timeout": 0.001, "batch-poll": 0.0, "item-repeats": 0}


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("rft", "model regression testing (pytest-rft)")
    for name, kwargs, help_text in OPTIONS:
        dest = _dest(name)
        group.addoption(f"--rft-{name}", dest=dest, default=None, help=help_text, **kwargs)
        kind = {"append": "linelist", "store_true": "bool"}.get(kwargs.get("action"), "string")
        parser.addini(dest, help=help_text, type=kind)


def _dest(name: str) -> str:
    return "rft_" + name.replace("-", "_")


def option(config: pytest.Config, name: str) -> Any:
    """Command line first, then the ini key, then the default."""
    dest = _dest(name)
    value = config.getoption(dest)
    if value is None:
        raw = config.getini(dest)
        if raw not in ("", [], None, False):
            kind = next(k for n, k, _ in OPTIONS if n == name).get("type")
            try:
                value = kind(raw) if kind else raw
            except ValueError:
                raise pytest.UsageError(f"ini key {dest} = {raw!r}: expected {kind.__name__}") from None
    return DEFAULTS.get(name) if value is None else value


def validate(config: pytest.Config) -> None:
    """Reject values that would silently mean something else (``--rft-repeats 0``)."""
    record, replay = option(config, "record"), option(config, "replay")
    if record and replay:
        raise pytest.UsageError("--rft-record and --rft-replay exclude each other")
    for name in ("record", "replay", "cache-raw"):
        if option(config, name) and not option(config, "cache"):
            raise pytest.UsageError(f"--rft-{name} needs --rft-cache DIR (or the ini key "
                                    "rft_cache)")
    modes = [f"--rft-{n}" for n in ("batch-export", "batch-import", "batch", "regrade")
             if option(config, n)]
    if len(modes) > 1:
        raise pytest.UsageError(f"{' and '.join(modes)} exclude each other")
    if modes and modes[0] != "--rft-regrade" and (config.getoption("numprocesses", None) or 0):
        raise pytest.UsageError(f"{modes[0]} needs one process: run it without -n (xdist)")
    from ..core.sizes import parse_size

    for name in ("grader-memory", "max-answer-size"):
        try:
            parse_size(option(config, name))
        except ValueError as exc:
            raise pytest.UsageError(f"--rft-{name} / rft_{name.replace('-', '_')}: {exc}") from None
    try:
        from ..backends.judge import judge_models

        judge_models(option(config, "judge-model"))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    for name in ("grader-isolation", "inconclusive", "correction"):
        choices = next(k for n, k, _ in OPTIONS if n == name)["choices"]
        if option(config, name) not in choices:
            raise pytest.UsageError(f"--rft-{name} / rft_{name.replace('-', '_')} must be one of "
                                    f"{', '.join(choices)}, got {option(config, name)!r}")
    for name, kwargs, _ in OPTIONS:
        value = option(config, name)
        if kwargs.get("type") is float and value is not None and not math.isfinite(value):
            raise pytest.UsageError(f"--rft-{name} / rft_{name.replace('-', '_')} must be a "
                                    f"finite number, got {value!r}")
    for name, low in MINIMUM.items():
        value = option(config, name)
        if value is not None and not value >= low:
            raise pytest.UsageError(f"--rft-{name} / rft_{name.replace('-', '_')} must be at "
                                    f"least {low:g}, got {value!r}")
    for name, high in MAXIMUM.items():
        value = option(config, name)
        if value is not None and value > high:
            raise pytest.UsageError(f"--rft-{name} / rft_{name.replace('-', '_')} must be at "
                                    f"most {high:,}, got {value!r}")
