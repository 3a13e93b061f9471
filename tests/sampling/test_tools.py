"""Tools and agent loops in the core: suite keys, what the model receives (Python models and the
OpenAI wire bodies), the bounded loop and its trajectory, recorded results, errors that stay
errors. End-to-end runs (pytest, reports, the cache, HTTP) are in test_agents_e2e.py."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path

import pytest

import pytest_rft
from pytest_rft.backends.python_backend import PythonBackend
from pytest_rft.backends.wire import (chat_body, from_chat, from_responses, responses_body,
                                      responses_input)
from pytest_rft.core.errors import RftError
from pytest_rft.core.records import Completion, Request
from pytest_rft.backends.calls import CallContext, RunSettings
from pytest_rft.core.records import SuiteRun
from pytest_rft.sampling.grading import sample_view
from pytest_rft.sampling.runner import run_all
from pytest_rft.suite.loader import load_suite
from pytest_rft.core.tools import ToolError, function_tool, tool_call, tool_list

ORDER_TOOL = {"type": "function", "function": {
    "name": "lookup_order", "description": "Find an order",
    "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}},
                   "required": ["order_id"]}}}
SUBMIT_TOOL = {"type": "function", "name": "submit", "description": "Final answer",
               "parameters": {"type": "object", "properties": {"answer": {"type": "string"}}}}


def write_suite(tmp_path: Path, suite: str, records: list[dict], **files: str) -> Path:
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    path = tmp_path / "rft_s.yaml"
    path.write_text(textwrap.dedent(suite))
    return path


BASE = """\
suite: s
dataset: data.jsonl
model: agent
input: [{role: user, content: "{{ item.question }}"}]
tools:
  - {type: function, function: {name: lookup_order, description: Find an order,
     parameters: {type: object, properties: {order_id: {type: string}}, required: [order_id]}}}
  - {type: function, name: submit, description: Final answer,
     parameters: {type: object, properties: {answer: {type: string}}}}
graders:
  calls: {type: tool_call, expected: "{{ item.expected }}"}
