"""multi graders: sub-scores, formula, error propagation, and a third-party F1 grader JSON."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from pytest_rft.core.errors import RftError
from pytest_rft.graders import build_grader

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture(scope="module")
def f1():
    return build_grader("f1", {"file": "third_party_f1_grader.json"}, base_dir=DATA,
                        where="suites/triage.yaml: graders.f1")


def sample(labels: object) -> dict:
    return {"output_text": labels if isinstance(labels, str) else json.dumps({"labels": labels})}


def test_score_names(f1) -> None:
    assert f1.name == "f1"  # the suite key, not the JSON's "ticket_labels_f1"
    assert f1.score_names() == ["f1", "precision", "recall"]


@pytest.mark.parametrize(
    ("output", "gold", "precision", "recall", "f1_score"),
    [
        pytest.param(["refund", "billing"], ["billing", "refund"], 1.0, 1.0, 1.0, id="perfect"),
        pytest.param(["billing", "refund"], ["billing", "refund", "shipping"], 1.0, 2 / 3, 0.8,
                     id="partial"),
        pytest.param("not json at all", ["billing"], 0.0, 0.0, 0.0, id="invalid-json"),
        pytest.param([], ["billing"], 0.0, 0.0, 0.0, id="empty-list"),
        pytest.param(["billing", "billing", "refund"], ["billing", "refund"], 1.0, 1.0, 1.0,
                     id="duplicates"),
        pytest.param(["billing", "warranty"], ["billing", "refund"], 0.5, 0.5, 0.5,
                     id="unknown-label"),
        pytest.param(["Billing "], ["billing", "refund", "shipping", "other"], 1.0, 0.25, 0.4,
                     id="normalised-case"),
    ],
)
def test_third_party_f1(f1, output, gold, precision, recall, f1_score) -> None:
    grades = f1.grade(sample(output), {"labels": gold})
    assert grades.errors == {}
    assert grades.scores == {
        "f1": pytest.approx(f1_score, abs=1e-12),
        "precision": pytest.approx(precision, abs=1e-12),
        "recall": pytest.approx(recall, abs=1e-12),
    }
    assert list(grades.scores) == ["f1", "precision", "recall"]


def test_agrade(f1) -> None:
    grades = asyncio.run(f1.agrade(sample(["billing"]), {"labels": ["billing", "refund"]}))
    assert grades.scores == {"f1": pytest.approx(2 / 3), "precision": 1.0, "recall": 0.5}


def multi(graders: dict, formula: str = "a + b"):
    return build_grader("m", {"type": "multi", "graders": graders, "calculate_output": formula},
                        base_dir=Path("."), where="suite.yaml: graders.m")


def py(body: str) -> dict:
    return {"type": "python", "source": f"def grade(sample, item):\n    {body}\n"}


def test_failed_sub_grader_fails_the_multi_keeps_the_others() -> None:
    g = multi({"a": py("return 0.5"), "b": py("raise RuntimeError('boom')")})
    grades = g.grade({}, {})
    assert grades.scores == {"a": 0.5}
    assert grades.errors["b"] == "grader 'b' raised RuntimeError: boom (line 2: raise RuntimeError('boom'))"
    assert grades.errors["m"] == f"sub-grader 'b' failed: {grades.errors['b']}"


def test_formula_error_is_a_multi_error() -> None:
    grades = multi({"a": py("return 1.0"), "b": py("return 0.0")}, "a / b").grade({}, {})
    assert grades.scores == {"a": 1.0, "b": 0.0}
    assert "division by zero" in grades.errors["m"]


def test_nested_multi() -> None:
    inner = {"type": "multi", "graders": {"x": py("return 0.2"), "y": py("return 0.4")},
             "calculate_output": "max(x, y)"}
    g = multi({"a": inner, "b": py("return 1.0")}, "(a + b) / 2")
    assert g.score_names() == ["m", "a", "x", "y", "b"]
    assert g.grade({}, {}).scores == {"m": pytest.approx(0.7), "a": 0.4, "x": 0.2, "y": 0.4,
                                      "b": 1.0}


def test_string_check_and_similarity_inside_multi() -> None:
    g = multi(
        {
            "a": {"type": "string_check", "input": "{{ sample.output_text }}",
                  "reference": "{{ item.answer }}", "operation": "eq"},
            "b": {"type": "python", "source": "def grade(s, i):\n    return 0.5"},
        },
        "0.8 * a + 0.2 * b",
    )
    assert g.grade({"output_text": "yes"}, {"answer": "yes"}).scores["m"] == pytest.approx(0.9)


def test_unknown_name_in_formula() -> None:
    with pytest.raises(RftError) as info:
        multi({"precision": py("return 1"), "recall": py("return 1")}, "precision * recal")
    text = str(info.value)
    assert text.startswith("suite.yaml: graders.m: calculate_output: ")
    assert "unknown name 'recal'; known: precision, recall" in text


def test_sub_grader_errors_are_located() -> None:
    with pytest.raises(RftError) as info:
        multi({"a": py("return 1"), "b": {"type": "python", "source": "def grade(:"}})
    assert str(info.value).startswith("suite.yaml: graders.m: graders.b: ")


@pytest.mark.parametrize("graders", [{}, [], "a"])
def test_graders_must_be_a_mapping(graders) -> None:
    with pytest.raises(RftError, match="must map sub-grader names to graders"):
        multi(graders)


def test_sub_grader_named_like_the_multi() -> None:
    with pytest.raises(RftError, match="same name as its multi grader"):
        multi({"m": py("return 1"), "b": py("return 1")})


def test_duplicate_nested_score_names() -> None:
    inner = {"type": "multi", "graders": {"b": py("return 1")}, "calculate_output": "b"}
    with pytest.raises(RftError, match="score name 'b' appears twice"):
        multi({"a": inner, "b": py("return 1")})


def test_unknown_multi_key() -> None:
    with pytest.raises(RftError, match="unknown key 'formula' in multi grader 'm'"):
        build_grader("m", {"type": "multi", "graders": {"a": py("return 1")},
                           "formula": "a"}, base_dir=Path("."), where="w")
