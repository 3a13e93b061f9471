"""Plain data that flows through the pipeline: requests, completions, samples, grades, the
runs that hold them, the calls' counts and each item's numbers.

Everything here is a dataclass with no behaviour beyond small conveniences, so the core can be
used and tested without pytest, and every stage can take these records without importing the
stage that makes them.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

from .numbers import at_least


@dataclass(frozen=True, slots=True)
class Request:
    """One call to the model under test: a rendered prompt for one item and one repeat."""

    model: str
    messages: list[dict[str, Any]]
    """Chat messages, ``{"role": ..., "content": str}``."""
    response_schema: dict[str, Any] | None
    """``{"name": str, "schema": <JSON schema>, "strict": bool}`` or None for free text."""
    sampling: dict[str, Any]
    """temperature, top_p, seed (already offset by the repeat index), reasoning_effort,
    max_output_tokens ... exactly as the suite gave them (None values removed)."""
    item: dict[str, Any]
    item_id: str
    repeat: int
    suite: str = ""
    api: str = "chat"
    """``chat`` or ``responses`` (used by the OpenAI backend only)."""
    tools: list[dict[str, Any]] | None = None
    """Function tools offered to the model, in the Chat Completions shape ``{"type":
    "function", "function": {"name", "description", "parameters", "strict"}}`` (the suite's
    ``tools`` with the item's own added or overriding them); None when the suite has none."""
    tool_choice: Any = None
    """``"auto"``, ``"none"``, ``"required"`` or ``{"type": "function", "function": {"name"}}``;
    None: not sent (the API's default)."""
    parallel_tool_calls: bool | None = None
    turn: int = 0
    """0 for the first call of a sample; n for the n-th call of an agent loop (its messages
    then end with the tool results of the previous turn)."""


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0

    def add(self, other: "Usage | None") -> None:
        if other is None:
            return
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.reasoning_tokens += other.reasoning_tokens
        self.cached_tokens += other.cached_tokens


@dataclass(slots=True)
class Completion:
    """What a backend returns for one request."""

    output_text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    refusal: str | None = None
    usage: Usage | None = None
    choices: list[dict[str, Any]] | None = None
    """Raw choices as plain dicts (chat API); None when the backend has no such notion."""
    empty: bool = False
    """True when the server answered with no choice / no output at all."""
    trajectory: list[dict[str, Any]] | None = None
    """Set by a backend that answers a whole recorded episode at once (a replay of a recorded
    sample): the agent loop then stops and keeps this trajectory instead of running tools."""


# Kinds of a sample's output. Only "ok" and "schema_violation" (JSON that breaks the
# response_format schema) have output_json.
OK, INVALID_JSON, TRUNCATED, REFUSAL, EMPTY = "ok", "invalid_json", "truncated", "refusal", "empty"
SCHEMA_VIOLATION = "schema_violation"


@dataclass(slots=True)
class Grades:
    """Scores of one sample by one grader: its own score and sub-scores (for ``multi``)."""

    scores: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    """Score name -> message for every score that could not be computed (never a 0)."""
    details: dict[str, Any] = field(default_factory=dict)
    """Score name -> what the grader wants shown next to the score (the tool_call grader's
    verdict per call); plain JSON data."""
    zeroed: dict[str, str] = field(default_factory=dict)
    """Score name -> the error that was scored 0 because the suite sets ``errors_as_zero``."""


@dataclass(slots=True)
class SampleResult:
    """One repeat of one item: either a sample with its grades or an error."""

    item_id: str
    repeat: int
    model: str
    output_text: str | None = None
    output_json: Any = None
    kind: str | None = None
    """ok / invalid_json / schema_violation / truncated / refusal / empty; None when the call
    failed."""
    schema_error: str | None = None
    """For ``schema_violation``: where and how the output breaks the response schema."""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    refusal: str | None = None
    usage: Usage | None = None
    latency_s: float | None = None
    attempts: int = 0
    error: str | None = None
    """Why the model call failed after retries ('http 429', 'timeout', ...); None on success."""
    error_cause: str | None = None
    scores: dict[str, float] = field(default_factory=dict)
    grader_errors: dict[str, str] = field(default_factory=dict)
    grader_details: dict[str, Any] = field(default_factory=dict)
    """Score name -> the grader's details (per-call verdicts of a ``tool_call`` grader)."""
    zeroed: dict[str, str] = field(default_factory=dict)
    """Grader errors scored 0 (the suite's ``errors_as_zero``): shown, not failing."""
    trajectory: list[dict[str, Any]] | None = None
    """For suites with tools: the messages the sample added to the conversation, in the Chat
    Completions shape: assistant messages (with their ``tool_calls``) and tool results
    (``{"role": "tool", "tool_call_id", "name", "content"}``, plus ``"error"`` when the call
    could not be answered), ending with the final answer; None for suites without tools."""
    turns: int = 0
    """Model calls this sample made (1 unless an agent loop ran tools)."""
    stop: str | None = None
    """Why the agent loop ended: ``answer`` (the model answered without calling a tool),
    ``max_turns`` (it still called tools at the last turn), ``tool_calls`` (tools were offered
    but none can be run: the calls are the output); None for suites without tools."""

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass
class SuiteRun:
    """One suite against one model: the items selected for it and, once sampled, results."""

    suite: Any
    """The ``suite.loader.Suite`` run."""
    model: str
    items: list[Any] = field(default_factory=list)
    """The items (``suite.dataset.Item``) selected for this run."""
    results: dict[str, list[SampleResult]] = field(default_factory=dict)
    sampled: bool = False
    repeats: int | None = None
    """Repeats of each item: ``--rft-repeats`` when given (passed in), else the suite's
    ``repeats`` (resolved when the run is made)."""
    api: str | None = None
    """The API called: ``--rft-api`` when given (passed in), else the suite's ``api``, else
    ``chat`` (resolved when the run is made)."""
    untested: int = 0
    """Items sampled for the gates but not selected as tests (-k, --deselect ...)."""
    gated: bool = True
    """False when no gate of this run was selected: its numbers cover the selected items only."""
    confirm: dict[str, list[SampleResult]] = field(default_factory=dict)
    """Confirmation repeats (after the main ones) of the items tested for a regression, or of
    the passing items of a baseline being written: they count in item tests only."""

    def __post_init__(self) -> None:
        config = self.suite.config
        self.repeats = self.repeats or config.repeats
        self.api = self.api or config.api or "chat"

    @property
    def key(self) -> str:
        key = self.__dict__.get("_key")
        if key is None:  # worked out once: it keys dicts per item
            key = self.__dict__["_key"] = f"{self.suite.name}[{self.model}]"
        return key


NOT_SENT = "not sent: this model's calls stopped after "
"""How a sample not sent after a configuration error (401, unknown model) says so."""


@dataclass
class CallStats:
    """What the calls cost and how they failed, for the terminal summary and report."""

    planned: int = 0
    done: int = 0
    calls: int = 0
    retries: int = 0
    errors: collections.Counter = field(default_factory=collections.Counter)
    retried_causes: collections.Counter = field(default_factory=collections.Counter)
    kinds: collections.Counter = field(default_factory=collections.Counter)
    usage: Usage = field(default_factory=Usage)
    latencies: list[float] = field(default_factory=list)
    min_concurrency: int = 0
    grader_errors: int = 0
    """Samples with at least one grader error (they count against the error gate too)."""
    zeroed: int = 0
    """Samples with grader errors scored 0 (the suite's ``errors_as_zero``)."""
    stopped: dict[str, str] = field(default_factory=dict)
    """model -> the configuration error that stopped its calls (no key, 401, unknown model)."""
    wall_s: float = 0.0
    cpu_s: float = 0.0
    """CPU time of this process while sampling (the HTTP client, the runner and grading)."""

    def latency_percentiles(self) -> dict[str, float]:
        if not self.latencies:
            return {}
        ordered = sorted(self.latencies)
        pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
        return {"p50": pick(0.50), "p90": pick(0.90), "p99": pick(0.99), "max": ordered[-1]}


@dataclass(slots=True)
class ScoreStats:
    """Statistics of one score over the samples of one item that have it."""

    mean: float
    max: float
    min: float
    std: float
    """Sample standard deviation (ddof=1); 0 when n == 1."""
    n: int


@dataclass(slots=True)
class ItemStats:
    """Aggregated results of all repeats of one item (``analysis.stats.item_stats``)."""

    item_id: str
    scores: dict[str, ScoreStats]
    """Score name -> statistics over the samples that have a value for it."""
    n_samples: int
    n_errors: int
    """Samples whose model call failed (they have no scores)."""
    n_grader_errors: int
    """Samples (whose model call succeeded) with at least one grader error."""
    primary_values: list[float]
    """Primary score of each sample that has one, in input order."""
    passed: bool | None
    """Mean primary score >= pass_threshold; None when no sample has a primary score."""
    primary: str = ""
    pass_threshold: float = 0.0

    @property
    def n_pass(self) -> int:
        """Samples whose own primary score reaches the threshold."""
        return sum(1 for v in self.primary_values if at_least(v, self.pass_threshold))
