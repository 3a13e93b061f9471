"""Issue 18, second set: eighteen more public OpenAI definitions (cookbook evals with tools,
structured outputs, MCP, stored completions, logs; the graders guide's graders on RFT jobs),
each imported, loaded and run against the local server: every grader scores, templates into
tool arguments and output_json render, tools are carried, MIGRATION.md names what did not move."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pytest_rft.cli.main import main
from pytest_rft.suite.loader import load_suite
from tests.support.migration import assert_every_sample_scored, import_case, titles
from tests.support import public_definitions2 as pd
from tests.support.openai_server import offered_tools, tool_call


def answer(body: dict):
    """Judges: a schema-valid verdict; the model: a call to the tool it is offered, JSON for a
    response format, else text."""
    fmt = (body.get("response_format") or {}).get("json_schema") \
        or (body.get("text") or {}).get("format") or {}
    if fmt.get("name") == "score_model_result":
        return json.dumps({"steps": [{"description": "d", "conclusion": "c"}], "result": 6})
    if fmt.get("name") == "label_model_result":
        return json.dumps({"steps": [], "result":
                           fmt["schema"]["properties"]["result"]["enum"][0]})
    tools = offered_tools(body)
    if "extract_symbols" in tools:
        return {"text": "", "tool_calls": [tool_call("extract_symbols", pd.SYMBOLS)]}
    if "get_acceptors" in tools:
        smiles = re.search(r"has (\S+)\?", json.dumps(body)).group(1)
        return {"text": "", "tool_calls": [tool_call("get_acceptors", {"smiles": smiles})]}
    shaped = {"contact": {"name": "Ada Lovelace", "email": "ada@example.com"},
              "security_assistant": {"compliant": "yes", "explanation": "AES-256 at rest."},
              "response": {"grading_rubric": "Helpful, concrete, safe."}}
    if fmt.get("name") in shaped:
        return json.dumps(shaped[fmt["name"]])
    if fmt:
        return json.dumps(pd.SYMBOLS)
    return "Paris"


@pytest.fixture
def platform(openai_server, monkeypatch):
    openai_server.policy = answer
    monkeypatch.setenv("OPENAI_API_KEY", openai_server.api_key)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return openai_server


def judge_texts(server) -> list[str]:
    return [json.dumps(b.get("messages") or b.get("input")) for b in server.bodies()
            if "score_model_result" in json.dumps(b.get("response_format") or b.get("text"))]


RENDERED = {  # a judge template reading into the sample must render what the model returned
    "tools_eval_chat": '\\"name\\":\\"create\\"', "tools_eval_responses": '\\"name\\":\\"create\\"',
    "structured_chat": '\\"name\\":\\"create\\"', "structured_responses": '\\"name\\":\\"create\\"',
    "security_rft": "Model Answer: AES-256 at rest.",
    "calibration_rft": "### Grading Rubric\\nHelpful, concrete, safe.",
}


@pytest.mark.slow  # eighteen imports and runs: 25-60 s on the shared CI machine
@pytest.mark.parametrize("make", pd.CASES, ids=lambda make: make.__name__)
def test_public_definition_imports_loads_and_scores(make, platform, pytester):
    case = make()
    out = pytester.path / case.name
    found, suite_path = import_case(platform, case, out, ("<your-key>", "YOUR_TOKEN"))
    if "The suite does not load yet" in case.notes:  # every grader disabled: it says which
        assert f"every grader is disabled ('{case.disabled[0]}')" in \
            (out / "MIGRATION.md").read_text()
        return
    suite = load_suite(suite_path)
    report = pytester.path / "report.json"
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", str(out),
                                          f"--rft-base-url={platform.base_url}",
                                          f"--rft-report={report}")
    assert report.exists(), result.stdout.str()[-2000:]
    assert_every_sample_scored(json.loads(report.read_text()), suite)
    if case.name in RENDERED:
        texts = judge_texts(platform)
        assert texts and all(RENDERED[case.name] in t for t in texts), texts


@pytest.mark.parametrize("make", [pd.tools_eval_chat, pd.tools_eval_responses])
def test_a_runs_function_tool_in_either_shape_reaches_the_model(make, platform, pytester):
    case = make()
    platform.platform_objects.update(case.objects)
    out = pytester.path / case.name
    assert main(["import", "eval", case.id, "--out", str(out),
                 "--base-url", platform.base_url]) == 0
    suite = load_suite(next(out.glob("rft_*.yaml")))
    assert [t["function"]["name"] for t in suite.config.tools] == ["extract_symbols"]
    assert suite.config.tools[0]["function"]["parameters"] == pd.SYMBOL_TOOL["parameters"]


def test_the_guides_label_model_sends_its_sampling_params(platform, pytester):
    """The graders guide's label_model carries sampling_params with max_tokens: it imports
    enabled and the judge gets them (before: 'unknown key', the grader disabled); its cosine
    grader calls the embeddings endpoint."""
    out = imported(platform, pytester, pd.guide_label_eval())
    assert "disabled" not in (out / "MIGRATION.md").read_text()
    pytester.runpytest_inprocess("-p", "no:cacheprovider", str(out),
                                 f"--rft-base-url={platform.base_url}")
    judged = [b for b in platform.bodies("/v1/chat/completions")
              if (b.get("response_format") or {}).get("json_schema", {}).get("name")
              == "label_model_result"]
    assert judged and {(b["model"], b["max_completion_tokens"], b["top_p"], b["seed"],
                        b["reasoning_effort"]) for b in judged} == {
        ("o3-mini-2024-01-31", 32768, 1, 42, "medium")}
    assert {b["model"] for b in platform.bodies("/v1/embeddings")} == {"text-embedding-3-large"}


def imported(platform, pytester, case) -> Path:
    platform.platform_objects.update(case.objects)
    out = pytester.path / case.name
    assert main(["import", case.kind, case.id, "--out", str(out),
                 "--base-url", platform.base_url]) == 0
    return out


def test_a_dropped_hosted_tool_names_the_graders_reading_output_tools(platform, pytester):
    """MCP eval: the python grader 'Assert MCP was used' saw the MCP calls on the platform;
    here it scores 0, and MIGRATION.md says why before the baseline comparison does."""
    out = imported(platform, pytester, pd.mcp_eval())
    text = (out / "MIGRATION.md").read_text()
    assert "Grader 'Assert MCP was used' reads output_tools" in titles(out)
    assert "hosted tool(s) 'mcp'" in text and "--rft-baseline-update" in text
    # a label_model reading only output_text is not named; nor is anything without hosted tools
    assert not [t for t in titles(out) if "General Evaluator' reads" in t]
    plain = imported(platform, pytester, pd.tools_eval_chat())
    assert not [t for t in titles(plain) if "reads output_tools" in t]


def test_every_grader_disabled_says_which_one_to_fix(platform, pytester):
    """responses-evaluation.ipynb's judge has '{{sample.output_text}' (a brace short): its only
    grader is disabled, and the 'does not load' note names it instead of a schema message."""
    out = imported(platform, pytester, pd.responses_logs())
    text = (out / "MIGRATION.md").read_text()
    assert "unclosed placeholder '{{sample.output_text}" in text
    assert "every grader is disabled ('General Evaluator'), and a suite needs one" in text
    assert "Dictionary should have at least 1 item" not in text


def test_a_multi_whose_graders_are_a_list_says_so(platform, pytester):
    """The API reference's multi example lists its graders: the note says the list is the
    problem and names them (before: 'a multi grader without sub-graders', which it has)."""
    out = imported(platform, pytester, pd.api_reference_multi_rft())
    text = (out / "MIGRATION.md").read_text()
    assert "its 'graders' is a list of 2; a multi's sub-graders are an object keyed by" in text
    assert "'Example text similarity grader', 'Example string check grader'" in text
    assert "without sub-graders" not in text


def test_a_prompt_whose_only_user_message_is_audio_says_the_model_is_asked_nothing(
        platform, pytester):
    """Audio cookbook eval: the user message is one input_audio part; the suite keeps the
    system message only, and MIGRATION.md says the scores will not match (before: only 'audio
    input left out', and 'a audio part')."""
    out = imported(platform, pytester, pd.audio_eval())
    text = (out / "MIGRATION.md").read_text()
    assert "input_messages: no user message left" in titles(out)
    assert "a user message has an audio part" in text
    suite = load_suite(next(out.glob("rft_*.yaml")))
    assert [m.role for m in suite.config.input] == ["system"]
    # a prompt that keeps a text user message is no such case
    text_only = imported(platform, pytester, pd.tools_eval_chat())
    assert not [t for t in titles(text_only) if "no user message left" in t]


def test_a_grader_reading_output_audio_is_disabled_not_silently_empty(platform, pytester):
    """The audio cookbook suggests grading the audio transcript with a model grader. A
    placeholder under sample.output_audio would render "" for every sample here (text only):
    that grader is disabled with its reason; the string_check still runs."""
    case = pd.audio_eval()
    evaluation = case.objects[f"/evals/{case.id}"]
    evaluation["testing_criteria"].append({
        "type": "score_model", "name": "Transcript judge", "model": "gpt-4.1-mini",
        "id": "Transcript judge-00000009-2222-4222-8222-000000000009",
        "input": [{"role": "user", "content": "Transcript: {{ sample.output_audio.transcript }}"
                                              "\nAnswer: {{ item.official_answer }}"}]})
    out = imported(platform, pytester, case)
    text = (out / "MIGRATION.md").read_text()
    assert "Grader 'Transcript judge' disabled" in titles(out)
    assert "a placeholder reads sample.output_audio" in text
    suite = load_suite(next(out.glob("rft_*.yaml")))
    assert list(suite.config.graders) == ["String check grader"]


def test_agentic_job_tools_with_only_a_name_and_an_endpoint_reach_the_model(platform, pytester):
    """Azure Foundry / agent-RFT tools are {name, server_url | url, headers}: no type, no
    parameters. Each becomes a function tool the model is offered, max_episode_steps the loop
    bound, and each endpoint a note; the headers are not copied."""
    out = imported(platform, pytester, pd.foundry_agentic_rft())
    suite = load_suite(next(out.glob("rft_*.yaml")))
    assert [t["function"]["name"] for t in suite.config.tools] == ["search", "get_by_id",
                                                                  "read_file"]
    assert suite.config.max_turns == 10
    text = (out / "MIGRATION.md").read_text()
    assert "your-tools.modal.run" in text and "azurewebsites.net" in text
    assert "(with headers, not copied: they hold credentials)" in text


def test_per_row_tools_reach_the_model_and_the_guides_tool_multi_scores_them(platform, pytester):
    """RFT rows carry their own tools (get_acceptors); the model is offered them, and the
    guide's multi of string_checks on output_tools[0] (name, JSON-string arguments built from
    {{item.smiles}}) scores the calls 1."""
    out = imported(platform, pytester, pd.guide_tool_multi_rft())
    report = pytester.path / "tools-report.json"
    pytester.runpytest_inprocess("-p", "no:cacheprovider", str(out),
                                 f"--rft-base-url={platform.base_url}", f"--rft-report={report}")
    offered = [offered_tools(b) for b in platform.bodies("/v1/chat/completions")]
    assert offered and all(tools == ["get_acceptors"] for tools in offered)
    scores = [s["scores"] for run in json.loads(report.read_text())["suites"]
              for item in run["items"] for s in item["samples"]]
    assert scores and all(s == {"grader": 1.0, "function_name": 1.0, "arguments": 1.0}
                          for s in scores)
