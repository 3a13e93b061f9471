"""OpenAI grader templates: paths, indexes, JSON rendering and errors."""

from __future__ import annotations

import pytest

from pytest_rft.core.errors import RftError
from pytest_rft.core.template import (
    TemplateError,
    check_template,
    compile_template,
    render,
    resolve,
    template_paths,
)

CONTEXT = {
    "item": {
        "field": "hello",
        "a": {"b": ["first", {"c": 3}]},
        "n": 42,
        "flag": True,
        "none": None,
        "labels": ["x", "é"],
        "with space": "spaced",
    },
    "sample": {
        "output_text": '{"level1": [{"code": "A1"}]}',
        "output_json": {"level1": [{"code": "A1", "extra": {"k": [1, 2]}}]},
    },
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ item.field }}", "hello"),
        ("{{item.field}}", "hello"),
        ("{{   item.field\t}}", "hello"),
        ("{{ item.a.b[0] }}", "first"),
        ("{{ item.a.b[1].c }}", "3"),
        ("{{ item.a.b[-1].c }}", "3"),
        ("{{ item.a.b [ 1 ] . c }}", "3"),
        ("{{ sample.output_json.level1[0].code }}", "A1"),
        ("{{ sample.output_text }}", '{"level1": [{"code": "A1"}]}'),
        ('{{ item["with space"] }}', "spaced"),
        ("Q: {{ item.field }} / {{ item.n }}!", "Q: hello / 42!"),
        ("no placeholders", "no placeholders"),
        ("{ item.field }", "{ item.field }"),
    ],
)
def test_render_paths(template: str, expected: str) -> None:
    assert render(template, CONTEXT) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ item.n }}", "42"),
        ("{{ item.flag }}", "true"),
        ("{{ item.none }}", "null"),
        ("{{ item.labels }}", '["x","é"]'),  # compact, non-ASCII kept
        ("{{ item.a.b[1] }}", '{"c":3}'),
        ("{{ sample.output_json.level1[0].extra }}", '{"k":[1,2]}'),
    ],
)
def test_non_strings_render_as_compact_json(template: str, expected: str) -> None:
    assert render(template, CONTEXT) == expected


def test_resolve_returns_raw_values() -> None:
    assert resolve("item.a.b[1]", CONTEXT) == {"c": 3}
    assert resolve("sample.output_json.level1[0].code", CONTEXT) == "A1"
    assert resolve("item.n", CONTEXT) == 42


def test_template_paths() -> None:
    assert template_paths("{{ item.a.b[0] }} vs {{sample.output_text}} and {{ item.x }}") == [
        "item.a.b[0]",
        "sample.output_text",
        "item.x",
    ]
    assert template_paths("plain") == []


def test_templates_are_compiled_once() -> None:
    assert compile_template("{{ item.field }}!") is compile_template("{{ item.field }}!")


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{{ item.missing }}", "template path 'item.missing': item has no key 'missing'"),
        ("{{ item.a.b[5] }}", "index [5] out of range (item.a.b has 2 elements)"),
        ("{{ item.field.x }}", "item.field is a string, cannot read '.x'"),
        ("{{ item.a[0] }}", "item.a is a dict, not a list"),
        ("{{ item.none.x }}", "item.none is null"),
        ("{{ other.x }}", "unknown name 'other'"),
    ],
)
def test_render_errors_name_the_path(template: str, fragment: str) -> None:
    with pytest.raises(TemplateError) as info:
        render(template, CONTEXT)
    assert fragment in str(info.value)
    assert isinstance(info.value, RftError)


def test_missing_key_lists_available_keys() -> None:
    with pytest.raises(TemplateError, match=r"keys: code, extra"):
        resolve("sample.output_json.level1[0].cod", CONTEXT)
    assert render("{{ sample.output_json.level1[0].cod }}", CONTEXT) == ""  # model's gap


def test_missing_item_key_raises_when_rendering() -> None:
    with pytest.raises(TemplateError, match="has no key 'nope'"):
        render("{{ item.nope }}", CONTEXT)


@pytest.mark.parametrize(
    "template", ["{{ }}", "{{ item. }}", "{{ item.a b }}", "{{ 1item }}", "{{ item[x] }}"]
)
def test_malformed_paths(template: str) -> None:
    with pytest.raises(TemplateError):
        compile_template(template)
    with pytest.raises(RftError):
        check_template(template)


def test_check_template_accepts_good_templates() -> None:
    check_template("{{ item.field }} {{ sample.output_json.a[0] }}")
    check_template("{{ item.field }}", item_keys={"field", "other"})
    check_template("no placeholders", item_keys=set())


def test_check_template_unknown_root() -> None:
    with pytest.raises(RftError) as info:
        check_template("{{ itme.x }}", where="suite.yaml: graders.g: input")
    text = str(info.value)
    assert "unknown name 'itme'; templates can use item.* and sample.*" in text
    assert "did you mean {{ item.x }}" in text
    assert text.startswith("suite.yaml: graders.g: input: ")


def test_check_template_unknown_item_field() -> None:
    with pytest.raises(RftError) as info:
        check_template("{{ item.txt }}", item_keys={"text", "label"})
    text = str(info.value)
    assert "item has no field 'txt' (fields: label, text)" in text
    assert "did you mean item.text" in text


def test_check_template_custom_roots() -> None:
    check_template("{{ item.x }}", allowed_roots=("item",))
    with pytest.raises(RftError, match="templates can use item.*"):
        check_template("{{ sample.output_text }}", allowed_roots=("item",))


def test_item_keys_not_checked_for_sample_paths() -> None:
    check_template("{{ sample.output_json.anything }}", item_keys={"a"})


def test_unknown_sample_field_is_a_load_error() -> None:
    # a typo would render "" for every sample, silently: say so at load
    with pytest.raises(TemplateError) as info:
        check_template("{{ sample.output_tool[0].function.name }}", where="g.json: input")
    assert "sample has no field 'output_tool'" in str(info.value)
    assert "did you mean sample.output_tools?" in str(info.value)
    for field in ("output_text", "output_json", "output_tools", "choices", "trajectory"):
        check_template("{{ sample.%s }}" % field)


def test_paths_go_into_json_strings() -> None:
    # OpenAI's tool call arguments are a JSON string; the cookbook reads
    # {{ sample.output_tools[0].function.arguments.symbols }}
    call = {"id": "c1", "type": "function",
            "function": {"name": "extract", "arguments": '{"symbols": ["a", "b"], "n": {"k": 2}}'}}
    context = {"sample": {"output_tools": [call]}, "item": {"raw": '[{"x": 1}]'}}
    assert render("{{ sample.output_tools[0].function.arguments.symbols }}", context) == '["a","b"]'
    assert render("{{ sample.output_tools[0].function.arguments.symbols[1] }}", context) == "b"
    assert render("{{ sample.output_tools[0].function.arguments.n.k }}", context) == "2"
    assert render("{{ item.raw[0].x }}", context) == "1"
    # the string itself renders as it is (what string_check compares in the graders guide)
    assert render("{{ sample.output_tools[0].function.arguments }}", context) == \
        call["function"]["arguments"]
    # a path the JSON does not have: a missing sample value, rendered empty
    assert render("{{ sample.output_tools[0].function.arguments.nope }}", context) == ""
