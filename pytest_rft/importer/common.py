"""Shared pieces of the importers: deterministic files, migration notes, names, messages."""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import RftError

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
    """The files of one import, written in a fixed order; plus the migration notes."""

    folder: Path
    written: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """Printed on stderr by the command (also in the notes)."""

    def note(self, title: str, detail: str, fix: str) -> None:
        if not any(n.title == title and n.detail == detail for n in self.notes):
            self.notes.append(Note(title, detail, fix))

    def write_text(self, relative: str, text: str) -> Path:
        path = self.folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        if relative not in self.written:
            self.written.append(relative)
        return path

    def write_json(self, relative: str, value: Any) -> Path:
        return self.write_text(relative, json.dumps(value, indent=2, ensure_ascii=False) + "\n")

    def write_jsonl(self, relative: str, rows: list[Any]) -> Path:
        return self.write_text(relative, "".join(json.dumps(r, ensure_ascii=False) + "\n"
                                                 for r in rows))

    def write_yaml(self, relative: str, value: dict[str, Any], header: str = "") -> Path:
        body = yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=100,
                              default_flow_style=False)
        return self.write_text(relative, header + body)

    def migration(self, title: str, intro: list[str], run_it: list[str]) -> Path:
        """``MIGRATION.md``: what was written, how to run it, and what did not move."""
        lines = [f"# {title}", "", *intro, "", "## Files", ""]
        lines += [f"- `{name}`" for name in sorted(self.written)]
        lines += ["", "## Run it", "", "From this folder:", "", "```bash", *run_it, "```", ""]
        lines += [f"## What did not move ({len(self.notes)})", ""]
        if not self.notes:
            lines += ["Nothing: everything moved.", ""]
        for i, n in enumerate(self.notes, start=1):
            lines += [f"{i}. **{n.title}**: {n.detail}", f"   - fix: {n.fix}", ""]
        return self.write_text("MIGRATION.md", "\n".join(lines).rstrip("\n") + "\n")


def load_written(path: Path, out: Output) -> tuple[Any, str]:
    """Load the suite just written; when it does not load, say so in the notes."""
    from ..suite import load_suite

    path = path.resolve()
    try:
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
    """A platform Unix timestamp as ISO-8601 UTC ('' when absent)."""
    if not isinstance(timestamp, (int, float)) or isinstance(timestamp, bool):
        return ""
    return datetime.datetime.fromtimestamp(int(timestamp), datetime.timezone.utc).isoformat()


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
    for number, line in enumerate(decode(data, where).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError as exc:
            raise RftError(f"invalid JSON on line {number}: {exc}", where=where,
                           fix="the platform file is damaged: download it again") from None
    return rows


def convert_messages(messages: Any, out: Output, where: str) -> list[dict[str, str]]:
    """OpenAI input messages (``{role, content}`` or EvalItem ``{type: message, role, content:
    {type: input_text, text}}``, content parts lists) -> ``{role, content: str}``.

    Parts pytest-rft cannot send (images, audio, files) are left out and noted.
    """
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if not isinstance(messages, list):
        out.note(f"{where}: not a message list", f"got {type(messages).__name__}",
                 "write the prompt as 'input:' in the suite")
        return []
    converted = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role not in ROLES:
            out.note(f"{where}: message role {role!r} left out",
                     "pytest-rft sends system, developer, user and assistant messages",
                     "rewrite that message in the suite's 'input:' with one of those roles")
            continue
        text, dropped = content_text(message.get("content"))
        for kind in dropped:
            out.note(f"{where}: {kind} input left out",
                     f"a {role} message has a {kind} part; pytest-rft sends text only",
                     "put the needed information in the item as text, or keep this case on a "
                     "harness that sends images/audio")
        if text or not dropped:
            converted.append({"role": role, "content": text})
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
        elif isinstance(part, dict) and part.get("type") in ("input_text", "output_text", "text"):
            texts.append(str(part.get("text", "")))
        else:
            kind = part.get("type", "unknown") if isinstance(part, dict) else type(part).__name__
            dropped.append(str(kind).removeprefix("input_"))
    return "\n".join(texts), dropped


def map_response_format(value: Any, out: Output, where: str) -> dict[str, Any] | None:
    """A chat ``response_format`` or responses ``text.format`` -> the suite's inline
    ``{name, schema, strict}`` (None for plain text)."""
    if not isinstance(value, dict) or value.get("type") in (None, "text"):
        return None
    if value.get("type") == "json_schema":
        spec = value.get("json_schema", value)
        if isinstance(spec, dict) and isinstance(spec.get("schema"), dict):
            return {"name": spec.get("name", "output"), "schema": spec["schema"],
                    "strict": bool(spec.get("strict", False))}
    out.note(f"{where}: response format {value.get('type')!r}",
             "pytest-rft asks for JSON with a JSON schema (structured outputs); JSON mode without "
             "a schema has no equivalent", "add 'response_format:' with a JSON schema to the suite")
    return None


def map_sampling(params: Any, out: Output, where: str
                 ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """OpenAI ``sampling_params`` -> the suite's ``sampling`` and ``response_format``."""
    sampling: dict[str, Any] = {}
    response_format = None
    if not isinstance(params, dict):
        return sampling, None
    for key, value in params.items():
        if value is None:
            continue
        if key in ("temperature", "top_p"):
            sampling[key] = value
        elif key == "seed":
            sampling["seed"] = int(value)
        elif key in ("max_completion_tokens", "max_output_tokens"):
            sampling["max_output_tokens"] = int(value)
        elif key == "reasoning_effort":
            if value in EFFORTS:
                sampling["reasoning_effort"] = value
            else:
                out.note(f"{where}: reasoning_effort {value!r}",
                         f"pytest-rft sends one of {', '.join(EFFORTS)}",
                         "set sampling.reasoning_effort to the closest of those")
        elif key == "response_format":
            response_format = map_response_format(value, out, where)
        elif key == "text":
            response_format = map_response_format((value or {}).get("format"), out, where)
        elif key == "tools":
            if value:
                out.note(f"{where}: tools", f"{len(value)} tool definition(s) were sent on the "
                         "platform; pytest-rft does not send tools yet",
                         "describe the tool output in the prompt or response_format, or wrap the "
                         "model in a Python model (@pytest_rft.model) that calls them")
        else:
            out.note(f"{where}: sampling parameter {key!r}", f"value {json.dumps(value)[:80]}",
                     "pytest-rft has no such sampling option; leave it out or set it in a "
                     "Python model")
    return dict(sorted(sampling.items())), response_format
