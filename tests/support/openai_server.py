"""A local OpenAI-compatible server for tests and benchmarks (aiohttp, 127.0.0.1 only).

Serves ``POST /v1/chat/completions`` and ``POST /v1/responses`` with the real response shapes,
and ``POST /v1/embeddings`` (hashed bag-of-words vectors, for ``text_similarity`` cosine).
Answers come from ``server.policy(body) -> str`` (or a dict ``{"text": ..., "tool_calls": [...]}``);
latency and faults are programmable and deterministic from a seed.

Tool calling: a policy answers with calls (``{"tool_calls": [tool_call("get_order", {"id": 1})]}``,
chat-shaped; the Responses route renders them as ``function_call`` items), and reads the results
of its earlier calls in the request, whichever API sent them, with ``tool_results(body)``; the
tools offered are ``offered_tools(body)``. ``scripted_agent({...})`` builds such a policy.

Usage in tests (the fixture is function-scoped)::

    def test_x(openai_server):
        openai_server.plan.script["item-1"] = ["429", "429"]   # first two attempts of item-1
        openai_server.policy = lambda body: '{"answer": 4}'
        backend = OpenAIBackend("m", api_key=openai_server.api_key, base_url=openai_server.base_url)

Requests are identified by a *marker*: the content of the last user message (override with
``server.marker_fn``). Attempts are counted per marker, starting at 1.

Outcomes (``FaultPlan`` probabilities / ``script`` entries / ``faults_for`` results):
``ok``, ``429``, ``500``, ``503``, any other HTTP status as a string (``"400"``, ``"408"``...),
``hang`` (sleep ``hang_s``, past the client's timeout), ``drip`` (a 200 whose body arrives
in 40 small pieces over ``hang_s``), ``reset`` (abort the connection),
``malformed`` (200 with invalid JSON), ``html`` (200 with a text/html body), ``shape`` (200
with valid JSON of the wrong shape), ``raw`` (200 with ``server.raw_answer(body)`` as JSON),
``gzip-bomb`` (a chat answer of ``server.bomb_bytes`` sent gzip-compressed), ``truncate``
(half the text, finish_reason ``length`` / status ``incomplete``), ``refusal``, ``empty``
(``choices: []`` / ``output: []``). ``401`` is also produced by a wrong API key.

Batch API: ``POST /v1/files`` (multipart, purpose batch), ``POST /v1/batches`` (counted in
``batch_creates``), ``GET /v1/batches/{id}`` (validating -> in_progress -> ``batch_final`` after
``batch_polls_to_finish`` polls, answering each line through ``policy`` unless
``batch_faults`` says otherwise); output and error files are served as file content.

Platform objects for ``pytest-rft import`` tests: ``GET /v1/evals/{id}``, ``.../runs``,
``.../runs/{run}/output_items``, ``/v1/files/{id}/content``, ``/v1/fine_tuning/jobs/{id}`` and
``.../checkpoints`` serve what ``add_eval``, ``add_run``, ``add_output_items``, ``add_file``,
``add_job`` and ``add_checkpoints`` stored, lists as cursor pages (``limit`` capped by
``server.page_limit``, ``after``, ``has_more``, ``first_id``, ``last_id``), behind the same
bearer key.

CLI for benchmarks (server in its own process so its CPU is not counted)::

    python -m tests.support.openai_server --port 0 --latency 0.1    # prints "PORT <n>", runs until killed
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, NamedTuple

from aiohttp import web

OUTCOMES = ("429", "500", "503", "hang", "reset", "malformed", "truncate", "refusal", "empty")
"""Faults drawn at random by a FaultPlan, in the order their probabilities are accumulated."""

REFUSAL_TEXT = "I can't help with that"


@dataclass
class FaultPlan:
    """Which outcome each request gets. Precedence: ``faults_for``, ``script``, probabilities.

    Random draws depend only on (seed, marker, attempt), so they do not depend on scheduling.
    """

    p429: float = 0.0
    p500: float = 0.0
    p503: float = 0.0
    hang: float = 0.0
    reset: float = 0.0
    malformed: float = 0.0
    truncate: float = 0.0
    refusal: float = 0.0
    empty: float = 0.0
    seed: int = 0
    retry_after: str | None = "0"
    """``Retry-After`` header sent with 429/503 (None: not sent)."""
    retry_after_ms: str | None = None
    """``retry-after-ms`` header sent with 429/503 (None: not sent)."""
    script: dict[str, list[str]] = field(default_factory=dict)
    """marker -> outcomes of attempts 1, 2, ...; attempts past the list are ``ok``."""
    faults_for: Callable[[dict[str, Any], int], str | None] | None = None
    """``(body, attempt) -> outcome`` or None to fall through to script / probabilities."""

    def probabilities(self) -> list[tuple[str, float]]:
        return [("429", self.p429), ("500", self.p500), ("503", self.p503), ("hang", self.hang),
                ("reset", self.reset), ("malformed", self.malformed),
                ("truncate", self.truncate), ("refusal", self.refusal), ("empty", self.empty)]

    def outcome(self, body: dict[str, Any], marker: str, attempt: int) -> str:
        """The outcome of ``attempt`` (1-based) of the request with ``marker``."""
        if self.faults_for is not None:
            chosen = self.faults_for(body, attempt)
            if chosen is not None:
                return chosen
        if marker in self.script:
            steps = self.script[marker]
            return steps[attempt - 1] if attempt <= len(steps) else "ok"
        probs = self.probabilities()
        if not any(p for _, p in probs):
            return "ok"
        u = random.Random(f"{self.seed}\x00{marker}\x00{attempt}").random()
        acc = 0.0
        for name, p in probs:
            acc += p
            if u < acc:
                return name
        return "ok"


class LogEntry(NamedTuple):
    marker: str
    attempt: int
    outcome: str


class RecordedRequest(NamedTuple):
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def default_policy(body: dict[str, Any]) -> str:
    """Always answers ``{"ok": true}``."""
    return '{"ok": true}'


def last_user_content(body: dict[str, Any]) -> str:
    """Marker of a request: the text of its last user message (chat ``messages`` or ``input``)."""
    messages = body.get("messages", body.get("input"))
    if isinstance(messages, str):
        return messages
    for msg in reversed(messages or []):
        if isinstance(msg, dict) and msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def tool_call(name: str, arguments: Any = None, id: str | None = None) -> dict[str, Any]:
    """A chat-shaped tool call for a policy's answer (arguments a JSON string, as OpenAI's)."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    return {"id": id or f"call_{name}_{random.getrandbits(24):06x}", "type": "function",
            "function": {"name": name, "arguments": text}}


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool results the request carries, oldest first: ``{"call_id", "output"}`` from chat
    ``tool`` messages or Responses ``function_call_output`` items."""
    out = []
    for m in body.get("messages", body.get("input")) or []:
        if not isinstance(m, dict):
            continue
        if m.get("role") == "tool":
            out.append({"call_id": m.get("tool_call_id"), "output": m.get("content")})
        elif m.get("type") == "function_call_output":
            out.append({"call_id": m.get("call_id"), "output": m.get("output")})
    return out


def offered_tools(body: dict[str, Any]) -> list[str]:
    """Names of the tools the request offers (chat or Responses shape)."""
    names = []
    for t in body.get("tools") or []:
        fn = t.get("function") if isinstance(t.get("function"), dict) else t
        names.append(fn.get("name"))
    return names


def scripted_agent(plan: dict[str, list[Any]]) -> Callable[[dict[str, Any]], Any]:
    """A policy playing an agent: for the request whose marker (last user text) is a key, turn
    n answers ``plan[key][n]`` (turn = number of tool results in the request, one per call):
    a list of ``tool_call(...)`` dicts to call tools, or a string (``{result}`` is replaced by
    the last tool result) to answer."""

    def policy(body: dict[str, Any]) -> Any:
        steps = plan[last_user_content(body)]
        results = tool_results(body)
        done, turn = 0, 0
        while turn < len(steps) and isinstance(steps[turn], list) and done < len(results):
            done += len(steps[turn])
            turn += 1
        step = steps[min(turn, len(steps) - 1)]
        if isinstance(step, list):
            return {"text": "", "tool_calls": step}
        last = results[-1]["output"] if results else ""
        return step.replace("{result}", str(last))

    return policy


def _tokens(text: str) -> int:
    return len(text) // 4 + 1 if text else 0


def _gzip_bomb(size: int) -> bytes:
    """A chat answer whose content is ``size`` bytes of "a", gzip-compressed (~1/1000 of it)."""
    import gzip
    import io

    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as out:
        out.write(b'{"choices": [{"index": 0, "finish_reason": "stop", "message": '
                  b'{"role": "assistant", "content": "')
        chunk = b"a" * (1 << 20)
        for _ in range(size >> 20):
            out.write(chunk)
        out.write(b'"}}]}')
    return buffer.getvalue()


class OpenAIServer:
    """The server; runs its own event loop in a daemon thread. Use ``start()`` / ``stop()``."""

    def __init__(self, *, api_key: str | None = "sk-test-key-0123456789",
                 policy: Callable[[dict[str, Any]], Any] = default_policy,
                 latency: float | Callable[[dict[str, Any]], float] = 0.0,
                 plan: FaultPlan | None = None, hang_s: float = 30.0,
                 reasoning_tokens: int = 0, cached_tokens: int = 0,
                 record_requests: bool = True, port: int = 0):
        self.api_key = api_key
        """Expected bearer key; None accepts any key. Also what tests should pass as api_key."""
        self.policy = policy
        self.latency = latency
        self.plan = plan or FaultPlan()
        self.hang_s = hang_s
        self.drip_s = 0.5
        """Seconds between the bytes of a ``drip`` answer."""
        self.raw_answer: Callable[[dict[str, Any]], Any] = lambda body: {}
        """The JSON body of a ``raw`` answer (any shape: hostile answers)."""
        self.bomb_bytes = 64 << 20
        """Decoded size of a ``gzip-bomb`` answer (a valid chat answer, gzip-compressed)."""
        self.reasoning_tokens = reasoning_tokens
        self.cached_tokens = cached_tokens
        self.record_requests = record_requests
        self.marker_fn: Callable[[dict[str, Any]], str] = last_user_content
        self.log: list[LogEntry] = []
        self.counts: collections.Counter[str] = collections.Counter()
        self.requests: list[RecordedRequest] = []
        self.attempts: collections.Counter[str] = collections.Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.platform_objects: dict[str, Any] = {}
        """GET path under /v1 -> a JSON object, a list (served as cursor pages) or bytes."""
        self.page_limit = 100
        """Largest page a list serves, whatever ``limit`` asks (the real API caps at 100)."""
        self.get_log: list[str] = []
        self.files: dict[str, bytes] = {}
        """Uploaded files (``POST /v1/files``) by id."""
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_creates = 0
        """``POST /v1/batches`` calls (a resumed run must not add one)."""
        self.batch_polls_to_finish = 2
        """GETs of a batch before it reaches ``batch_final`` (validating, in_progress, ...)."""
        self.batch_final = "completed"
        """Status a batch ends in: completed, failed, expired or cancelled."""
        self.batch_get_failures = 0
        """The next N ``GET /v1/batches/{id}`` answer 503."""
        self.batch_faults: Callable[[int, dict[str, Any]], str | None] | None = None
        """``(line number, input line) -> None | "expired" | "skip" | an HTTP status``: an
        error-file line (``batch_expired`` / a failed response) or no line at all."""
        """Path and query of every GET, in order."""
        self._port = port
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/responses", self._responses)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/v1/files", self._upload)
        app.router.add_post("/v1/batches", self._create_batch)
        app.router.add_get("/v1/batches/{batch_id}", self._get_batch)
        app.router.add_get("/v1/{tail:.*}", self._platform_get)
        return app

    async def start_async(self) -> None:
        """Start serving on the running loop (used by the thread and by the CLI)."""
        self._runner = web.AppRunner(self.app(), handle_signals=False, access_log=None,
                                     handler_cancellation=True, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port, backlog=1024)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop_async(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> "OpenAIServer":
        """Start in a background thread; returns once the port is bound."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:  # pragma: no cover - reported to start()
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop_async())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="openai-test-server", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        if self.port is None:
            raise RuntimeError("test server did not start")
        return self

    def stop(self) -> None:
        """Stop serving and join the thread (cancels hanging handlers)."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._thread = None

    def __enter__(self) -> "OpenAIServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget the log, counts, recorded requests and attempt counters."""
        with self._lock:
            self.log.clear()
            self.counts.clear()
            self.requests.clear()
            self.attempts.clear()
            self.max_in_flight = 0

    # -- platform objects (GET routes) -----------------------------------------------------
    def add_eval(self, evaluation: dict[str, Any]) -> None:
        """``GET /v1/evals/{id}``."""
        self.platform_objects[f"/evals/{evaluation['id']}"] = evaluation

    def add_run(self, eval_id: str, run: dict[str, Any]) -> None:
        """Appends to ``GET /v1/evals/{eval_id}/runs`` (oldest first, the API's default)."""
        self.platform_objects.setdefault(f"/evals/{eval_id}/runs", []).append(run)
        self.platform_objects[f"/evals/{eval_id}/runs/{run['id']}"] = run

    def add_output_items(self, eval_id: str, run_id: str, items: list[dict[str, Any]]) -> None:
        """``GET /v1/evals/{eval_id}/runs/{run_id}/output_items``."""
        self.platform_objects[f"/evals/{eval_id}/runs/{run_id}/output_items"] = list(items)

    def add_file(self, file_id: str, content: bytes) -> None:
        """``GET /v1/files/{file_id}/content``."""
        self.platform_objects[f"/files/{file_id}/content"] = content

    def add_job(self, job: dict[str, Any]) -> None:
        """``GET /v1/fine_tuning/jobs/{id}``."""
        self.platform_objects[f"/fine_tuning/jobs/{job['id']}"] = job

    def add_checkpoints(self, job_id: str, checkpoints: list[dict[str, Any]]) -> None:
        """``GET /v1/fine_tuning/jobs/{job_id}/checkpoints`` (newest first, like the API)."""
        self.platform_objects[f"/fine_tuning/jobs/{job_id}/checkpoints"] = list(checkpoints)

    async def _platform_get(self, request: web.Request) -> web.StreamResponse:
        self.get_log.append(request.path_qs)
        auth = request.headers.get("Authorization", "")
        if self.api_key is not None and auth != f"Bearer {self.api_key}":
            key = auth[len("Bearer "):] if auth.startswith("Bearer ") else auth
            return self._error(401, f"Incorrect API key provided: {key}.",
                               "invalid_request_error", code="invalid_api_key")
        path = request.path.removeprefix("/v1")
        if path not in self.platform_objects:
            return self._error(404, f"No such object: {path}", "invalid_request_error")
        value = self.platform_objects[path]
        if isinstance(value, bytes):
            return web.Response(body=value, content_type="application/octet-stream")
        if isinstance(value, list):
            return web.json_response(self._page(value, request.query))
        return web.json_response(value)

    def _page(self, objects: list[dict[str, Any]], query: Any) -> dict[str, Any]:
        """One cursor page of the stored order: ``limit`` (capped by page_limit), ``after``."""
        start = 0
        if query.get("after"):
            ids = [o.get("id") for o in objects]
            start = ids.index(query["after"]) + 1 if query["after"] in ids else len(objects)
        limit = min(int(query.get("limit", 20)), self.page_limit)
        data = objects[start:start + limit]
        return {"object": "list", "data": data,
                "first_id": data[0].get("id") if data else None,
                "last_id": data[-1].get("id") if data else None,
                "has_more": start + limit < len(objects)}

    # -- Batch API (POST /v1/files, POST /v1/batches, GET /v1/batches/{id}) ------------------
    def _unauthorized(self, request: web.Request) -> web.Response | None:
        auth = request.headers.get("Authorization", "")
        if self.api_key is not None and auth != f"Bearer {self.api_key}":
            return self._error(401, "Incorrect API key provided", "invalid_request_error",
                               code="invalid_api_key")
        return None

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        denied = self._unauthorized(request)
        if denied is not None:
            return denied
        fields: dict[str, Any] = {}
        reader = await request.multipart()
        async for part in reader:
            fields[part.name] = (await part.read(), part.filename)
        if fields.get("purpose", (b"",))[0] != b"batch" or "file" not in fields:
            return self._error(400, "need purpose=batch and a file", "invalid_request_error")
        file_id = f"file-{len(self.files) + 1}"
        data, name = fields["file"]
        self.files[file_id] = bytes(data)
        return web.json_response({"id": file_id, "object": "file", "bytes": len(data),
                                  "filename": name, "purpose": "batch",
                                  "created_at": int(time.time())})

    async def _create_batch(self, request: web.Request) -> web.StreamResponse:
        denied = self._unauthorized(request)
        if denied is not None:
            return denied
        body = await request.json()
        if body.get("input_file_id") not in self.files or body.get("completion_window") != "24h":
            return self._error(400, "bad batch request", "invalid_request_error")
        with self._lock:
            self.batch_creates += 1
            batch_id = f"batch_{self.batch_creates}"
        n = len(self.files[body["input_file_id"]].splitlines())
        batch = {"id": batch_id, "object": "batch", "endpoint": body.get("endpoint"),
                 "input_file_id": body["input_file_id"], "completion_window": "24h",
                 "status": "validating", "output_file_id": None, "error_file_id": None,
                 "errors": None, "created_at": int(time.time()), "polls": 0,
                 "request_counts": {"total": n, "completed": 0, "failed": 0}}
        self.batches[batch_id] = batch
        return web.json_response({k: v for k, v in batch.items() if k != "polls"})

    async def _get_batch(self, request: web.Request) -> web.StreamResponse:
        self.get_log.append(request.path_qs)
        denied = self._unauthorized(request)
        if denied is not None:
            return denied
        if self.batch_get_failures > 0:
            self.batch_get_failures -= 1
            return self._error(503, "Service unavailable", "server_error")
        batch = self.batches.get(request.match_info["batch_id"])
        if batch is None:
            return self._error(404, "No such batch", "invalid_request_error")
        if batch["status"] not in ("completed", "failed", "expired", "cancelled"):
            batch["polls"] += 1
            if batch["polls"] >= self.batch_polls_to_finish:
                self._finish_batch(batch)
            else:
                batch["status"] = "in_progress"
        return web.json_response({k: v for k, v in batch.items() if k != "polls"})

    def _finish_batch(self, batch: dict[str, Any]) -> None:
        """Answer every input line as the HTTP routes would (policy, renderers), or not."""
        outputs, errors = [], []
        for n, raw in enumerate(self.files[batch["input_file_id"]].decode().splitlines()):
            line = json.loads(raw)
            fault = self.batch_faults(n, line) if self.batch_faults else None
            entry: dict[str, Any] = {"id": f"batch_req_{n}", "custom_id": line["custom_id"],
                                     "response": None, "error": None}
            if fault == "skip":
                continue
            if fault == "expired":
                entry["error"] = {"code": "batch_expired",
                                  "message": "This request could not be executed before the "
                                             "completion window expired."}
                errors.append(entry)
                continue
            if fault is not None:
                status = int(fault)
                entry["response"] = {"status_code": status, "request_id": f"req_{n}", "body": {
                    "error": {"message": f"error {status}", "type": "server_error"}}}
                errors.append(entry)
                continue
            body = line["body"]
            answer = self.policy(body)
            spec = answer if isinstance(answer, dict) else {"text": str(answer)}
            render = self._chat_body if line["url"].endswith("/chat/completions") \
                else self._responses_body
            entry["response"] = {"status_code": 200, "request_id": f"req_{n}",
                                 "body": render(body, "ok", spec)}
            outputs.append(entry)
        for kind, entries in (("output_file_id", outputs), ("error_file_id", errors)):
            if entries:
                file_id = f"file-{batch['id']}-{kind.split('_')[0]}"
                self.add_file(file_id, "".join(json.dumps(e) + "\n" for e in entries).encode())
                batch[kind] = file_id
        batch["status"] = self.batch_final
        if self.batch_final == "failed":
            batch["errors"] = {"object": "list", "data": [
                {"code": "invalid_request", "message": "the input file failed validation"}]}
        batch["request_counts"].update(completed=len(outputs), failed=len(errors))

    # -- introspection helpers ------------------------------------------------------------
    def bodies(self, path: str | None = None) -> list[dict[str, Any]]:
        """Recorded request bodies, optionally only those sent to ``path`` ('/v1/responses')."""
        return [r.body for r in self.requests if path is None or r.path == path]

    def outcomes_for(self, marker: str) -> list[str]:
        """Outcomes of the attempts of one marker, in order."""
        return [e.outcome for e in sorted(self.log) if e.marker == marker]

    # -- handlers -------------------------------------------------------------------------
    async def _chat(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, self._chat_body)

    async def _responses(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, self._responses_body)

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, self._embeddings_body)

    async def _handle(self, request: web.Request,
                      render: Callable[[dict[str, Any], str, dict[str, Any]], dict[str, Any]]
                      ) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("body is not an object")
        except ValueError as exc:
            return self._error(400, f"invalid JSON body: {exc}", "invalid_request_error")
        headers = {k.lower(): v for k, v in request.headers.items()}
        marker = self.marker_fn(body)
        with self._lock:
            self.attempts[marker] += 1
            attempt = self.attempts[marker]
            if self.record_requests:
                self.requests.append(RecordedRequest(request.path, headers, body))
        auth = headers.get("authorization", "")
        if self.api_key is not None and auth != f"Bearer {self.api_key}":
            outcome = "401"
        else:
            outcome = self.plan.outcome(body, marker, attempt)
        with self._lock:
            self.log.append(LogEntry(marker, attempt, outcome))
            self.counts[outcome] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            latency = self.latency(body) if callable(self.latency) else self.latency
            if latency > 0:
                await asyncio.sleep(latency)
            return await self._respond(request, body, outcome, render, auth)
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _respond(self, request: web.Request, body: dict[str, Any], outcome: str,
                       render: Callable[[dict[str, Any], str, dict[str, Any]], dict[str, Any]],
                       auth: str) -> web.StreamResponse:
        if outcome == "ok" or outcome in ("truncate", "refusal", "empty"):
            answer = self.policy(body)
            spec = answer if isinstance(answer, dict) else {"text": str(answer)}
            return web.json_response(render(body, outcome, spec))
        if outcome == "hang":
            await asyncio.sleep(self.hang_s)
            return self._error(504, "gateway timeout", "server_error")
        if outcome == "drip":
            # headers at once, then the body a few bytes at a time over hang_s: each read is
            # quick, the whole answer is slow (a per-read timeout never fires, a deadline does)
            answer = self.policy(body)
            spec = answer if isinstance(answer, dict) else {"text": str(answer)}
            payload = json.dumps(render(body, "ok", spec)).encode()
            stream = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
            stream.content_length = len(payload)
            await stream.prepare(request)
            step = max(1, len(payload) // 40)
            for start in range(0, len(payload), step):
                await stream.write(payload[start:start + step])
                await asyncio.sleep(self.hang_s / 40)
            await stream.write_eof()
            return stream
        if outcome == "reset":
            transport = request.transport
            if transport is not None:
                transport.abort()
            raise asyncio.CancelledError()  # nothing more to send on an aborted connection
        if outcome == "malformed":
            return web.Response(status=200, text='{"id": "chatcmpl-broken", "choices": [{"ind',
                                content_type="application/json")
        if outcome == "shape":
            return web.json_response({"object": "unexpected", "data": [1, 2]})
        if outcome == "raw":
            return web.json_response(self.raw_answer(body))
        if outcome == "gzip-bomb":
            return web.Response(status=200, body=_gzip_bomb(self.bomb_bytes), headers={
                "Content-Type": "application/json", "Content-Encoding": "gzip"})
        if outcome == "html":
            return web.Response(status=200, text="<html><body>Bad gateway</body></html>",
                                content_type="text/html")
        if outcome == "401":
            # Real OpenAI masks the key; echoing it in full checks that clients scrub it.
            key = auth[len("Bearer "):] if auth.startswith("Bearer ") else auth
            return self._error(401, f"Incorrect API key provided: {key}.",
                               "invalid_request_error", code="invalid_api_key")
        if outcome.isdigit():
            status = int(outcome)
            extra: dict[str, str] = {}
            if status in (429, 503):
                if self.plan.retry_after is not None:
                    extra["Retry-After"] = self.plan.retry_after
                if self.plan.retry_after_ms is not None:
                    extra["retry-after-ms"] = self.plan.retry_after_ms
            kind = {429: "requests", 400: "invalid_request_error", 404: "invalid_request_error",
                    422: "invalid_request_error"}.get(status, "server_error")
            message = {429: "Rate limit reached for requests", 503: "Service unavailable",
                       500: "The server had an error while processing your request."
                       }.get(status, f"error {status}")
            return self._error(status, message, kind, headers=extra)
        raise ValueError(f"unknown outcome {outcome!r}")

    @staticmethod
    def _error(status: int, message: str, kind: str, *, code: str | None = None,
               headers: dict[str, str] | None = None) -> web.Response:
        payload = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        return web.json_response(payload, status=status, headers=headers)

    # -- response bodies ------------------------------------------------------------------
    def _input_tokens(self, body: dict[str, Any]) -> int:
        messages = body.get("messages", body.get("input")) or []
        if isinstance(messages, str):
            return _tokens(messages)
        return sum(_tokens(str(m.get("content", ""))) for m in messages if isinstance(m, dict))

    def _chat_body(self, body: dict[str, Any], outcome: str, spec: dict[str, Any]
                   ) -> dict[str, Any]:
        text: str = spec.get("text", "")
        tool_calls = spec.get("tool_calls") or None
        finish = "tool_calls" if tool_calls else "stop"
        content: str | None = text if text or not tool_calls else None
        refusal = None
        if outcome == "truncate":
            text = content = text[: len(text) // 2]
            finish = "length"
        elif outcome == "refusal":
            content, refusal, text, tool_calls = None, REFUSAL_TEXT, "", None
        prompt = self._input_tokens(body)
        completion = _tokens(text) + self.reasoning_tokens
        choices: list[dict[str, Any]] = [] if outcome == "empty" else [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": refusal,
                        "tool_calls": tool_calls, "annotations": []},
            "logprobs": None,
            "finish_reason": finish,
        }]
        return {
            "id": f"chatcmpl-{random.getrandbits(48):012x}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", ""),
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": self.cached_tokens, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": self.reasoning_tokens,
                                              "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0,
                                              "rejected_prediction_tokens": 0},
            },
            "service_tier": "default",
            "system_fingerprint": "fp_local",
        }

    def _embeddings_body(self, body: dict[str, Any], outcome: str, spec: dict[str, Any]
                         ) -> dict[str, Any]:
        """Deterministic bag-of-words vectors (words hashed into 32 dimensions), floats only:
        texts sharing words have a cosine above 0, identical texts exactly 1."""
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else list(texts or [])
        data = []
        for i, text in enumerate(texts):
            vector = [0.0] * 32
            for word in str(text).lower().split():
                vector[sum(word.encode()) % 32] += 1.0
            data.append({"object": "embedding", "index": i, "embedding": vector})
        tokens = sum(_tokens(str(t)) for t in texts)
        return {"object": "list", "data": data, "model": body.get("model", ""),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    def _responses_body(self, body: dict[str, Any], outcome: str, spec: dict[str, Any]
                        ) -> dict[str, Any]:
        text: str = spec.get("text", "")
        status, incomplete = "completed", None
        if outcome == "truncate":
            text = text[: len(text) // 2]
            status, incomplete = "incomplete", {"reason": "max_output_tokens"}
        rid = f"{random.getrandbits(48):012x}"
        output: list[dict[str, Any]] = []
        if outcome == "refusal":
            text = ""
            parts: list[dict[str, Any]] = [{"type": "refusal", "refusal": REFUSAL_TEXT}]
        else:
            parts = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
        if outcome != "empty":
            if self.reasoning_tokens:
                output.append({"type": "reasoning", "id": f"rs_{rid}", "summary": []})
            if text or not spec.get("tool_calls") or outcome == "refusal":
                output.append({"type": "message", "id": f"msg_{rid}", "status": status,
                               "role": "assistant", "content": parts})
            for i, tc in enumerate(spec.get("tool_calls") or []):
                fn = tc.get("function", {})
                output.append({"type": "function_call", "id": f"fc_{rid}_{i}",
                               "call_id": tc.get("id", f"call_{i}"), "name": fn.get("name"),
                               "arguments": fn.get("arguments", "{}"), "status": "completed"})
        inp = self._input_tokens(body)
        out = _tokens(text) + self.reasoning_tokens
        text_cfg = body.get("text") or {"format": {"type": "text"}}
        return {
            "id": f"resp_{rid}",
            "object": "response",
            "created_at": int(time.time()),
            "status": status,
            "error": None,
            "incomplete_details": incomplete,
            "instructions": None,
            "max_output_tokens": body.get("max_output_tokens"),
            "model": body.get("model", ""),
            "output": output,
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": None,
            "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
            "store": True,
            "temperature": body.get("temperature", 1.0),
            "text": text_cfg,
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "top_p": body.get("top_p", 1.0),
            "truncation": "disabled",
            "usage": {
                "input_tokens": inp,
                "input_tokens_details": {"cached_tokens": self.cached_tokens},
                "output_tokens": out,
                "output_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
                "total_tokens": inp + out,
            },
            "user": None,
            "metadata": {},
        }


# -- pytest fixture ---------------------------------------------------------------------------
try:
    import pytest
except ImportError:  # pragma: no cover - the CLI works without pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:
    @pytest.fixture
    def openai_server() -> Iterator[OpenAIServer]:
        """A fresh local OpenAI-compatible server per test (``.base_url``, ``.api_key``, ...)."""
        server = OpenAIServer().start()
        try:
            yield server
        finally:
            server.stop()


# -- subprocess helpers and CLI ---------------------------------------------------------------
class ServerProcess:
    """The server in a child process (for benchmarks): ``.base_url``, ``.api_key``, ``.stop()``."""

    def __init__(self, latency: float = 0.0, api_key: str = "sk-test-key-0123456789",
                 cwd: str | None = None):
        import os
        root = cwd or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.api_key = api_key
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.openai_server", "--port", "0",
             "--latency", str(latency), "--api-key", api_key],
            cwd=root, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"server process did not start: {line!r}")
        self.port = int(line.split()[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """CLI: serve until SIGTERM / SIGINT; prints ``PORT <n>`` once listening."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    ap.add_argument("--api-key", default="sk-test-key-0123456789",
                    help="expected bearer key ('' accepts any)")
    args = ap.parse_args(argv)
    server = OpenAIServer(api_key=args.api_key or None, latency=args.latency, port=args.port,
                          record_requests=False)

    async def serve() -> None:
        await server.start_async()
        print(f"PORT {server.port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.stop_async()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
