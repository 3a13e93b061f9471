"""Shared pieces of the importers: deterministic files, migration notes, names, messages."""

from __future__ import annotations

import datetime
import json
import math
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import RftError
from ..core.secrets import without_surrogates

ROLES = ("system", "developer", "user", "assistant")
EFFORTS = ("minimal", "low", "medium", "high")
_UUID_SUFFIX = re.compile(r"-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


@dataclass
class Note:
    """One thing that did not move as is: what, why, and the fix."""

    title: str
    detail: str
    fix: str


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
            # a lone surrogate from the platform is not text (a suite refuses it): U+FFFD
            path.write_bytes(without_surrogates(text).encode("utf-8"))
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
        lines = [f"# {title}", "", *intro, "", "## Files", ""]
        lines += [f"- `{name}`" for name in sorted(self.written)]
        lines += ["", "## Run it", "", "From this folder:", "", "```bash", *run_it, "```", ""]
        lines += self.sections
        lines += [f"## What did not move ({len(self.notes)})", ""]
        if not self.notes:
            lines += ["Nothing: everything moved.", ""]
        for i, n in enumerate(self.notes, start=1):
            lines += [f"{i}. **{n.title}**: {n.detail}", f"   - fix: {n.fix}", ""]
        return self.write_text("MIGRATION.md", "\n".join(lines).rstrip("\n") + "\n")


def as_text(value: Any) -> Any:
    """``value`` with each lone surrogate from the platform replaced by U+FFFD (not text: a suite
    refuses it, and JSON or YAML would write it as an escape)."""
    if isinstance(value, str):
        return without_surrogates(value)
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


def load_written(path: Path, out: Output) -> tuple[Any, str]:
    """Load the suite just written, running none of its code (python graders are compiled,
    not run); when it does not load, say so in the notes."""
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
    out.note("The suite does not load yet", message,
             f"{fix}; until then, pytest reports this as a collection error and the baseline "
             "has no digests")
    return None, message


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def one_line(value: Any, limit: int = 300) -> str:
    """Platform text made safe for one line of a comment, a note, a name or the terminal:
    control characters (newlines, escape sequences) become spaces, lone surrogates U+FFFD, and
    it is cut at ``limit``."""
    text = _CONTROL.sub(" ", value if isinstance(value, str) else str(value))
    text = _SURROGATE.sub("\ufffd", text)  # a lone surrogate cannot be written as UTF-8
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def strip_uuid(name: str) -> str:
    """``"Exact match-2eaf2d8d-d649-4335-8148-9535a7ca73c2"`` -> ``"Exact match"``."""
    return _UUID_SUFFIX.sub("", name)


def slug(text: str, default: str = "suite") -> str:
    """A file- and test-id-friendly name: lowercase letters, digits, ``-`` and ``_``."""
    value = re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-_")
    return value[:60].rstrip("-_") or default


def unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    taken.add(candidate)
    return candidate


def iso_utc(timestamp: Any) -> str:
    """A platform Unix timestamp as ISO-8601 UTC ('' when absent or not a usable number)."""
    value = number(timestamp)
    if value is None:
        return ""
    try:
        return datetime.datetime.fromtimestamp(int(value), datetime.timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        return ""


# -- reading platform answers whose types are not guaranteed ----------------------------------
def obj(parent: Any, key: str, where: str) -> dict[str, Any]:
    """``parent[key]`` as an object: {} when absent or null, one RftError for another type."""
    value = parent.get(key) if isinstance(parent, dict) else None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RftError(f"{where}: '{key}' is {kind(value)}, not an object",
                       fix="check --base-url / the saved files: the platform answered "
                           "something else")
    return value


def arr(parent: Any, key: str, where: str) -> list[Any]:
    """``parent[key]`` as an array: [] when absent or null, one RftError for another type."""
    value = parent.get(key) if isinstance(parent, dict) else None
    if value is None:
        return []
    if not isinstance(value, list):
        raise RftError(f"{where}: '{key}' is {kind(value)}, not an array",
                       fix="check --base-url / the saved files: the platform answered "
                           "something else")
    return value


def text(value: Any) -> str:
    """A string field ('' when absent or not a string)."""
    return value if isinstance(value, str) else ""


def number(value: Any) -> float | None:
    """A finite number (bools are not numbers here), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value) if math.isfinite(value) else None
    except OverflowError:  # an int too large for a float
        return None


def count(value: Any) -> int | None:
    """A non-negative whole number (``3`` or ``3.0``), else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    found = number(value)
    return int(found) if found is not None and found >= 0 and found == int(found) else None


def kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RftError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", where=where,
                       fix="the platform file is damaged or not a JSONL file: download it "
                           "again") from None


def parse_jsonl(data: bytes, where: str) -> list[Any]:
    """The records of a JSONL file (blank lines skipped); a broken line is one RftError."""
    rows = []
    for number_, line in enumerate(decode(data, where).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError as exc:
            raise RftError(f"invalid JSON on line {number_}: {str(exc)[:200]}", where=where,
                           fix="the platform file is damaged: download it again") from None
        except RecursionError:
            raise RftError(f"line {number_} is nested too deeply to read", where=where,
                           fix="the platform file is damaged: download it again") from None
    return rows


TEXT_PARTS = ("input_text", "output_text", "text")


def convert_messages(messages: Any, out: Output, where: str) -> list[dict[str, str]]:
    """OpenAI input messages (``{role, content}`` or EvalItem ``{type: message, role, content:
    {type: input_text, text}}``, content parts lists) -> ``{role, content: str}``.

    Parts pytest-rft cannot send (images, audio, files) are left out and noted.
    """
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if not isinstance(messages, list):
        out.note(f"{where}: not a message list", f"got {kind(messages)}",
                 "write the prompt as 'input:' in the suite")
        return []
    converted = []
    for message in messages:
        role = message.get("role") if isinstance(message, dict) else None
        if not isinstance(role, str) or role not in ROLES:
            shown = json.dumps(role)[:40] if isinstance(role, str) else kind(message)
            out.note(f"{where}: a message ({shown}) left out",
                     "pytest-rft sends system, developer, user and assistant messages",
                     "rewrite that message in the suite's 'input:' with one of those roles")
            continue
        content, dropped = content_text(message.get("content"))
        for part in dropped:
            out.note(f"{where}: {part} input left out",
                     f"a {role} message has a {part} part; pytest-rft sends text only",
                     "put the needed information in the item as text, or keep this case on a "
                     "harness that sends images/audio")
        if content or not dropped:
            converted.append({"role": role, "content": content})
    return converted


def content_text(content: Any) -> tuple[str, list[str]]:
    """Text of a message content (string, one part, or a list of parts), and the kinds of the
    parts that are not text."""
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, []
    parts = content if isinstance(content, list) else [content]
    texts, dropped = [], []
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and part.get("type") in TEXT_PARTS \
                and isinstance(part.get("text", ""), str):
            texts.append(part.get("text", ""))
        else:
            part_kind = part.get("type") if isinstance(part, dict) else None
            dropped.append(one_line(part_kind, 40).removeprefix("input_")
                           if isinstance(part_kind, str) and part_kind else kind(part))
    return "\n".join(texts), dropped


def map_response_format(value: Any, out: Output, where: str) -> dict[str, Any] | None:
    """A chat ``response_format`` or responses ``text.format`` -> the suite's inline
    ``{name, schema, strict}`` (None for plain text)."""
    if value is None or (isinstance(value, dict) and value.get("type") in (None, "text")):
        return None
    if isinstance(value, dict) and value.get("type") == "json_schema":
        spec = value.get("json_schema", value)
        if isinstance(spec, dict) and isinstance(spec.get("schema"), dict):
            name = spec.get("name")
            return {"name": name if isinstance(name, str) and name else "output",
                    "schema": spec["schema"], "strict": spec.get("strict") is True}
    shown = one_line(value.get("type"), 40) if isinstance(value, dict) else kind(value)
    out.note(f"{where}: response format {shown!r}",
             "pytest-rft asks for JSON with a JSON schema (structured outputs); JSON mode without "
             "a schema has no equivalent", "add 'response_format:' with a JSON schema to the suite")
    return None


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
