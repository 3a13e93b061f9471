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
