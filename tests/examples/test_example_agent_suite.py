"""The second example suite (example_suite/support_agent): an agent with tools and multi-turn
conversations, run the way the README runs it, and its embedded model."""

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from pytest_rft.core.records import Request

EXAMPLE = Path(__file__).resolve().parents[2] / "example_suite"
AGENT = EXAMPLE / "support_agent"


@pytest.fixture
def example(pytester):
    shutil.copytree(EXAMPLE, pytester.path / "example_suite",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return pytester


def run(example, *args):
    return example.runpytest("example_suite/support_agent", "-p", "no:cacheprovider", *args)


def test_the_agent_suite_passes_and_its_baseline_is_reproducible(example, tmp_path):
    report = tmp_path / "r.json"
    result = run(example, f"--rft-report={report}")
    assert result.ret == 0
    result.assert_outcomes(passed=38 + 5)  # 4 gates and the error-rate gate
    (suite,) = json.loads(report.read_text())["suites"]
    metrics = {k: v["value"] for k, v in suite["metrics"].items()}
    assert metrics["task.mean"] > 0.9 and metrics["macro_f1"] > 0.9
    items = {i["id"]: i["samples"] for i in suite["items"]}
    # a chain: the order's tracking number, then the parcel, in one trajectory
    chain = items["track-chain"][0]
    assert [c["function"]["name"] for c in chain["tool_calls"]] == ["lookup_order",
                                                                    "track_shipment"]
    assert chain["turns"] == 3 and "Rotterdam" in chain["output_text"]
    # recorded carrier answers win over the tool
    assert "Venlo" in items["track-recorded"][0]["output_text"]
    # a ToolError from the shop is the model's to answer, not an error
    assert any("30 days" in s["output_text"] for s in items["refund-too-late"])
    # escalate_to_human has no implementation: its call ends the conversation
    assert {s["stop"] for s in items["human-asked"]} == {"tool_calls"}
    baseline = example.path / "example_suite" / "support_agent" / "baselines" / "support-agent.json"
    update = run(example, "--rft-baseline-update")
    assert update.ret == 0
    # the committed baseline is exactly what this run writes (the example is reproducible)
    assert baseline.read_text().split("\n", 2)[2] == \
        (AGENT / "baselines" / "support-agent.json").read_text().split("\n", 2)[2]


def test_the_early_checkpoint_regresses(example):
    result = run(example, "-rf", "--rft-model", "support-agent-v2", "--rft-model",
                 "support-agent-v1", "-v")  # -v: the side-by-side tables
    assert result.ret == 1
    failed = [re.search(r" (example_suite/\S+\])( - |$)", line).group(1)
              for line in result.stdout.lines if line.startswith("FAILED")]
    assert failed and all(node.endswith("[support-agent-v1]") for node in failed)
    assert sum("::gate:" in node for node in failed) == 4  # 3 absolute gates, 1 baseline gate
    # it tracks parcels with the order id: the chains regress, and the output says why
    assert any("track-chain[" in node for node in failed)
    result.stdout.fnmatch_lines(["*regressed: passed in the baseline*",
                                 "*-> track_shipment({\"tracking_number\": \"A1*"])
    result.stdout.fnmatch_lines(["paired deltas vs support-agent-v2*",
                                 "support-agent-v1*task.mean*<0.001*"])


@pytest.fixture
def agent_module():
    sys.path.insert(0, str(AGENT))
    try:
        import support_model
        yield support_model
    finally:
        sys.path.remove(str(AGENT))


TOOLS = [{"type": "function", "function": {"name": n}} for n in
         ("lookup_order", "track_shipment", "refund_order", "search_faq", "escalate_to_human")]


def request(messages, repeat=0, seed=7, temperature=0.7, turn=0):
    return Request(model="support-agent-v2", messages=messages, response_schema=None,
                   sampling={"temperature": temperature, "seed": seed + repeat}, item={},
                   item_id="x", repeat=repeat, tools=TOOLS, turn=turn)


def test_the_agent_samples_reproducibly_and_varies(agent_module):
    ask = [{"role": "user", "content": "Get me your manager, where is my parcel?"}]
    answers = [agent_module.support_v2(request(ask, r)) for r in range(12)]
    again = [agent_module.support_v2(request(ask, r)) for r in range(12)]
    assert [repr(a) for a in answers] == [repr(a) for a in again]  # reproducible
    assert len({repr(a) for a in answers}) > 1  # an ambiguous message: repeats differ
    cold = {repr(agent_module.support_v2(request(ask, r, temperature=0))) for r in range(5)}
    assert len(cold) == 1


def test_the_agent_chains_calls_from_tool_results(agent_module):
    ask = [{"role": "user", "content": "Where is my package? Order A1002."}]
    first = agent_module.support_v2(request(ask, temperature=0))
    assert first.tool_calls[0]["function"] == {"name": "lookup_order",
                                               "arguments": '{"order_id": "A1002"}'}
    looked_up = ask + [{"role": "assistant", "content": None, "tool_calls": first.tool_calls},
                       {"role": "tool", "tool_call_id": "call_0_0", "content": json.dumps(
                           {"order_id": "A1002", "status": "shipped",
                            "tracking": "1Z4821A1002"})}]
    second = agent_module.support_v2(request(looked_up, temperature=0, turn=1))
    assert second.tool_calls[0]["function"]["arguments"] == '{"tracking_number": "1Z4821A1002"}'
    # the early checkpoint skips the lookup and tracks the order id
    early = agent_module.support_v1(request(ask, temperature=0))
    assert early.tool_calls[0]["function"] == {"name": "track_shipment",
                                               "arguments": '{"tracking_number": "A1002"}'}
