"""The files of one import: written to a staging folder in a fixed order, moved into ``--out``
only when the whole import succeeded (a file there that would change is backed up first), and
the migration notes collected on the way."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import RftError
from ..core.secrets import scrub
from .migration import Note, migration_text
from .platform_data import one_line


@dataclass
class Output:
    """The files of one import, in a fixed order, plus the migration notes.

    Files are written to ``stage`` (a fresh folder beside ``folder``) and moved into ``folder``
    by :meth:`commit` only when the whole import succeeded: a failed import leaves ``folder``
    as it was, and a file of ``folder`` that would change is backed up first.
    """

    folder: Path
    stage: Path | None = None
    """Where files are written until :meth:`commit` (``folder`` itself when None)."""
    written: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """Printed on stderr by the command (also in the notes)."""
    backed_up: list[str] = field(default_factory=list)
    backup: Path | None = None
    sections: list[str] = field(default_factory=list)
    """Extra MIGRATION.md lines (a section of its own), before what did not move."""

    @property
    def root(self) -> Path:
        return self.stage if self.stage is not None else self.folder

    def note(self, title: str, detail: str, fix: str) -> None:
        title, detail, fix = one_line(title), one_line(detail, 2000), one_line(fix, 2000)
        if not any(n.title == title and n.detail == detail for n in self.notes):
            self.notes.append(Note(title, detail, fix))

    def write_text(self, relative: str, text: str) -> Path:
        path = self.root / relative
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # no secret is written, whatever the platform answered (its files copied as they
            # are included); a lone surrogate is not text (a suite refuses it): U+FFFD
            path.write_bytes(scrub(text).encode("utf-8"))
        except OSError as exc:
            raise RftError(f"cannot write {relative}: {exc.strerror or exc}",
                           where=str(self.folder)) from None
        if relative not in self.written:
            self.written.append(relative)
        return path

    def commit(self) -> None:
        """Move the staged files into ``folder``; a file there that differs is first copied to
        ``folder/.pytest-rft-backup/<n>/`` (nothing of the user's is lost)."""
        if self.stage is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            changed = []
            for relative in self.written:
                target = self.folder / relative
                if target.is_dir() and not target.is_symlink():
                    raise RftError(f"{relative} is a folder in --out; the import writes a file "
                                   "there", where=str(self.folder),
                                   fix="move that folder away, or import into another --out")
                if os.path.lexists(target):
                    same = target.is_file() and not target.is_symlink() and \
                        target.read_bytes() == (self.stage / relative).read_bytes()
                    if not same:
                        changed.append(relative)
            if changed:
                self.backup = _next_backup(self.folder)
                for relative in changed:
                    copy = self.backup / relative
                    copy.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(self.folder / relative, copy)  # kept whole, with its metadata
                self.backed_up = changed
            for relative in self.written:
                target = self.folder / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.stage / relative, target)
        except OSError as exc:
            raise RftError(f"cannot write into --out: {exc.strerror or exc}"
                           + (f" ({exc.filename})" if exc.filename else ""),
                           where=str(self.folder),
                           fix="check the folder's permissions and free space; files already "
                               "there were moved to " + str(self.backup) if self.backup else
                               "check the folder's permissions and free space") from None
        finally:
            shutil.rmtree(self.stage, ignore_errors=True)

    def write_json(self, relative: str, value: Any) -> Path:
        return self.write_text(relative, json.dumps(as_text(value), indent=2, ensure_ascii=False)
                               + "\n")

    def write_jsonl(self, relative: str, rows: list[Any]) -> Path:
        return self.write_text(relative, "".join(json.dumps(as_text(r), ensure_ascii=False) + "\n"
                                                 for r in rows))

    def write_yaml(self, relative: str, value: dict[str, Any], header: str = "",
                   comments: dict[str, list[str]] | None = None) -> Path:
        """``value`` as YAML after ``header``; ``comments[key]`` lines follow that key's value."""
        body = ""
        for key, item in value.items():
            body += yaml.safe_dump(as_text({key: item}), sort_keys=False, allow_unicode=True, width=100,
                                   default_flow_style=False)
            body += "".join(f"# {one_line(line, 400)}\n" for line in (comments or {}).get(key, []))
        return self.write_text(relative, header + body)

    def migration(self, title: str, intro: list[str], run_it: list[str]) -> Path:
        """``MIGRATION.md``: what was written, how to run it, and what did not move."""
        return self.write_text("MIGRATION.md", migration_text(title, intro, run_it, self.written,
                                                              self.sections, self.notes))


def as_text(value: Any) -> Any:
    """``value`` scrubbed of secrets before JSON or YAML encodes it, each lone surrogate from
    the platform replaced by U+FFFD (not text: a suite refuses it, and JSON or YAML would write
    it as an escape)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {as_text(k): as_text(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_text(v) for v in value]
    return value


BACKUP = ".pytest-rft-backup"


def _next_backup(folder: Path) -> Path:
    n = 1
    while os.path.lexists(folder / BACKUP / str(n)):
        n += 1
    return folder / BACKUP / str(n)
