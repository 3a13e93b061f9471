"""``--rft-batch``: the run's requests through the OpenAI Batch API.

One batch per (endpoint, model) -- the API takes one of each per batch: the input lines are
uploaded (``POST /v1/files``, purpose ``batch``), the batch created (``POST /v1/batches``,
completion window 24h) and polled (``GET /v1/batches/{id}``, every ``--rft-batch-poll``
seconds, a progress line per change) until ``completed``, ``failed``, ``expired`` or
``cancelled``; its output and error files (``GET /v1/files/{id}/content``) are graded through
the import path (``backends/batch.py``).

Resume without double spending: each submitted batch is remembered in ``.rft-batches.json`` in
the rootdir, keyed by the sha256 of its input file. Rerunning the same requests (after a
Ctrl-C, or later) polls and reads that batch instead of submitting again; delete the entry (or
the file) to sample afresh. A remembered batch that ``failed`` (validation: nothing ran, nothing
was spent) is submitted again; polls that fail are tried again a few times, then the requests
are errors with cause ``batch unavailable`` and a rerun resumes the batch. Requests a finished batch did not answer (it expired, failed or was
cancelled first) are errors with cause ``batch expired`` / ``batch failed`` / ``batch
cancelled``; a batch that could not be submitted makes its requests errors with cause ``batch
not submitted`` and the reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Callable

import aiohttp

from ..core.version import __version__
from .files import BatchCollector, Key, encode, parse_custom_id, parse_output
from ..backends.direct import DEFAULT_BASE_URL, status_message
from ..backends.wire import scrub, short

STATE_FILE = ".rft-batches.json"
FINAL = ("completed", "failed", "expired", "cancelled")


class BatchApiError(Exception):
    pass


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BatchState:
    """``.rft-batches.json``: input digest -> the batch submitted for it (rewritten atomically)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> dict[str, Any] | None:
        entry = self.load().get(key)
        return entry if isinstance(entry, dict) else None

    def put(self, key: str, entry: dict[str, Any] | None) -> None:
        data = self.load()
        if entry is None:
            data.pop(key, None)
        else:
            data[key] = entry
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)


