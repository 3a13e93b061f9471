"""string_check graders: eq, ne, like, ilike over rendered templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_rft.core.errors import RftError
from pytest_rft.graders import build_grader


def check(operation: str, input: str = "{{ sample.output_text }}",
          reference: str = "{{ item.reference }}"):
    return build_grader(
        "check",
        {"type": "string_check", "name": "x", "input": input, "reference": reference,
         "operation": operation},
        base_dir=Path("."),
        where="suite.yaml: graders.check",
    )


@pytest.mark.parametrize(
    ("operation", "output", "reference", "score"),
    [
        ("eq", "Paris", "Paris", 1.0),
        ("eq", "Paris", "paris", 0.0),
        ("eq", "Paris ", "Paris", 0.0),
        ("ne", "Paris", "London", 1.0),
        ("ne", "Paris", "Paris", 0.0),
        ("like", "The answer is Paris.", "Paris", 1.0),
        ("like", "The answer is paris.", "Paris", 0.0),  # case-sensitive
        ("like", "Par", "Paris", 0.0),  # reference must be inside the input
        ("like", "anything", "", 1.0),
        ("ilike", "THE ANSWER IS PARIS", "paris", 1.0),
        ("ilike", "The answer is London", "paris", 0.0),
        # Unicode case folding ("ß".casefold() == "ss"; lower() keeps "ß" and missed these)
        ("ilike", "GROSSE STRASSE 5", "große straße", 1.0),
        ("ilike", "große Straße", "STRASSE", 1.0),
        ("ilike", "ΣΟΦΙΑ", "σοφια", 1.0),
    ],
)
def test_operations(operation: str, output: str, reference: str, score: float) -> None:
    grades = check(operation).grade({"output_text": output}, {"reference": reference})
    assert grades.scores == {"check": score}
    assert grades.errors == {}


def test_json_values_render_before_comparing() -> None:
    g = check("eq", input="{{ sample.output_json.ids }}", reference='[1,2]')
    assert g.grade({"output_json": {"ids": [1, 2]}}, {}).scores == {"check": 1.0}


def test_missing_item_field_is_an_error_not_a_zero() -> None:
    grades = check("eq", input="{{ sample.output_text }}", reference="{{ item.label }}").grade(
        {"output_text": "x"}, {"reference": "x"}
    )
    assert grades.scores == {}
    assert "has no key 'label'" in grades.errors["check"]


@pytest.mark.parametrize("sample", [{"output_json": None}, {}, {"output_json": {"other": 1}}])
def test_output_the_model_did_not_produce_renders_empty(sample) -> None:
    """Invalid JSON, refusals and truncations leave no output_json: the model's failure scores
    0 (an empty string), it is not a grader error that would drop the sample from the mean."""
    grades = check("eq", input="{{ sample.output_json.label }}").grade(sample, {"reference": "x"})
    assert grades.scores == {"check": 0.0} and grades.errors == {}
    ne = check("ne", input="{{ sample.output_json.label }}", reference="").grade(sample, {})
    assert ne.scores == {"check": 0.0}


def test_unknown_operation() -> None:
    with pytest.raises(RftError, match="unknown string_check operation 'contains'") as info:
        check("contains")
    assert "eq, ne, like, ilike" in str(info.value)


def test_bad_template_at_load() -> None:
    with pytest.raises(RftError) as info:
        check("eq", input="{{ smaple.output_text }}")
    assert "suite.yaml: graders.check: input: " in str(info.value)
    assert "unknown name 'smaple'" in str(info.value)


def test_template_must_be_a_string() -> None:
    with pytest.raises(RftError, match="must be a string template"):
        check("eq", reference=3)  # type: ignore[arg-type]


def test_pass_threshold_is_not_a_string_check_key() -> None:
    with pytest.raises(RftError, match="unknown key 'pass_threshold' in string_check"):
        build_grader("c", {"type": "string_check", "input": "a", "reference": "a",
                           "operation": "eq", "pass_threshold": 1},
                     base_dir=Path("."), where="w")
