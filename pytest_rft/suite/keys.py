"""The suite file's keys: pydantic models of what a suite file may say (validation only; loading
and resolving the files and code it names is loader.py's job)."""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..core import numbers

MAX_REPEATS = 10_000
"""Samples per item; a typo of a billion would otherwise run the machine out of memory."""
MAX_NAME = 200
"""Characters of a suite name (it heads node ids and names the baseline file)."""


class _Strict(BaseModel):
    # NaN and infinity are never a setting (a NaN temperature, threshold or budget)
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value: Any, info: Any) -> Any:
        """``repeats: true`` or ``temperature: yes`` is a mistake, not 1: pydantic would take
        a bool for a number."""
        if isinstance(value, bool) and info.field_name in cls.model_fields:
            kinds = _kinds(cls.model_fields[info.field_name].annotation)
            if bool not in kinds and kinds & {int, float}:
                raise ValueError(f"a number, not {str(value).lower()}")
        return value


def _kinds(annotation: Any) -> set[Any]:
    """The plain types an annotation admits (``int | None`` -> {int, NoneType})."""
    from typing import get_args

    args = get_args(annotation)
    if not args:
        return {annotation}
    return set().union(*(_kinds(a) for a in args))


class FileRef(_Strict):
    file: str


class Message(_Strict):
    role: Literal["system", "developer", "user", "assistant"]
    content: Union[str, FileRef]


class MessagesRef(_Strict):
    """An ``input:`` entry standing for a list of messages in the item (a conversation)."""

    messages: str
    """A path such as ``item.conversation`` (braces optional)."""


class Sampling(_Strict):
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    max_output_tokens: int | None = Field(None, gt=0)


class ModelEntry(Sampling):
    """One ``models:`` entry: sampling overrides for that model, or ``use: OTHER`` -- a remap:
    wherever the suite (its ``model:`` or a judge grader's ``model``) names this model, OTHER is
    called instead (how a retired judge is swapped without editing graders)."""

    use: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _alone(self) -> "ModelEntry":
        if self.use is not None and self.model_fields_set - {"use"}:
            raise ValueError("a remap ('use:') takes no sampling keys; give the new model's "
                             "sampling under its own name")
        return self


class Gate(_Strict):
    """An absolute gate (``min``/``max`` on a metric) or a baseline gate (``baseline: true``:
    fails when the metric is significantly worse than the baseline's, paired by item, and the
    drop exceeds ``max_drop``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    metric: str
    min: float | None = None
    max: float | None = None
    baseline: bool = False
    max_drop: float = Field(0.0, ge=0.0)
    confidence: float = Field(0.95, gt=0.5, lt=1.0)

    @model_validator(mode="after")
    def _bound(self) -> "Gate":
        if self.baseline:
            if self.min is not None or self.max is not None:
                raise ValueError("a baseline gate takes 'max_drop' (and 'confidence'), not "
                                 "'min'/'max'; write two gates for both")
        elif self.min is None and self.max is None:
            raise ValueError("a gate needs 'min' or 'max' (or 'baseline: true' with 'max_drop')")
        elif "max_drop" in self.model_fields_set or "confidence" in self.model_fields_set:
            raise ValueError("'max_drop' and 'confidence' belong to baseline gates: add "
                             "'baseline: true'")
        return self

    @property
    def label(self) -> str:
        if self.baseline:
            return f"{self.metric}>=baseline-{self.max_drop:g}"
        parts = []
        if self.min is not None:
            parts.append(f"{self.metric}>={self.min:g}")
        if self.max is not None:
            parts.append(f"{self.metric}<={self.max:g}")
        return ",".join(parts)

    def passes(self, value: float | None) -> bool:
        """An absolute gate's verdict (with a tolerance for float rounding)."""
        if value is None:
            return False
        return ((self.min is None or numbers.at_least(value, self.min))
                and (self.max is None or numbers.at_most(value, self.max)))


