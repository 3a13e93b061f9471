"""The platform's edge, guarded: the API key and base URL resolved, credentials kept out of URLs
and messages, redirects judged by origin, ids safe as URL path segments, and model names that
pytest-rft will never resolve as Python objects."""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from typing import Any

from ..core.errors import RftError
from ..core.secrets import scrub

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*(?::[A-Za-z0-9._\-]*)*$")
_PYTHON_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
"""What pytest-rft would resolve as a Python ``module:attr`` model (python_backend's rule)."""
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]{0,255}$")


def resolve(api_key: str | None = None, base_url: str | None = None) -> tuple[str, str]:
    """The API key (argument, else ``OPENAI_API_KEY``) and base URL (argument, else
    ``OPENAI_BASE_URL``, else OpenAI's)."""
    key = api_key or os.environ.get("OPENAI_API_KEY")
    if not key:
        raise RftError("OPENAI_API_KEY is not set",
                       fix="export OPENAI_API_KEY=sk-..., or read saved files with --from DIR")
    url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RftError(f"the base URL {shown_url(url)!r} is not an http(s) URL",
                       fix="pass --base-url https://host/v1 (or fix OPENAI_BASE_URL)")
    return key, url


def shown_url(url: str) -> str:
    """``url`` without user:password (a base URL may carry them; they are secrets)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    if parts.username is None and parts.password is None:
        return scrub(url)
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if _port(parts) else "")
    return scrub(urllib.parse.urlunsplit(parts._replace(netloc=netloc)))


def _port(parts: urllib.parse.SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


def without_userinfo(url: str) -> str:
    """``http://user:pass@host/v1`` -> ``http://host/v1``: requests authenticate with the API
    key, and credentials in a URL would end up in messages."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return url
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in."""
    parts = urllib.parse.urlsplit(url)
    port = _port(parts) or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def is_model_name(value: Any) -> bool:
    """True for a name OpenAI could have given a model (``gpt-4.1``, ``ft:o4-mini:org:x:id``,
    ``...:ckpt-step-10``) that pytest-rft will never resolve as a Python ``module:attr``."""
    return (isinstance(value, str) and 0 < len(value) <= 256 and bool(_MODEL_NAME.match(value))
            and not _PYTHON_REF.match(value))


def safe_id(value: str, what: str = "id") -> str:
    """``value`` as a path segment of an API URL; anything but an API-shaped id is refused."""
    if not isinstance(value, str) or not _ID.match(value):
        raise RftError(f"{what} {json.dumps(value, default=str)[:80]} is not an OpenAI id",
                       fix="ids are letters, digits, '-', '_' and '.'; check the id")
    return urllib.parse.quote(value, safe="")
