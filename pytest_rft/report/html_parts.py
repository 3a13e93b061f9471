"""Small HTML helpers shared by the report's modules: escaping, numbers, badges, tables."""

from __future__ import annotations

import re
from html import escape
from typing import Any

from ..core.secrets import scrub


def e(value: Any) -> str:
    """Scrubbed of secrets, then escaped for an attribute or element text."""
    return escape("" if value is None else scrub(str(value)), quote=True)


def num(value: float | None, digits: int = 4, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def p_text(p: float | None) -> str:
    return "n/a" if p is None else ("&lt;0.001" if p < 0.001 else f"{p:.3f}")


def badge(ok: bool | None, yes: str = "PASS", no: str = "FAIL", none: str = "n/a") -> str:
    if ok is None:
        return f'<span class="badge warn">{none}</span>'
    return f'<span class="badge {"pass" if ok else "fail"}">{yes if ok else no}</span>'


def table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    head = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""
    body = "".join("<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in row)
                   + "</tr>" for row in rows)
    return f'<table class="{cls}">{head}<tbody>{body}</tbody></table>'


def ids(ids: list[str], limit: int = 40) -> str:
    shown = " ".join(f"<code>{e(i)}</code>" for i in ids[:limit])
    return shown + (f" … (+{len(ids) - limit} more)" if len(ids) > limit else "")


def anchor(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


def t(value: Any) -> str:
    """Scrubbed of secrets, then escaped for element text (quotes need no escaping there)."""
    return escape("" if value is None else scrub(str(value)), quote=False)
