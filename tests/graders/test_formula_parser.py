"""calculate_output parsing and evaluation (safe, never eval)."""

from __future__ import annotations

import math

import pytest

from pytest_rft.core.errors import GraderError, RftError
from pytest_rft.graders.formula import compile_formula


def value(text: str, **values: float) -> float:
    return compile_formula(text, set(values)).evaluate(values)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("10 - 4 - 3", 3.0),
        ("24 / 4 / 2", 3.0),
        ("2 ^ 3 ^ 2", 512.0),  # right-assoc: 2^(3^2)
        ("(2 ^ 3) ^ 2", 64.0),
        ("-2 ^ 2", -4.0),  # ^ binds tighter than unary minus
        ("2 ^ -1", 0.5),
        ("--3", 3.0),
        ("+3 - -3", 6.0),
        ("2 * 3 ^ 2", 18.0),
        ("1e-9", 1e-9),
        ("1.5E+2", 150.0),
        (".5 + 5.", 5.5),
        ("min(3, 1, 2)", 1.0),
        ("max(3)", 3.0),
        ("max(1, 2, 3, 4) - min(4, 5)", 0.0),
        ("abs(-2.5)", 2.5),
        ("floor(2.7) + ceil(2.1)", 5.0),
        ("exp(0)", 1.0),
        ("sqrt(16)", 4.0),
        ("log(1)", 0.0),
        ("log(8, 2)", 3.0),
        ("  3  ", 3.0),
    ],
)
def test_arithmetic(text: str, expected: float) -> None:
    assert value(text) == pytest.approx(expected, abs=1e-15)


def test_names_and_f1() -> None:
    f1 = "2 * precision * recall / max(precision + recall, 1e-9)"
    assert value(f1, precision=0.5, recall=0.5) == pytest.approx(0.5)
    assert value(f1, precision=1.0, recall=1 / 3) == pytest.approx(0.5)
    assert value(f1, precision=0.0, recall=0.0) == 0.0


def test_formula_reports_names_used() -> None:
    formula = compile_formula("a + 2 * a", {"a", "b"})
    assert formula.names == frozenset({"a"})
    assert formula.evaluate({"a": 1.0, "b": 5.0}) == 3.0


def test_unknown_name_names_it_and_suggests() -> None:
    with pytest.raises(RftError) as info:
        compile_formula("precision + recal", {"precision", "recall"}, where="f1.json")
    text = str(info.value)
    assert "unknown name 'recal'; known: precision, recall" in text
    assert "column 13" in text
    assert "did you mean 'recall'" in text
    assert text.startswith("f1.json: ")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("__import__('os')", "column 12: unexpected character \"'\""),
        ("1 +", "column 4: expected a number, name or '(' but found the end"),
        ("(1 + 2", "column 7: expected ')'"),
        ("1 2", "column 3: unexpected '2'"),
        ("2x", "column 2: unexpected character 'x' after number"),
        ("a.b", "column 2: unexpected character '.'"),
        ("1 ** 2", "column 4: expected a number"),
        ("a[0]", "column 2: unexpected character '['"),
        ("lambda: 1", "column 7: unexpected character ':'"),
        ("1 if 1 else 0", "column 3: unexpected 'if'"),
        ("foo(1)", "column 1: unknown function 'foo'"),
        ("pow(2, 3)", "unknown function 'pow'"),
        ("abs(1, 2)", "abs() takes 1 argument, got 2"),
        ("min()", "min() takes at least 1 argument, got 0"),
        ("log(1, 2, 3)", "log() takes 1 to 2 arguments, got 3"),
        ("sqrt", "function 'sqrt' needs arguments"),
        ("max(1,)", "expected a number, name or '(' but found ')'"),
    ],
)
def test_syntax_errors_name_the_column(text: str, fragment: str) -> None:
    with pytest.raises(RftError) as info:
        compile_formula(text, {"a"})
    assert fragment in str(info.value)


def test_error_shows_a_caret_under_the_column() -> None:
    with pytest.raises(RftError) as info:
        compile_formula("1 + $", set())
    assert "\n    1 + $\n        ^" in str(info.value)


def test_empty_formula() -> None:
    with pytest.raises(RftError, match="calculate_output is empty"):
        compile_formula("  ", {"a"})


def test_never_uses_eval(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval/exec must not be used")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    assert value("2 * a + max(a, 1) ^ 2", a=3.0) == 15.0


@pytest.mark.parametrize(
    ("text", "values", "fragment"),
    [
        ("a / b", {"a": 1.0, "b": 0.0}, "division by zero"),
        ("sqrt(a)", {"a": -1.0}, "math error"),
        ("log(a)", {"a": 0.0}, "math error"),
        ("exp(a)", {"a": 1000.0}, "math error"),
        ("a ^ 0.5", {"a": -8.0}, "math error"),  # no complex results
        ("0 ^ -1", {}, "math error"),
        ("a * 1e308 * 10", {"a": 1.0}, "gave inf"),
    ],
)
def test_evaluation_errors_are_grader_errors(
    text: str, values: dict[str, float], fragment: str
) -> None:
    formula = compile_formula(text, set(values))
    with pytest.raises(GraderError, match=fragment):
        formula.evaluate(values)


def test_missing_value_is_grader_error() -> None:
    formula = compile_formula("a + b", {"a", "b"})
    with pytest.raises(GraderError, match="no value for b"):
        formula.evaluate({"a": 1.0})


def test_nan_input_is_rejected() -> None:
    formula = compile_formula("a", {"a"})
    with pytest.raises(GraderError):
        formula.evaluate({"a": math.nan})
