"""A tiny synchronous client for the OpenAI REST API: GET JSON, cursor pages, file contents.

Used by ``pytest-rft import`` and ``--rft-checkpoints``. Errors are one ``RftError`` naming the
request and the fix; the API key never appears in them.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any

from .errors import RftError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
PAGE_SIZE = 100
"""The largest page the list endpoints serve."""
_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
_KEYLIKE = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{4,}|Bearer\s+\S+)")


def resolve(api_key: str | None = None, base_url: str | None = None) -> tuple[str, str]:
    """The API key (argument, else ``OPENAI_API_KEY``) and base URL (argument, else
    ``OPENAI_BASE_URL``, else OpenAI's)."""
    key = api_key or os.environ.get("OPENAI_API_KEY")
    if not key:
        raise RftError("OPENAI_API_KEY is not set",
                       fix="export OPENAI_API_KEY=sk-..., or read saved files with --from DIR")
    url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    return key, url


@dataclass
class Response:
    status: int
    headers: Message
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content.decode("utf-8"))


class OpenAIClient:
    """GET requests with bearer auth against ``base_url`` (``.../v1``); use as a context manager.

    Standard library only (urllib): a few sequential reads need no HTTP client dependency.
    """

    def __init__(self, api_key: str, base_url: str = DEFAULT_BASE_URL, *, timeout: float = 60.0,
                 max_retries: int = 3, backoff: float = 0.5):
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self._timeout = timeout
        self._retries = max_retries
        self._backoff = backoff

    def __enter__(self) -> "OpenAIClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        pass

    # -- requests -------------------------------------------------------------------------
    def get(self, path: str, params: dict[str, Any] | None = None) -> Response:
        """One GET (``path`` like ``/evals/eval_123``), retried on 408/409/429/5xx and
        connection errors; any other failure is an RftError."""
        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        request = urllib.request.Request(url, headers={
            "Authorization": f"Bearer {self._key}", "Accept": "application/json",
            "User-Agent": "pytest-rft-import"})
        for attempt in range(self._retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=self._timeout) as answer:
                    return Response(answer.status, answer.headers, answer.read())
            except urllib.error.HTTPError as exc:
                response = Response(exc.code, exc.headers, exc.read())
                if exc.code in _RETRY_STATUS and attempt < self._retries:
                    time.sleep(_retry_after(response) or self._backoff * 2 ** attempt)
                    continue
                raise self._http_error(path, response) from None
            except (urllib.error.URLError, OSError) as exc:
                if attempt < self._retries:
                    time.sleep(self._backoff * 2 ** attempt)
                    continue
                reason = getattr(exc, "reason", exc)
                raise RftError(f"GET {path}: cannot reach {self.base_url} "
                               f"({self._scrub(str(reason))})",
                               fix="check --base-url / OPENAI_BASE_URL and the network") from None
        raise AssertionError("unreachable")

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.get(path, params)
        try:
            data = response.json()
        except ValueError:
            raise RftError(f"GET {path}: the answer is not JSON "
                           f"({response.headers.get('content-type', 'no content type')})",
                           fix="check --base-url: it must end with /v1") from None
        if not isinstance(data, dict):
            raise RftError(f"GET {path}: expected a JSON object", fix="check --base-url")
        return data

    def list_all(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every object of a cursor-paginated list (``limit``, ``after`` = last id, ``has_more``)."""
        objects: list[dict[str, Any]] = []
        query = {"limit": PAGE_SIZE, **(params or {})}
        while True:
            page = self.get_json(path, query)
            data = page.get("data")
            if not isinstance(data, list):
                raise RftError(f"GET {path}: not a list response (no 'data' array)",
                               fix="check --base-url and the id")
            objects.extend(data)
            last = page.get("last_id") or (data[-1].get("id") if data else None)
            if not page.get("has_more") or not data or not last:
                return objects
            query = {**query, "after": last}

    def file_content(self, file_id: str) -> bytes:
        """The bytes of an uploaded file (``GET /files/{id}/content``)."""
        return self.get(f"/files/{file_id}/content").content

    # -- errors ---------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        if self._key:
            text = text.replace(self._key, "***")
        return _KEYLIKE.sub("***", text)

    def _http_error(self, path: str, response: Response) -> RftError:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.content[:200].decode("utf-8", "replace")
        status = response.status
        fix = {401: "check OPENAI_API_KEY (and that it belongs to the project that owns the "
                    "eval or job)",
               403: "the key lacks permission: use a key with read access to evals, "
                    "fine-tuning and files",
               404: "check the id, and that OPENAI_API_KEY's project owns it"}.get(
                   status, "retry later, or save the objects and use --from DIR")
        return RftError(f"GET {path}: HTTP {status}: {self._scrub(str(message))}",
                        where=self.base_url, fix=fix)


def _retry_after(response: Response) -> float | None:
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = response.headers.get(header) if response.headers is not None else None
        if value:
            try:
                return min(max(float(value) * scale, 0.0), 30.0)
            except ValueError:
                return None
    return None


def list_checkpoint_models(job_id: str, *, api_key: str | None = None,
                           base_url: str | None = None) -> list[str]:
    """Every ``fine_tuned_model_checkpoint`` of a fine-tuning job, by ``step_number`` ascending.

    ``api_key`` / ``base_url`` default to ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``.
    """
    key, url = resolve(api_key, base_url)
    with OpenAIClient(key, url) as client:
        checkpoints = client.list_all(f"/fine_tuning/jobs/{job_id}/checkpoints")
    return checkpoint_models(checkpoints)


def checkpoint_models(checkpoints: list[dict[str, Any]]) -> list[str]:
    """Checkpoint model names ordered by step (duplicates dropped)."""
    ordered = sorted(checkpoints, key=lambda c: (c.get("step_number") or 0, c.get("id") or ""))
    names: list[str] = []
    for checkpoint in ordered:
        name = checkpoint.get("fine_tuned_model_checkpoint")
        if name and name not in names:
            names.append(name)
    return names
