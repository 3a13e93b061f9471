"""Record and replay: a backend wrapper that keeps every completion in one SQLite file.

``--rft-cache DIR`` stores each completion in ``DIR/rft-cache.sqlite3`` keyed by the model, the
exact request body the backend sends (for OpenAI: the JSON of the HTTP request, which never
holds the API key; for a Python model: what it receives) and the repeat index. Three modes:

* ``use`` (``--rft-cache`` alone): answer from the cache when the request was seen, else call
  the model and store the answer;
* ``record`` (``--rft-record``): call the model for every request and store (replace) the answer;
* ``replay`` (``--rft-replay``): answer only from the cache; a request that was not recorded is a
  final error naming the suite, item and repeat, and no network call is ever made.

Editing a prompt, the schema, sampling or the model changes the key; editing graders does not
(they are not part of the request), so a replay re-grades recorded answers. Only completions are
stored: a call that failed is not, so it is called again (or, on replay, reported missing).

The file is SQLite in WAL mode, written one autocommitted row per completion: several pytest
processes (xdist workers, parallel CI jobs) can read and write it at once, and a Ctrl-C loses at
most the row being written, never the file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any, Literal

from ..records import Completion, Request, Usage
from .base import Backend, CallError

FILENAME = "rft-cache.sqlite3"
KEY_VERSION = 1
Mode = Literal["use", "record", "replay"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key        TEXT PRIMARY KEY,
    model      TEXT NOT NULL,
    suite      TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    repeat     INTEGER NOT NULL,
    body       TEXT NOT NULL,
    completion TEXT NOT NULL,
    created    REAL NOT NULL
)
"""


def request_body(backend: Any, request: Request) -> dict[str, Any]:
    """What identifies ``request`` for ``backend``: its HTTP body when it has one, else
    everything a Python model receives except the item id."""
    body_of = getattr(backend, "request_body", None)
    if body_of is not None:
        return body_of(request)
    body = {"api": request.api, "model": request.model, "messages": request.messages,
            "response_schema": request.response_schema, "sampling": request.sampling,
            "item": request.item}
    if request.tools is not None:  # (left out without tools: earlier keys stay valid)
        body.update(tools=request.tools, tool_choice=request.tool_choice,
                    parallel_tool_calls=request.parallel_tool_calls)
    return body


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def cache_key(model: str, body: dict[str, Any], repeat: int) -> str:
    """sha256 of (model, exact request body, repeat index)."""
    text = canonical({"v": KEY_VERSION, "model": model, "body": body, "repeat": repeat})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _encode(completion: Completion) -> str:
    return canonical(dataclasses.asdict(completion))


def _decode(text: str) -> Completion:
    data = json.loads(text)
    usage = data.pop("usage", None)
    return Completion(**data, usage=Usage(**usage) if usage is not None else None)


class CacheStore:
    """One SQLite file, opened lazily; safe to share across backends of one process and
    across processes."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / FILENAME
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None,
                                 check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across crashes of this process
            db.execute(_SCHEMA)
            self._db = db
        return self._db

    def get(self, key: str) -> Completion | None:
        if self._db is None and not self.path.exists():
            return None  # replay of an empty cache creates no file
        row = self._conn().execute("SELECT completion FROM completions WHERE key = ?",
                                   (key,)).fetchone()
        return _decode(row[0]) if row else None

    def put(self, key: str, request: Request, body: dict[str, Any],
            completion: Completion) -> None:
        self._conn().execute(
            "INSERT OR REPLACE INTO completions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key, request.model, request.suite, request.item_id, request.repeat,
             canonical(body), _encode(completion), time.time()))

    def count(self) -> int:
        if self._db is None and not self.path.exists():
            return 0
        return self._conn().execute("SELECT COUNT(*) FROM completions").fetchone()[0]

    def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()


class CacheBackend:
    """Wraps any backend; see the module docstring for the modes."""

    def __init__(self, inner: Backend, store: CacheStore, mode: Mode = "use"):
        if mode not in ("use", "record", "replay"):
            raise ValueError(f"mode must be use, record or replay, not {mode!r}")
        self.inner = inner
        self.store = store
        self.mode = mode
        self.name = inner.name
        self.hits = 0
        self.stored = 0
        self.missing = 0

    def __repr__(self) -> str:
        return f"CacheBackend({self.inner!r}, {str(self.store.path)!r}, mode={self.mode!r})"

    async def complete(self, request: Request) -> Completion:
        body = request_body(self.inner, request)
        key = cache_key(request.model, body, request.repeat)
        if self.mode != "record":
            hit = self.store.get(key)
            if hit is not None:
                self.hits += 1
                return hit
            if self.mode == "replay":
                self.missing += 1
                where = f"{request.suite}::{request.item_id}" if request.suite else request.item_id
                raise CallError("not recorded", (
                    f"--rft-replay: item {where!r} repeat {request.repeat} (model "
                    f"{request.model!r}) is not in {self.store.path}: no recorded request has "
                    "this exact body (prompt, schema, sampling or model changed since it was "
                    "recorded?); record it with --rft-record"))
        completion = await self.inner.complete(request)
        self.store.put(key, request, body, completion)
        self.stored += 1
        return completion

    async def aclose(self) -> None:
        try:
            await self.inner.aclose()
        finally:
            self.store.close()

    def note(self) -> str:
        parts = [f"{self.hits} answered from the cache"]
        if self.mode != "replay":
            parts.append(f"{self.stored} recorded")
        if self.missing:
            parts.append(f"{self.missing} not recorded")
        return f"rft: cache {self.store.path} ({self.mode}) for {self.inner.name} " \
               f"{getattr(self.inner, 'model', '')}: " + ", ".join(parts)
