"""``MIGRATION.md``: what an import wrote, how to run it, and what did not move (each note with
its fix)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Note:
    """One thing that did not move as is: what, why, and the fix."""

    title: str
    detail: str
    fix: str



def migration_text(title: str, intro: list[str], run_it: list[str], written: list[str],
                   sections: list[str], notes: list[Note]) -> str:
    """The page: ``intro``, the files ``written``, the commands ``run_it``, the extra
    ``sections`` lines, then the ``notes``."""
    lines = [f"# {title}", "", *intro, "", "## Files", ""]
    lines += [f"- `{name}`" for name in sorted(written)]
    lines += ["", "## Run it", "", "From this folder:", "", "```bash", *run_it, "```", ""]
    lines += sections
    lines += [f"## What did not move ({len(notes)})", ""]
    if not notes:
        lines += ["Nothing: everything moved.", ""]
    for i, n in enumerate(notes, start=1):
        lines += [f"{i}. **{n.title}**: {n.detail}", f"   - fix: {n.fix}", ""]
    return "\n".join(lines).rstrip("\n") + "\n"
