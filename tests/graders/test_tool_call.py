"""The tool_call grader, and the graders guide's own tool-call pattern (a multi of string_checks
on ``sample.output_tools[0]``), verbatim."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pytest_rft.core.errors import RftError
from pytest_rft.graders import build_grader
from pytest_rft.core.tools import tool_call


def grader(**definition):
    return build_grader("calls", {"type": "tool_call", "expected": "{{ item.expected }}",
                                  **definition}, base_dir=Path(__file__).parent,
                        where="s.yaml: graders.calls")


def grade(g, calls, expected, item_extra=None):
    sample = {"output_tools": [tool_call(name, args, f"c{i}") for i, (name, args)
                               in enumerate(calls)]}
    grades = g.grade(sample, {"expected": expected, **(item_extra or {})})
    return grades


W = {"name": "get_weather", "arguments": {"city": "Paris", "units": "C"}}


@pytest.mark.parametrize("mode,args,score", [
    ("exact", {"city": "Paris", "units": "C"}, 1.0),
    ("exact", {"units": "C", "city": "Paris"}, 1.0),        # JSON, not text: key order free
    ("exact", {"city": "Paris", "units": "C", "x": 1}, 0.0),
    ("exact", {"city": "paris", "units": "C"}, 0.0),
    ("subset", {"city": "Paris", "units": "C", "days": 3}, 1.0),
    ("subset", {"city": "Paris"}, 0.0),                      # expected key missing
    ("ignore", {"city": "Rome"}, 1.0),
])
def test_argument_modes(mode, args, score):
    grades = grade(grader(arguments=mode), [("get_weather", args)], [W])
    assert grades.scores["calls"] == score and grades.errors == {}


def test_numbers_compare_as_json_values_not_text():
    # the graders guide warns that string_check under-rewards 1 vs 1.0; parsed JSON doesn't
    g = grader()
    assert grade(g, [("f", '{"n": 1}')], [{"name": "f", "arguments": {"n": 1.0}}]).scores[
        "calls"] == 1.0
    assert grade(g, [("f", '{"flag": 1}')], [{"name": "f", "arguments": {"flag": True}}]).scores[
        "calls"] == 0.0  # true is not 1 in JSON


def test_per_call_scores_and_item_scores():
    g = grader()
    expected = [{"name": "search", "arguments": {"q": "flights"}},
                {"name": "book", "arguments": {"id": 7}},
                {"name": "email"}]
    calls = [("search", {"q": "flights"}), ("book", {"id": 8}), ("email", {"to": "x"}),
             ("log", {})]
    grades = grade(g, calls, expected)
    # 2 of 4 calls matched (search; email by name: it expects no arguments), 2 of 3 expected
    assert grades.scores["calls_precision"] == 0.5
    assert grades.scores["calls_recall"] == pytest.approx(2 / 3)
    assert grades.scores["calls"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    details = grades.details["calls"]
    assert [d["score"] for d in details["expected"]] == [1.0, 0.0, 1.0]
    assert [d["matched_call"] for d in details["expected"]] == [0, None, 2]
    assert details["expected"][1]["name_called"] is True  # book was called, other arguments
    assert details["unexpected_calls"] == [1, 3]


@pytest.mark.parametrize("calls,expected,scores", [
    ([], [], (1.0, 1.0, 1.0)),                 # nothing expected, nothing called
    ([], [{"name": "f"}], (0.0, 1.0, 0.0)),    # missed: precision vacuously 1
    ([("f", {})], [], (0.0, 0.0, 1.0)),        # called what nobody asked for
])
def test_empty_sides(calls, expected, scores):
    grades = grade(grader(), calls, expected)
    assert (grades.scores["calls"], grades.scores["calls_precision"],
            grades.scores["calls_recall"]) == scores


def test_order_any_pairs_for_the_most_matches():
    """A greedy pairing would give the first call to the first expected call and lose one."""
    g = grader(arguments="subset")
    expected = [{"name": "f", "arguments": {}}, {"name": "f", "arguments": {"a": 1}}]
    grades = grade(g, [("f", {"a": 1}), ("f", {"b": 2})], expected)
    assert grades.scores["calls"] == 1.0


def test_order_strict_needs_the_expected_order():
    expected = [{"name": "search"}, {"name": "book"}]
    reversed_calls = [("book", {}), ("search", {})]
    assert grade(grader(order="any"), reversed_calls, expected).scores["calls"] == 1.0
    strict = grade(grader(order="strict"), reversed_calls, expected)
    assert strict.scores["calls_recall"] == 0.5 and strict.scores["calls_precision"] == 0.5
    # extra calls in between only cost precision
    between = grade(grader(order="strict"), [("search", {}), ("log", {}), ("book", {})], expected)
    assert between.scores["calls_recall"] == 1.0
    assert between.scores["calls_precision"] == pytest.approx(2 / 3)


def test_expected_calls_in_openai_shape_and_per_call_match():
    g = grader()
    expected = [{"type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}},
                {"name": "g", "arguments": {"x": 1}, "match": "subset"}]
    grades = grade(g, [("f", {"a": 1}), ("g", {"x": 1, "y": 2})], expected)
    assert grades.scores["calls"] == 1.0


def predicate_module(tmp_path, monkeypatch, body):
    (tmp_path / "argcheck.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("argcheck", None)


def test_python_predicate(tmp_path, monkeypatch):
    predicate_module(tmp_path, monkeypatch, (
        "def close_enough(expected, actual):\n"
        "    return abs(actual['amount'] - expected['amount']) < 0.01\n"
        "def with_item(expected, actual, item):\n"
        "    return actual['city'] == item['city']\n"
        "def broken(expected, actual):\n"
        "    raise KeyError('amount')\n"))
    g = grader(arguments="argcheck:close_enough")
    exp = [{"name": "refund", "arguments": {"amount": 10.0}}]
    assert grade(g, [("refund", {"amount": 10.004})], exp).scores["calls"] == 1.0
    assert grade(g, [("refund", {"amount": 10.5})], exp).scores["calls"] == 0.0
    g3 = grader(arguments="argcheck:with_item")
    assert grade(g3, [("w", {"city": "Oslo"})], [{"name": "w"}],
                 {"city": "Oslo"}).scores["calls"] == 1.0
    broken = grade(grader(arguments="argcheck:broken"), [("refund", {})], exp)
    assert broken.scores == {}  # an error, never a 0
    assert "predicate raised KeyError" in broken.errors["calls"]


@pytest.mark.parametrize("definition,message", [
    ({"expected": 3}, "'expected' of grader 'calls' must be an item path or a list"),
    ({"arguments": "fuzzy"}, "must be exact, subset, ignore or 'module:function'"),
    ({"order": "sorted"}, "'order' of grader 'calls' must be any or strict"),
    ({"expected": [{"arguments": {}}]}, "an expected call needs a 'name'"),
    ({"expected": "{{ sample.output_text }}"}, "unknown name 'sample'"),
])
def test_bad_definitions(definition, message):
    with pytest.raises(RftError) as info:
        grader(**definition)
    assert message in str(info.value)


def test_an_item_without_expected_calls_is_a_grader_error():
    grades = grader().grade({"output_tools": []}, {"other": 1})
    assert grades.scores == {} and "expected calls" in grades.errors["calls"]


def test_inline_expected_list():
    g = build_grader("c", {"type": "tool_call", "expected": [{"name": "f"}]}, base_dir=Path("."),
                     where="w")
    assert g.grade({"output_tools": [tool_call("f", {}, "1")]}, {}).scores["c"] == 1.0


# -- the graders guide's pattern, verbatim (developers.openai.com/api/docs/guides/graders,
# "Details on grading tool calls") ---------------------------------------------------------

GUIDE = json.loads(r'''{
  "type": "multi",
  "graders": {
    "function_name": {
      "name": "function_name",
      "type": "string_check",
      "input": "get_acceptors",
      "reference": "{{sample.output_tools[0].function.name}}",
      "operation": "eq"
    },
    "arguments": {
      "name": "arguments",
      "type": "string_check",
      "input": "{\"smiles\": \"{{item.smiles}}\"}",
      "reference": "{{sample.output_tools[0].function.arguments}}",
      "operation": "eq"
    }
  },
  "calculate_output": "0.5 * function_name + 0.5 * arguments"
}''')


def test_the_guides_multi_grader_works_verbatim():
    g = build_grader("tool", GUIDE, base_dir=Path("."), where="guide.json")
    item = {"smiles": "CCO"}
    right = {"output_tools": [tool_call("get_acceptors", '{"smiles": "CCO"}', "c")]}
    assert g.grade(right, item).scores == {"tool": 1.0, "function_name": 1.0, "arguments": 1.0}
    wrong_args = {"output_tools": [tool_call("get_acceptors", '{"smiles": "CCN"}', "c")]}
    assert g.grade(wrong_args, item).scores["tool"] == 0.5
    none = {"output_tools": []}
    assert g.grade(none, item).scores["tool"] == 0.0  # no call: the paths render empty


def test_cookbook_path_into_the_arguments():
    """The tools-evaluation cookbook reads a key of the JSON-string arguments."""
    g = build_grader("symbols", {
        "type": "string_check", "input": "{{ sample.output_tools[0].function.arguments.symbols }}",
        "reference": "{{ item.symbols }}", "operation": "eq"}, base_dir=Path("."), where="w")
    sample = {"output_tools": [tool_call("extract", {"symbols": ["Evals", "Runs"]}, "c")]}
    assert g.grade(sample, {"symbols": ["Evals", "Runs"]}).scores["symbols"] == 1.0
