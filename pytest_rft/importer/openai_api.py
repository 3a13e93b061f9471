"""A tiny synchronous client for the OpenAI REST API: GET JSON, cursor pages, file contents.

Used by ``pytest-rft import`` and ``--rft-checkpoints``. Errors are one ``RftError`` naming the
request and the fix; no secret appears in them (``secrets.scrub``, plus the key itself).

What a hostile or broken endpoint cannot do to it: receive the key on another origin (a
redirect to another scheme, host or port is followed without ``Authorization``; a redirect to a
non-HTTP scheme is refused; the rules in ``guards.py``), keep it reading forever (a
whole-command deadline, a cap on every answer's size, a bound on pages and a guard against
repeating cursors), or crash it with an answer of the wrong shape (one clean error naming the
request).
"""

from __future__ import annotations

import http.client
import json
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
from .guards import DEFAULT_BASE_URL, origin, safe_id, shown_url, without_userinfo

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
        self.base_url = without_userinfo(base_url.rstrip("/"))
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
