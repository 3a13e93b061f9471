"""Where the platform objects come from: the OpenAI API, or files saved from it (``--from``).

Both answer the same four questions, so the importer cannot tell them apart and writes the same
bytes either way. The saved-files layout (``--from DIR``)::

    eval.json                    GET /v1/evals/{eval_id}
    runs.json                    GET /v1/evals/{eval_id}/runs?limit=100
    output_items/<run_id>.json   GET /v1/evals/{eval_id}/runs/{run_id}/output_items?limit=100
    files/<file_id>.jsonl        GET /v1/files/{file_id}/content
    job.json                     GET /v1/fine_tuning/jobs/{job_id}
    checkpoints.json             GET /v1/fine_tuning/jobs/{job_id}/checkpoints?limit=100

A list file may hold one list response (``{"object": "list", "data": [...]}``), a JSON array of
objects, or a JSON array of list responses (several pages).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ..core.errors import RftError
from .guards import resolve, safe_id
from .openai_api import MAX_FILE_BYTES, MAX_JSON_BYTES, OpenAIClient


class Source(Protocol):
    def eval(self, eval_id: str) -> dict[str, Any]: ...
    def runs(self, eval_id: str) -> list[dict[str, Any]]: ...
    def output_items(self, eval_id: str, run_id: str) -> list[dict[str, Any]]: ...
    def job(self, job_id: str) -> dict[str, Any]: ...
    def checkpoints(self, job_id: str) -> list[dict[str, Any]]: ...
    def file(self, file_id: str) -> bytes: ...
    def close(self) -> None: ...


class ApiSource:
    """Reads the objects from the OpenAI API."""

    def __init__(self, api_key: str | None = None, base_url: str | None = None, *,
                 deadline: float | None = None,
                 progress: Callable[[str], None] | None = None):
        key, url = resolve(api_key, base_url)
        self.client = OpenAIClient(key, url, deadline=deadline, progress=progress)

    def eval(self, eval_id: str) -> dict[str, Any]:
        return _same_id(self.client.get_json(f"/evals/{safe_id(eval_id, 'eval id')}"), eval_id)

    def runs(self, eval_id: str) -> list[dict[str, Any]]:
        return self.client.list_all(f"/evals/{safe_id(eval_id, 'eval id')}/runs")

    def output_items(self, eval_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.client.list_all(f"/evals/{safe_id(eval_id, 'eval id')}/runs/"
                                    f"{safe_id(run_id, 'run id')}/output_items")

    def job(self, job_id: str) -> dict[str, Any]:
        return _same_id(self.client.get_json(f"/fine_tuning/jobs/{safe_id(job_id, 'job id')}"),
                        job_id)

    def checkpoints(self, job_id: str) -> list[dict[str, Any]]:
        return self.client.list_all(f"/fine_tuning/jobs/{safe_id(job_id, 'job id')}/checkpoints")

    def file(self, file_id: str) -> bytes:
        return self.client.file_content(file_id)

    def close(self) -> None:
        self.client.close()


class SavedSource:
    """Reads the same objects from files saved with the ``curl`` calls in the module docstring.

    The answers name files (a run id, a file id); those are read from inside the folder only,
    and only regular files: a saved answer naming ``/proc/self/environ``, ``../x`` or a FIFO is
    refused, never read into the suite."""

    def __init__(self, folder: Path):
        if not folder.is_dir():
            raise RftError(f"--from folder not found: {folder}",
                           fix="save the objects first (see docs/migration.md: Offline: --from DIR)")
        self.folder = folder
        self.root = folder.resolve()

    def eval(self, eval_id: str) -> dict[str, Any]:
        return self._object("eval.json", eval_id)

    def runs(self, eval_id: str) -> list[dict[str, Any]]:
        return self._list("runs.json")

    def output_items(self, eval_id: str, run_id: str) -> list[dict[str, Any]]:
        return self._list(f"output_items/{_name(run_id, 'run id')}.json")

    def job(self, job_id: str) -> dict[str, Any]:
        return self._object("job.json", job_id)

    def checkpoints(self, job_id: str) -> list[dict[str, Any]]:
        if not os.path.lexists(self.folder / "checkpoints.json"):
            return []  # a job without checkpoints saved: the base and fine-tuned models remain
        return self._list("checkpoints.json")

    def file(self, file_id: str) -> bytes:
        file_id = _name(file_id, "file id")
        for name in (f"{file_id}.jsonl", f"{file_id}.json", file_id):
            if os.path.lexists(self.folder / "files" / name):
                return self._read(f"files/{name}", MAX_FILE_BYTES)
        raise RftError(f"file {file_id} is not saved", where=str(self.folder / "files"),
                       fix=f"curl -s $OPENAI_BASE_URL/files/{file_id}/content -H "
                           f"\"Authorization: Bearer $OPENAI_API_KEY\" > files/{file_id}.jsonl")

    def close(self) -> None:
        pass

    # -- reading --------------------------------------------------------------------------
    def _read(self, name: str, limit: int) -> bytes:
        """The bytes of ``name`` (relative to the folder): a regular file inside the folder
        (symbolic links are followed only while they stay inside), at most ``limit`` bytes."""
        path = self.folder / name
        real = path.resolve()
        if real != self.root and self.root not in real.parents:
            raise RftError(f"{name} points outside the --from folder ({real})",
                           where=str(self.folder),
                           fix="keep the saved answers' files inside the folder")
        try:
            info = real.stat()
            if not stat.S_ISREG(info.st_mode):
                raise RftError(f"{name} is not a regular file", where=str(self.folder),
                               fix="save the API's answer as a plain file")
            if info.st_size > limit:
                raise RftError(f"{name} is larger than {limit:,} bytes", where=str(path),
                               fix="save the API's answer unchanged")
            with open(real, "rb") as handle:
                data = handle.read(limit + 1)
        except FileNotFoundError:
            raise RftError(f"{name} is not saved", where=str(self.folder),
                           fix="save it with the curl calls in docs/migration.md (Offline: --from DIR)"
                           ) from None
        except OSError as exc:
            raise RftError(f"cannot read {name}: {exc.strerror or exc}",
                           where=str(self.folder)) from None
        if len(data) > limit:
            raise RftError(f"{name} is larger than {limit:,} bytes", where=str(path),
                           fix="save the API's answer unchanged")
        return data

    def _load(self, name: str) -> Any:
        path = self.folder / name
        data = self._read(name, MAX_JSON_BYTES * 16)
        try:
            return json.loads(data.decode("utf-8-sig"))
        except (ValueError, RecursionError) as exc:
            raise RftError(f"invalid JSON: {str(exc)[:200]}", where=str(path),
                           fix="save the API's answer unchanged (curl -s ... > file)") from None

    def _object(self, name: str, expected_id: str) -> dict[str, Any]:
        data = self._load(name)
        if not isinstance(data, dict) or (isinstance(data.get("error"), dict) and "id" not in data):
            raise RftError("expected the API object, got " + ("an error answer" if isinstance(
                data, dict) else type(data).__name__), where=str(self.folder / name),
                fix="save it again with a valid OPENAI_API_KEY")
        if data.get("id") != expected_id:
            raise RftError(f"holds {json.dumps(data.get('id'), default=str)[:80]}, "
                           f"not {expected_id!r}",
                           where=str(self.folder / name), fix="point --from at the folder saved "
                                                              f"for {expected_id}")
        return data

    def _list(self, name: str) -> list[dict[str, Any]]:
        data = self._load(name)
        pages = data if isinstance(data, list) and all(
            isinstance(p, dict) and p.get("object") == "list" for p in data) and data else [data]
        objects: list[dict[str, Any]] = []
        for page in pages:
            entries = page.get("data") if isinstance(page, dict) else page
            if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
                raise RftError("expected a list response, an array of objects or an array of "
                               "list responses", where=str(self.folder / name),
                               fix="save the API's answer unchanged (curl -s ... > file)")
            objects.extend(entries)
        return objects


def _name(value: Any, what: str) -> str:
    """An id used as a file name under the folder: no separators, no '..', nothing hidden."""
    if not isinstance(value, str) or not value or value in (".", "..") or value.startswith(".") \
            or any(c in value for c in "/\\\0") or len(value) > 255:
        raise RftError(f"{what} {json.dumps(value, default=str)[:80]} cannot name a saved file",
                       fix="a saved answer names files by their API id (file-..., evalrun_...)")
    return value


def _same_id(data: dict[str, Any], expected: str) -> dict[str, Any]:
    """The platform's object, when it is the one asked for."""
    if data.get("id") != expected:
        raise RftError(f"asked for {expected}, the platform answered "
                       f"{json.dumps(data.get('id'), default=str)[:80]}",
                       fix="check --base-url: it must be an OpenAI-compatible API (.../v1)")
    return data