class Classification(_Strict):
    """Where the predicted and reference label sets are, for micro/macro P/R/F1."""

    predicted: str
    """Path into the sample, e.g. ``output_json.level1[*].code``."""
    reference: str
    """Path into the item, e.g. ``level1[*].code``."""
    labels: list[str] | None = Field(None, min_length=1)
    """The label set (macro averages over it, like scikit-learn's ``labels=``)."""


class JudgeConfig(_Strict):
    """Where ``score_model`` / ``label_model`` graders send their judge calls (overrides the
    grader JSON's ``model``; ``--rft-judge-model`` / ``--rft-judge-base-url`` override this)."""

    model: str | None = None
    base_url: str | None = None
    api: Literal["chat", "responses"] | None = None
    embedding_model: str | None = None
    """For ``text_similarity`` cosine (default text-embedding-3-large)."""


class SuiteConfig(_Strict):
    suite: str
    dataset: str
    model: Union[str, list[str], None] = None
    models: dict[str, ModelEntry] | None = None
    """Per-model sampling overrides (name -> sampling keys; ``null`` removes a key), or remaps
    (name -> ``{use: OTHER}``); its other names are the models to run when ``model`` is not
    given."""
    recorded: str | None = None
    """A report-shaped JSON of recorded outputs (``platform_samples.json``): the suite's default
    model is then ``recorded``, answered from that file, no model called."""
    input: list[Union[Message, MessagesRef]] | None = None
    response_format: Union[str, dict[str, Any], None] = None
    sampling: Sampling = Field(default_factory=Sampling)
    repeats: int = Field(1, ge=1, le=MAX_REPEATS)
    graders: dict[str, Any] = Field(min_length=1)
    primary: str | None = None
    pass_threshold: float | None = None
    """None: the primary grader's own ``pass_threshold``, else ``DEFAULT_PASS_THRESHOLD``."""
    gates: list[Gate] = Field(default_factory=list)
    max_error_rate: float = Field(0.0, ge=0.0, le=1.0)
    classification: Classification | None = None
    api: Literal["chat", "responses"] | None = None
    max_tokens: int | None = Field(None, ge=1)
    """Token budget of this suite per run (input + output, all models); see budget.py."""
    max_cost: float | None = Field(None, gt=0)
    """Cost budget of this suite per run, USD (all models); see budget.py."""
    judge: JudgeConfig | None = None
    tools: Union[list[Any], dict[str, Any], None] = None
    """OpenAI function tools (Chat or Responses shape), ``module:Model`` (a pydantic model),
    or ``{file: tools.json}``; records may add their own (``tools`` in the record)."""
    tool_choice: Union[str, dict[str, Any], None] = None
    parallel_tool_calls: bool | None = None
    tool_implementations: Union[dict[str, str], list[str], None] = None
    """Tool name -> a tool registered with ``@pytest_rft.tool`` or ``module:attr``; a list
    names registered tools by their own names."""
    max_turns: int | None = Field(None, ge=1, le=1000)
    """Model calls per sample in the agent loop (RFT's ``max_episode_steps``); default 10 when
    tools can be answered (implementations or recorded results), else 1."""
    errors_as_zero: bool = False
    """Score grader errors 0, as the hosted platform does (they are still shown)."""
    cluster: str | None = None
    """The record field that groups items which are not independent (items cut from one
    document, one topic, one user): ``document_id`` or ``meta.topic``. Every interval and test
    is then cluster-robust."""
    item_repeats: int | None = Field(None, ge=0, le=MAX_REPEATS)
    """Confirmation repeats for items tested for a regression (default: --rft-item-repeats,
    else 15; 0 turns them off); they never count in the suite's numbers."""

    @field_validator("cluster")
    @classmethod
    def _cluster(cls, value: str | None) -> str | None:
        if value is not None:
            from ..core.json_path import parse_path

            path = value[5:] if value.startswith("item.") else value
            if not path or parse_path(path) is None:
                raise ValueError("a field path into the record, such as document_id or "
                                 "meta.topic")
        return value

    @field_validator("suite")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip() or "::" in value or "[" in value or not value.isprintable() \
                or len(value) > MAX_NAME:
            raise ValueError(f"use a short name (at most {MAX_NAME} characters) without '::', "
                             "'[' or control characters")
        return value

