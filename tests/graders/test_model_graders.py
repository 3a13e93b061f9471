"""score_model / label_model graders: load-time checks, structured judge answers, errors with
causes (never 0), the run's cache, and judge calls over HTTP through the OpenAI backend."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import pytest_rft
from pytest_rft.backends.python_backend import _MODELS
from pytest_rft.core.errors import RftError
from pytest_rft.graders import build_grader
from pytest_rft.backends.factory import BackendOptions, judge_factory
from pytest_rft.backends.judge import Judge, JudgeOverrides
from pytest_rft.graders.base import GradingContext
from pytest_rft.core.records import Completion

SCORE = {"type": "score_model", "name": "polite", "model": "judge-py", "range": [0, 5],
         "pass_threshold": 3,
         "sampling_params": {"temperature": 0, "seed": 1, "max_completions_tokens": 200,
                             "reasoning_effort": "low"},
         "input": [{"role": "system", "content": "Rate politeness 0-5."},
                   {"role": "user", "content": [{"type": "input_text",
                                                 "text": "Answer: {{ sample.output_text }}"}]}]}
LABEL = {"type": "label_model", "name": "topic", "model": "judge-py",
         "labels": ["billing", "shipping", "other"], "passing_labels": ["billing"],
         "input": [{"type": "message", "role": "user",
                    "content": {"type": "input_text", "text": "{{ item.question }}"}}]}


def build(definition, name="g"):
    return build_grader(name, definition, base_dir=Path("."), where="s.yaml: graders.g")


@pytest.fixture
def judge_answers():
    """A Python judge model answering from a dict: last user message -> reply."""
    answers: dict[str, object] = {}
    seen: list = []

    @pytest_rft.model("judge-py")
    def judge_py(request):
        seen.append(request)
        reply = answers[request.messages[-1]["content"]]
        return reply if isinstance(reply, (str, Completion)) else json.dumps(reply)

    yield answers, seen
    _MODELS.pop("judge-py", None)


def run(grader, sample, item=None, overrides=None):
    judge = Judge(judge_factory(BackendOptions(timeout=5, concurrency=4)), overrides)

    async def go():
        try:
            return await grader.agrade(sample, item or {}, GradingContext(judge=judge))
        finally:
            await judge.aclose()

    return asyncio.run(go()), judge


def test_score_is_clamped_to_the_range_and_sent_as_documented(judge_answers) -> None:
    answers, seen = judge_answers
    answers["Answer: thanks!"] = {"steps": [{"description": "tone", "conclusion": "kind"}],
                                  "result": 7}
    g = build(SCORE)
    grades, judge = run(g, {"output_text": "thanks!"})
    assert grades.scores == {"g": 5.0} and g.thresholds() == {"g": 3.0}
    request = seen[0]
    assert request.messages == [{"role": "system", "content": "Rate politeness 0-5."},
                                {"role": "user", "content": "Answer: thanks!"}]
    assert request.sampling == {"temperature": 0, "seed": 1, "max_output_tokens": 200,
                                "reasoning_effort": "low"}
    schema = request.response_schema
    assert schema["strict"] and schema["schema"]["required"] == ["steps", "result"]
    assert judge.stats.calls == 1


@pytest.mark.parametrize("key", ["max_tokens", "max_completion_tokens", "max_output_tokens",
                                 "max_completions_tokens"])
def test_the_judges_output_limit_in_each_spelling_is_sent(judge_answers, key) -> None:
    """The graders guide's label_model example writes ``"max_tokens": 32768``; every spelling
    is the judge's output limit (before: 'unknown sampling_params key', the grader disabled)."""
    answers, seen = judge_answers
    answers["Answer: ok"] = {"steps": [], "result": 4}
    grades, _ = run(build(dict(SCORE, sampling_params={key: 32768, "top_p": 1,
                                                       "reasoning_effort": "medium"})),
                    {"output_text": "ok"})
    assert grades.scores == {"g": 4.0}
    assert seen[0].sampling == {"max_output_tokens": 32768, "top_p": 1,
                                "reasoning_effort": "medium"}