"""


class Recorder:
    """A Python model that plays ``item["plan"]`` turn by turn and keeps every request: a list
    of calls ``[name, arguments]`` calls tools; a string answers (``{result}`` = the last tool
    result it was given)."""

    def __init__(self):
        self.requests: list[Request] = []

    def __call__(self, request: Request):
        self.requests.append(request)
        plan = request.item["plan"]
        step = plan[min(request.turn, len(plan) - 1)]
        if isinstance(step, list):
            return Completion(tool_calls=[tool_call(name, args) for name, args in step])
        results = [m["content"] for m in request.messages if m.get("role") == "tool"]
        return step.replace("{result}", results[-1] if results else "")


def sample(path: Path, model=None, **settings):
    suite = load_suite(path)
    model = model or Recorder()
    run = SuiteRun(suite=suite, model="agent", items=list(suite.items))
    backend = PythonBackend("agent", model)
    stats = asyncio.run(run_all([run], {"agent": backend}, CallContext(RunSettings(**settings))))
    return {item_id: results[0] for item_id, results in run.results.items()}, model, stats


# -- definitions ------------------------------------------------------------------------------

def test_chat_and_responses_shapes_become_one_shape():
    chat = function_tool(ORDER_TOOL, "w")
    assert chat == ORDER_TOOL
    responses = function_tool(SUBMIT_TOOL, "w")
    # Responses' strict default (true) is made explicit, so the Chat API gets the same tool
    assert responses == {"type": "function", "function": {
        "name": "submit", "description": "Final answer", "strict": True,
        "parameters": SUBMIT_TOOL["parameters"]}}


@pytest.mark.parametrize("entry,message", [
    ({"type": "web_search"}, "tool type 'web_search' is not supported"),
    ({"type": "function", "function": {"name": "bad name!"}}, "is not a valid function name"),
    ({"type": "function", "name": "x", "paramters": {}}, "unknown key 'paramters'"),
    ({"type": "function", "function": {"name": "x", "parameters": "object"}},
     "must be a JSON schema object"),
    ("lookup_order", "must be an OpenAI function tool"),
])
def test_bad_tool_definitions_are_clear_errors(entry, message):
    with pytest.raises(RftError) as info:
        function_tool(entry, "suite.yaml:5 tools[0]")
    assert message in str(info.value) and "suite.yaml:5 tools[0]" in str(info.value)


def test_duplicate_tool_names():
    with pytest.raises(RftError, match="tool 'lookup_order' is defined twice"):
        tool_list([ORDER_TOOL, {**ORDER_TOOL}], "w")


def test_tools_from_a_file_and_a_pydantic_model(tmp_path):
    (tmp_path / "tools.json").write_text(json.dumps({"tools": [ORDER_TOOL]}))
    path = write_suite(tmp_path, BASE.replace(
        "tools:\n", "tools:\n  - {file: tools.json}\n  - models:Refund\n").replace(
        "  - {type: function, function: {name: lookup_order", "  - {type: function, function: "
        "{name: lookup_order2"), [{"question": "q", "expected": []}], **{"models.py": '''
            from pydantic import BaseModel

            class Refund(BaseModel):
                """Refund an order."""
                order_id: str
                amount: float
        '''})
    suite = load_suite(path)
    names = [t["function"]["name"] for t in suite.tools]
    assert names == ["lookup_order", "Refund", "lookup_order2", "submit"]
    refund = suite.tools[1]["function"]
    # what openai.pydantic_function_tool makes: name, docstring, strict schema
    assert refund["description"] == "Refund an order." and refund["strict"] is True
    assert refund["parameters"]["additionalProperties"] is False
    assert refund["parameters"]["required"] == ["order_id", "amount"]
    # the whole list in a file
    (tmp_path / "rft_s.yaml").write_text(
        "suite: s\ndataset: data.jsonl\nmodel: agent\ninput: [{role: user, content: hi}]\n"
        "tools: {file: tools.json}\ngraders:\n  c: {type: tool_call, expected: []}\n")
    assert [t["function"]["name"] for t in load_suite(tmp_path / "rft_s.yaml").tools] == \
        ["lookup_order"]


@pytest.mark.parametrize("extra,records,message", [
    ("tool_choice: lookup\n", None, "tool_choice names 'lookup', which is not one of the tools"),
    ("tool_implementations: {nope: x}\n", None, "implementation for 'nope', which is not one"),
    ("tool_implementations: {lookup_order: not_registered}\n", None,
     "unknown tool implementation 'not_registered'"),
    ("", [{"question": "q", "expected": [], "tool_results": {"lookup_ordr": "x"}}],
     "data.jsonl:1 tool_results: 'tool_results' names 'lookup_ordr'"),
    ("", [{"question": "q", "expected": [], "tools": [{"type": "function", "name": "a b"}]}],
     "data.jsonl:1 tools[0]: tool name 'a b' is not a valid function name"),
])
def test_suite_tool_mistakes_name_file_line_and_fix(tmp_path, extra, records, message):
    path = write_suite(tmp_path, BASE + extra, records or [{"question": "q", "expected": []}])
    with pytest.raises(RftError) as info:
        load_suite(path)
    assert message in str(info.value)
    assert "fix:" in str(info.value)


def test_a_loop_nothing_can_run_loads_with_a_note(tmp_path):
    """An imported agentic RFT job: its tools were endpoints on the platform."""
    suite = load_suite(write_suite(tmp_path, BASE + "max_turns: 3\n",
                                   [{"question": "q", "expected": []}]))
    assert suite.max_turns == 3 and suite.toolbox(suite.items[0]) is None
    assert "max_turns is 3 but nothing answers tool calls" in suite.tools_note


def test_tool_keys_without_tools(tmp_path):
    suite = BASE.split("tools:")[0] + "tool_choice: required\ngraders:\n  c: {type: tool_call, " \
                                      "expected: []}\n"
    path = write_suite(tmp_path, suite, [{"question": "q"}])
    with pytest.raises(RftError, match="'tool_choice' needs tools, and this suite offers none"):
        load_suite(path)


def test_a_record_field_called_tools_is_data_unless_it_holds_tools(tmp_path):
    suite = BASE.split("tools:")[0] + "graders:\n  c: {type: string_check, input: " \
                                      "'{{ item.tools[0] }}', reference: hammer, operation: eq}\n"
    path = write_suite(tmp_path, suite, [{"question": "q", "tools": ["hammer", "saw"]}])
    loaded = load_suite(path)
    assert loaded.tools is None and loaded.item_tools == {}


# -- what the model receives ------------------------------------------------------------------

def test_item_tools_add_to_and_override_the_suites(tmp_path):
    own = {"type": "function", "function": {"name": "lookup_order", "description": "per item"}}
    extra = {"type": "function", "function": {"name": "refund"}}
    records = [{"id": "plain", "question": "q", "expected": [], "plan": ["ok"]},
               {"id": "own", "question": "q", "expected": [], "plan": ["ok"],
                "tools": [own, extra]}]
    path = write_suite(tmp_path, BASE + "tool_choice: required\nparallel_tool_calls: false\n",
                       records)
    _, model, _ = sample(path)
    by_item = {r.item_id: r for r in model.requests}
    assert [t["function"]["name"] for t in by_item["plain"].tools] == ["lookup_order", "submit"]
    assert by_item["own"].tools[0]["function"]["description"] == "per item"
    assert [t["function"]["name"] for t in by_item["own"].tools] == \
        ["lookup_order", "submit", "refund"]
    assert by_item["plain"].tool_choice == "required"
    assert by_item["plain"].parallel_tool_calls is False


def test_wire_bodies_carry_tools_on_both_apis():
    messages = [{"role": "user", "content": "where is A1?"},
                {"role": "assistant", "content": None,
                 "tool_calls": [tool_call("lookup_order", {"order_id": "A1"}, "call_1")]},
                {"role": "tool", "tool_call_id": "call_1", "content": '{"status": "shipped"}'}]
    request = Request(model="m", messages=messages, response_schema=None, sampling={},
                      item={}, item_id="a", repeat=0, tools=[ORDER_TOOL, function_tool(
                          SUBMIT_TOOL, "w")],
                      tool_choice={"type": "function", "function": {"name": "submit"}},
                      parallel_tool_calls=False, api="chat")
    chat = chat_body(request)
    assert chat["tools"][0] == ORDER_TOOL and chat["messages"] == messages
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "submit"}}
    assert chat["parallel_tool_calls"] is False
    responses = responses_body(request)
    assert responses["tools"][0] == {
        "type": "function", "name": "lookup_order", "description": "Find an order",
        "parameters": ORDER_TOOL["function"]["parameters"],
        "strict": False}  # its meaning on Chat, where it was written without strict
    assert responses["tools"][1]["strict"] is True
    assert responses["tool_choice"] == {"type": "function", "name": "submit"}
    assert responses["parallel_tool_calls"] is False
    assert responses["input"] == [
        {"role": "user", "content": "where is A1?"},
        {"type": "function_call", "call_id": "call_1", "name": "lookup_order",
         "arguments": '{"order_id": "A1"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": '{"status": "shipped"}'}]
    # no tools: no tool keys (the API refuses tool_choice without tools)
    bare = Request(model="m", messages=messages[:1], response_schema=None, sampling={}, item={},
                   item_id="a", repeat=0)
    assert "tools" not in chat_body(bare) and "tools" not in responses_body(bare)


def test_responses_input_keeps_text_next_to_calls():
    items = responses_input([{"role": "assistant", "content": "Let me check.",
                              "tool_calls": [tool_call("f", {}, "c")]}])
    assert items == [{"role": "assistant", "content": "Let me check."},
                     {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}]


def test_both_apis_read_calls_into_the_shape_graders_see():
    call = {"id": "call_9", "type": "function",
            "function": {"name": "lookup_order", "arguments": '{"order_id":"A1"}'}}
    chat = from_chat({"choices": [{"message": {"role": "assistant", "content": None,
                                               "tool_calls": [call]},
                                   "finish_reason": "tool_calls"}]})
    responses = from_responses({"status": "completed", "output": [
        {"type": "function_call", "id": "fc_1", "call_id": "call_9", "name": "lookup_order",
         "arguments": '{"order_id":"A1"}', "status": "completed"}]})
    assert chat.tool_calls == responses.tool_calls == [call]
    assert chat.finish_reason == responses.finish_reason == "tool_calls"


# -- the loop -----------------------------------------------------------------------------------

AGENT = BASE + """\
tool_implementations: {lookup_order: lookup}
max_turns: 4
"""


@pytest.fixture
def lookup():
    calls = []

    @pytest_rft.tool("lookup")
    def lookup(order_id: str, *, item):
        calls.append((order_id, item["question"]))
        if order_id == "Z9":
            raise ToolError(f"no order {order_id}")
        if order_id == "BOOM":
            raise RuntimeError("database down")
        return {"order_id": order_id, "status": "shipped"}

    yield calls
    from pytest_rft.core import tools
    tools._TOOLS.pop("lookup", None)


def test_the_loop_runs_tools_and_records_the_trajectory(tmp_path, lookup):
    path = write_suite(tmp_path, AGENT, [
        {"id": "a", "question": "where is A1?",
         "plan": [[["lookup_order", {"order_id": "A1"}]], "It is {result}"],
         "expected": [{"name": "lookup_order", "arguments": {"order_id": "A1"}}]}])
    results, model, _ = sample(path)
    r = results["a"]
    assert r.error is None and r.turns == 2 and r.stop == "answer"
    assert lookup == [("A1", "where is A1?")]  # the implementation got the item too
    result = '{"order_id": "A1", "status": "shipped"}'
    assert r.output_text == f"It is {result}"
    assert r.trajectory == [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_0_0", "type": "function",
             "function": {"name": "lookup_order", "arguments": '{"order_id": "A1"}'}}]},
        {"role": "tool", "tool_call_id": "call_0_0", "content": result, "name": "lookup_order"},
        {"role": "assistant", "content": f"It is {result}"}]
    # the second call carried the conversation so far; the tool message as the API wants it
    second = model.requests[1]
    assert second.turn == 1 and second.messages[-1] == {
        "role": "tool", "tool_call_id": "call_0_0", "content": result}
    assert r.scores["calls"] == 1.0
    view = sample_view(r)
    assert view["output_tools"] == r.tool_calls == r.trajectory[0]["tool_calls"]
    assert view["trajectory"] == r.trajectory
    assert "tool_calls" not in view["choices"][0]["message"]  # the last answer had none


@pytest.mark.parametrize("call,told", [
    (["lookup_order", {"order_id": "Z9"}], "Error: no order Z9"),  # ToolError
    (["cancel_order", {}], "Error: there is no tool named 'cancel_order'"),
    (["lookup_order", "{not json"], "Error: arguments are not valid JSON"),
    (["lookup_order", {"id": "A1"}], "Error: bad arguments for 'lookup_order'"),
])
def test_what_the_model_got_wrong_goes_back_to_it(tmp_path, lookup, call, told):
    path = write_suite(tmp_path, AGENT, [{"id": "a", "question": "q",
                                          "plan": [[call], "answer: {result}"], "expected": []}])
    results, _, stats = sample(path)
    r = results["a"]
    assert r.error is None and r.stop == "answer"  # the sample goes on; not an error
    tool_step = r.trajectory[1]
    assert tool_step["content"].startswith(told) and tool_step["error"]
    assert r.output_text.startswith("answer: " + told)
    assert not stats.errors


def test_a_crashing_tool_is_a_sample_error_not_a_zero(tmp_path, lookup):
    path = write_suite(tmp_path, AGENT, [{"id": "a", "question": "q", "expected": [],
                                          "plan": [[["lookup_order", {"order_id": "BOOM"}]],
                                                   "done"]}])
    results, _, stats = sample(path)
    r = results["a"]
    assert r.error == "tool 'lookup_order' raised RuntimeError: database down"
    assert r.error_cause == "tool error" and stats.errors["tool error"] == 1
    assert r.scores == {}  # not graded, so never a 0
    assert r.turns == 1 and r.trajectory[0]["tool_calls"]  # what happened is kept


def test_max_turns_ends_the_loop_and_keeps_the_last_calls(tmp_path, lookup):
    again = [["lookup_order", {"order_id": "A1"}]]
    path = write_suite(tmp_path, AGENT, [{"id": "a", "question": "q", "plan": [again],
                                          "expected": [{"name": "lookup_order"}]}])
    results, model, _ = sample(path)
    r = results["a"]
    assert r.turns == 4 == len(model.requests) and r.stop == "max_turns"
    assert len(r.tool_calls) == 4 and len(lookup) == 3  # the last turn's call is not run
    assert sample_view(r)["choices"][0]["message"]["tool_calls"] == r.tool_calls[-1:]
    assert r.scores["calls_precision"] == 0.25 and r.scores["calls_recall"] == 1.0


def test_a_tool_nothing_answers_ends_the_episode(tmp_path, lookup):
    """Like a submit tool: its call is the sample's output."""
    path = write_suite(tmp_path, AGENT, [{"id": "a", "question": "q", "expected": [
        {"name": "lookup_order"}, {"name": "submit", "arguments": {"answer": "shipped"}}],
        "plan": [[["lookup_order", {"order_id": "A1"}]], [["submit", {"answer": "shipped"}]],
                 "never"]}])
    results, model, _ = sample(path)
    r = results["a"]
    assert r.stop == "tool_calls" and r.turns == 2 and len(model.requests) == 2
    assert [c["function"]["name"] for c in r.tool_calls] == ["lookup_order", "submit"]
    assert r.scores["calls"] == 1.0


