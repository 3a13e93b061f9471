"""Agent suites end to end: pytest runs with tools and agent loops, per-tool precision /
recall / F1 gates, reports (JSON, HTML, failing items), the cache and regrading, the OpenAI
path over HTTP (both APIs, both transports), and ``errors_as_zero``."""

from __future__ import annotations

import json

import pytest

from tests.support.openai_server import offered_tools, scripted_agent, tool_call, tool_results

CONFTEST = '''
import pathlib
import pytest_rft
from pytest_rft import Completion

ORDERS = {"A1": "shipped", "B2": "delivered"}


def log(what):
    with open(pathlib.Path(__file__).parent / "calls.log", "a") as f:
        f.write(what + "\\n")


@pytest_rft.tool("lookup")
def lookup(order_id):
    log("tool " + order_id)
    if order_id == "BOOM":
        raise RuntimeError("database down")
    return {"order_id": order_id, "status": ORDERS.get(order_id, "unknown")}


@pytest_rft.model("agent")
def agent(request):
    """Plays item["plan"]: a list of [name, arguments] calls, or an answer."""
    log("model " + request.item_id)
    plan = request.item["plan"]
    step = plan[min(request.turn, len(plan) - 1)]
    if isinstance(step, list):
        return Completion(tool_calls=[pytest_rft.tool_call(n, a) for n, a in step])
    results = [m["content"] for m in request.messages if m.get("role") == "tool"]
    return step.replace("{result}", results[-1] if results else "")
'''

SUITE = """\
suite: support
dataset: data.jsonl
model: agent
input: [{role: user, content: "{{ item.question }}"}]
tools:
  - {type: function, function: {name: lookup_order, description: Find an order,
     parameters: {type: object, properties: {order_id: {type: string}}, required: [order_id]}}}
  - {type: function, function: {name: escalate, description: Hand over to a human,
     parameters: {type: object, properties: {reason: {type: string}}}}}
tool_implementations: {lookup_order: lookup}
max_turns: 3
graders:
  calls: {type: tool_call, expected: "{{ item.expected }}"}
primary: calls
classification:
  predicted: output_tools[*].function.name
  reference: expected[*].name
  labels: [lookup_order, escalate]
gates:
  - {metric: macro_f1, min: 0.5}
  - {metric: micro_f1, min: 0.5}
"""

LOOKUP_A1 = [["lookup_order", {"order_id": "A1"}]]
ESCALATE = [["escalate", {"reason": "angry"}]]


def row(id, expected, plan, **extra):
    return {"id": id, "question": f"question {id}", "expected": [{"name": n} for n in expected],
            "plan": plan, **extra}


ROWS = [
    row("i1", ["lookup_order"], [LOOKUP_A1, "Your order is {result}"]),
    row("i2", ["lookup_order"], [ESCALATE]),
    row("i3", ["escalate"], [ESCALATE]),
    row("i4", ["escalate"], ["I cannot help."]),
    row("i5", [], [LOOKUP_A1, "done"]),
    row("i6", ["lookup_order"], [[["lookup_order", {"order_id": "B2"}]], "It is {result}"]),
]


@pytest.fixture
def project(pytester):
    pytester.makeconftest(CONFTEST)

    def make(rows=ROWS, suite=SUITE):
        pytester.makefile(".yaml", rft_support=suite)
        pytester.makefile(".jsonl", data="\n".join(json.dumps(r) for r in rows))
        return pytester

    return make


def run(pytester, *args):
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def calls_log(pytester):
    path = pytester.path / "calls.log"
    return path.read_text().splitlines() if path.exists() else []


