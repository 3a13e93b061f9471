"""``pytest-rft import``: OpenAI hosted evals and RFT jobs -> pytest-rft suites.

    pytest-rft import eval EVAL_ID --out DIR [--run RUN_ID] [--from DIR] [--base-url URL]
    pytest-rft import rft-job ftjob-ID --out DIR [--from DIR] [--base-url URL]
    (both: [--force] [--timeout SECONDS])

Objects come from the API (``OPENAI_API_KEY``; ``--base-url`` / ``OPENAI_BASE_URL``) or, with
``--from``, from files saved from it (layout in :mod:`pytest_rft.importer.source`).

Importing never runs imported code: python graders are compiled and read, not executed (they
run, isolated, when the suite runs), and no imported name is resolved as a Python object.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from ..core.errors import RftError
from ..core.secrets import scrub
from .output import BACKUP, Output
from .evals import import_eval
from .rft_job import import_rft_job
from .source import ApiSource, SavedSource, Source

__all__ = ["add_arguments", "run", "import_eval", "import_rft_job", "ApiSource", "SavedSource"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="{eval,rft-job}")
    evals = kinds.add_parser("eval", help="an eval and one of its runs -> suite + baseline",
                             description="Import an OpenAI eval: its testing criteria, a run's "
                                         "data, prompt, model and sampling, and the run's scores "
                                         "as the baseline.")
    evals.add_argument("eval_id", metavar="EVAL_ID")
    evals.add_argument("--run", dest="run_id", metavar="RUN_ID",
                       help="the run to import (default: the latest completed run)")
    job = kinds.add_parser("rft-job", help="an RFT job -> suite comparing its checkpoints",
                           description="Import a reinforcement fine-tuning job: its grader, "
                                       "validation data, base model, fine-tuned model and "
                                       "checkpoints.")
    job.add_argument("job_id", metavar="ftjob-ID")
    for sub in (evals, job):
        sub.add_argument("--out", required=True, type=Path, metavar="DIR",
                         help="folder to write the suite into (created if missing)")
        sub.add_argument("--from", dest="saved", type=Path, metavar="DIR",
                         help="read saved API answers from DIR instead of calling the API")
        sub.add_argument("--base-url", metavar="URL",
                         help="API base URL (default: $OPENAI_BASE_URL, else OpenAI's)")
        sub.add_argument("--force", action="store_true",
                         help="write into a non-empty --out (a file that changes is backed up "
                              f"to --out/{BACKUP}/<n>/ first)")
        sub.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                         help="give up on the platform after this long, in all "
                              f"(default {DEFAULT_TIMEOUT:g})")


DEFAULT_TIMEOUT = 900.0
"""Seconds a whole import may spend on the platform (a big eval reads thousands of pages)."""
PROGRESS_EVERY = 2.0
"""Seconds between progress lines on stderr."""


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


class _Progress:
    """Lines like ``GET /evals/x/runs/y/output_items: 300 object(s), page 3`` on stderr, at most
    one every PROGRESS_EVERY seconds."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def __call__(self, line: str) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY:
            self.last = now
            print(f"pytest-rft import: {scrub(line)}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    out_dir: Path = args.out
    _check_out(out_dir, args.force)
    deadline = time.monotonic() + args.timeout
    source: Source = (SavedSource(args.saved) if args.saved else
                      ApiSource(base_url=args.base_url, deadline=deadline, progress=_Progress()))
    stage = _stage(out_dir)
    try:
        if args.kind == "eval":
            out = import_eval(source, args.eval_id, out_dir, run_id=args.run_id, stage=stage)
        else:
            out = import_rft_job(source, args.job_id, out_dir, stage=stage)
        out.commit()
    except RftError:
        raise
    except (RecursionError, MemoryError) as exc:
        raise RftError(f"the platform's answer is too deep or too large to import "
                       f"({type(exc).__name__})",
                       fix="check --base-url / the saved files; report it if they are genuine"
                       ) from None
    except Exception as exc:  # a platform answer no check foresaw: one line, not a traceback
        raise RftError(f"the platform's answer has a shape this importer does not understand "
                       f"({type(exc).__name__}: {scrub(str(exc))[:200]})",
                       fix="check --base-url / the saved files; please report this with the "
                           "answer (without secrets)") from None
    finally:
        source.close()
        import shutil

        shutil.rmtree(stage, ignore_errors=True)
    _report(out)
    return 0


def _check_out(folder: Path, force: bool) -> None:
    """``--out`` must be a new or empty folder, unless ``--force``."""
    if os.path.lexists(folder) and not folder.is_dir():
        raise RftError("--out is a file, not a folder", where=str(folder),
                       fix="name a new folder for the suite")
    if folder.is_dir() and not force:
        try:
            entries = sorted(p.name for p in folder.iterdir())
        except OSError as exc:
            raise RftError(f"cannot read --out: {exc.strerror or exc}", where=str(folder)) from None
        if entries:
            shown = ", ".join(entries[:5]) + (" ..." if len(entries) > 5 else "")
            raise RftError(f"--out is not empty ({shown})", where=str(folder),
                           fix="import into a new folder, or pass --force to write into this one "
                               f"(a file that changes is first moved to {BACKUP}/<n>/)")


def _stage(folder: Path) -> Path:
    """A fresh folder beside ``folder`` for the files until the import succeeded."""
    parent = folder.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{folder.name}.import-", dir=parent))
    except OSError as exc:
        raise RftError(f"cannot create a folder next to --out: {exc.strerror or exc}",
                       where=str(parent), fix="choose an --out in a writable folder") from None


def _report(out: Output) -> None:
    for warning in out.warnings:
        print(f"warning: {scrub(warning)}", file=sys.stderr)
    print(f"wrote {len(out.written)} files to {out.folder}")
    if out.backed_up:
        print(f"{len(out.backed_up)} file(s) in --out differed and were moved to {out.backup} "
              "first: " + ", ".join(out.backed_up[:5]) + (" ..." if len(out.backed_up) > 5
                                                          else ""))
    if out.notes:
        print(f"{len(out.notes)} thing(s) did not move as is; see {out.folder / 'MIGRATION.md'}:")
        for note in out.notes:
            print(f"  - {scrub(note.title)}")
    else:
        print("everything moved; see MIGRATION.md")