def test_recorded_results_by_tool_and_by_call(tmp_path, lookup):
    records = [
        {"id": "by-name", "question": "q", "expected": [],
         "tool_results": {"lookup_order": {"status": "lost"}},
         "plan": [[["lookup_order", {"order_id": "A1"}]], "{result}"]},
        {"id": "by-call", "question": "q", "expected": [],
         "tool_results": {"lookup_order": [
             {"arguments": {"order_id": "A1"}, "output": "recorded A1"},
             {"arguments": '{"order_id": "B2"}', "output": "recorded B2"}]},
         "plan": [[["lookup_order", {"order_id": "B2"}]], "{result}"]},
        {"id": "fallback", "question": "q", "expected": [],
         "tool_results": {"lookup_order": [{"arguments": {"order_id": "A1"}, "output": "x"}]},
         "plan": [[["lookup_order", {"order_id": "C3"}]], "{result}"]},
    ]
    results, _, _ = sample(write_suite(tmp_path, AGENT, records))
    assert results["by-name"].output_text == '{"status": "lost"}'
    assert results["by-call"].output_text == "recorded B2"
    # no recording for these arguments: the implementation answers
    assert results["fallback"].output_text == '{"order_id": "C3", "status": "shipped"}'
    assert lookup == [("C3", "q")]


