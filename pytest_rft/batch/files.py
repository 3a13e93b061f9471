"""Batch files: the run's requests as OpenAI Batch input JSONL, and batch output graded back.

* :class:`BatchCollector` + :class:`ExportBackend` (``--rft-batch-export FILE``): every request
  becomes one input line ``{"custom_id", "method": "POST", "url": "/v1/chat/completions" or
  "/v1/responses", "body"}``; the body is exactly what the direct transport sends
  (``wire.request_body``). Nothing is sampled.
* :class:`ImportBackend` (``--rft-batch-import FILE``): answers each request with the line of
  batch *output* (``{"id", "custom_id", "response": {"status_code", "body"}, "error"}``, from
  OpenAI, ``vllm run-batch`` or any compatible engine) whose custom id is the request's. Runner,
  graders and gates are unchanged: same ``Request`` in, same ``Completion`` out.

A custom id is the JSON array ``[suite, model, item id, repeat]``: reversible whatever the names
hold (``|``, ``:``, ``/``, quotes). Failed lines are final errors (a batch is not retried line by
line): ``error`` set -> its code (``batch_expired`` -> cause ``batch expired``); a status >= 400
-> the transports' cause plus `` in batch`` (``http 429 in batch``: not a live call, so it never
stops the model's other samples); a request with no line -> ``not in the batch output``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from ..core.errors import RftError
from ..core.files import read_bytes, write_atomic
from ..core.records import Completion, Request
from ..backends.base import CallError
from ..backends.wire import PATHS, Malformed, from_chat, from_responses, request_body, status_error

Key = tuple[str, str, str, int]
"""(suite, model, item id, repeat)."""

URLS = {api: "/v1" + path for api, path in PATHS.items()}
AGENT_TURN = "agent loop in a batch"
AGENT_TURN_MESSAGE = ("a batch holds one model call per sample: the later turns of an agent "
                      "loop (the model called tools that have implementations) can't be answered "
                      "from it; run this suite live (with --rft-cache to keep the answers)")
EXPORTED = "exported (not sampled)"
MISSING = "not in the batch output"


def custom_id(request: Request) -> str:
    return json.dumps([request.suite, request.model, request.item_id, request.repeat],
                      ensure_ascii=False, separators=(",", ":"))


def parse_custom_id(text: Any) -> Key | None:
    """The (suite, model, item id, repeat) of a custom id, or None if it isn't one of ours."""
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    if (isinstance(value, list) and len(value) == 4 and all(isinstance(v, str) for v in value[:3])
            and isinstance(value[3], int) and not isinstance(value[3], bool)):
        return (value[0], value[1], value[2], value[3])
    return None


def input_line(request: Request) -> dict[str, Any]:
    """One Batch API input line for ``request`` (raises CallError on a bad api / sampling)."""
    return {"custom_id": custom_id(request), "method": "POST", "url": URLS.get(request.api, ""),
            "body": request_body(request, request.model)}