def test_per_tool_precision_recall_f1_and_trajectories_in_the_reports(project, tmp_path):
    pytester = project()
    report, page = tmp_path / "r.json", tmp_path / "r.html"
    result = run(pytester, f"--rft-report={report}", f"--rft-html={page}", "-v")
    assert result.ret == 0
    (suite,) = json.loads(report.read_text())["suites"]
    metrics = {k: v["value"] for k, v in suite["metrics"].items()}
    # by hand: lookup_order TP 2 (i1, i6), FP 1 (i5), FN 1 (i2); escalate TP 1 (i3), FP 1 (i2),
    # FN 1 (i4) -> P = R = F1 = 2/3 and 1/2; micro 3/5; macro (2/3 + 1/2) / 2
    # per label: [label, precision, recall, f1, support, predicted]
    per_label = {p[0]: p[1:] for p in suite["per_label"]}
    assert per_label["lookup_order"][:3] == pytest.approx([2 / 3, 2 / 3, 2 / 3])
    assert per_label["escalate"] == [0.5, 0.5, 0.5, 2, 2]
    assert metrics["micro_f1"] == pytest.approx(0.6)
    assert metrics["macro_f1"] == pytest.approx(7 / 12)
    assert metrics["macro_precision"] == pytest.approx(7 / 12)
    result.stdout.fnmatch_lines(["*macro_f1*0.5833*macro_f1>=0.5*PASS*"])
    items = {i["id"]: i["samples"][0] for i in suite["items"]}
    assert [s["role"] for s in items["i1"]["trajectory"]] == ["assistant", "tool", "assistant"]
    assert items["i1"]["output_text"] == \
        'Your order is {"order_id": "A1", "status": "shipped"}'
    assert items["i1"]["turns"] == 2 and items["i1"]["stop"] == "answer"
    # escalate has no implementation: its call ends the episode, it is the output
    assert items["i2"]["stop"] == "tool_calls" and items["i2"]["turns"] == 1
    assert items["i2"]["grader_details"]["calls"]["unexpected_calls"] == [0]
    html = page.read_text()
    assert "Trajectory (3 steps)" in html and "lookup_order(" in html
    assert "calls: expected calls" in html


def test_a_failing_item_shows_its_trajectory_and_missed_calls(project):
    rows = [row("crash", ["lookup_order"], [[["lookup_order", {"order_id": "BOOM"}]], "x"]),
            row("wrong", ["escalate"], [LOOKUP_A1, "Shipped."], critical=True)]
    pytester = project(rows)
    result = run(pytester, "-rf")
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "*1 error(s) (errors are not scores): repeat 0: tool failed: tool 'lookup_order' "
        "raised RuntimeError: database down",
        "  repeat 0: failed after:",  # what the loop did before the crash
        "    trajectory, 1 turn(s) (stopped: error):",
        '      -> lookup_order({"order_id": "BOOM"})'])
    result.stdout.fnmatch_lines([
        "*critical item below threshold: calls=0.000*",
        "*trajectory, 2 turn(s):*",
        '*-> lookup_order({"order_id": "A1"})*',
        '*<- lookup_order: {"order_id": "A1", "status": "shipped"}*',
        "*assistant: Shipped.*",
        '*calls: missed escalate(null); unexpected lookup_order({"order_id": "A1"})*'])
    result.stdout.fnmatch_lines(["  FAIL  error_rate<=0 * 0.5000, 95% CI *"])


def test_the_cache_keys_turns_by_their_tools_and_replays_trajectories(project, tmp_path):
    pytester = project()
    cache = tmp_path / "cache"
    first, again = tmp_path / "1.json", tmp_path / "2.json"
    assert run(pytester, f"--rft-cache={cache}", f"--rft-report={first}").ret == 0
    calls = calls_log(pytester)
    assert calls.count("model i1") == 2 and "tool A1" in calls
    result = run(pytester, f"--rft-cache={cache}", "--rft-replay", f"--rft-report={again}")
    assert result.ret == 0
    # every turn answered from the cache; the tools run again (they are the suite's code)
    assert [c for c in calls_log(pytester)[len(calls):] if c.startswith("model")] == []

    def samples(path):
        return {i["id"]: {k: s[k] for k in ("trajectory", "tool_calls", "scores", "turns")}
                for i in json.loads(path.read_text())["suites"][0]["items"]
                for s in i["samples"]}

    assert samples(again) == samples(first)
    # the tools are part of every request: an edited tool description misses the cache
    pytester.makefile(".yaml", rft_support=SUITE.replace("Find an order", "Find one order"))
    result = run(pytester, f"--rft-cache={cache}", "--rft-replay")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*--rft-replay: item 'support::i1' repeat 0*not in*"])


