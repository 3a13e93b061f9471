"""LLM judges for ``score_model`` / ``label_model`` graders (and ``text_similarity``'s cosine):
model calls through backends chosen like the model under test's (``factory.judge_factory``),
made through the run's call context (``calls.CallContext``: the same limiter, retries and
jitter as the model under test), cached within a run, their usage counted apart.

The session makes one :class:`Judge` per sampling and the runner gives it to every grader in
the grading context (``graders.base.GradingContext``); a judge grader calls
``context.judge.complete(request, base_url=...)``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from .base import Backend, CallError
from .calls import CallContext
from .factory import BackendFactory
from ..core.judge_names import judge_models
from ..core.records import CallStats, Completion, Request, SampleResult


@dataclass(frozen=True)
class JudgeOverrides:
    """``--rft-judge-model`` / ``--rft-judge-base-url``: win over the suite and the grader JSON.
    ``remaps`` (``--rft-judge-model OLD=NEW``) swap one judge name for another."""

    model: str | None = None
    base_url: str | None = None
    remaps: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_option(cls, values: Any, base_url: str | None = None) -> "JudgeOverrides":
        """``--rft-judge-model`` values: ``NAME`` replaces every judge, ``OLD=NEW`` only judges
        named OLD (checked when the options are validated)."""

        model, remaps = judge_models(values)
        return cls(model=model, base_url=base_url, remaps=remaps)


def resolve_model(model: str, overrides: JudgeOverrides | None,
                  remaps: dict[str, str] | None = None) -> str:
    """The judge model called for ``model``: ``--rft-judge-model NAME``, else a remap of the name
    (the command line's, then the suite's), else the name."""
    if overrides is not None and overrides.model:
        return overrides.model
    cli = dict(overrides.remaps) if overrides is not None else {}
    if model in cli:
        return cli[model]
    return (remaps or {}).get(model, model)


class JudgeError(Exception):
    """A judge call that failed for good (after retries), with its cause."""


class Judge:
    """The run's judge: ``make_backend`` gives a judge model its backend; ``calls`` is the
    run's call context (its own, with default settings, when none is given)."""

    def __init__(self, make_backend: BackendFactory, overrides: JudgeOverrides | None = None,
                 calls: CallContext | None = None):
        self.make_backend = make_backend
        self.overrides = overrides or JudgeOverrides()
        self.calls = calls or CallContext()
        self.stats = CallStats()
        self.cached = 0
        self._backends: dict[tuple[str, str | None, bool], Backend] = {}
        self._cache: dict[str, asyncio.Future[Completion]] = {}

    def resolve(self, model: str, base_url: str | None,
                remaps: dict[str, str] | None = None) -> tuple[str, str | None]:
        return resolve_model(model, self.overrides, remaps), self.overrides.base_url or base_url

    async def complete(self, request: Request, *, base_url: str | None = None,
                       override: bool = True, remaps: dict[str, str] | None = None
                       ) -> Completion:
        """The judge's completion for ``request`` (cached by request within the run)."""
        model, base_url = (self.resolve(request.model, base_url, remaps) if override
                           else (request.model, self.overrides.base_url or base_url))
        request = Request(model=model, messages=request.messages,
                          response_schema=request.response_schema, sampling=request.sampling,
                          item=request.item, item_id=request.item_id, repeat=request.repeat,
                          suite=request.suite, api=request.api)
        key = json.dumps([model, base_url, request.api, request.messages, request.sampling,
                          request.response_schema], sort_keys=True, default=str)
        future = self._cache.get(key)
        if future is not None:
            self.cached += 1
            return await asyncio.shield(future)
        future = asyncio.get_running_loop().create_future()
        self._cache[key] = future
        try:
            completion = await self._call(request, base_url)
        except BaseException as exc:
            del self._cache[key]  # a failure is not cached: the next sample may try again
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning
            raise
        future.set_result(completion)
        return completion

    async def _call(self, request: Request, base_url: str | None) -> Completion:
        backend_key = (request.model, base_url, request.api == "embeddings")
        if backend_key not in self._backends:
            backend = self.make_backend(request.model, base_url)
            if request.api == "embeddings":
                backend = _sdk_twin(backend)
                if hasattr(backend, "_classify"):
                    backend = EmbeddingsBackend(backend)  # type: ignore[arg-type]
            self._backends[backend_key] = backend
        result = SampleResult(item_id=request.item_id, repeat=request.repeat, model=request.model)
        self.stats.planned += 1
        completion = await self.calls.call(self._backends[backend_key], request, self.stats,
                                           result)
        self.stats.done += 1
        if completion is None:
            raise JudgeError(f"judge call to {request.model} failed: {result.error}")
        if completion.usage is not None:
            self.stats.usage.add(completion.usage)
        return completion

    async def aclose(self) -> None:
        await asyncio.gather(*(b.aclose() for b in self._backends.values()),
                             return_exceptions=True)

    async def embed(self, texts: list[str], model: str, *, base_url: str | None = None
                    ) -> list[list[float]]:
        """Embeddings of ``texts`` (``text_similarity`` cosine): the same limiter, retries,
        cache and accounting as judge completions. Raises JudgeError."""
        request = Request(model=model, messages=[{"role": "user", "content": t} for t in texts],
                          response_schema=None, sampling={}, item={}, item_id="", repeat=0,
                          api="embeddings")
        completion = await self.complete(request, base_url=base_url, override=False)
        try:
            vectors = json.loads(completion.output_text)
            assert isinstance(vectors, list) and len(vectors) == len(texts)
            return [[float(x) for x in v] for v in vectors]
        except (ValueError, TypeError, AssertionError):
            raise JudgeError(f"embeddings model {model} returned no usable vectors") from None

    def summary_line(self) -> str | None:
        """One line for the terminal: judge calls, cache hits, errors and tokens."""
        s = self.stats
        if not s.planned and not self.cached:
            return None
        u = s.usage
        errors = ", ".join(f"{k} {v}" for k, v in s.errors.most_common()) or "none"
        return (f"rft: judge: {s.calls} call(s) for {s.planned} request(s), {self.cached} "
                f"answered from the run's cache, {s.retries} retries, errors: {errors}; tokens "
                f"input {u.input_tokens}, output {u.output_tokens} (reasoning "
                f"{u.reasoning_tokens}) — not counted in the model's tokens")


