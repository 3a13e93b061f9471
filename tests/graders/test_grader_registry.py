"""build_grader: JSON, files, registered functions, module:attr, type and key checks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pytest_rft.core.errors import RftError
from pytest_rft.graders import (
    Grader,
    build_grader,
    grader,
    grader_type,
    known_types,
    register_type,
    unregister_grader,
)
from pytest_rft.core.records import Grades

WHERE = "suites/s.yaml: graders.g"


def build(definition, base_dir: Path = Path("."), name: str = "g") -> Grader:
    return build_grader(name, definition, base_dir=base_dir, where=WHERE)


def test_known_types() -> None:
    assert {"python", "string_check", "text_similarity", "multi", "score_model",
            "label_model"} <= set(known_types())


def test_unknown_type_lists_known_types() -> None:
    with pytest.raises(RftError) as info:
        build({"type": "strng_check"})
    text = str(info.value)
    assert text.startswith(WHERE + ": unknown grader type 'strng_check'; known types: ")
    assert "python" in text and "did you mean 'string_check'" in text


def test_missing_type() -> None:
    with pytest.raises(RftError, match="has no \"type\""):
        build({"source": "x"})


def test_unknown_key_is_named() -> None:
    with pytest.raises(RftError) as info:
        build({"type": "python", "source": "def grade(s, i):\n    return 1", "timeout": 3})
    assert "unknown key 'timeout' in python grader 'g'" in str(info.value)
    assert "python graders take: image_tag, name, pass_threshold, source, type" in str(info.value)


def test_missing_required_key() -> None:
    with pytest.raises(RftError, match="string_check grader 'g' needs 'operation'"):
        build({"type": "string_check", "input": "a", "reference": "b"})


def test_documented_but_unused_keys_are_accepted() -> None:
    g = build({"type": "python", "name": "x", "image_tag": "2025-05-08", "pass_threshold": 0.5,
               "source": "def grade(s, i):\n    return 1"})
    assert g.grade({}, {}).scores == {"g": 1.0}


def test_grader_file(tmp_path: Path) -> None:
    (tmp_path / "graders").mkdir()
    (tmp_path / "graders" / "exact.json").write_text(
        '{"type": "string_check", "name": "exact", "input": "{{ sample.output_text }}",'
        ' "reference": "{{ item.answer }}", "operation": "eq"}'
    )
    g = build({"file": "graders/exact.json"}, tmp_path)
    assert g.name == "g"
    assert g.grade({"output_text": "a"}, {"answer": "a"}).scores == {"g": 1.0}


def test_grader_file_missing(tmp_path: Path) -> None:
    with pytest.raises(RftError) as info:
        build({"file": "graders/nope.json"}, tmp_path)
    assert "grader file 'graders/nope.json' not found" in str(info.value)
    assert str(info.value).startswith(WHERE)


def test_grader_file_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{\n  "type": "python",\n  "source": "x"\n  "name": 1\n}')
    with pytest.raises(RftError) as info:
        build({"file": "bad.json"}, tmp_path)
    text = str(info.value)
    assert text.startswith("bad.json:4:3: invalid JSON in grader file: Expecting ',' delimiter")
    assert WHERE in text


def test_grader_file_errors_point_into_the_file(tmp_path: Path) -> None:
    (tmp_path / "g.json").write_text('{"type": "python", "source": "def grade(:"}')
    with pytest.raises(RftError) as info:
        build({"file": "g.json"}, tmp_path)
    assert str(info.value).startswith("g.json: python grader 'g' source has a syntax error")


def test_grader_file_must_hold_an_object(tmp_path: Path) -> None:
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(RftError, match="must hold one JSON object"):
        build({"file": "list.json"}, tmp_path)


def test_file_takes_no_other_keys() -> None:
    with pytest.raises(RftError, match="unknown key 'name' next to 'file'"):
        build({"file": "x.json", "name": "y"})


def test_registered_function() -> None:
    @grader("exact_for_test")
    def exact(sample: dict, item: dict) -> float:
        return float(sample["output_text"] == item["answer"])

    try:
        g = build("exact_for_test", name="exact")
        assert g.name == "exact"
        assert g.grade({"output_text": "a"}, {"answer": "a"}).scores == {"exact": 1.0}
    finally:
        unregister_grader("exact_for_test")


def test_a_registered_function_that_raises_names_its_file_and_line(monkeypatch) -> None:
    """A grader in a conftest.py: its error says conftest.py:40, not a bare 'line 40'."""
    monkeypatch.chdir(Path(__file__).parent)

    @grader("label_for_test")
    def label(sample: dict, item: dict) -> float:
        return float(sample["output_json"]["label"] == item["label"])

    try:
        error = build("label_for_test", name="label").grade({"output_json": {}}, {}).errors
        line = label.__code__.co_firstlineno + 2  # the decorator, the def, the return
        assert error == {"label": "grader 'label' raised KeyError: 'label' (test_grader_registry"
                                  f".py:{line}: return float(sample[\"output_json\"][\"label\"] == "
                                  "item[\"label\"]))"}
    finally:
        unregister_grader("label_for_test")


def test_registered_function_bare_decorator_and_async() -> None:
    import asyncio

    @grader
    async def half_for_test(sample: dict, item: dict) -> float:
        return 0.5

    try:
        g = build("half_for_test")
        assert asyncio.run(g.agrade({}, {})).scores == {"g": 0.5}
    finally:
        unregister_grader("half_for_test")


def test_duplicate_registration_is_an_error() -> None:
    @grader("dup_for_test")
    def one(sample: dict, item: dict) -> float:
        return 1.0

    try:
        with pytest.raises(RftError, match="registered twice"):
            @grader("dup_for_test")
            def two(sample: dict, item: dict) -> float:
                return 0.0
    finally:
        unregister_grader("dup_for_test")


def test_unknown_registered_name() -> None:
    with pytest.raises(RftError) as info:
        build("no_such_grader")
    assert "unknown grader 'no_such_grader'" in str(info.value)
    assert "@pytest_rft.grader('no_such_grader')" in str(info.value)


def test_module_attr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_graders_for_test.py").write_text(
        "from pytest_rft.graders.base import Grader\n"
        "from pytest_rft.core.records import Grades\n"
        "def length(sample, item):\n"
        "    return len(sample['output_text']) / 10\n"
        "EXACT = {'type': 'string_check', 'input': '{{ sample.output_text }}',\n"
        "         'reference': '{{ item.answer }}', 'operation': 'eq'}\n"
        "class Const(Grader):\n"
        "    name = 'const'\n"
        "    def grade(self, sample, item):\n"
        "        return Grades(scores={self.name: 0.3})\n"
        "CONST = Const()\n"
        "NUMBER = 3\n"
    )
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "my_graders_for_test", raising=False)
    # base_dir is added to sys.path when the module is not importable otherwise
    g = build("my_graders_for_test:length", tmp_path)
    assert g.grade({"output_text": "abcde"}, {}).scores == {"g": 0.5}
    g = build("my_graders_for_test:EXACT", tmp_path)
    assert g.grade({"output_text": "a"}, {"answer": "a"}).scores == {"g": 1.0}
    g = build("my_graders_for_test:CONST", tmp_path)
    assert g.name == "g" and g.grade({}, {}).scores == {"g": 0.3}
    with pytest.raises(RftError, match="is a int, not a grader"):
        build("my_graders_for_test:NUMBER", tmp_path)
    with pytest.raises(RftError, match="has no attribute 'nope'"):
        build("my_graders_for_test:nope", tmp_path)
    with pytest.raises(RftError, match="cannot import 'no_such_module_xyz'"):
        build("no_such_module_xyz:f", tmp_path)


def test_model_graders_load_and_check_their_keys() -> None:
    g = build({"type": "score_model", "name": "judge", "model": "gpt-4o-mini",
               "input": [{"role": "user", "content": "{{ sample.output_text }}"}],
               "range": [0, 1], "sampling_params": {"temperature": 0}})
    assert g.name == "g" and g.model == "gpt-4o-mini"
    with pytest.raises(RftError, match="'input' of grader 'g' must be a list of messages"):
        build({"type": "label_model", "model": "m", "input": [], "labels": ["a"],
               "passing_labels": ["a"]})
    with pytest.raises(RftError, match="unknown key 'temperature' in score_model"):
        build({"type": "score_model", "model": "m", "input": [], "temperature": 0})


def test_register_type_replaces_a_builtin() -> None:
    original = grader_type("score_model")
    assert original is not None

    class Fixed(Grader):
        def __init__(self, name: str):
            self.name = name

        def grade(self, sample, item) -> Grades:
            return Grades(scores={self.name: 0.9})

    register_type("score_model", lambda name, d, *, base_dir, where: Fixed(name),
                  required={"input", "model"}, optional={"range", "sampling_params"})
    try:
        g = build({"type": "score_model", "model": "m", "input": []})
        assert g.grade({}, {}).scores == {"g": 0.9}
    finally:
        register_type("score_model", original.build, required=original.required,
                      optional=original.optional, ignored=original.ignored)


def test_definition_of_wrong_kind() -> None:
    with pytest.raises(RftError, match="must be OpenAI grader JSON"):
        build(["python"])  # type: ignore[arg-type]
