"""Fuzzing the inputs a user writes: suite files, dataset lines, templates and formulas.

Whatever the input, the outcome is a clean RftError (one message, a location, a fix) or a valid
result: never another exception, never a hang (hypothesis' deadline guards the time).
"""

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_rft.suite.dataset import load_items
from pytest_rft.core.errors import GraderError, RftError
from pytest_rft.graders.formula import compile_formula
from pytest_rft.suite.loader import load_suite
from pytest_rft.core.template import check_template, compile_template

FUZZ = settings(max_examples=150, deadline=10_000,  # a hang, not a slow shared machine
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

VALID_SUITE = """suite: s
dataset: d.jsonl
model: m
input:
  - {role: user, content: "Q: {{ item.q }}"}
repeats: 2
graders:
  g: {type: string_check, input: "{{ sample.output_text }}", reference: "{{ item.a }}", operation: eq}
gates:
  - {metric: g.mean, min: 0.5}
"""

YAMLISH = st.text(alphabet=string.printable + "{}[]:&*!|>-#'\"\u2028\xff", max_size=300)


def _clean(error: Exception) -> None:
    text = str(error)
    assert text and "Traceback" not in text
    assert len(text.splitlines()) <= 6, text


@FUZZ
@given(st.one_of(YAMLISH, st.builds(
    lambda cut, junk, at: VALID_SUITE[:at] + junk + VALID_SUITE[at + cut:],
    st.integers(0, 20), YAMLISH.map(lambda t: t[:20]), st.integers(0, len(VALID_SUITE)))))
def test_any_suite_text_loads_or_is_one_clean_error(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("suite")
    (folder / "d.jsonl").write_text('{"id": "1", "q": "x", "a": "y"}\n')
    path = folder / "rft_s.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_suite(path)
    except RftError as error:
        _clean(error)


@FUZZ
@given(st.lists(st.one_of(
    st.text(max_size=80),
    st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=10),
                 lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=5), c,
                                                                     max_size=4),
                 max_leaves=20).map(lambda v: json.dumps(v))), max_size=8))
def test_any_dataset_lines_load_or_are_one_clean_error(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("data") / "d.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    try:
        items = load_items(path)
    except RftError as error:
        _clean(error)
    else:
        assert len({item.id for item in items}) == len(items)


@FUZZ
@given(st.text(alphabet=string.printable + "{}[]", max_size=80))
def test_any_template_checks_and_renders_or_is_one_clean_error(text):
    try:
        check_template(text)
        rendered = compile_template(text).render({"item": {"a": [1, {"b": "x"}]},
                                                  "sample": {"output_text": "t"}})
    except RftError as error:
        _clean(error)
    else:
        assert isinstance(rendered, str)


@FUZZ
@given(st.text(alphabet="abxy0123456789.+-*/^() ,minaxbsflorceiqtpg", max_size=60))
def test_any_formula_compiles_and_evaluates_or_is_one_clean_error(text):
    try:
        formula = compile_formula(text, {"a", "b"})
    except RftError as error:
        _clean(error)
        return
    try:
        value = formula.evaluate({"a": 0.5, "b": 2.0})
    except GraderError as error:
        _clean(error)
    else:
        assert isinstance(value, float)


@pytest.mark.parametrize("depth", [10_000])
def test_deep_formulas_are_refused_not_crashing(depth):
    with pytest.raises(RftError):
        compile_formula("(" * depth + "a" + ")" * depth, {"a"})


SCHEMA_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(
        ["object", "string", "#", "#/x", "#/properties/a", "[", "http://x/y.json"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
        ["type", "$ref", "properties", "items", "required", "pattern", "enum", "anyOf",
         "$defs", "a", "minimum", "additionalProperties"]), inner, max_size=4),
    max_leaves=12)


@FUZZ
@given(SCHEMA_VALUES)
def test_any_response_schema_loads_and_checks_outputs_or_is_one_clean_error(tmp_path_factory,
                                                                          schema):
    """A response_format that is no schema, whose $ref loops or dangles, or whose pattern is
    no regex: one located error when the suite loads, never a crash per sample."""
    from pytest_rft.suite.output_schema import violation

    folder = tmp_path_factory.mktemp("suite")
    (folder / "d.jsonl").write_text('{"id": "1", "q": "x", "a": "y"}\n')
    path = folder / "rft_s.yaml"
    path.write_text(VALID_SUITE + "response_format: " + json.dumps({"schema": schema}) + "\n")
    try:
        suite = load_suite(path)
    except RftError as error:
        _clean(error)
        return
    for output in ({}, {"a": [1, "x", None]}, "text", 3, None):
        result = violation(suite.response_schema["schema"], output)
        assert result is None or isinstance(result, str)


@pytest.mark.parametrize("schema,message", [
    ({"$ref": "#"}, "a $ref loop"), ({"type": 5}, "not a valid JSON schema"),
    ({"$ref": "#/nowhere"}, "can't be used"), ({"type": "string", "pattern": "("}, "schema")])
def test_a_response_schema_that_can_not_check_is_refused_at_load(tmp_path, schema, message):
    (tmp_path / "d.jsonl").write_text('{"id": "1", "q": "x", "a": "y"}\n')
    path = tmp_path / "rft_s.yaml"
    path.write_text(VALID_SUITE + "response_format: " + json.dumps(schema) + "\n")
    with pytest.raises(RftError) as info:
        load_suite(path)
    _clean(info.value)
    assert "rft_s.yaml" in str(info.value) and "response_format" in str(info.value)
    assert message in str(info.value), str(info.value)


@pytest.mark.parametrize("line", ["repeats: true", "item_repeats: false", "max_turns: yes",
                                  "sampling: {temperature: true}", "max_error_rate: true",
                                  "gates: [{metric: g.mean, min: true}]", "max_cost: on"])
def test_a_bool_where_a_number_goes_is_refused_not_read_as_1(tmp_path, line):
    """YAML reads ``yes``/``on``/``true`` as a bool, and pydantic would take it for 1."""
    (tmp_path / "d.jsonl").write_text('{"id": "1", "q": "x", "a": "y"}\n')
    path = tmp_path / "rft_s.yaml"
    base = VALID_SUITE.replace("repeats: 2\n", "").split("gates:")[0]
    path.write_text(base + line + "\n")
    with pytest.raises(RftError) as info:
        load_suite(path)
    _clean(info.value)
    assert "a number, not" in str(info.value), str(info.value)