def test_label_model_takes_sampling_params_like_the_guides_example(judge_answers) -> None:
    """The graders guide's label_model example carries sampling_params (max_tokens, top_p,
    seed, reasoning_effort); before: 'unknown key' and the imported grader disabled."""
    answers, seen = judge_answers
    answers["Q?"] = {"steps": [], "result": "billing"}
    grader = build(dict(LABEL, input=[{"role": "user", "content": "Q?"}], sampling_params={
        "max_tokens": 32768, "top_p": 1, "seed": 42, "reasoning_effort": "medium"}))
    grades, _ = run(grader, {"output_text": "x"})
    assert grades.scores == {"g": 1.0}
    assert seen[0].sampling == {"max_output_tokens": 32768, "top_p": 1, "seed": 42,
                                "reasoning_effort": "medium"}


def test_two_different_output_limits_are_one_error() -> None:
    with pytest.raises(RftError, match="sets the output limit twice"):
        build(dict(SCORE, sampling_params={"max_tokens": 10, "max_completions_tokens": 20}))


@pytest.mark.parametrize(("reply", "expected"), [
    ({"steps": [], "result": "high"}, "gave a result that is not a number: 'high'"),
    ({"steps": [], "result": True}, "gave a result that is not a number: True"),
    ({"steps": []}, "answer has no 'result'"),
    ("I think 4", "answer is not JSON: 'I think 4'"),
    (Completion(refusal="I can't grade that", finish_reason="stop"), "refused: I can't grade"),
    (Completion(output_text='{"steps": [], "res', finish_reason="length"), "was cut off"),
])
def test_bad_judge_answers_are_errors_not_zeros(judge_answers, reply, expected) -> None:
    answers, _ = judge_answers
    answers["Answer: x"] = reply
    grades, _ = run(build(SCORE), {"output_text": "x"})
    assert grades.scores == {}
    assert grades.errors["g"].startswith("grader 'g': the judge (judge-py) ")
    assert expected in grades.errors["g"]


def test_labels(judge_answers) -> None:
    answers, seen = judge_answers
    g = build(LABEL)
    answers["refund please"] = {"steps": [], "result": "billing"}
    answers["where is it"] = {"steps": [], "result": "shipping"}
    answers["hello"] = {"steps": [], "result": "greeting"}
    assert run(g, {}, {"question": "refund please"})[0].scores == {"g": 1.0}
    assert run(g, {}, {"question": "where is it"})[0].scores == {"g": 0.0}
    error = run(g, {}, {"question": "hello"})[0].errors["g"]
    assert "answered 'greeting', not one of the labels billing, shipping, other" in error
    assert seen[0].response_schema["schema"]["properties"]["result"]["enum"] == [
        "billing", "shipping", "other"]


def test_judge_calls_are_cached_within_a_run(judge_answers) -> None:
    answers, seen = judge_answers
    answers["Answer: same"] = {"steps": [], "result": 2}
    g = build(SCORE)
    judge = Judge(judge_factory(BackendOptions(timeout=5, concurrency=4)))
    context = GradingContext(judge=judge)

    async def go():
        return await asyncio.gather(*(g.agrade({"output_text": "same"}, {}, context)
                                      for _ in range(5)))

    results = asyncio.run(go())
    assert [r.scores for r in results] == [{"g": 2.0}] * 5
    assert len(seen) == 1 and judge.cached == 4
    assert "1 call(s) for 1 request(s), 4 answered from the run's cache" in judge.summary_line()


def test_the_judge_model_override(judge_answers) -> None:
    answers, seen = judge_answers
    answers["Answer: x"] = {"steps": [], "result": 1}
    definition = dict(SCORE, model="gpt-4o-mini")
    grades, _ = run(build(definition), {"output_text": "x"}, overrides=JudgeOverrides("judge-py"))
    assert grades.scores == {"g": 1.0} and seen[0].model == "judge-py"


def test_a_failed_judge_call_is_an_error_with_its_cause(judge_answers) -> None:
    grades, judge = run(build(SCORE), {"output_text": "nobody answers this"})
    assert grades.errors["g"].startswith("grader 'g': judge call to judge-py failed: KeyError")
    assert judge.stats.errors["model raised"] == 1