def test_regrading_a_report_replays_whole_episodes(project, tmp_path):
    pytester = project()
    report = tmp_path / "r.json"
    assert run(pytester, f"--rft-report={report}").ret == 0
    before = calls_log(pytester)
    pytester.makefile(".yaml", rft_support=SUITE.replace(
        "primary: calls", "  turns: {type: python, source: \"def grade(s, i): "
        "return float(len(s['trajectory']))\"}\nprimary: calls"))
    regraded = tmp_path / "again.json"
    result = run(pytester, f"--rft-regrade={report}", f"--rft-report={regraded}")
    assert result.ret == 0
    assert calls_log(pytester) == before  # neither the model nor a tool ran
    items = {i["id"]: i["samples"][0] for i in json.loads(regraded.read_text())["suites"][0]["items"]}
    assert items["i1"]["scores"]["turns"] == 3.0 and items["i1"]["stop"] == "replayed"


def test_errors_as_zero_reproduces_the_platform_and_stays_visible(pytester, tmp_path):
    pytester.makeconftest('''
import json
import pytest_rft

@pytest_rft.model("m")
def m(request):
    return "hello"

@pytest_rft.model("judge-py")
def judge(request):
    return json.dumps({"steps": [], "result": "excellent"})   # not a number
''')
    suite = """\
suite: z
dataset: data.jsonl
model: m
input: [{role: user, content: "{{ item.q }}"}]
ERRORS
graders:
  crash: {type: python, source: "def grade(sample, item):\\n    return 1 / 0\\n"}
  half:
    type: multi
    calculate_output: (ok + bad) / 2
    graders:
      ok: {type: string_check, input: "{{ sample.output_text }}", reference: hello, operation: eq}
      bad: {type: python, source: "def grade(sample, item):\\n    raise ValueError('no')\\n"}
  judged: {type: score_model, model: judge-py, input: [{role: user, content: "{{ sample.output_text }}"}]}
"""
    pytester.makefile(".jsonl", data='{"id": "a", "q": "hi"}')
    pytester.makefile(".yaml", rft_z=suite.replace("ERRORS", ""))
    report = tmp_path / "r.json"
    default = pytester.runpytest("-p", "no:cacheprovider", f"--rft-report={report}")
    assert default.ret == 1  # errors are errors by default
    default.stdout.fnmatch_lines(["*error(s) (errors are not scores)*"])
    sample = json.loads(report.read_text())["suites"][0]["items"][0]["samples"][0]
    assert set(sample["grader_errors"]) >= {"crash", "half", "bad", "judged"}
    assert "crash" not in sample["scores"]

    pytester.makefile(".yaml", rft_z=suite.replace("ERRORS", "errors_as_zero: true"))
    zero = pytester.runpytest("-p", "no:cacheprovider", f"--rft-report={report}")
    assert zero.ret == 0
    sample = json.loads(report.read_text())["suites"][0]["items"][0]["samples"][0]
    assert sample["grader_errors"] == {}
    assert sample["scores"] == {"crash": 0.0, "half": 0.5, "ok": 1.0, "bad": 0.0, "judged": 0.0}
    assert "ZeroDivisionError" in sample["zeroed"]["crash"]
    assert "ValueError" in sample["zeroed"]["bad"]
    assert "judged" in sample["zeroed"]
    zero.stdout.fnmatch_lines(["*samples with grader errors scored 0 (errors_as_zero): 1*"])


# -- the OpenAI path over HTTP ------------------------------------------------------------------

HTTP_SUITE = """\
suite: http
dataset: data.jsonl
model: ft:gpt-4.1-mini:acme:support:x1
api: API
input:
  - {role: developer, content: Use the tools.}
  - {role: user, content: "{{ item.question }}"}
tools:
  - {type: function, function: {name: lookup_order, description: Find an order,
     parameters: {type: object, properties: {order_id: {type: string}}, required: [order_id]}}}
  - {type: function, name: refund, description: Refund an order, strict: true,
     parameters: {type: object, properties: {order_id: {type: string}}, required: [order_id],
                  additionalProperties: false}}
tool_choice: auto
parallel_tool_calls: false
tool_implementations: {lookup_order: lookup}
graders:
  calls: {type: tool_call, expected: "{{ item.expected }}", arguments: subset}
  guide:
    type: multi
    graders:
      function_name: {name: function_name, type: string_check, input: lookup_order,
                      reference: "{{sample.output_tools[0].function.name}}", operation: eq}
      arguments: {name: arguments, type: string_check, input: "{\\"order_id\\":\\"{{item.order}}\\"}",
                  reference: "{{sample.output_tools[0].function.arguments}}", operation: eq}
    calculate_output: 0.5 * function_name + 0.5 * arguments
  answer: {type: string_check, input: "{{ sample.output_text }}", reference: "{{ item.status }}",
           operation: ilike}
"""


