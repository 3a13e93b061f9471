"""Reading dataset records (JSONL, JSON, YAML) in the shapes OpenAI tools use.

Shapes recognised per record:
  * Evals API item:       ``{"item": {...}}``
  * RFT training row:     ``{"messages": [...], ...}`` (messages = prompt; every key of the row,
                          ``messages`` included, is an item field, as OpenAI's graders see it)
  * openai/evals sample:  ``{"input": [...] | str, "ideal": ...}`` (input = prompt)
  * flat object:          the record is the item
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import RftError
from ..core.files import read_text  # noqa: F401 (the suite loader's too)


class Item:
    """One dataset record as the suite sees it. A plain slotted class rather than a frozen
    dataclass: 100,000 of them are built while pytest collects, and frozen construction costs
    twice as much. Treat it as read-only (``item_digest`` caches the record's digest on it)."""

    __slots__ = ("id", "data", "messages", "line", "critical", "_digest")

    def __init__(self, id: str, data: dict[str, Any], messages: list[dict[str, Any]] | None,
                 line: int, critical: bool = False) -> None:
        self.id = id
        self.data = data
        """What graders and templates see as ``item``."""
        self.messages = messages
        """The record's own prompt (RFT rows, openai/evals samples), if any."""
        self.line = line
        self.critical = critical
        self._digest: str | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Item) and all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__[:5])

    __hash__ = None  # type: ignore[assignment]  # data is a dict: not hashable, as before

    def __repr__(self) -> str:
        return f"Item(id={self.id!r}, line={self.line}, critical={self.critical})"


def load_items(path: Path) -> list[Item]:
    """All items of a dataset file, in file order; errors name ``file:line`` and the fix."""
    if not path.exists() and not path.is_symlink():
        raise RftError(f"dataset file not found: {path}",
                       fix="check the 'dataset:' path; it is relative to the suite file")
    suffix = path.suffix.lower()
    text = read_text(path)
    if suffix == ".jsonl":
        records = _jsonl_records(path, text)
    elif suffix == ".json":
        records = _json_records(path, text)
    elif suffix in (".yaml", ".yml"):
        records = _yaml_records(path, text)
    else:
        raise RftError(f"unknown dataset format {suffix!r}: {path}",
                       fix="use a .jsonl, .json, .yaml or .yml file")
    items = [to_item(record, line, path) for line, record in records]
    if len({item.id for item in items}) != len(items):
        _raise_duplicate(path, items)
    return items


def _raise_duplicate(path: Path, items: list[Item]) -> None:
    first: dict[str, int] = {}
    for item in items:
        if item.id in first:
            raise RftError(f"duplicate item id {item.id!r} (first at line {first[item.id]})",
                           where=f"{path}:{item.line}", fix="give every record a unique 'id'")
        first[item.id] = item.line


MAX_YAML_NODES = 1_000_000
"""A YAML document whose aliases expand past this many nodes is refused (an "alias bomb")."""


def _flag(value: Any, path: Path | str, line: int) -> bool:
    if value is not True and value is not False:
        raise RftError(f"'critical' must be true or false, not {json.dumps(value)[:40]}",
                       where=f"{path}:{line}",
                       fix='write "critical": true (a JSON boolean, no quotes)')
    return value


def to_item(record: Any, line: int, path: Path | str) -> Item:
    """The item a record describes; errors name ``path:line`` (built only on error: this runs
    once per record, 100,000 times for a big dataset)."""
    if not isinstance(record, dict):
        raise RftError(f"a record must be a JSON object, not {type(record).__name__}",
                       where=f"{path}:{line}",
                       fix='write one object per record, e.g. {"id": "a1", "text": "..."}')
    critical = record.get("critical", False)
    if critical is not False:
        critical = _flag(critical, path, line)
    messages: list[dict[str, Any]] | None = None
    inner = record.get("item")
    if isinstance(inner, dict):
        data = inner  # the parsed record's own dicts, not copies: items are read-only
        critical = critical or _flag(data.get("critical", False), path, line)
    elif "messages" in record:
        messages = _messages(record["messages"], f"{path}:{line}", "messages")
        data = record  # every key of the row, messages included (OpenAI's item)
    elif "input" in record and ("ideal" in record or isinstance(record["input"], list)):
        messages = _messages(record["input"], f"{path}:{line}", "input")
        data = {k: v for k, v in record.items() if k != "input"}
    else:
        data = record
    raw_id = record.get("id", data.get("id"))
    item_id = raw_id if type(raw_id) is str else str(raw_id) if raw_id is not None else f"line-{line}"
    if "::" in item_id or not item_id.strip():
        raise RftError(f"item id {item_id!r} cannot be used as a test name",
                       where=f"{path}:{line}", fix="use ids without '::' and not blank")
    return Item(item_id, data, messages, line, critical)