def test_recorded_results_alone_drive_the_loop(tmp_path):
    suite = BASE + "max_turns: 3\n"
    records = [{"id": "rec", "question": "q", "expected": [],
                "tool_results": {"lookup_order": [{"arguments": {"order_id": "A1"},
                                                   "output": "shipped"}]},
                "plan": [[["lookup_order", {"order_id": "Z1"}]], "{result}"]}]
    results, _, _ = sample(write_suite(tmp_path, suite, records))
    r = results["rec"]
    # recorded for other arguments only, and no implementation: the model is told
    assert r.trajectory[1]["error"].startswith("no result was recorded for this call")
    assert r.output_text.startswith("Error: no result was recorded")


def test_without_answers_the_first_reply_and_its_calls_are_the_sample(tmp_path):
    path = write_suite(tmp_path, BASE, [{"id": "a", "question": "q",
                                         "expected": [{"name": "lookup_order"}],
                                         "plan": [[["lookup_order", {"order_id": "A1"}]], "x"]}])
    results, model, _ = sample(path)
    r = results["a"]
    assert len(model.requests) == 1 and r.turns == 1 and r.stop == "tool_calls"
    assert r.kind == "ok" and r.output_text == "" and r.scores["calls"] == 1.0


def test_conversation_items_and_spliced_messages(tmp_path):
    """A record's whole conversation, after the suite's own developer message."""
    history = [{"role": "user", "content": "where is A1?"},
               {"role": "assistant", "tool_calls": [tool_call("lookup_order", {"order_id": "A1"},
                                                             "c1")]},
               {"role": "tool", "tool_call_id": "c1", "content": "shipped"},
               {"role": "user", "content": "and so?"}]
    suite = BASE.replace('input: [{role: user, content: "{{ item.question }}"}]',
                         "input:\n  - {role: developer, content: Be brief.}\n"
                         "  - {messages: item.conversation}")
    path = write_suite(tmp_path, suite, [{"id": "a", "question": "q", "expected": [],
                                          "conversation": history, "plan": ["It is {result}."]}])
    results, model, _ = sample(path)
    assert model.requests[0].messages == [{"role": "developer", "content": "Be brief."},
                                          *history]
    assert results["a"].output_text == "It is shipped."
    bad = suite.replace("item.conversation", "item.conversaton")
    with pytest.raises(RftError, match="item has no field 'conversaton'"):
        load_suite(write_suite(tmp_path, bad, [{"question": "q", "expected": [],
                                                "conversation": history}]))


