"""A tiny synchronous client for the OpenAI REST API: GET JSON, cursor pages, file contents.

Used by ``pytest-rft import`` and ``--rft-checkpoints``. Errors are one ``RftError`` naming the
request and the fix; no secret appears in them (``secrets.scrub``, plus the key itself).

What a hostile or broken endpoint cannot do to it: receive the key on another origin (a
redirect to another scheme, host or port is followed without ``Authorization``; a redirect to a
non-HTTP scheme is refused), keep it reading forever (a whole-command deadline, a cap on every
answer's size, a bound on pages and a guard against repeating cursors), or crash it with an
answer of the wrong shape (one clean error naming the request).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import Any

from ..core.errors import RftError
from ..core.secrets import scrub

DEFAULT_BASE_URL = "https://api.openai.com/v1"
PAGE_SIZE = 100
"""The largest page the list endpoints serve."""
MAX_PAGES = 10_000
"""Pages read from one list before giving up (a million objects at 100 a page)."""
MAX_JSON_BYTES = 64 * 1024 * 1024
"""The largest JSON answer read (one object or one page)."""
MAX_FILE_BYTES = 512 * 1024 * 1024
"""The largest file content read (the dataset reader's limit too)."""
_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
_KEYLIKE = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{4,}|Bearer\s+\S+)")
_CHUNK = 64 * 1024
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


def _without_userinfo(url: str) -> str:
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


