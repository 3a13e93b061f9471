"""``pytest-rft validate-grader`` and ``--rft-export-graders``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pytest_rft.cli.main import main

DATA = Path(__file__).parent.parent / "data"


def validate(capsys, *args) -> tuple[int, str]:
    code = main(["validate-grader", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_valid_files(capsys) -> None:
    code, out = validate(capsys, DATA / "build_hours_f1_grader.json",
                         DATA / "third_party_f1_grader.json")
    assert code == 0
    assert ("build_hours_f1_grader.json: type multi; scores: f1_grader, precision, recall; "
            "pass_threshold: f1_grader 0.8") in out
    assert out.count("OK ") == 2


def test_grading_one_sample(capsys) -> None:
    code, out = validate(capsys, DATA / "build_hours_f1_grader.json", "--sample",
                         '{"output_text": "{\\"labels\\": [\\"a\\"]}"}', "--item",
                         '{"labels": ["a", "b"]}')
    assert code == 0
    assert "  f1_grader = 0.666667\n  precision = 1\n  recall = 0.5" in out


def write(tmp_path: Path, name: str, data) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=1))
    return path


def test_invalid_files_name_file_field_and_fix(capsys, tmp_path: Path) -> None:
    typo = write(tmp_path, "typo.json", {"type": "string_check", "input": "{{ sample.output_text }}",
                                         "reference": "x", "operaton": "eq"})
    formula = write(tmp_path, "formula.json", {
        "type": "multi", "calculate_output": "2 * precison",
        "graders": {"precision": {"type": "python", "source": "def grade(s, i):\n    return 1\n"}}})
    labels = write(tmp_path, "labels.json", {
        "type": "label_model", "model": "m", "labels": ["a", "b"], "passing_labels": ["c"],
        "input": [{"role": "user", "content": "{{ sample.output_text }}"}]})
    broken = write(tmp_path, "broken.json", '{"type": "python",\n "source": }')
    ok = write(tmp_path, "ok.json", {"type": "python", "source": "def grade(s, i):\n    return 1\n"})
    code, out = validate(capsys, typo, formula, labels, broken, ok)
    assert code == 1
    assert f"INVALID {typo}: unknown key 'operaton' in string_check grader 'typo'" in out
    assert "fix: did you mean 'operation'?" in out
    assert f"INVALID {formula}: calculate_output: column 5: unknown name 'precison'" in out
    assert "fix: did you mean 'precision'?" in out
    assert (f"INVALID {labels}: passing_labels: passing_labels of grader 'labels' are not in "
            "its labels: c") in out
    assert f"INVALID {broken}:2:12: invalid JSON in grader file" in out
    assert f"OK {ok}: type python; scores: ok" in out
    assert "4 of 5 grader file(s) invalid" in out


SUITE = """
suite: exp
dataset: data.jsonl
model: m
input: [{role: user, content: "{{ item.q }}"}]
graders:
  f1: {file: f1.json}
  exact: {type: string_check, input: "{{ sample.output_text }}", reference: "{{ item.q }}",
          operation: eq}
"""


def test_export_graders_round_trips(pytester, capsys) -> None:
    shutil.copy(DATA / "build_hours_f1_grader.json", pytester.path / "f1.json")
    pytester.makefile(".yaml", rft_exp=SUITE)
    pytester.path.joinpath("data.jsonl").write_text('{"id": "a", "q": "x", "labels": []}\n')
    result = pytester.runpytest("-p", "no:cacheprovider", "--collect-only",
                                "--rft-export-graders", "out")
    assert result.ret == 0
    folder = pytester.path / "out" / "exp"
    assert sorted(p.name for p in folder.iterdir()) == ["exact.json", "f1.json"]
    exported = json.loads((folder / "f1.json").read_text())
    original = json.loads((DATA / "build_hours_f1_grader.json").read_text())
    assert exported == {**original, "name": "f1"}
    assert json.loads((folder / "exact.json").read_text())["name"] == "exact"
    code, out = validate(capsys, folder / "f1.json", folder / "exact.json")
    assert code == 0, out


def test_export_leaves_out_what_openai_would_refuse(tmp_path) -> None:
    from pathlib import Path as _Path

    from pytest_rft.graders.export import export_graders, openai_grader

    string_check = {"type": "string_check", "input": "{{ sample.output_text }}",
                    "reference": "x", "operation": "eq"}
    assert openai_grader(string_check)
    assert not openai_grader({"type": "tool_call", "expected": []})
    assert not openai_grader({**string_check, "type": "text_similarity",
                              "evaluation_metric": "nltk_bleu"})
    assert not openai_grader({"type": "multi", "calculate_output": "a", "graders": {
        "a": {"type": "tool_call", "expected": []}}})

    class Suite:
        name = "s"
        grader_definitions = {"ok": string_check, "calls": {"type": "tool_call", "expected": []}}

    written = export_graders(Suite(), tmp_path)
    assert [p.name for p in written] == ["ok.json"]
    assert _Path(written[0]).parent == tmp_path / "s"


LABEL_GRADER = {"type": "python", "name": "label",
                "source": "def grade(sample, item):\n"
                          "    return float(sample['output_json']['label'] == item['label'])\n"}


def test_a_sample_is_completed_as_a_run_completes_it(capsys, pytester) -> None:
    """``output_json`` is parsed from ``output_text`` as in a run (a grader reading it scored 0
    before): the CLI and a real run of the same output give the same score."""
    grader = write(pytester.path, "label.json", LABEL_GRADER)
    output = '{"label": "billing"}'
    code, out = validate(capsys, grader, "--sample", json.dumps({"output_text": output}),
                         "--item", '{"label": "billing"}')
    assert code == 0, out
    assert "  sample: output_json parsed from output_text, as in a run\n  label = 1\n" in out
    code, out = validate(capsys, grader, "--sample", '{"output_text": "billing"}',
                         "--item", '{"label": "billing"}')
    assert "sample: output_text is not JSON: no output_json, as in a run" in out
    assert "label: error: grader 'label' raised KeyError: 'output_json'" in out  # not a 0
    code, out = validate(capsys, grader, "--sample",
                         json.dumps({"output_text": output, "output_json": {"label": "x"}}),
                         "--item", '{"label": "billing"}')
    assert "sample:" not in out and "  label = 0\n" in out  # a given output_json is kept

    pytester.makeconftest(f"""
import pytest_rft

@pytest_rft.model("fixed")
def fixed(request):
    return {output!r}
""")
    pytester.path.joinpath("data.jsonl").write_text('{"id": "t1", "label": "billing"}\n')
    pytester.path.joinpath("rft_labels.yaml").write_text(
        "suite: labels\ndataset: data.jsonl\nmodel: fixed\n"
        "input: [{role: user, content: 'ticket'}]\ngraders:\n  label: {file: label.json}\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    result.stdout.fnmatch_lines(["*t1[[]fixed[]] PASSED (label=1.000 n=1)*"])
