"""OpenAI grader templates: ``{{ item.a.b[0] }}`` / ``{{ sample.output_text }}`` substitution.

Templates are parsed once (cached) and rendered per sample. Strings render as is, any other
value as compact JSON. Nothing in a template is ever evaluated as code.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Union

from .errors import RftError

Segment = Union[str, int]

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_ROOT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)")
_SEGMENT = re.compile(
    r"""\s*(?:
        \.\s*(?P<key>[A-Za-z0-9_\-]+)          # .key
      | \[\s*(?P<index>-?\d+)\s*\]              # [0]
      | \[\s*"(?P<dq>[^"]*)"\s*\]               # ["key with spaces"]
      | \[\s*'(?P<sq>[^']*)'\s*\]               # ['key']
    )""",
    re.VERBOSE,
)


SAMPLE_KEYS = ("output_text", "output_json", "output_tools", "choices", "trajectory",
               "output_audio")
"""What the ``sample`` namespace has (OpenAI's, plus ``trajectory`` for agent loops;
``output_audio`` is never produced here, so it renders empty)."""


class TemplateError(RftError):
    """A template path that is malformed or does not resolve for a given item/sample."""


class _Path:
    """One parsed ``root.a[0].b`` path."""

    __slots__ = ("text", "segments")

    def __init__(self, text: str, segments: tuple[Segment, ...]):
        self.text = text
        self.segments = segments

    @property
    def root(self) -> str:
        return str(self.segments[0])


def _parse_path(text: str) -> _Path:
    """Parse ``root(.key|[int]|["key"])*``; raises TemplateError naming the path."""
    stripped = text.strip()
    m = _ROOT.match(text)
    if not m or not stripped:
        raise TemplateError(
            f"bad template path '{{{{{text}}}}}': expected a name like item.field",
            fix="write {{ item.<field> }} or {{ sample.output_text }}",
        )
    segments: list[Segment] = [m.group(1)]
    pos = m.end()
    while pos < len(text):
        if not text[pos:].strip():
            break
        s = _SEGMENT.match(text, pos)
        if not s:
            raise TemplateError(
                f"bad template path '{stripped}': cannot read {text[pos:].strip()!r}",
                fix="use dotted keys and [int] indexes, e.g. {{ item.a.b[0] }}",
            )
        if s.group("key") is not None:
            segments.append(s.group("key"))
        elif s.group("index") is not None:
            segments.append(int(s.group("index")))
        else:
            segments.append(s.group("dq") if s.group("dq") is not None else s.group("sq"))
        pos = s.end()
    return _Path(stripped, tuple(segments))


def _describe(segments: Sequence[Segment]) -> str:
    out = str(segments[0])
    for seg in segments[1:]:
        out += f"[{seg}]" if isinstance(seg, int) else f".{seg}"
    return out


def _walk(path: _Path, context: Mapping[str, Any]) -> Any:
    root = path.root
    if root not in context:
        raise TemplateError(
            f"template path '{path.text}': unknown name '{root}'",
            fix="templates can use " + " and ".join(f"{k}.*" for k in context),
        )
    value: Any = context[root]
    for i, seg in enumerate(path.segments[1:], start=1):
        parent = _describe(path.segments[:i])
        if isinstance(value, str):
            value = _json_inside(value)
        if isinstance(seg, int):
            if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
                if -len(value) <= seg < len(value):
                    value = value[seg]
                    continue
                raise TemplateError(
                    f"template path '{path.text}': index [{seg}] out of range "
                    f"({parent} has {len(value)} elements)"
                )
            raise TemplateError(
                f"template path '{path.text}': {parent} is {_kind(value)}, not a list"
            )
        if isinstance(value, Mapping):
            if seg in value:
                value = value[seg]
                continue
            keys = ", ".join(sorted(map(str, value))) or "none"
            raise TemplateError(
                f"template path '{path.text}': {parent} has no key '{seg}' (keys: {keys})"
            )
        raise TemplateError(
            f"template path '{path.text}': {parent} is {_kind(value)}, cannot read '.{seg}'"
        )
    return value


def _json_inside(text: str) -> Any:
    """A string holding a JSON object or array, parsed (a path can go into it: OpenAI's tool
    call ``arguments`` are a JSON string, and ``output_tools[0].function.arguments.city``
    reads a key of them); any other string as is."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except ValueError:
            pass
    return text


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"a {type(value).__name__}"


