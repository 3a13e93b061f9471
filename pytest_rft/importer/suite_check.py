"""What the importers check on the suite they wrote: that it loads (running none of its code),
and which of its models OpenAI retires."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.errors import RftError
from .output import Output


def load_written(path: Path, out: Output, disabled: list[str] | None = None,
                 active: int = 1) -> tuple[Any, str]:
    """Load the suite just written, running none of its code (python graders are compiled,
    not run); when it does not load, say so in the notes. With no ``active`` grader left (all
    ``disabled``), the note names them: fixing one is what makes the suite load."""
    from ..graders.python_grader import compile_only
    from ..suite.loader import load_suite

    path = path.resolve()
    try:
        with compile_only():
            return load_suite(path), ""
    except RftError as exc:  # without this machine's folder, on one line
        def local(text: str) -> str:
            return " ".join(text.replace(str(path.parent) + "/", "").split())

        where = f"{local(exc.where)}: " if exc.where else ""
        message = where + local(exc.message)
        fix = local(exc.fix) if exc.fix else "fix what the message says"
    if not active and disabled:
        names = ", ".join(f"'{n}'" for n in disabled)
        message = f"every grader is disabled ({names}), and a suite needs one"
        fix = ("fix one as its note above says and move it back under 'graders:' in the suite "
               "(its JSON is in graders/)")
    out.note("The suite does not load yet", message,
             f"{fix}; until then, pytest reports this as a collection error and the baseline "
             "has no digests")
    return None, message


def note_retired(models: list[str], role: str, out: Output) -> None:
    """One warning and one note per retired model line (o4-mini, gpt-4o ...) among ``models``."""
    from ..backends import retired

    found: dict[tuple[str, str], list[str]] = {}
    for model in dict.fromkeys(m for m in models if m):
        hit = retired.retirement(model)
        if hit is not None:
            found.setdefault(hit, []).append(model)
    for (family, date), names in found.items():
        line = retired.warning(names[0], role) or ""
        more = f" (and {len(names) - 1} more: {', '.join(names[1:4])}" \
               f"{' ...' if len(names) > 4 else ''})" if len(names) > 1 else ""
        out.warnings.append(line + more)
        out.note(f"Retired: {family} ({date})",
                 f"{role} {', '.join(names[:4])}{' ...' if len(names) > 4 else ''}: OpenAI "
                 f"{'retired' if 'retired' in line else 'retires'} {family} and its fine-tunes "
                 f"on {date}; calls to {'it' if len(names) == 1 else 'them'} fail after that",
                 (f"--rft-judge-model {names[0]}=NEW" if role == "judge" else "--rft-model NEW")
                 + f", or 'models: {{{names[0]}: {{use: NEW}}}}' in the suite"
                 + (" (one entry per name)" if len(names) > 1 else "")
                 + "; the imported baseline stays the reference, and the comparison says the "
                   f"{'judge' if role == 'judge' else 'model'} changed")
