"""The ``--rft-*`` options: each is also an ini key ``rft_*``; the command line wins. Read once,
at configure, into ``settings.Settings``."""

from __future__ import annotations

import argparse
from typing import Any

import pytest


from ..report.html_charts import checked_path

OPTIONS: list[tuple[str, dict[str, Any], str]] = [
    # (name, argparse kwargs, meaning) -- each is also an ini key rft_<name>. The meaning is
    # Markdown-light (`code`); `pytest --help` shows it without the backticks, followed by the
    # default (DEFAULTS, else DEFAULT_TEXT), and docs/options.md is generated from this table
    # (REGENERATE).
    ("model", {"action": "append", "metavar": "NAME"},
     "model under test, repeatable: a registered Python model, `module:function`, or an OpenAI "
     "model name such as `ft:o4-mini:org::id`"),
    ("checkpoints", {"action": "append", "metavar": "ftjob-ID"},
     "also test every checkpoint model of this fine-tuning job (`ft:...:ckpt-step-N`, read from "
     "its checkpoints endpoint; repeatable)"),
    ("repeats", {"type": int, "metavar": "N"}, "samples per item, at least 1"),
    ("limit", {"type": int, "metavar": "N"},
     "only the first N items of each suite; gates judge those and say so (`-k` selects too)"),
    ("concurrency", {"type": int, "metavar": "N"},
     "model calls in flight across the whole run (halved on a 429, grown back as calls "
     "succeed)"),
    ("report", {"metavar": "PATH"},
     "write a JSON report: every sample, score and error, the metrics, deltas and a baseline "
     "snapshot per run"),
    ("html", {"type": checked_path, "metavar": "PATH"},
     "write one self-contained HTML page: verdicts, variance study, per-label table, every item "
     "with its prompt and outputs, models side by side (needs `pytest-rft[html]`)"),
    ("baseline-update", {"action": "store_true"},
     "write each suite's baseline from this run (like syrupy's `--snapshot-update`)"),
    ("baseline-dir", {"metavar": "DIR"},
     "where baseline files live (a relative path is relative to the rootdir)"),
    ("baseline", {"metavar": "PATH"},
     "compare against this baseline file or an earlier `--rft-report` JSON instead"),
    ("baseline-model", {"metavar": "NAME"},
     "with several models: the run that `--rft-baseline-update` writes and the reference of the "
     "side-by-side deltas"),
    ("history", {"metavar": "PATH"},
     "append one JSON line per suite × model run to this file (an existing file that is not a "
     "history is a usage error)"),
    ("allow-outside-files", {"action": "store_true"},
     "let suites read files outside their folder and the rootdir (suites you trust)"),
    ("show-outputs", {"action": "store_true"},
     "show every item's outputs (failing items always show theirs; `-vv` too)"),
    ("regrade", {"metavar": "PATH"},
     "grade the outputs recorded in this report JSON again, calling no model"),
    ("cache", {"metavar": "DIR"},
     "keep every completion in `DIR/rft-cache.sqlite3` (relative to the rootdir); a request seen "
     "before is answered from it"),
    ("record", {"action": "store_true"},
     "with `--rft-cache`: call the model for every sample and store (replace) the answers"),
    ("replay", {"action": "store_true"},
     "with `--rft-cache`: answer only from the cache, never call the model; a request not "
     "recorded is an error naming item and repeat"),
    ("cache-raw", {"action": "store_true"},
     "with `--rft-cache`: store outputs as they came, secrets included (default: scrubbed), and "
     "say so"),
    ("batch-export", {"metavar": "FILE"},
     "write every request of the run as OpenAI Batch input JSONL and sample nothing (the tests "
     "are skipped)"),
    ("batch-import", {"metavar": "FILE"},
     "grade this batch output JSONL (OpenAI Batch API, `vllm run-batch` ...) instead of calling "
     "the model"),
    ("batch", {"action": "store_true"},
     "send the run's requests through the OpenAI Batch API (upload, create, poll, download) and "
     "grade the output; a rerun resumes from `.rft-batches.json`"),
    ("batch-poll", {"type": float, "metavar": "S"}, "seconds between polls of a batch's status"),
    ("base-url", {"metavar": "URL"}, "OpenAI-compatible endpoint"),
    ("api", {"choices": ["chat", "responses"]}, "OpenAI API to call"),
    ("budget-tokens", {"type": int, "metavar": "N"},
     "stop starting model calls once the run has used N tokens (input + output); the rest are "
     "errors (per suite: `max_tokens`)"),
    ("budget-cost", {"type": float, "metavar": "USD"},
     "the same in US dollars at OpenAI list prices (per suite: `max_cost`)"),
    ("timeout", {"type": float, "metavar": "S"},
     "deadline in seconds for one whole model call (connect, send, wait, read; OpenAI and Python "
     "models; the SDK transports end a call within S + 1 s; a Python model's call can't be "
     "stopped, so its timeout is final); a timeout is retried"),
    ("max-retries", {"type": int, "metavar": "N"},
     "retries per sample, on 408/409/429/5xx, timeouts and connection errors"),
    ("http-client", {"choices": ["direct", "sdk", "httpx", "aiohttp"]},
     "how OpenAI is called: `direct` (JSON over aiohttp, the openai package not even imported); "
     "`sdk` / `httpx`: the openai SDK on its default httpx client; `aiohttp`: the SDK on "
     "aiohttp"),
    ("max-answer-size", {"metavar": "SIZE"},
     "largest answer accepted from a model, once decoded, e.g. `16MB` (`0`: no limit); a larger "
     "one is that sample's error, not retried"),
    ("retry-backoff", {"type": float, "metavar": "S"},
     "first backoff in seconds, doubling per retry (capped at 30 s; a `Retry-After` wins)"),
    ("bootstrap", {"type": int, "metavar": "N"},
     "bootstrap resamples for the intervals of label metrics (micro/macro/samples P, R, F1)"),
    ("inconclusive", {"choices": ["pass", "fail", "exit2"]},
     "what a baseline gate that can't tell (INCONCLUSIVE) does to the build: `pass` (exit 0, "
     "said loudly), `fail` (the gate fails), `exit2` (the gate passes, the run exits with status "
     "2 when nothing failed)"),
    ("correction", {"choices": ["holm", "bh", "none"]},
     "correction for the many tests of a build (every baseline gate × model of a suite, and "
     "every item tested for a regression, the level shared among the project's suite files): "
     "`holm` (family-wise), `bh` (false discovery rate), `none`"),
    ("item-repeats", {"type": int, "metavar": "N"},
     "confirmation repeats for an item tested for a regression, and for each passing item of a "
     "baseline being written; 0 turns them off"),
    ("seed", {"type": int, "metavar": "N"}, "seed of the bootstrap and of retry jitter"),
    ("grader-isolation", {"choices": ["on", "off"]},
     "run `python` graders (and `isolated=True` registered ones) in worker processes with the "
     "time and memory limits below"),
    ("grader-timeout", {"type": float, "metavar": "S"}, "seconds per grader call (a grader in the "
     "pytest process, registered or with isolation off, that takes longer is that sample's "
     "error and is left running)"),
    ("grader-memory", {"metavar": "SIZE"},
     "address-space limit per grader worker process, e.g. `512MB`, `4GB` (`0`: none)"),
    ("judge-model", {"action": "append", "metavar": "NAME"},
     "judge model of `score_model` / `label_model` graders (overrides the suite's `judge.model` "
     "and the grader's own); `OLD=NEW` (repeatable) swaps only judges named OLD (and wins over "
     "the suite's `models:` remap)"),
    ("judge-base-url", {"metavar": "URL"}, "OpenAI-compatible endpoint of the judge model"),
    ("export-graders", {"metavar": "DIR"},
     "write each collected suite's graders as OpenAI grader JSON to "
     "`DIR/<suite>/<grader>.json` (file references inlined; works with `--collect-only`)"),
    ("suite-pattern", {"action": "append", "metavar": "GLOB"},
     "glob of suite file names (repeatable)"),
]
DEFAULTS = {"http-client": "direct", "concurrency": 16, "timeout": 60.0, "max-retries": 4,
            "retry-backoff": 0.5, "bootstrap": 1000, "seed": 0, "baseline-update": False,
            "suite-pattern": ["rft_*.yaml", "*.rft.yaml"], "grader-isolation": "on", "cache-raw": False,
            "grader-timeout": 120.0, "grader-memory": "2GB", "batch-poll": 30.0,
            "max-answer-size": "16MB", "inconclusive": "pass", "correction": "holm"}