def to_text(value: Any) -> str:
    """Strings as is; anything else as compact JSON (non-ASCII kept)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


class Template:
    """A parsed template: literal text interleaved with paths."""

    __slots__ = ("source", "_parts", "paths")

    def __init__(self, source: str):
        self.source = source
        parts: list[str | _Path] = []
        pos = 0
        for m in _PLACEHOLDER.finditer(source):
            if m.start() > pos:
                parts.append(source[pos : m.start()])
            parts.append(_parse_path(m.group(1)))
            pos = m.end()
        if pos < len(source):
            parts.append(source[pos:])
        self._parts: tuple[str | _Path, ...] = tuple(parts)
        self.paths: tuple[_Path, ...] = tuple(p for p in parts if isinstance(p, _Path))

    def render(self, context: Mapping[str, Any]) -> str:
        """Substitute every path. A missing ``item`` key raises TemplateError (the suite or
        dataset is wrong); a missing or null ``sample`` path renders as "" (the model did not
        produce it: a bad output scores low, it is not a grader error)."""
        if not self.paths:
            return self.source
        return "".join(p if isinstance(p, str) else self._value(p, context) for p in self._parts)

    @staticmethod
    def _value(path: _Path, context: Mapping[str, Any]) -> str:
        if path.root != "sample" or "sample" not in context:
            return to_text(_walk(path, context))
        try:
            value = _walk(path, context)
        except TemplateError:
            return ""
        return "" if value is None else to_text(value)


@lru_cache(maxsize=2048)
def compile_template(template: str) -> Template:
    """Parse once; cached so graders can call it freely."""
    return Template(template)


def render(template: str, context: Mapping[str, Any]) -> str:
    """Render ``template`` against ``context`` (``{"item": ..., "sample": ...}``)."""
    return compile_template(template).render(context)


def resolve(path: str, context: Mapping[str, Any]) -> Any:
    """The raw value at a bare path such as ``item.a.b[0]`` (no braces)."""
    return _walk(_parse_path(path), context)


def template_paths(template: str) -> list[str]:
    """The paths used by a template, as written (stripped), in order."""
    return [p.text for p in compile_template(template).paths]


def check_template(
    template: str,
    allowed_roots: Iterable[str] = ("item", "sample"),
    item_keys: set[str] | None = None,
    *,
    where: str | None = None,
) -> None:
    """Validate a template at load time; raises RftError naming the bad path and the fix."""
    roots = tuple(allowed_roots)
    leftover = _PLACEHOLDER.sub("", template)
    if "{{" in leftover:
        snippet = leftover[leftover.index("{{"):][:40]
        raise TemplateError(f"unclosed placeholder {snippet!r}", where=where,
                            fix="close it with '}}', e.g. {{ item.text }}")
    try:
        parsed = compile_template(template)
    except TemplateError as exc:
        if where is None:
            raise
        raise TemplateError(exc.message, where=where, fix=exc.fix) from None
    for path in parsed.paths:
        root = path.root
        if root not in roots:
            close = difflib.get_close_matches(root, roots, n=1)
            hint = f"did you mean {{{{ {close[0]}{path.text[len(root):]} }}}}? " if close else ""
            raise TemplateError(
                f"template {{{{ {path.text} }}}}: unknown name '{root}'; templates can use "
                + " and ".join(f"{r}.*" for r in roots),
                where=where,
                fix=hint + f"write {{{{ {roots[0]}.<field> }}}}",
            )
        if root == "sample" and len(path.segments) > 1 and path.segments[1] not in SAMPLE_KEYS:
            first = str(path.segments[1])
            close = difflib.get_close_matches(first, SAMPLE_KEYS, n=1)
            raise TemplateError(
                f"template {{{{ {path.text} }}}}: sample has no field '{first}' (fields: "
                + ", ".join(SAMPLE_KEYS) + ")",
                where=where,
                fix=f"did you mean sample.{close[0]}?" if close else "use one of the fields",
            )
        if item_keys is not None and root == "item" and len(path.segments) > 1:
            first = path.segments[1]
            if str(first) not in item_keys:
                fields = ", ".join(sorted(item_keys)) or "none"
                close = difflib.get_close_matches(str(first), sorted(item_keys), n=1)
                raise TemplateError(
                    f"template {{{{ {path.text} }}}}: item has no field '{first}' "
                    f"(fields: {fields})",
                    where=where,
                    fix=f"did you mean item.{close[0]}?" if close else "use one of the fields",
                )