def _messages(value: Any, where: str, key: str) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list) or not all(_is_message(m) for m in value):
        raise RftError(f"'{key}' must be a list of {{role, content}} messages (an assistant "
                       "message may carry 'tool_calls' instead of content; a 'tool' message "
                       "needs 'tool_call_id')", where=where,
                       fix=f'write "{key}": [{{"role": "user", "content": "..."}}]')
    return value


def _is_message(m: Any) -> bool:
    """A chat message: ``{role, content}``; an assistant's turn may carry ``tool_calls``
    (content then optional), a tool's result ``tool_call_id``."""
    if not isinstance(m, dict) or "role" not in m:
        return False
    if m["role"] == "tool":
        return "tool_call_id" in m and "content" in m
    return "content" in m or (m["role"] == "assistant" and bool(m.get("tool_calls")))


def conversation(value: Any, where: str) -> list[dict[str, Any]]:
    """A list of chat messages found in an item (``input: [{messages: item.x}]``)."""
    return _messages(value, where, "messages")


_scan = json.JSONDecoder().scan_once
"""json's C scanner: one value from a line, without ``json.loads``'s per-call checks (twice as
fast over 100,000 lines); ``json.loads`` reads the lines it refuses, for its error message."""
_JSON_SPACE = " \t\r\n"


def _jsonl_records(path: Path, text: str) -> list[tuple[int, Any]]:
    records = []
    # lines end at "\n" only: U+2028, U+2029 and U+0085 are valid inside JSON strings
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip(_JSON_SPACE)
        if not line or line.isspace():  # blank (any whitespace) lines are skipped
            continue
        try:
            value, end = _scan(line, 0)
            if end != len(line):
                raise ValueError("extra data")
        except (StopIteration, ValueError):
            value = _json_line(path, number, raw)
        except RecursionError:
            raise _too_deep(f"{path}:{number}") from None
        if "\\u" in line and _SUSPECT.search(line) \
                or line.count("[") + line.count("{") > MAX_NESTING:
            value = plain_record(value, f"{path}:{number}")
        records.append((number, value))
    return records


MAX_NESTING = 100
"""Records nested deeper are refused: encoding them later (digests, reports, the worker pipe)
would hit Python's recursion limit."""
_SUSPECT = re.compile(r"\\u[dD][89a-fA-F]")
"""A JSON escape of a surrogate (a pair is fine, a lone one is not text)."""


def plain_record(value: Any, where: str, depth: int = 0) -> Any:
    """``value`` as a record can hold it: string keys (YAML's ``1:`` or ``null:`` keys become
    "1" and "null", as JSON writes them), no lone surrogates, at most MAX_NESTING levels deep;
    an RftError naming ``where`` otherwise."""
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise RftError(f"a string holds a lone surrogate ({ascii(value[exc.start])}), "
                               "which is not text", where=where,
                               fix="write the character itself, or a valid surrogate pair") from None
        return value
    if depth >= MAX_NESTING and isinstance(value, (dict, list)):
        raise _too_deep(where)
    if isinstance(value, dict):
        return {_key(k, where, depth): plain_record(v, where, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_record(v, where, depth + 1) for v in value]
    return value


def _key(key: Any, where: str, depth: int) -> str:
    if isinstance(key, str):
        return plain_record(key, where, depth)
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)
    raise RftError(f"a key of type {type(key).__name__} ({str(key)[:40]!r})", where=where,
                   fix="use text (or numbers) as keys")