# How the default reads where it is not a plain value of DEFAULTS (it comes from the suite, the
# environment, ...). A flag's default is "off", any other option's "none".
DEFAULT_TEXT = {"model": "the suite's `model:`", "repeats": "the suite's `repeats`, else 1",
                "limit": "all items", "baseline-dir": "`baselines/` next to each suite",
                "baseline": "the suite's baseline file", "baseline-model": "the first model",
                "base-url": "`$OPENAI_BASE_URL`, else OpenAI",
                "api": "the suite's `api`, else chat",
                "item-repeats": "the suite's `item_repeats`, else 15",
                "judge-model": "the suite's `judge.model`, else the grader's `model`",
                "judge-base-url": "the suite's `judge.base_url`, else `--rft-base-url`"}
MAXIMUM = {"repeats": 10_000, "item-repeats": 10_000}
MINIMUM = {"budget-tokens": 1, "budget-cost": 0.0, "repeats": 1, "limit": 0, "concurrency": 1,
           "timeout": 0.001, "max-retries": 0, "retry-backoff": 0.0, "bootstrap": 0,
           "grader-timeout": 0.001, "batch-poll": 0.0, "item-repeats": 0}


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("rft", "model regression testing (pytest-rft)")
    for name, kwargs, meaning in OPTIONS:
        dest = _dest(name)
        help_text = f"{meaning} (default: {default_text(name)})".replace("`", "")
        # argparse expands %-formats in option help, pytest's ini help is printed as it is
        group.addoption(f"--rft-{name}", dest=dest, default=None,
                        help=help_text.replace("%", "%%"), **kwargs)
        parser.addini(dest, help=help_text, type=_ini_type(kwargs))


