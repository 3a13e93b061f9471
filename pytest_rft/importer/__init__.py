"""``pytest-rft import``: OpenAI hosted evals and RFT jobs -> pytest-rft suites.

    pytest-rft import eval EVAL_ID --out DIR [--run RUN_ID] [--from DIR] [--base-url URL]
    pytest-rft import rft-job ftjob-ID --out DIR [--from DIR] [--base-url URL]

Objects come from the API (``OPENAI_API_KEY``; ``--base-url`` / ``OPENAI_BASE_URL``) or, with
``--from``, from files saved from it (layout in :mod:`pytest_rft.importer.source`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import Output
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


def run(args: argparse.Namespace) -> int:
    source: Source = SavedSource(args.saved) if args.saved else ApiSource(base_url=args.base_url)
    try:
        if args.kind == "eval":
            out = import_eval(source, args.eval_id, args.out, run_id=args.run_id)
        else:
            out = import_rft_job(source, args.job_id, args.out)
    finally:
        source.close()
    _report(out)
    return 0


def _report(out: Output) -> None:
    for warning in out.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote {len(out.written)} files to {out.folder}")
    if out.notes:
        print(f"{len(out.notes)} thing(s) did not move as is; see {out.folder / 'MIGRATION.md'}:")
        for note in out.notes:
            print(f"  - {note.title}")
    else:
        print("everything moved; see MIGRATION.md")