@dataclass
class Response:
    status: int
    headers: Message
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content.decode("utf-8"))


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects; the ``Authorization`` header goes along only to the same origin
    (scheme, host and port), and only http(s) targets are followed."""

    max_redirections = 5

    def __init__(self, auth: str):
        super().__init__()
        self._auth = auth

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001
        target = urllib.parse.urljoin(req.full_url, newurl)
        if urllib.parse.urlsplit(target).scheme not in ("http", "https"):
            raise RftError(f"the server redirected to a non-HTTP URL ({shown_url(target)[:120]})",
                           fix="check --base-url / OPENAI_BASE_URL")
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and origin(new.full_url) == origin(req.full_url):
            new.add_unredirected_header("Authorization", self._auth)
        return new


class OpenAIClient:
    """GET requests with bearer auth against ``base_url`` (``.../v1``); use as a context manager.

    Standard library only (urllib): a few sequential reads need no HTTP client dependency.
    ``deadline`` (``time.monotonic()`` seconds) bounds the whole client's work; ``progress``
    receives a line per page of a list.
    """

    def __init__(self, api_key: str, base_url: str = DEFAULT_BASE_URL, *, timeout: float = 60.0,
                 max_retries: int = 3, backoff: float = 0.5, deadline: float | None = None,
                 progress: Callable[[str], None] | None = None):
        self.base_url = _without_userinfo(base_url.rstrip("/"))
        self._key = api_key
        self._timeout = timeout
        self._retries = max_retries
        self._backoff = backoff
        self.deadline = deadline
        self.progress = progress
        self.max_json_bytes = MAX_JSON_BYTES
        self.max_file_bytes = MAX_FILE_BYTES
        self.max_pages = MAX_PAGES
        auth = f"Bearer {api_key}"
        self._auth = auth
        opener = urllib.request.OpenerDirector()
        for handler in (urllib.request.ProxyHandler(), urllib.request.UnknownHandler(),
                        urllib.request.HTTPHandler(), urllib.request.HTTPSHandler(),
                        urllib.request.HTTPDefaultErrorHandler(), _Redirects(auth),
                        urllib.request.HTTPErrorProcessor()):
            opener.add_handler(handler)
        self._opener = opener

    def __enter__(self) -> "OpenAIClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        pass

    # -- time -----------------------------------------------------------------------------
    def _remaining(self, what: str) -> float:
        """Seconds left before the deadline (the socket timeout when there is none)."""
        if self.deadline is None:
            return self._timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise RftError(f"{what}: out of time (--timeout) at {shown_url(self.base_url)}",
                           fix="raise --timeout, or save the answers and use --from DIR")
        return min(self._timeout, left)

    def _sleep(self, seconds: float, what: str) -> None:
        time.sleep(max(0.0, min(seconds, self._remaining(what))))

    # -- requests -------------------------------------------------------------------------
    def get(self, path: str, params: dict[str, Any] | None = None, *,
            limit: int | None = None) -> Response:
        """One GET (``path`` like ``/evals/eval_123``), retried on 408/409/429/5xx and
        connection errors; any other failure is an RftError. The answer is at most ``limit``
        bytes (default: the JSON limit)."""
        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        what = f"GET {path}"
        limit = self.max_json_bytes if limit is None else limit
        for attempt in range(self._retries + 1):
            request = urllib.request.Request(url, headers={
                "Accept": "application/json", "User-Agent": "pytest-rft-import"})
            request.add_unredirected_header("Authorization", self._auth)
            try:
                with self._opener.open(request, timeout=self._remaining(what)) as answer:
                    return Response(answer.status, answer.headers,
                                    self._read(answer, limit, what))
            except urllib.error.HTTPError as exc:
                try:
                    body = self._read(exc, 64 * 1024, what, cut=True)
                except (OSError, http.client.HTTPException):
                    body = b""
                response = Response(exc.code, exc.headers, body)
                if exc.code in _RETRY_STATUS and attempt < self._retries:
                    self._sleep(_retry_after(response) or self._backoff * 2 ** attempt, what)
                    continue
                raise self._http_error(path, response) from None
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                if attempt < self._retries:
                    self._sleep(self._backoff * 2 ** attempt, what)
                    continue
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, (socket.timeout, TimeoutError)):
                    reason = "timed out"
                raise RftError(f"{what}: cannot reach {shown_url(self.base_url)} "
                               f"({self._scrub(str(reason))})",
                               fix="check --base-url / OPENAI_BASE_URL and the network") from None
        raise AssertionError("unreachable")

    def _read(self, answer: Any, limit: int, what: str, cut: bool = False) -> bytes:
        """The body, read in pieces so that the deadline and ``limit`` hold for slow or endless
        answers (``cut``: stop at the limit instead of failing, for error bodies)."""
        length = answer.headers.get("content-length") if answer.headers is not None else None
        if length and length.isdigit() and int(length) > limit and not cut:
            raise self._too_big(what, limit)
        chunks, size = [], 0
        read = getattr(answer, "read1", None) or answer.read
        while True:
            self._remaining(what)
            chunk = read(_CHUNK)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:
                if cut:
                    chunks.append(chunk)
                    return b"".join(chunks)[:limit]
                raise self._too_big(what, limit)
            chunks.append(chunk)

    @staticmethod
    def _too_big(what: str, limit: int) -> RftError:
        return RftError(f"{what}: the answer is larger than {limit:,} bytes",
                        fix="check --base-url; save the answer and import it with --from DIR")

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.get(path, params)
        try:
            data = response.json()
        except (ValueError, RecursionError):
            kind = response.headers.get("content-type", "no content type") \
                if response.headers is not None else "no content type"
            raise RftError(f"GET {path}: the answer is not JSON ({self._scrub(str(kind))[:60]})",
                           fix="check --base-url: it must end with /v1") from None
        if not isinstance(data, dict):
            raise RftError(f"GET {path}: expected a JSON object, got {_kind(data)}",
                           fix="check --base-url and the id")
        return data

    def list_all(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every object of a cursor-paginated list (``limit``, ``after`` = last id, ``has_more``).

        A cursor seen twice, an entry that is not an object and more than ``max_pages`` pages
        are errors: a broken or hostile server cannot make this loop forever."""
        objects: list[dict[str, Any]] = []
        query = {"limit": PAGE_SIZE, **(params or {})}
        seen: set[str] = set()
        for page_number in range(1, self.max_pages + 1):
            page = self.get_json(path, query)
            data = page.get("data")
            if not isinstance(data, list):
                raise RftError(f"GET {path}: not a list response (no 'data' array)",
                               fix="check --base-url and the id")
            for n, entry in enumerate(data):
                if not isinstance(entry, dict):
                    raise RftError(f"GET {path}: entry {len(objects) + n} of the list is "
                                   f"{_kind(entry)}, not an object",
                                   fix="check --base-url; the platform answered something else")
            objects.extend(data)
            if self.progress is not None:
                self.progress(f"GET {path}: {len(objects)} object(s), page {page_number}")
            more = page.get("has_more")
            if more is not True or not data:
                return objects
            last = page.get("last_id")
            if last is None:
                last = data[-1].get("id")
            if not isinstance(last, str) or not last:
                raise RftError(f"GET {path}: page {page_number} says has_more but gives no "
                               "cursor (last_id)", fix="check --base-url")
            if last in seen:
                raise RftError(f"GET {path}: the server repeated cursor {last[:80]!r} on page "
                               f"{page_number}; stopped instead of looping",
                               fix="check --base-url; save the pages and use --from DIR")
            seen.add(last)
            query = {**query, "after": last}
        raise RftError(f"GET {path}: more than {self.max_pages:,} pages; stopped",
                       fix="check --base-url; save the pages and use --from DIR")

    def file_content(self, file_id: str) -> bytes:
        """The bytes of an uploaded file (``GET /files/{id}/content``)."""
        return self.get(f"/files/{safe_id(file_id, 'file id')}/content",
                        limit=self.max_file_bytes).content

    # -- errors ---------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        if self._key:
            text = text.replace(self._key, "***")
        return scrub(_KEYLIKE.sub("***", text))

    def _http_error(self, path: str, response: Response) -> RftError:
        try:
            message = response.json()["error"]["message"]
            if not isinstance(message, str):
                raise TypeError
        except (ValueError, KeyError, TypeError, IndexError, RecursionError):
            message = response.content[:200].decode("utf-8", "replace")
        status = response.status
        fix = {401: "check OPENAI_API_KEY (and that it belongs to the project that owns the "
                    "eval or job)",
               403: "the key lacks permission: use a key with read access to evals, "
                    "fine-tuning and files",
               404: "check the id, and that OPENAI_API_KEY's project owns it"}.get(
                   status, "retry later, or save the objects and use --from DIR")
        return RftError(f"GET {path}: HTTP {status}: {self._scrub(str(message))[:300]}",
                        where=shown_url(self.base_url), fix=fix)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def _retry_after(response: Response) -> float | None:
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = response.headers.get(header) if response.headers is not None else None
        if value:
            try:
                seconds = float(value) * scale
            except ValueError:
                return None
            if seconds != seconds:  # NaN
                return None
            return min(max(seconds, 0.0), 30.0)
    return None


