"""The ``pytest-rft`` console command: ``history``, ``import`` and ``validate-grader``.

Each subcommand lives in its own module, which adds its arguments with ``add_arguments(parser)``
and does its work in ``run(args) -> int``; this module only dispatches.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..core.errors import RftError
from ..core.secrets import ScrubbingStream

SUBCOMMANDS = {
    # name: (module, one-line help)
    "history": ("pytest_rft.cli.history", "metric-over-runs tables and a chart from --rft-history files"),
    "import": ("pytest_rft.importer", "turn an OpenAI eval or RFT job into a pytest-rft suite"),
    "validate-grader": ("pytest_rft.cli.validate_grader",
                        "check OpenAI grader JSON files as a suite would load them"),
}


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand with its stdout and stderr scrubbed of secrets (``secrets.py``): every
    line any subcommand prints, its errors included, goes through the one scrubber."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = ScrubbingStream(out), ScrubbingStream(err)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = out, err


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="pytest-rft", description="pytest-rft tools")
    commands = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        modules[name] = module
        module.add_arguments(commands.add_parser(name, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    try:
        return int(modules[args.command].run(args) or 0)
    except RftError as exc:
        from ..core.secrets import scrub

        print(f"pytest-rft {args.command}: {scrub(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"pytest-rft {args.command}: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a file the command reads or writes, refused by the OS: one line
        from ..core.files import write_problem

        where = f" ({exc.filename})" if exc.filename else ""
        print(f"pytest-rft {args.command}: {write_problem(exc)}{where}; fix: check the paths "
              "given", file=sys.stderr)
        return 2
    except (RecursionError, MemoryError) as exc:
        print(f"pytest-rft {args.command}: the input is too deep or too large "
              f"({type(exc).__name__})", file=sys.stderr)
        return 2
    except Exception as exc:  # no traceback ever: one line to report
        print(f"pytest-rft {args.command}: internal error ({type(exc).__name__}: "
              f"{str(exc)[:300]}); fix: please report it with the command line", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