def _sdk_twin(backend: Any) -> Any:
    """Embeddings go through the openai SDK: the direct transport speaks chat and responses."""
    from .direct import DirectBackend

    if not isinstance(backend, DirectBackend):
        return backend
    from .openai_backend import OpenAIBackend

    return OpenAIBackend(backend.model, api_key=backend._api_key, base_url=backend.base_url,
                         timeout=backend.timeout, max_connections=backend.max_connections)


class EmbeddingsBackend:
    """An OpenAI backend's client used for ``embeddings.create``, one attempt per call, failures
    classified like chat calls; the vectors come back as JSON text in a Completion."""

    def __init__(self, backend: Any):
        self.backend = backend
        self.name = "openai-embeddings"

    async def complete(self, request: Request) -> Completion:
        from ..core.records import Usage

        client = self.backend._get_client()
        error = None
        try:
            resp = await client.embeddings.create(
                model=request.model, input=[m["content"] for m in request.messages],
                encoding_format="float")
        except CallError:
            raise
        except Exception as exc:  # classified like completions; unknown errors propagate
            error = self.backend._classify(exc)
            if error is None:
                raise
        if error is not None:
            raise error
        data = sorted(resp.data, key=lambda d: d.index)
        usage = Usage(input_tokens=getattr(resp.usage, "prompt_tokens", 0) or 0)
        return Completion(output_text=json.dumps([d.embedding for d in data]),
                          finish_reason="stop", usage=usage)

    async def aclose(self) -> None:
        await self.backend.aclose()


__all__ = ["CallError", "Judge", "JudgeError", "JudgeOverrides", "judge_models",
           "resolve_model"]