def _without_userinfo(url: str) -> str:
    """``url`` without ``user:password@`` (aiohttp refuses it beside a bearer header, and it
    must not travel to the Batch API)."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return url
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        netloc = host + (f":{parts.port}" if parts.port is not None else "")
    except ValueError:  # a malformed URL: aiohttp says so, as one line
        return url
    return urlunsplit(parts._replace(netloc=netloc))


class BatchClient:
    """The four Batch API calls over aiohttp (bearer auth; the key never in a message)."""

    def __init__(self, base_url: str, api_key: str | None, timeout: float = 60):
        self.base_url = _without_userinfo(base_url.rstrip("/"))  # the key is the credential
        self._key = api_key
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "BatchClient":
        if not self._key:
            raise BatchApiError("set OPENAI_API_KEY to use the Batch API")
        self._session = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {self._key}",
                     "User-Agent": f"pytest-rft/{__version__}"},
            timeout=aiohttp.ClientTimeout(total=self._timeout))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def _call(self, method: str, path: str, **kwargs: Any) -> bytes:
        assert self._session is not None
        url = self.base_url + path
        try:
            async with self._session.request(method, url, **kwargs) as resp:
                raw = await resp.read()
                status = resp.status
        except (asyncio.TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            raise BatchApiError(f"{method} {path}: {type(exc).__name__}") from None
        if status >= 400:
            raise BatchApiError(f"{method} {path}: "
                                + short(scrub(status_message(status, raw), self._key)))
        return raw

    async def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        raw = await self._call(method, path, **kwargs)
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise BatchApiError(f"{method} {path}: the answer is not a JSON object")
        return data

    async def upload(self, data: bytes, filename: str) -> str:
        form = aiohttp.FormData()
        form.add_field("purpose", "batch")
        form.add_field("file", data, filename=filename, content_type="application/jsonl")
        return str((await self._json("POST", "/files", data=form))["id"])

    async def create(self, file_id: str, endpoint: str) -> dict[str, Any]:
        return await self._json("POST", "/batches", json={
            "input_file_id": file_id, "endpoint": endpoint, "completion_window": "24h",
            "metadata": {"source": "pytest-rft"}})

    async def get(self, batch_id: str) -> dict[str, Any]:
        return await self._json("GET", f"/batches/{batch_id}")

    async def content(self, file_id: str) -> bytes:
        return await self._call("GET", f"/files/{file_id}/content")


POLL_ATTEMPTS = 4


def _errors(batch: dict[str, Any]) -> str:
    errors = (batch.get("errors") or {}).get("data") or []
    return "; ".join(str(e.get("message")) for e in errors[:3]) or "no reason given"


def _progress_text(batch: dict[str, Any], model: str, n: int) -> str:
    counts = batch.get("request_counts") or {}
    return (f"rft: batch {batch.get('id')} ({model}, {n} request(s)): {batch.get('status')}, "
            f"{counts.get('completed', 0)}/{counts.get('total', n)} done, "
            f"{counts.get('failed', 0)} failed")


async def run_group(client: BatchClient, state: BatchState, url: str, model: str,
                    lines: list[dict[str, Any]], poll_s: float, say: Callable[[str], None],
                    notes: list[str]) -> dict[Key, dict[str, Any]]:
    """Submit (or resume) one batch, wait for it, and return its lines by key; requests the
    batch did not answer get an error line naming why."""
    data = encode(lines)
    key = digest(data)
    answered: dict[Key, dict[str, Any]] = {}
    try:
        entry = state.get(key)
        batch = None
        if entry is not None and entry.get("base_url") == client.base_url:
            try:
                batch = await client.get(entry["batch_id"])
            except BatchApiError:
                batch = None  # gone (another account or endpoint): submit again
            if batch is not None and batch.get("status") == "failed":
                notes.append(f"rft: batch {entry['batch_id']} had failed ({_errors(batch)}): "
                             "submitted again")
                batch = None  # a failed batch ran nothing (validation): nothing spent twice
            elif batch is not None:
                notes.append(f"rft: resumed batch {entry['batch_id']} ({model}, {len(lines)} "
                             f"request(s)) submitted earlier for these exact requests")
        if batch is None:
            file_id = await client.upload(data, f"rft-{key[:12]}.jsonl")
            batch = await client.create(file_id, url)
            state.put(key, {"batch_id": batch["id"], "input_file_id": file_id, "endpoint": url,
                            "model": model, "requests": len(lines), "base_url": client.base_url,
                            "created": time.time()})
            notes.append(f"rft: submitted batch {batch['id']} ({model}, {len(lines)} "
                         f"request(s), {url})")
        shown = ""
        while True:
            text = _progress_text(batch, model, len(lines))
            if text != shown:
                say(text)
                shown = text
            if batch.get("status") in FINAL:
                break
            await asyncio.sleep(poll_s)
            submitted = batch["id"]
            for attempt in range(POLL_ATTEMPTS):  # a poll that fails is tried again
                try:
                    batch = await client.get(submitted)
                    break
                except BatchApiError:
                    if attempt == POLL_ATTEMPTS - 1:
                        raise
                    await asyncio.sleep(min(30.0, 1.0 + poll_s))
        for field in ("output_file_id", "error_file_id"):
            if batch.get(field):
                found, _ = parse_output(await client.content(batch[field]),
                                        f"batch {batch['id']} {field}")
                answered.update(found)
        status = str(batch.get("status"))
        reason = f"the batch {batch['id']} ended {status} before answering this request"
        if status == "failed":
            reason += f": {_errors(batch)}"
        fallback = {"code": f"batch_{status}", "message": reason}
    except BatchApiError as exc:
        entry = state.get(key)
        if entry is None:
            fallback = {"code": "batch_not_submitted",
                        "message": f"the batch for {model} ({url}) could not be run: {exc}"}
            notes.append(f"rft: batch of {model} not run: {exc}")
        else:  # submitted: a rerun resumes it
            fallback = {"code": "batch_unavailable",
                        "message": f"batch {entry['batch_id']} could not be read ({exc}); "
                                   "rerun to resume it"}
            notes.append(f"rft: batch {entry['batch_id']} of {model} could not be read: {exc}; "
                         "rerun the same command to resume it")
    for line in lines:
        k = parse_custom_id(line["custom_id"])
        if k is not None and k not in answered:
            answered[k] = {"custom_id": line["custom_id"], "response": None, "error": fallback}
    return answered


def run_batches(collector: BatchCollector, *, base_url: str | None, timeout: float,
                poll_s: float, root: Path, say: Callable[[str], Any]
                ) -> tuple[dict[Key, dict[str, Any]], list[str]]:
    """Send ``collector``'s requests, one batch per (endpoint, model), resuming the batches
    recorded in ``root/.rft-batches.json``; ``say`` tells progress. Returns the answered lines
    by key and the notes for the summary."""
    base_url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
    state = BatchState(root / STATE_FILE)
    notes: list[str] = []

    async def go() -> dict[Key, dict[str, Any]]:
        client = BatchClient(base_url, os.environ.get("OPENAI_API_KEY"),
                             timeout=timeout)
        groups = collector.groups()
        try:
            await client.__aenter__()
        except BatchApiError as exc:
            notes.append(f"rft: no batch run: {exc}")
            client = None
        answered: dict[Key, dict[str, Any]] = {}
        try:
            if client is None:
                for lines in groups.values():
                    for line in lines:
                        k = parse_custom_id(line["custom_id"])
                        answered[k] = {"custom_id": line["custom_id"], "error": {
                            "code": "batch_not_submitted", "message": "no OPENAI_API_KEY"}}
                return answered
            results = await asyncio.gather(*(
                run_group(client, state, url, model, lines, poll_s, say, notes)
                for (url, model), lines in groups.items()))
        finally:
            if client is not None:
                await client.__aexit__()
        for found in results:
            answered.update(found)
        return answered

    return asyncio.run(go()), notes
