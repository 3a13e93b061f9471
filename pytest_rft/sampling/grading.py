"""A sample's output as graders see it, and its grades: the completion classified (ok,
truncated, invalid JSON ...), the ``sample`` view (OpenAI names), and every grader's scores,
errors and details collected into the result (a grader that raises is an error, never a 0).
"""

from __future__ import annotations

import json
from typing import Any

from ..core.records import (EMPTY, INVALID_JSON, OK, REFUSAL, SCHEMA_VIOLATION, TRUNCATED,
                            Completion, SampleResult)
from ..core.secrets import scrub, without_surrogates
from ..suite.output_schema import violation


def _text(value: str | None) -> str | None:
    """Model text as text (a lone surrogate becomes U+FFFD)."""
    return without_surrogates(value) if value else value


def fill_sample(result: SampleResult, completion: Completion, *, schema_given: bool,
                schema: dict[str, Any] | None = None) -> None:
    """Copy the completion into the result and classify its output (ok, truncated, ...)."""
    result.output_text = _text(completion.output_text) or ""
    result.tool_calls = completion.tool_calls
    result.finish_reason = completion.finish_reason
    result.refusal = _text(completion.refusal)
    result.usage = completion.usage
    if completion.empty:
        result.kind = EMPTY
    elif completion.refusal:
        result.kind = REFUSAL
    elif completion.finish_reason == "length":
        result.kind = TRUNCATED
    else:
        result.kind = OK
        text = result.output_text.strip()
        if completion.tool_calls and not text:
            return  # the model called tools: nothing to parse (its calls are the output)
        if text[:1] in "{[" or schema_given:
            try:
                result.output_json = json.loads(text)
            except ValueError:
                result.kind = INVALID_JSON if schema_given else OK
            else:
                result.schema_error = violation(schema, result.output_json)
                if result.schema_error is not None:
                    result.kind = SCHEMA_VIOLATION


def sample_for_output(text: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``sample`` a grader sees for a model's output ``text``, derived exactly as a run
    derives it (``output_json`` when the text parses as JSON; for ``validate-grader --sample``)."""
    result = SampleResult(item_id="", repeat=0, model="")
    fill_sample(result, Completion(output_text=text), schema_given=schema is not None,
                 schema=schema)
    return sample_view(result)


def sample_view(result: SampleResult) -> dict[str, Any]:
    """The ``sample`` graders and templates see (OpenAI names); output_json only when parsed.
    ``output_tools`` holds every tool call of the sample (of every turn of an agent loop);
    ``choices`` the last answer, its calls included; ``trajectory`` the turns (tools only)."""
    message: dict[str, Any] = {"role": "assistant", "content": result.output_text or ""}
    last_calls = result.tool_calls
    if result.trajectory:
        last_calls = result.trajectory[-1].get("tool_calls") or []
    if last_calls:
        message["tool_calls"] = last_calls
    view: dict[str, Any] = {"output_text": result.output_text or "",
                            "output_tools": result.tool_calls,
                            "choices": [{"message": message,
                                         "finish_reason": result.finish_reason}]}
    if result.kind in (OK, SCHEMA_VIOLATION) and result.output_json is not None:
        view["output_json"] = result.output_json
    if result.trajectory is not None:
        view["trajectory"] = result.trajectory
    return view


async def grade(suite: Any, result: SampleResult, item: Any, context: Any = None) -> None:
    """Grade ``result`` of ``item`` with every grader of ``suite`` (a ``suite.loader.Suite``);
    ``context`` (a ``graders.base.GradingContext``) holds the run's judge and grader pool."""
    sample = sample_view(result)
    for grader in suite.graders:
        try:
            grades = await grader.agrade(sample, item.data, context)
        except Exception as exc:  # a bug in a grader must not stop the run
            result.grader_errors[grader.name] = scrub(f"{type(exc).__name__}: {exc}")
            continue
        for name, value in grades.scores.items():
            problem = _unusable(value)
            if problem:
                result.grader_errors[name] = f"grader {name!r} returned {problem}"
            else:
                result.scores[name] = float(value)
        result.grader_errors.update({k: scrub(v) for k, v in grades.errors.items()})
        result.zeroed.update({k: scrub(v) for k, v in grades.zeroed.items()})
        result.grader_details.update(grades.details)
    if suite.config.errors_as_zero and result.grader_errors:
        # the hosted platform's behaviour, asked for: the error scores 0 and is still shown
        for name, message in result.grader_errors.items():
            result.scores[name] = 0.0
            result.zeroed[name] = message
        result.grader_errors = {}


MAX_SCORE = 1e12
"""Scores beyond this are grader bugs (and would overflow the statistics), not scores."""


def _unusable(value: object) -> str:
    """Why a score can't be aggregated ('' when it can)."""
    if not isinstance(value, (int, float)):
        return f"a {type(value).__name__}, not a number"
    if value != value:
        return ""  # NaN: "could not be computed", already left out of the statistics
    if not -MAX_SCORE <= value <= MAX_SCORE:
        return f"{value!r}, out of the range a score can have (|score| <= 1e12)"
    return ""