@pytest.mark.parametrize("api,client", [("chat", "direct"), ("responses", "direct"),
                                        ("chat", "sdk"), ("responses", "sdk")])
def test_tools_and_the_loop_over_http(pytester, openai_server, monkeypatch, tmp_path, api, client):
    monkeypatch.setenv("OPENAI_API_KEY", openai_server.api_key)
    pytester.makeconftest(CONFTEST)
    openai_server.policy = scripted_agent({
        "where is A1?": [[tool_call("lookup_order", '{"order_id":"A1"}', "call_a")],
                         "Status: {result}"],
        "refund B2": [[tool_call("lookup_order", '{"order_id":"B2"}', "call_b"),
                       tool_call("refund", '{"order_id":"B2"}', "call_r")]],
    })
    rows = [{"id": "a", "question": "where is A1?", "order": "A1", "status": "SHIPPED",
             "expected": [{"name": "lookup_order", "arguments": {"order_id": "A1"}}]},
            {"id": "b", "question": "refund B2", "order": "B2", "status": "",
             "expected": [{"name": "lookup_order"}, {"name": "refund"}]}]
    pytester.makefile(".jsonl", data="\n".join(json.dumps(r) for r in rows))
    pytester.makefile(".yaml", rft_http=HTTP_SUITE.replace("API", api))
    report = tmp_path / "r.json"
    # the SDK imports its HTTP stack on the first call: in a process of its own, so that no
    # module is first imported (and then dropped) inside an in-process pytester run
    runner = pytester.runpytest_subprocess if client == "sdk" else pytester.runpytest
    result = runner("-p", "no:cacheprovider", f"--rft-base-url={openai_server.base_url}",
                    f"--rft-http-client={client}", f"--rft-report={report}")
    assert result.ret == 0, result.stdout.str()
    path = "/v1/chat/completions" if api == "chat" else "/v1/responses"
    bodies = openai_server.bodies(path)
    first = next(b for b in bodies if not tool_results(b) and "A1" in json.dumps(b))
    assert offered_tools(first) == ["lookup_order", "refund"]
    assert first["parallel_tool_calls"] is False and first["tool_choice"] == "auto"
    if api == "chat":
        assert first["tools"][0]["function"]["name"] == "lookup_order"
        assert first["tools"][1]["function"]["strict"] is True
    else:
        assert first["tools"][0]["name"] == "lookup_order"
        assert first["tools"][0]["strict"] is False and first["tools"][1]["strict"] is True
    # turn 2 of item a carries the call and its result, in the API's own shape
    second = next(b for b in bodies if tool_results(b))
    assert tool_results(second) == [
        {"call_id": "call_a", "output": '{"order_id": "A1", "status": "shipped"}'}]
    assert len(bodies) == 3  # a: 2 turns; b: refund has no implementation, its calls end it
    items = {i["id"]: i["samples"][0]
             for i in json.loads(report.read_text())["suites"][0]["items"]}
    a, b = items["a"], items["b"]
    assert a["tool_calls"] == [{"id": "call_a", "type": "function", "function": {
        "name": "lookup_order", "arguments": '{"order_id":"A1"}'}}]
    assert a["output_text"] == 'Status: {"order_id": "A1", "status": "shipped"}'
    assert a["scores"] == {"calls": 1.0, "calls_precision": 1.0, "calls_recall": 1.0,
                           "guide": 1.0, "function_name": 1.0, "arguments": 1.0, "answer": 1.0}
    assert b["stop"] == "tool_calls" and b["scores"]["calls"] == 1.0
    assert [c["function"]["name"] for c in b["tool_calls"]] == ["lookup_order", "refund"]
    assert a["usage"]["input_tokens"] > 0  # summed over both turns


def test_batch_files_refuse_the_later_turns_of_a_loop():
    import asyncio

    from pytest_rft.backends.base import CallError
    from pytest_rft.batch.files import AGENT_TURN, ImportBackend
    from pytest_rft.core.records import Request

    backend = ImportBackend("m", {})
    request = Request(model="m", messages=[], response_schema=None, sampling={}, item={},
                      item_id="a", repeat=0, turn=1)
    with pytest.raises(CallError) as info:
        asyncio.run(backend.complete(request))
    assert info.value.cause == AGENT_TURN and "run this suite live" in info.value.message