CHECKPOINTS_DEADLINE = 300.0
"""Seconds ``--rft-checkpoints`` may spend listing one job's checkpoints."""


def list_checkpoint_models(job_id: str, *, api_key: str | None = None,
                           base_url: str | None = None) -> list[str]:
    """Every ``fine_tuned_model_checkpoint`` of a fine-tuning job, by ``step_number`` ascending.

    ``api_key`` / ``base_url`` default to ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``. A name that
    is not an OpenAI model name is an error (it would otherwise be resolved like a suite's
    model names, which include Python ``module:attr`` references).
    """
    key, url = resolve(api_key, base_url)
    deadline = time.monotonic() + CHECKPOINTS_DEADLINE
    with OpenAIClient(key, url, deadline=deadline) as client:
        checkpoints = client.list_all(f"/fine_tuning/jobs/{safe_id(job_id, 'job id')}/checkpoints")
    return checkpoint_models(checkpoints, where=f"--rft-checkpoints {job_id}")


def checkpoint_models(checkpoints: list[dict[str, Any]], *, rejected: list[str] | None = None,
                      where: str = "checkpoints") -> list[str]:
    """Checkpoint model names ordered by step (duplicates dropped). A name that is not an
    OpenAI model name goes to ``rejected`` when given, else is an RftError."""
    def order(checkpoint: dict[str, Any]) -> tuple[float, str]:
        step = checkpoint.get("step_number")
        step = step if isinstance(step, (int, float)) and not isinstance(step, bool) \
            and step == step else 0
        return float(step), str(checkpoint.get("id") or "")

    names: list[str] = []
    for checkpoint in sorted((c for c in checkpoints if isinstance(c, dict)), key=order):
        name = checkpoint.get("fine_tuned_model_checkpoint")
        if name is None or name in names:
            continue
        if not is_model_name(name):
            shown = json.dumps(name, default=str)[:80]
            if rejected is None:
                raise RftError(f"checkpoint {shown} is not an OpenAI model name", where=where,
                               fix="check --base-url: the platform answered something else")
            rejected.append(shown)
            continue
        names.append(name)
    return names
