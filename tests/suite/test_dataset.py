"""Dataset records in every shape OpenAI tools write, and clear errors for broken ones."""

import json

import pytest

from pytest_rft.suite.dataset import load_items
from pytest_rft.core.errors import RftError


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_shapes_and_ids(tmp_path):
    lines = [
        {"item": {"id": "e1", "question": "q?", "answer": "a"}},            # Evals API item
        {"messages": [{"role": "user", "content": "hi"}], "answer": "b"},   # RFT training row
        {"input": [{"role": "user", "content": "2+2?"}], "ideal": "4"},     # openai/evals sample
        {"id": 7, "text": "flat"},                                          # flat object
        {"input": "plain prompt", "ideal": "x"},                            # evals, string input
    ]
    path = write(tmp_path, "d.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    items = load_items(path)
    assert [i.id for i in items] == ["e1", "line-2", "line-3", "7", "line-5"]
    assert items[0].data == {"id": "e1", "question": "q?", "answer": "a"}
    assert items[0].messages is None
    assert items[1].messages == [{"role": "user", "content": "hi"}]
    # an RFT row's item is the whole row, messages included (what OpenAI's graders see)
    assert items[1].data == {"messages": [{"role": "user", "content": "hi"}], "answer": "b"}
    assert items[2].messages[0]["content"] == "2+2?" and items[2].data == {"ideal": "4"}
    assert items[3].data == {"id": 7, "text": "flat"}
    assert items[4].messages == [{"role": "user", "content": "plain prompt"}]


def test_broken_jsonl_line_names_file_and_line(tmp_path):
    path = write(tmp_path, "d.jsonl", '{"id": "a"}\n{"id": "b"}\n{"id": "c",\n')
    with pytest.raises(RftError) as err:
        load_items(path)
    assert f"{path}:3" in str(err.value) and "invalid JSON" in str(err.value)
    assert "fix:" in str(err.value)


def test_non_object_record_and_duplicate_ids(tmp_path):
    with pytest.raises(RftError, match=r"d.jsonl:2: a record must be a JSON object"):
        load_items(write(tmp_path, "d.jsonl", '{"id": 1}\n[1, 2]\n'))
    with pytest.raises(RftError, match=r"e.jsonl:3: duplicate item id 'x' \(first at line 1\)"):
        load_items(write(tmp_path, "e.jsonl", '{"id": "x"}\n{"id": "y"}\n{"id": "x"}\n'))


def test_json_array_keeps_element_lines(tmp_path):
    text = '[\n  {"a": 1},\n\n  {"a": {"nested": [1,\n 2]}},\n  {"id": "z", "a": 3}\n]\n'
    items = load_items(write(tmp_path, "d.json", text))
    assert [(i.id, i.line) for i in items] == [("line-2", 2), ("line-4", 4), ("z", 6)]
    wrapped = load_items(write(tmp_path, "w.json", '{"items": [\n{"a": 1},\n{"a": 2}]}'))
    assert [i.line for i in wrapped] == [2, 3]


def test_yaml_records_and_errors(tmp_path):
    items = load_items(write(tmp_path, "d.yaml", "- id: a\n  text: one\n- text: two\n  critical: true\n"))
    assert [(i.id, i.line, i.critical) for i in items] == [("a", 1, False), ("line-3", 3, True)]
    with pytest.raises(RftError, match=r"bad.yaml:3: invalid YAML"):
        load_items(write(tmp_path, "bad.yaml", "- id: a\n  text: [unclosed\n- id: b\n"))


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(RftError, match="dataset file not found"):
        load_items(tmp_path / "nope.jsonl")
    with pytest.raises(RftError, match="unknown dataset format '.csv'"):
        load_items(write(tmp_path, "d.csv", "a,b\n"))


def test_bad_messages_and_ids(tmp_path):
    with pytest.raises(RftError, match="'messages' must be a list of"):
        load_items(write(tmp_path, "m.jsonl", '{"messages": [{"content": "no role"}]}\n'))
    with pytest.raises(RftError, match="cannot be used as a test name"):
        load_items(write(tmp_path, "i.jsonl", '{"id": "a::b"}\n'))


def test_critical_flags_and_their_errors(tmp_path):
    text = ('{"id": "a", "critical": true}\n{"item": {"id": "b", "critical": true}}\n'
            '{"id": "c", "critical": false}\n{"id": "d"}\n')
    items = load_items(write(tmp_path, "c.jsonl", text))
    assert [(i.id, i.critical) for i in items] == [("a", True), ("b", True), ("c", False),
                                                   ("d", False)]
    for bad in ('{"id": "x", "critical": "yes"}', '{"id": "x", "critical": 1}',
                '{"item": {"id": "x", "critical": null}}'):
        with pytest.raises(RftError, match=r"b.jsonl:2: 'critical' must be true or false") as err:
            load_items(write(tmp_path, "b.jsonl", '{"id": "ok"}\n' + bad + "\n"))
        assert 'fix: write "critical": true' in str(err.value)


def test_blank_lines_of_any_whitespace_are_skipped_and_lines_still_counted(tmp_path):
    text = '{"id": "a"}\n\n   \n\t\r\n\u00a0\u2028\n{"id": "b"}\n'
    items = load_items(write(tmp_path, "w.jsonl", text))
    assert [(i.id, i.line) for i in items] == [("a", 1), ("b", 6)]


def test_items_compare_by_value_and_are_not_hashable(tmp_path):
    path = write(tmp_path, "v.jsonl", '{"id": "a", "x": [1]}\n')
    first, again = load_items(path)[0], load_items(path)[0]
    assert first == again and first is not again
    assert first != load_items(write(tmp_path, "u.jsonl", '{"id": "a", "x": [2]}\n'))[0]
    with pytest.raises(TypeError):
        hash(first)