def test_rft_rows_keep_every_key_and_templates_read_messages(tmp_path):
    """The cookbook's healthbench grader reads {{ item.messages }}."""
    rows = [{"messages": [{"role": "user", "content": "I have a headache"}],
             "rubric": "suggests rest"}]
    suite = textwrap.dedent("""\
        suite: s
        dataset: data.jsonl
        model: agent
        graders:
          has_prompt: {type: string_check, input: "{{ item.messages }}",
                       reference: "{{ item.messages[0].content }}", operation: like}
        """)
    path = write_suite(tmp_path, suite, rows)
    loaded = load_suite(path)
    assert loaded.items[0].data["messages"] == rows[0]["messages"]
    results, _, _ = sample(path, model=lambda request: "rest")
    assert results["line-1"].scores["has_prompt"] == 1.0
    # a template reading a key no record has is a load error, wherever the template is
    for graders in (
            '  g: {type: string_check, input: "{{ item.mesages }}", reference: x, operation: eq}',
            '  g: {type: multi, calculate_output: "s", graders: {s: {type: string_check, '
            'input: "{{ item.rubrik }}", reference: x, operation: eq}}}',
            '  g: {type: score_model, model: judge, input: [{role: user, content: '
            '"{{ item.answer }}"}]}',
            '  g: {type: tool_call, expected: "{{ item.expected_calls }}"}'):
        (tmp_path / "rft_s.yaml").write_text(suite.split("graders:")[0] + "graders:\n" + graders
                                             + "\n")
        with pytest.raises(RftError, match="item has no field") as info:
            load_suite(tmp_path / "rft_s.yaml")
        assert "rft_s.yaml:" in str(info.value) and "fields: messages, rubric" in str(info.value)


def test_a_tool_name_registered_twice_is_an_error():
    from pytest_rft.core import tools

    def first(x):
        return x

    def second(x):
        return x

    pytest_rft.tool("twice")(first)
    try:
        pytest_rft.tool("twice")(first)  # the same function again (a re-imported conftest)
        with pytest.raises(RftError, match="tool 'twice' is registered twice"):
            pytest_rft.tool("twice")(second)
    finally:
        tools._TOOLS.pop("twice", None)
