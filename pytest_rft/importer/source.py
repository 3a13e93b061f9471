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
from pathlib import Path
from typing import Any, Protocol

from ..errors import RftError
from ..openai_api import OpenAIClient, resolve


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

    def __init__(self, api_key: str | None = None, base_url: str | None = None):
        key, url = resolve(api_key, base_url)
        self.client = OpenAIClient(key, url)

    def eval(self, eval_id: str) -> dict[str, Any]:
        return self.client.get_json(f"/evals/{eval_id}")

    def runs(self, eval_id: str) -> list[dict[str, Any]]:
        return self.client.list_all(f"/evals/{eval_id}/runs")

    def output_items(self, eval_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.client.list_all(f"/evals/{eval_id}/runs/{run_id}/output_items")

    def job(self, job_id: str) -> dict[str, Any]:
        return self.client.get_json(f"/fine_tuning/jobs/{job_id}")

    def checkpoints(self, job_id: str) -> list[dict[str, Any]]:
        return self.client.list_all(f"/fine_tuning/jobs/{job_id}/checkpoints")

    def file(self, file_id: str) -> bytes:
        return self.client.file_content(file_id)

    def close(self) -> None:
        self.client.close()


class SavedSource:
    """Reads the same objects from files saved with the ``curl`` calls in the module docstring."""

    def __init__(self, folder: Path):
        if not folder.is_dir():
            raise RftError(f"--from folder not found: {folder}",
                           fix="save the objects first (see docs/migrating.md for the curl calls)")
        self.folder = folder

    def eval(self, eval_id: str) -> dict[str, Any]:
        return self._object("eval.json", eval_id)

    def runs(self, eval_id: str) -> list[dict[str, Any]]:
        return self._list("runs.json")

    def output_items(self, eval_id: str, run_id: str) -> list[dict[str, Any]]:
        return self._list(f"output_items/{run_id}.json")

    def job(self, job_id: str) -> dict[str, Any]:
        return self._object("job.json", job_id)

    def checkpoints(self, job_id: str) -> list[dict[str, Any]]:
        if not (self.folder / "checkpoints.json").is_file():
            return []  # a job without checkpoints saved: the base and fine-tuned models remain
        return self._list("checkpoints.json")

    def file(self, file_id: str) -> bytes:
        for name in (f"{file_id}.jsonl", f"{file_id}.json", file_id):
            path = self.folder / "files" / name
            if path.is_file():
                return path.read_bytes()
        raise RftError(f"file {file_id} is not saved", where=str(self.folder / "files"),
                       fix=f"curl -s $OPENAI_BASE_URL/files/{file_id}/content -H "
                           f"\"Authorization: Bearer $OPENAI_API_KEY\" > files/{file_id}.jsonl")

    def close(self) -> None:
        pass

    # -- reading --------------------------------------------------------------------------
    def _load(self, name: str) -> Any:
        path = self.folder / name
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RftError(f"{name} is not saved", where=str(self.folder),
                           fix="save it with the curl call in docs/migrating.md") from None
        except ValueError as exc:
            raise RftError(f"invalid JSON: {exc}", where=str(path),
                           fix="save the API's answer unchanged (curl -s ... > file)") from None

    def _object(self, name: str, expected_id: str) -> dict[str, Any]:
        data = self._load(name)
        if not isinstance(data, dict) or (isinstance(data.get("error"), dict) and "id" not in data):
            raise RftError("expected the API object, got " + ("an error answer" if isinstance(
                data, dict) else type(data).__name__), where=str(self.folder / name),
                fix="save it again with a valid OPENAI_API_KEY")
        if data.get("id") != expected_id:
            raise RftError(f"holds {data.get('id')!r}, not {expected_id!r}",
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