def _ini_type(kwargs: dict[str, Any]) -> str:
    return {"append": "linelist", "store_true": "bool"}.get(kwargs.get("action"), "string")


def default_text(name: str) -> str:
    """The default of option ``name`` as the docs and ``--help`` say it."""
    if name in DEFAULT_TEXT:
        return DEFAULT_TEXT[name]
    if name not in DEFAULTS:
        kwargs = next(k for n, k, _ in OPTIONS if n == name)
        return "off" if kwargs.get("action") == "store_true" else "none"
    value = DEFAULTS[name]
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(f"`{v}`" for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def options_markdown() -> str:
    """The options table of docs/options.md, from OPTIONS alone (no pytest config): option
    with its metavar or choices, ini key with its type, default, meaning."""
    rows = ["| option | ini key | default | meaning |", "|---|---|---|---|"]
    for name, kwargs, meaning in OPTIONS:
        if "choices" in kwargs:
            value = " " + "|".join(kwargs["choices"])
        else:
            value = f" {kwargs['metavar']}" if "metavar" in kwargs else ""
        kind = {"linelist": "lines", "bool": "bool"}.get(_ini_type(kwargs))
        kind = kind or ("choice" if "choices" in kwargs else
                        getattr(kwargs.get("type"), "__name__", "string"))
        kind = {"checked_path": "string"}.get(kind, kind)
        cells = [f"`--rft-{name}{value}`", f"`{_dest(name)}` ({kind})", default_text(name), meaning]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows) + "\n"


def _dest(name: str) -> str:
    return "rft_" + name.replace("-", "_")


def option(config: pytest.Config, name: str) -> Any:
    """Command line first, then the ini key, then the default (read once, into
    ``settings.Settings``: everything else takes its values from there)."""
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
            except argparse.ArgumentTypeError as exc:  # --rft-html's check (matplotlib)
                raise pytest.UsageError(f"ini key {dest} = {raw!r}: {exc}") from None
    return DEFAULTS.get(name) if value is None else value


REGENERATE = "python tools/options_doc.py"


def options_page() -> str:
    """docs/options.md, whole (``tools/options_doc.py`` writes it)."""
    return (f"<!-- generated from OPTIONS in pytest_rft/plugin/options.py by: {REGENERATE} -->\n"
            "# Options\n\n"
            "Every option is also an ini key (`rft_model`, `rft_concurrency`, ...) usable in "
            "`[tool.pytest.ini_options]`,\n`pytest.ini` or `tox.ini`; the command line wins. "
            "`pytest --help` shows the same texts.\n\n" + options_markdown())