def _json_line(path: Path, number: int, raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RftError(f"invalid JSON: {exc.msg} (column {exc.colno})", where=f"{path}:{number}",
                       fix="each line of a .jsonl file must be one complete JSON object") from None
    except RecursionError:
        raise _too_deep(f"{path}:{number}") from None


def _too_deep(where: str) -> RftError:
    return RftError("nested too deeply to read", where=where,
                    fix="flatten the record: a few levels of nesting are plenty")


def _json_records(path: Path, text: str) -> list[tuple[int, Any]]:
    """A JSON array of records (or ``{"items": [...]}``), keeping each element's line."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RftError(f"invalid JSON: {exc.msg} (column {exc.colno})", where=f"{path}:{exc.lineno}",
                       fix="fix the JSON syntax at that line") from None
    except RecursionError:
        raise _too_deep(str(path)) from None
    start = text.index("[") if isinstance(document, list) else 0
    if isinstance(document, dict) and isinstance(document.get("items"), list):
        document, start = document["items"], _top_level_value(text, "items")
    if not isinstance(document, list):
        raise RftError("a .json dataset must be an array of records (or {\"items\": [...]})",
                       where=str(path), fix="wrap the records in [ ... ]")
    records = list(zip(_array_element_lines(text, start), document))
    if _SUSPECT.search(text) or text.count("[") + text.count("{") > MAX_NESTING:
        records = [(line, plain_record(record, f"{path}:{line}")) for line, record in records]
    return records


def _top_level_value(text: str, key: str) -> int:
    """Offset of the value of ``key`` in the top-level object (not a same-named nested key)."""
    decoder = json.JSONDecoder()
    position = text.index("{") + 1
    while True:
        while text[position] in " \t\r\n,":
            position += 1
        name, position = decoder.raw_decode(text, position)
        while text[position] in " \t\r\n:":
            position += 1
        if name == key:
            return position
        _, position = decoder.raw_decode(text, position)


def _array_element_lines(text: str, start: int) -> list[int]:
    """Line of each element of the array opening at ``start``, decoding element by element."""
    decoder = json.JSONDecoder()
    lines, position, line = [], start + 1, text.count("\n", 0, start) + 1
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            if text[position] == "\n":
                line += 1
            position += 1
        if position >= len(text) or text[position] == "]":
            return lines
        lines.append(line)
        _, end = decoder.raw_decode(text, position)
        line += text.count("\n", position, end)
        position = end


def parse_yaml(path: Path, text: str) -> tuple[yaml.Node | None, Any]:
    """The YAML document and its node tree (for line numbers); a syntax error names the line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        _check_expansion(node, path)
        return node, yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise RftError(f"invalid YAML: {getattr(exc, 'problem', None) or exc}", where=where,
                       fix="fix the YAML syntax at that line (indentation, quotes, colons)") from None
    except RecursionError:
        raise _too_deep(str(path)) from None


def _check_expansion(root: yaml.Node | None, path: Path) -> None:
    """Refuse documents whose aliases expand to more than MAX_YAML_NODES nodes (a few lines of
    nested aliases can stand for billions)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key not in sizes:
            sizes[key] = 0  # a cycle counts once
            children = node.value if isinstance(node, yaml.SequenceNode) else \
                [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else []
            sizes[key] = min(1 + sum(size(child) for child in children), MAX_YAML_NODES + 1)
        return sizes[key]

    if root is not None and size(root) > MAX_YAML_NODES:
        raise RftError(f"YAML aliases expand to more than {MAX_YAML_NODES:,} nodes",
                       where=str(path), fix="write the data out instead of nesting aliases")


def _yaml_records(path: Path, text: str) -> list[tuple[int, Any]]:
    node, document = parse_yaml(path, text)
    if isinstance(document, dict) and isinstance(document.get("items"), list):
        document = document["items"]
        node = next(v for k, v in node.value if k.value == "items")
    if not isinstance(document, list):
        raise RftError("a YAML dataset must be a list of records (or items: [...])",
                       where=str(path), fix="write each record as a '- ' list entry")
    return [(child.start_mark.line + 1, plain_record(record, f"{path}:{child.start_mark.line + 1}"))
            for child, record in zip(node.value, document)]
