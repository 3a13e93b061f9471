"""Projects that tests of several stages run with pytester (each test module keeps its own
fixtures): the QA project of the pytest-behaviour tests (10 questions, models that answer right,
half right, leak the key, hang ...) and the baseline project (40 items, a model whose answers
turn wrong, flaky or unlucky per environment variable)."""

import json

# ---------------------------------------------------------------- the QA project

QA_CONFTEST = '''
import os, time
import pytest_rft

ODD = "ft:gpt-4o-mini:acme::Ab/C1"   # a fine-tune name with "::" and "/"

@pytest_rft.model("good")
def good(request):
    return {"answer": request.item["expected"]}

@pytest_rft.model(ODD)
def odd(request):
    return {"answer": request.item["expected"]}

@pytest_rft.model("half")
def half(request):
    """Wrong on q1 and q2."""
    bad = request.item_id in ("q1", "q2")
    return {"answer": "nope" if bad else request.item["expected"]}

@pytest_rft.model("leaky")
def leaky(request):
    raise RuntimeError("upstream said: invalid key " + os.environ["OPENAI_API_KEY"])

@pytest_rft.model("slow")
def slow(request):
    open("started", "a").close()
    time.sleep(0.3)
    return {"answer": request.item["expected"]}

@pytest_rft.model("forever")
def forever(request):
    time.sleep(3600)

@pytest_rft.grader("leaky_grader")
def leaky_grader(sample, item):
    raise ValueError("token " + os.environ["OPENAI_API_KEY"])

@pytest_rft.grader("huge")
def huge(sample, item):
    return 1e308
'''

QA_SUITE = '''
suite: qa
dataset: data.jsonl
model: good
input:
  - {role: user, content: "Q: {{ item.question }}"}
repeats: 2
graders:
  exact: {type: string_check, input: "{{ sample.output_json.answer }}",
          reference: "{{ item.expected }}", operation: eq}
gates:
  - {metric: exact.mean, min: 0.9}
'''

KEY = "sk-test-secret-0123456789abcdef"


def write_qa_project(pytester, conftest: str, suite: str) -> None:
    """The conftest, the suite file and its 10 questions (q1..q10, the answer is the number)."""
    pytester.makeconftest(conftest)
    pytester.path.joinpath("rft_qa.yaml").write_text(suite)
    rows = [{"id": f"q{i}", "question": f"{i}?", "expected": str(i)} for i in range(1, 11)]
    pytester.path.joinpath("data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


# ---------------------------------------------------------------- the baseline project

BASELINE_CONFTEST = '''
import os
import pytest_rft

def _ids(name):
    return {i for i in os.environ.get(name, "").split(",") if i}

@pytest_rft.model("qa-m")
def m(request):
    """Right, except items in $RFT_BROKEN (always wrong), $RFT_FLAKY (wrong on odd repeats)
    and $RFT_UNLUCKY (wrong on the three main repeats only, right on confirmation repeats)."""
    wrong = request.item_id in _ids("RFT_BROKEN") or (
        request.item_id in _ids("RFT_FLAKY") and request.repeat % 2 == 1) or (
        request.item_id in _ids("RFT_UNLUCKY") and request.repeat < 3)
    return {"answer": "nope" if wrong else request.item["expected"]}

@pytest_rft.model("qa-m2")
def m2(request):
    return {"answer": "nope" if request.item_id in _ids("RFT_BROKEN2") else request.item["expected"]}
'''

BASELINE_SUITE = '''
suite: qa
dataset: data.jsonl
model: qa-m
input:
  - {role: user, content: "Q: {{ item.question }}"}
repeats: 3
graders:
  exact:
    type: string_check
    name: exact
    input: "{{ sample.output_json.answer }}"
    reference: "{{ item.expected }}"
    operation: eq
pass_threshold: 0.5
gates:
  - {metric: exact.mean, baseline: true, max_drop: 0.1}
  - {metric: pass_rate, baseline: true, max_drop: 0.1}
'''

N_ITEMS = 40


def write_data(path, ids):
    path.write_text("".join(json.dumps({"id": i, "question": f"what is {i}?", "expected": i}) + "\n"
                            for i in ids))