class BatchCollector:
    """The input lines of one run, in the order the runner produced them."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []
        self.failed: dict[str, int] = {}
        """Requests that could not be built, by cause (a template the record can't fill)."""

    def groups(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """Lines by (url, model): one batch each (a batch has one endpoint and one model)."""
        out: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for line in self.lines:
            out.setdefault((line["url"], line["body"].get("model", "")), []).append(line)
        return out

    def write(self, path: Path) -> int:
        write_atomic(path, encode(self.lines))  # whole, or the old file kept
        return len(self.lines)


def encode(lines: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"
                   for line in lines).encode("utf-8")


class ExportBackend:
    """Writes each request's input line and samples nothing (the call ends as ``EXPORTED``)."""

    def __init__(self, model: str, collector: BatchCollector):
        self.name = "batch-export"
        self.model = model
        self.collector = collector

    def request_body(self, request: Request) -> dict[str, Any]:
        return request_body(request, self.model)

    async def complete(self, request: Request) -> Completion:
        self.collector.lines.append(input_line(request))
        raise CallError(EXPORTED, "exported to a batch input file, not sampled")

    async def aclose(self) -> None:
        pass


def parse_output(data: bytes | str, where: str = "batch output"
                 ) -> tuple[dict[Key, dict[str, Any]], int]:
    """Output lines by key, and how many lines were not ours (foreign or broken custom ids).
    A line that is not JSON is an error naming the file and line."""
    fix = "pass the output JSONL of a batch (one JSON object a line)"
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            raise RftError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})",
                           where=f"{where}:{line}", fix=fix) from None
    else:
        text = data
    lines: dict[Key, dict[str, Any]] = {}
    foreign = 0
    for n, raw in enumerate(text.split("\n"), 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError as exc:
            raise RftError(f"line {n} is not JSON: {exc}", where=f"{where}:{n}",
                           fix=fix) from None
        except RecursionError:
            raise RftError(f"line {n} is nested too deeply to read", where=f"{where}:{n}",
                           fix=fix) from None
        key = parse_custom_id(line.get("custom_id")) if isinstance(line, dict) else None
        if key is None:
            foreign += 1
            continue
        lines[key] = line
    return lines, foreign


def load_output(paths: Iterable[Path]) -> tuple[dict[Key, dict[str, Any]], int]:
    lines: dict[Key, dict[str, Any]] = {}
    foreign = 0
    for path in paths:
        try:
            data = read_bytes(path)
        except RftError as exc:
            raise RftError(f"cannot read the batch output: {exc.message}", where=exc.where,
                           fix=exc.fix or "pass the output JSONL of a batch "
                                          "(--rft-batch-import FILE)") from None
        found, other = parse_output(data, str(path))
        lines.update(found)
        foreign += other
    return lines, foreign


def _message(error: Any, default: str) -> str:
    if isinstance(error, dict):
        error = error.get("error", error)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return default


def completion_of(line: dict[str, Any], api: str) -> Completion:
    """The completion of one output line, or the CallError it stands for."""
    error = line.get("error")
    response = line.get("response")
    if error:
        code = error.get("code") if isinstance(error, dict) else None
        cause = str(code).replace("_", " ") if code else "batch error"
        raise CallError(cause, _message(error, "the batch reported an error for this request"))
    if not isinstance(response, dict):
        raise CallError("malformed batch line", "batch output line without response or error")
    status = response.get("status_code")
    body = response.get("body")
    if not isinstance(status, int):
        raise CallError("malformed batch line", "batch output line without status_code")
    if status >= 400:
        err = status_error(status, f"Error code: {status} - {_message(body, 'error')}", None)
        raise CallError(f"{err.cause} in batch", err.message)
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            body = None
    if not isinstance(body, dict):
        raise CallError("malformed response", "malformed response in batch: body is not an object")
    try:
        return from_chat(body) if api == "chat" else from_responses(body)
    except CallError as exc:  # a failed Responses response: final here
        raise CallError(exc.cause, exc.message) from None
    except (Malformed, AttributeError, KeyError, TypeError, ValueError) as exc:
        raise CallError("malformed response",
                        f"malformed response in batch: {type(exc).__name__}: {exc}") from None


class ImportBackend:
    """Answers each request from batch output lines keyed by custom id."""

    def __init__(self, model: str, lines: dict[Key, dict[str, Any]], source: str = "the batch"):
        self.name = "batch"
        self.model = model
        self.source = source
        self._lines = lines
        self.answered = 0
        self.missing = 0

    def request_body(self, request: Request) -> dict[str, Any]:
        return request_body(request, self.model)

    async def complete(self, request: Request) -> Completion:
        if request.turn:
            raise CallError(AGENT_TURN, AGENT_TURN_MESSAGE)
        key = (request.suite, request.model, request.item_id, request.repeat)
        line = self._lines.get(key)
        if line is None:
            self.missing += 1
            raise CallError(MISSING, f"{MISSING} ({self.source}): suite {request.suite!r}, "
                                     f"model {request.model!r}, item {request.item_id!r}, "
                                     f"repeat {request.repeat}")
        completion = completion_of(line, request.api)
        self.answered += 1
        return completion

    async def aclose(self) -> None:
        pass

    def note(self) -> str:
        text = f"rft: {self.answered} sample(s) of {self.model} graded from {self.source}"
        return text + (f", {self.missing} {MISSING}" if self.missing else "")