@pytest.mark.parametrize(("change", "message"), [
    ({"passing_labels": ["billing", "refunds"]},
     "passing_labels of grader 'g' are not in its labels: refunds"),
    ({"labels": []}, "'labels' of grader 'g' must be a non-empty list of strings"),
    ({"labels": ["a", "a"], "passing_labels": ["a"]}, "'labels' of grader 'g' has duplicates"),
])
def test_label_model_load_errors(change, message) -> None:
    with pytest.raises(RftError, match=message):
        build(dict(LABEL, **change))


@pytest.mark.parametrize(("change", "message"), [
    ({"range": [5, 1]}, "'range' of grader 'g' must be \\[low, high\\] with low < high"),
    ({"sampling_params": {"temprature": 0}}, "unknown sampling_params key 'temprature'"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]},
     "content part 'input_image' is not supported locally"),
    ({"input": [{"role": "user", "content": "{{ nope.x }}"}]}, "unknown name 'nope'"),
    ({"pass_threshold": "high"}, "pass_threshold of grader 'g' must be a number"),
])
def test_score_model_load_errors(change, message) -> None:
    with pytest.raises(RftError, match=message):
        build(dict(SCORE, **change))


# -- over HTTP, through the OpenAI backend, from a pytest run ---------------------------------

def judge_policy(body):
    fmt = body.get("response_format", {}).get("json_schema", {})
    if fmt.get("name") == "score_model_result":
        text = body["messages"][-1]["content"]
        return json.dumps({"steps": [{"description": "len", "conclusion": "ok"}],
                           "result": 1.0 if "good" in text else 0.2})
    return "unexpected"


SUITE = """
suite: judged
dataset: data.jsonl
model: writer
input: [{role: user, content: "{{ item.prompt }}"}]
judge: {model: suite-judge}
graders:
  quality:
    type: score_model
    name: quality
    model: gpt-4o-mini
    pass_threshold: 0.5
    input:
      - {role: user, content: "Rate: {{ sample.output_text }}"}
"""


def test_end_to_end_against_the_local_server(pytester, openai_server, monkeypatch) -> None:
    openai_server.policy = judge_policy
    openai_server.plan.script["Rate: a good answer"] = ["429"]  # retried like any call
    monkeypatch.setenv("OPENAI_API_KEY", openai_server.api_key)
    pytester.makeconftest("import pytest_rft\n"
                          "pytest_rft.model('writer')(lambda request: request.item['answer'])\n")
    pytester.makefile(".yaml", rft_judged=SUITE)
    rows = [{"id": "a", "prompt": "p1", "answer": "a good answer"},
            {"id": "b", "prompt": "p2", "answer": "a poor answer"},
            {"id": "c", "prompt": "p3", "answer": "a good answer"}]
    pytester.path.joinpath("data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    # in a subprocess: an inline run would import the HTTP stack and then drop it from
    # sys.modules, breaking exception classes for later tests in this process
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--rft-judge-base-url",
                                openai_server.base_url, "--rft-retry-backoff", "0",
                                "--rft-report", "report.json", "-v")  # -v: judge calls
    result.assert_outcomes(passed=4)
    bodies = openai_server.bodies("/v1/chat/completions")
    assert {b["model"] for b in bodies} == {"suite-judge"}  # the suite's judge block wins
    assert len(bodies) == 3  # b, and a's 429 + retry; c was answered from the run's cache
    result.stdout.fnmatch_lines([
        "*judge: 3 call(s) for 2 request(s), 1 answered from the run's cache, 1 retries*"])
    report = json.loads(pytester.path.joinpath("report.json").read_text())
    items = {i["id"]: i for i in report["suites"][0]["items"]}
    assert report["judge_calls"]["calls"] == 3 and report["judge_calls"]["cached"] == 1
    assert report["judge_calls"]["usage"]["output_tokens"] > 0
    assert report["calls"]["usage"]["output_tokens"] == 0  # the Python model's: no judge tokens
    assert items["a"]["samples"][0]["scores"] == {"quality": 1.0}
    assert items["b"]["samples"][0]["scores"] == {"quality": 0.2}
    result.stdout.fnmatch_lines(["quality.pass_rate*0.6667*"])
