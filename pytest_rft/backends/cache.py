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

Secrets (``secrets.py``) are scrubbed from what is stored (outputs and request bodies) unless
the user opts in to raw outputs (``--rft-cache-raw``; the run's note then says so). A replayed
answer is the stored one: scrubbed, if it held a secret. A cache on a read-only file system is
read for replay; a row that can't be read is a miss (recorded again) or, on replay, an error.
"""

from __future__ import annotations

import dataclasses
import os
import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any, Literal

from ..core import secrets
from ..core.records import Completion, Request, Usage
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


class CorruptRow(ValueError):
    """A stored completion that can't be read back."""


_FIELDS = frozenset(f.name for f in dataclasses.fields(Completion))
_USAGE = frozenset(f.name for f in dataclasses.fields(Usage))


def _decode(text: Any) -> Completion:
    """A stored completion, checked: a row of another shape is a CorruptRow, never a crash."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError, RecursionError) as exc:
        raise CorruptRow(f"not JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict) or not set(data) <= _FIELDS:
        raise CorruptRow("not a stored completion")
    usage = data.pop("usage", None)
    if usage is not None and not (isinstance(usage, dict) and set(usage) <= _USAGE and all(
            isinstance(v, int) and not isinstance(v, bool) for v in usage.values())):
        raise CorruptRow("usage is not token counts")
    checks = {"output_text": str, "tool_calls": list, "choices": (list, type(None)),
              "finish_reason": (str, type(None)), "refusal": (str, type(None)), "empty": bool}
    for name, kind in checks.items():
        if name in data and not isinstance(data[name], kind):
            raise CorruptRow(f"{name} is a {type(data[name]).__name__}")
    return Completion(**data, usage=Usage(**usage) if usage is not None else None)


class CacheError(Exception):
    """The cache file can't be opened or read (corrupt, not SQLite, unreadable)."""


class CacheStore:
    """One SQLite file, opened lazily; safe to share across backends of one process and
    across processes. ``raw``: store outputs as they came (else scrubbed of secrets);
    ``read_only``: never create or write (replay), which also opens a cache on a read-only
    file system."""

    def __init__(self, folder: Path, *, raw: bool = False, read_only: bool = False):
        self.path = Path(folder) / FILENAME
        self.raw = raw
        self.read_only = read_only
        self.unstored = 0
        """Completions that could not be stored (a read-only or full disk): called again next
        time, said in the note."""
        self.store_problem = ""
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            for path in (self.path, *(self.path.with_name(self.path.name + end)
                                      for end in ("-wal", "-shm", "-journal"))):
                if os.path.lexists(path) and not path.is_file():  # SQLite would block on a FIFO
                    raise CacheError(f"{path}: not a regular file (delete it, or point "
                                     "--rft-cache at another folder)")
            try:
                self._db = self._open_read_only() if self.read_only else self._open()
            except sqlite3.Error as exc:
                raise CacheError(f"{self.path}: {exc} (delete it, or point --rft-cache at "
                                 "another folder)") from None
        return self._db

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across crashes of this process
            db.execute(_SCHEMA)
        except sqlite3.OperationalError as exc:
            if "readonly" not in str(exc) and "read-only" not in str(exc):
                db.close()
                raise
            db.close()  # a cache someone made read-only: read it, store nothing
            self.store_problem = "read-only"
            return self._open_read_only()
        return db

    def _open_read_only(self) -> sqlite3.Connection:
        uri = self.path.resolve().as_uri()
        try:
            db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=60, isolation_level=None,
                                 check_same_thread=False)
            db.execute("SELECT COUNT(*) FROM completions").fetchone()
        except sqlite3.OperationalError:  # a WAL file whose folder can't take its -shm file
            db = sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None,
                                 check_same_thread=False)
            db.execute("SELECT COUNT(*) FROM completions").fetchone()
        return db

    def get(self, key: str) -> Completion | None:
        """The stored completion; None when there is none; CorruptRow when it can't be read."""
        if self._db is None and not self.path.exists():
            return None  # replay of an empty cache creates no file
        try:
            row = self._conn().execute("SELECT completion FROM completions WHERE key = ?",
                                       (key,)).fetchone()
        except sqlite3.Error as exc:
            raise CacheError(f"{self.path}: {exc} (delete it, or point --rft-cache at another "
                             "folder)") from None
        return _decode(row[0]) if row else None

    def put(self, key: str, request: Request, body: dict[str, Any],
            completion: Completion) -> None:
        """Store a completion; a store that fails (read-only, disk full) is counted, not raised:
        the answer is good, it just won't be cached."""
        if self.read_only:
            return
        stored = secrets.without_surrogates(_encode(completion)) if self.raw else secrets.dumps(
            dataclasses.asdict(completion), sort_keys=True, separators=(",", ":"),
            ensure_ascii=False, default=str)
        try:
            self._conn().execute(
                "INSERT OR REPLACE INTO completions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, request.model, request.suite, request.item_id, request.repeat,
                 secrets.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                               default=str), stored, time.time()))
        except (sqlite3.Error, CacheError, ValueError) as exc:
            self.unstored += 1
            self.store_problem = self.store_problem or str(exc)

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
        self.corrupt = 0

    def __repr__(self) -> str:
        return f"CacheBackend({self.inner!r}, {str(self.store.path)!r}, mode={self.mode!r})"

    async def complete(self, request: Request) -> Completion:
        body = request_body(self.inner, request)
        key = cache_key(request.model, body, request.repeat)
        if self.mode != "record":
            try:
                hit = self.store.get(key)
            except CacheError as exc:
                raise CallError("cache unreadable", f"--rft-cache: {exc}") from None
            except CorruptRow as exc:
                if self.mode == "replay":
                    raise CallError("not recorded", (
                        f"--rft-replay: the recorded answer of item {request.item_id!r} repeat "
                        f"{request.repeat} in {self.store.path} can't be read ({exc}); record "
                        "it again with --rft-record")) from None
                self.corrupt += 1
                hit = None
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
        unstored = self.store.unstored
        self.store.put(key, request, body, completion)
        if self.store.unstored == unstored:
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
        if self.corrupt:
            parts.append(f"{self.corrupt} unreadable row(s) recorded again")
        if self.store.unstored:
            parts.append(f"WARNING: {self.store.unstored} not stored "
                         f"({self.store.store_problem})")
        if self.store.raw and self.mode != "replay":
            parts.append("raw outputs stored (--rft-cache-raw): the cache may hold secrets, "
                         "keep it out of version control")
        return f"rft: cache {self.store.path} ({self.mode}) for {self.inner.name} " \
               f"{getattr(self.inner, 'model', '')}: " + ", ".join(parts)
