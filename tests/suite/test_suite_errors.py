"""Every mistake a user can make in a suite file: one clear message naming file, line/field, fix."""

import json

import pytest

from pytest_rft.core.errors import RftError
from pytest_rft.suite.loader import load_suite

GOOD = """\
suite: s
dataset: data.jsonl
model: m
input:
  - {role: developer, content: {file: prompt.md}}
  - {role: user, content: "{{ item.text }}"}
graders:
  f1:
    type: multi
    graders:
      a: {type: string_check, input: "{{ sample.output_text }}", reference: "{{ item.label }}", operation: eq}
      b: {type: string_check, input: "{{ sample.output_text }}", reference: "{{ item.label }}", operation: ilike}
    calculate_output: "2 * a * b / max(a + b, 1e-9)"
gates:
  - {metric: f1.mean, min: 0.5}
"""


@pytest.fixture
def suite_dir(tmp_path):
    (tmp_path / "data.jsonl").write_text(
        "\n".join(json.dumps({"id": f"i{n}", "text": "t", "label": "x"}) for n in range(3)) + "\n")
    (tmp_path / "prompt.md").write_text("Classify.")
    return tmp_path


def load(suite_dir, text):
    path = suite_dir / "rft_s.yaml"
    path.write_text(text)
    return load_suite(path)


def test_good_suite_loads(suite_dir):
    suite = load(suite_dir, GOOD)
    assert suite.score_names == ["f1", "a", "b"]
    assert [i.id for i in suite.items] == ["i0", "i1", "i2"]
    assert suite.render_messages(suite.items[0]) == [
        {"role": "developer", "content": "Classify."}, {"role": "user", "content": "t"}]


CASES = [
    # (description, replace this, with this, expected fragments of the message)
    ("unknown key", "repeats_typo", None, ["rft_s.yaml:16", "unknown key 'repeatz'", "fix:"]),
    ("wrong type", "model: m", "model: m\nrepeats: many", ["rft_s.yaml:4 repeats", "integer"]),
    ("missing key", "dataset: data.jsonl\n", "", ["missing required key 'dataset'", "fix: add 'dataset:'"]),
    ("missing dataset", "data.jsonl", "nope.jsonl", ["dataset file not found", "nope.jsonl", "relative to the suite"]),
    ("missing prompt file", "prompt.md", "prompts/missing.md", ["rft_s.yaml:5 input[0].content",
                                                               "prompt file not found"]),
    ("unknown grader type", "type: multi", "type: multy", ["rft_s.yaml:8 graders.f1", "multy"]),
    ("bad template path", "{{ item.text }}", "{{ item.txt }}", ["rft_s.yaml:6 input[1].content", "txt"]),
    ("bad template root", "{{ item.text }}", "{{ itme.text }}", ["input[1].content", "itme"]),
    ("bad formula", "2 * a * b / max(a + b, 1e-9)", "2 * a * recal", ["graders.f1", "recal"]),
    ("unknown metric", "metric: f1.mean", "metric: f2.mean", ["rft_s.yaml:15 gates[0].metric",
                                                             "unknown metric 'f2.mean'", "f1.mean"]),
    ("gate without bound", "{metric: f1.mean, min: 0.5}", "{metric: f1.mean}",
     ["gates[0]", "a gate needs 'min' or 'max'"]),
    ("bad yaml", "suite: s", "suite: [s", ["invalid YAML", "rft_s.yaml:"]),
    ("bad role", "role: developer", "role: boss", ["input[0].role", "boss"]),
]


@pytest.mark.parametrize("what,old,new,fragments", CASES, ids=[c[0] for c in CASES])
def test_mistakes_are_one_clear_message(suite_dir, what, old, new, fragments):
    text = GOOD + "repeatz: 3\n" if old == "repeats_typo" else GOOD.replace(old, new, 1)
    assert text != GOOD
    with pytest.raises(RftError) as err:
        load(suite_dir, text)
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "Traceback" not in message and len(message.splitlines()) <= 4


def test_broken_dataset_line_names_file_and_line(suite_dir):
    with (suite_dir / "data.jsonl").open("a") as handle:
        handle.write('{"id": "broken", "text": \n')
    with pytest.raises(RftError, match=r"data.jsonl:4: invalid JSON"):
        load(suite_dir, GOOD)


def test_broken_suite_is_a_short_collection_error_and_others_run(pytester):
    pytester.makeconftest("import pytest_rft\n"
                          "@pytest_rft.model('m')\ndef m(request):\n    return 'x'\n")
    pytester.makefile(".jsonl", data='{"id": "a", "label": "x"}\n{"id": "b", "label": "x"}\n')
    good = ("suite: good\ndataset: data.jsonl\nmodel: m\ninput: [{role: user, content: hi}]\n"
            "graders:\n  exact: {type: string_check, input: '{{ sample.output_text }}', "
            "reference: '{{ item.label }}', operation: eq}\n")
    pytester.makefile(".yaml", rft_good=good, rft_bad=good.replace("suite: good", "suite: bad\nrepeatz: 2"))
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == 1
    result.assert_outcomes(passed=3, errors=1)
    out = result.stdout.str()
    assert "rft_bad.yaml:2 repeatz: unknown key 'repeatz'" in out
    assert "Traceback" not in out and "pydantic" not in out
    # the path as the user typed it, from where pytest started (as the docs show it)
    result.stdout.fnmatch_lines(["rft_bad.yaml:2 repeatz: unknown key 'repeatz'"])
    assert f"{pytester.path}/rft_bad.yaml" not in out


def test_grader_template_naming_a_missing_item_field(suite_dir):
    text = GOOD.replace('reference: "{{ item.label }}", operation: eq',
                        'reference: "{{ item.lable }}", operation: eq')
    with pytest.raises(RftError) as err:
        load(suite_dir, text)
    message = str(err.value)
    assert "rft_s.yaml:8 graders.f1.graders.a.reference" in message
    assert "lable" in message and "label" in message
