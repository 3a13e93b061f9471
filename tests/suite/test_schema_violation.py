"""Outputs that parse as JSON but break the response_format schema: kind schema_violation,
counted, and graders still see output_json."""

from __future__ import annotations

import json

from pytest_rft.suite.output_schema import violation
from pytest_rft.core.records import Completion, SampleResult
from pytest_rft.sampling.grading import fill_sample, sample_view

SCHEMA = {"type": "object", "additionalProperties": False, "required": ["answer", "confidence"],
          "properties": {"answer": {"type": "string"},
                         "confidence": {"type": "number", "minimum": 0, "maximum": 1}}}


def fill(text: str) -> SampleResult:
    result = SampleResult(item_id="i", repeat=0, model="m")
    fill_sample(result, Completion(output_text=text, finish_reason="stop"), schema_given=True,
                 schema=SCHEMA)
    return result


def test_valid_output_is_ok() -> None:
    result = fill('{"answer": "4", "confidence": 0.9}')
    assert result.kind == "ok" and result.schema_error is None


def test_json_breaking_the_schema_is_a_schema_violation_graders_still_see() -> None:
    result = fill('{"answer": 4, "confidence": 0.9}')
    assert result.kind == "schema_violation"
    assert result.schema_error == "$.answer: 4 is not of type 'string'"
    assert sample_view(result)["output_json"] == {"answer": 4, "confidence": 0.9}


def test_messages_name_the_path_and_the_rule() -> None:
    assert violation(SCHEMA, {"answer": "4"}) == "$: 'confidence' is a required property"
    assert violation(SCHEMA, {"answer": "4", "confidence": 2}) == (
        "$.confidence: 2 is greater than the maximum of 1")
    assert "Additional properties are not allowed ('extra' was unexpected)" in violation(
        SCHEMA, {"answer": "4", "confidence": 1, "extra": 1})
    assert violation({"type": "array", "items": {"type": "integer"}}, [1, "x"]) == (
        "$[1]: 'x' is not of type 'integer'")
    assert violation(None, {"anything": 1}) is None


def test_invalid_json_stays_invalid_json() -> None:
    assert fill('{"answer": ').kind == "invalid_json"


SUITE = """
suite: sv
dataset: data.jsonl
model: sloppy
input: [{role: user, content: "{{ item.q }}"}]
response_format:
  name: Answer
  schema: {type: object, additionalProperties: false, required: [answer],
           properties: {answer: {type: string}}}
graders:
  exact: {type: string_check, input: "{{ sample.output_json.answer }}",
          reference: "{{ item.a }}", operation: eq}
"""


def test_end_to_end_counted_and_graded(pytester) -> None:
    pytester.makeconftest(
        "import pytest_rft\n"
        "@pytest_rft.model('sloppy')\n"
        "def sloppy(request):\n"
        "    a = request.item['a']\n"
        "    return {'answer': int(a)} if request.item['q'] == 'two' else {'answer': a}\n")
    pytester.makefile(".yaml", rft_sv=SUITE)
    rows = [{"id": "one", "q": "one", "a": "1"}, {"id": "two", "q": "two", "a": "2"}]
    pytester.path.joinpath("data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = pytester.runpytest("-p", "no:cacheprovider", "--rft-report", "r.json")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["outputs: *schema_violation 1*"])
    report = json.loads(pytester.path.joinpath("r.json").read_text())
    samples = {i["id"]: i["samples"][0] for i in report["suites"][0]["items"]}
    assert samples["two"]["kind"] == "schema_violation"
    assert samples["two"]["schema_error"] == "$.answer: 2 is not of type 'string'"
    assert samples["two"]["scores"] == {"exact": 1.0}  # the grader saw output_json
    assert report["calls"]["kinds"] == {"ok": 1, "schema_violation": 1}
