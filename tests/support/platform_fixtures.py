"""OpenAI platform objects for the importer tests, shaped like the API documents them.

One eval ("Arithmetic QA") with four runs: a completions run (EvalItem-shaped template, output
items over several pages, one wrong, one non-JSON and one failed sample), a responses run (an
image part the importer cannot carry), a ``jsonl`` run (pre-computed samples) and a newer run
still in progress. A second eval that cannot move cleanly (logs config, model graders, stored
completions). Two RFT jobs with a ``multi`` grader and three checkpoints; one has no validation
file.

The platform scores in the output items are computed here, independently of pytest-rft, with
the graders' own rules: they are what the platform would have given those samples.
"""

from __future__ import annotations

import json
from typing import Any

EVAL_ID = "eval_68a1c0ffee0081909a86353f6fb9317a"
EVAL_NAME = "Arithmetic QA"
SUITE = "arithmetic-qa"
DATA_FILE = "file-ArithData01"
EXACT_ID = "Exact answer-2eaf2d8d-d649-4335-8148-9535a7ca73c2"
CLOSE_ID = "Closeness-7c1e0b3a-41d2-4f7e-9a55-0d3c2b1a9e88"
RUN_CHAT, RUN_RESPONSES, RUN_JSONL, RUN_RUNNING = ("evalrun_1a", "evalrun_2b", "evalrun_3c",
                                                  "evalrun_4d")
CHAT_MODEL = "gpt-4.1-mini-2025-04-14"
PAIRS = [(2, 3), (4, 4), (10, 5), (7, 1), (6, 6), (9, 2), (8, 5), (3, 3)]

EVAL2_ID = "eval_68b2deadbeef00819a86353f6fb93100"
RUN2 = "evalrun_9z"

JOB_ID = "ftjob-Arith42"
JOB_NO_VALID = "ftjob-NoValid7"
BASE_MODEL = "o4-mini-2025-04-16"
FT_MODEL = "ft:o4-mini-2025-04-16:acme:arith:AbC123"
CHECKPOINTS = [f"{FT_MODEL}:ckpt-step-{step}" for step in (10, 20, 30)]

ANSWER_SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}},
                 "required": ["answer"], "additionalProperties": False}
CLOSENESS_SOURCE = (
    "def grade(sample, item):\n"
    "    try:\n"
    "        got = float(sample['output_json']['answer'])\n"
    "    except Exception:\n"
    "        return 0.0\n"
    "    return max(0.0, 1.0 - abs(got - float(item['expected'])) / 10.0)\n")


# -- the data ---------------------------------------------------------------------------------
def items() -> list[dict[str, Any]]:
    """Even items have an id, odd ones don't (pytest-rft calls them line-N). Item 5's
    ``expected`` is a number, against the item schema."""
    rows = []
    for i, (a, b) in enumerate(PAIRS):
        item: dict[str, Any] = {"question": f"What is {a}+{b}?", "expected": str(a + b)}
        if i % 2 == 0:
            item = {"id": f"q{i}", **item}
        if i == 5:
            item["expected"] = a + b
        rows.append(item)
    return rows


def local_ids() -> list[str]:
    """The ids pytest-rft gives the items of the written dataset (one record per line)."""
    return [item.get("id", f"line-{n + 1}") for n, item in enumerate(items())]


def data_file() -> bytes:
    return "".join(json.dumps({"item": item}) + "\n" for item in items()).encode()


def outputs() -> list[str | None]:
    """What the platform's model answered per item (None: the sample failed)."""
    texts: list[str | None] = []
    for i, (a, b) in enumerate(PAIRS):
        if i == 3:
            texts.append(json.dumps({"answer": str(a + b + 3)}))  # wrong by 3
        elif i == 6:
            texts.append(f"I think it is {a + b}")  # not JSON
        elif i == 7:
            texts.append(None)  # rate limited on the platform
        else:
            texts.append(json.dumps({"answer": str(a + b)}))
    return texts


def true_scores(text: str, expected: Any) -> dict[str, float]:
    """The two criteria's scores, computed with their documented rules."""
    try:
        answer = json.loads(text)["answer"]
    except (ValueError, KeyError, TypeError):
        answer = None
    exact = 1.0 if answer is not None and str(answer) == str(expected) else 0.0
    try:
        close = max(0.0, 1.0 - abs(float(answer) - float(expected)) / 10.0)
    except (TypeError, ValueError):
        close = 0.0
    return {"Exact answer": exact, "Closeness": close}


# -- the eval ---------------------------------------------------------------------------------
def evaluation() -> dict[str, Any]:
    return {
        "object": "eval", "id": EVAL_ID, "name": EVAL_NAME, "created_at": 1749990000,
        "metadata": {"team": "qa"},
        "data_source_config": {"type": "custom", "schema": {
            "type": "object", "required": ["item"],
            "properties": {"item": {"type": "object", "required": ["question", "expected"],
                                    "properties": {"id": {"type": "string"},
                                                   "question": {"type": "string"},
                                                   "expected": {"type": "string"}}},
                           "sample": {"type": "object"}}}},
        "testing_criteria": [
            {"name": EXACT_ID, "id": EXACT_ID, "type": "string_check",
             "input": "{{ sample.output_json.answer }}", "reference": "{{ item.expected }}",
             "operation": "eq"},
            {"name": "Closeness", "id": CLOSE_ID, "type": "python", "source": CLOSENESS_SOURCE,
             "pass_threshold": 0.8},
        ],
    }


def _run(run_id: str, created: int, status: str, data_source: dict[str, Any], model: str,
         total: int) -> dict[str, Any]:
    return {
        "object": "eval.run", "id": run_id, "eval_id": EVAL_ID, "name": f"run {run_id}",
        "created_at": created, "status": status, "model": model, "data_source": data_source,
        "error": {"code": "", "message": ""}, "metadata": {},
        "report_url": f"https://platform.openai.com/evaluations/{EVAL_ID}?run_id={run_id}",
        "result_counts": {"total": total, "errored": 1, "failed": 2, "passed": total - 3},
        "per_model_usage": [], "per_testing_criteria_results": [
            {"testing_criteria": EXACT_ID, "passed": 5, "failed": 2},
            {"testing_criteria": CLOSE_ID, "passed": 5, "failed": 2}],
    }


def chat_run() -> dict[str, Any]:
    return _run(RUN_CHAT, 1750000300, "completed", {
        "type": "completions", "model": CHAT_MODEL,
        "source": {"type": "file_id", "id": DATA_FILE},
        "input_messages": {"type": "template", "template": [
            {"type": "message", "role": "developer",
             "content": {"type": "input_text", "text": 'Answer with JSON: {"answer": "<n>"}.'}},
            {"type": "message", "role": "user",
             "content": {"type": "input_text", "text": "{{item.question}}"}}]},
        "sampling_params": {"max_completion_tokens": 64, "seed": 42, "temperature": 0.7,
                            "top_p": 1.0, "response_format": {
                                "type": "json_schema", "json_schema": {
                                    "name": "Answer", "schema": ANSWER_SCHEMA, "strict": True}}},
    }, CHAT_MODEL, len(PAIRS))


def responses_run() -> dict[str, Any]:
    return _run(RUN_RESPONSES, 1750000200, "completed", {
        "type": "responses", "model": BASE_MODEL,
        "source": {"type": "file_id", "id": DATA_FILE},
        "input_messages": {"type": "template", "template": [
            {"role": "system", "content": "Answer with JSON."},
            {"role": "user", "content": [
                {"type": "input_text", "text": "{{item.question}}"},
                {"type": "input_image", "image_url": "https://example.com/abacus.png"}]}]},
        "sampling_params": {"reasoning_effort": "low", "max_completion_tokens": 256, "seed": 7,
                            "text": {"format": {"type": "json_schema", "name": "Answer",
                                                "schema": ANSWER_SCHEMA, "strict": True}}},
    }, BASE_MODEL, len(PAIRS))


def jsonl_run() -> dict[str, Any]:
    content = [{"item": item, "sample": {"output_text": text or "", "model": "my-model"}}
               for item, text in zip(items(), outputs())]
    return _run(RUN_JSONL, 1750000100, "completed", {
        "type": "jsonl", "source": {"type": "file_content", "content": content}},
        "", len(PAIRS))


def running_run() -> dict[str, Any]:
    return _run(RUN_RUNNING, 1750000400, "in_progress", chat_run()["data_source"], CHAT_MODEL,
                len(PAIRS))


def output_items(run_id: str, model: str, texts: list[str | None]) -> list[dict[str, Any]]:
    """One output item per data item, graded with the true scores."""
    result = []
    for n, (item, text) in enumerate(zip(items(), texts)):
        error = {"code": "", "message": ""}
        results = []
        if text is None:
            error = {"code": "rate_limit_exceeded", "message": "Rate limit reached"}
        else:
            scores = true_scores(text, item["expected"])
            results = [
                {"name": EXACT_ID, "type": "string_check", "score": scores["Exact answer"],
                 "passed": scores["Exact answer"] == 1.0, "sample": None},
                {"name": CLOSE_ID, "type": "python", "score": scores["Closeness"],
                 "passed": scores["Closeness"] >= 0.8, "sample": None}]
        result.append({
            "object": "eval.run.output_item", "id": f"outputitem_{run_id}_{n:03d}",
            "run_id": run_id, "eval_id": EVAL_ID, "created_at": 1750000500 + n,
            "status": "fail" if text is None or not all(r["passed"] for r in results) else "pass",
            "datasource_item_id": n, "datasource_item": item, "results": results,
            "sample": {"input": [{"role": "user", "content": item["question"]}],
                       "output": [] if text is None else [{"role": "assistant", "content": text}],
                       "finish_reason": "" if text is None else "stop", "model": model,
                       "usage": {"total_tokens": 30, "completion_tokens": 10,
                                 "prompt_tokens": 20, "cached_tokens": 0},
                       "error": error, "temperature": 0.7, "max_completion_tokens": 64,
                       "top_p": 1.0, "seed": 42}})
    return result


# -- an eval that cannot move cleanly ---------------------------------------------------------
def evaluation2() -> dict[str, Any]:
    return {
        "object": "eval", "id": EVAL2_ID, "name": "Support tone", "created_at": 1749990000,
        "metadata": {}, "data_source_config": {"type": "logs", "schema": {"type": "object"}},
        "testing_criteria": [
            {"name": "Polite", "id": "Polite-0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
             "type": "score_model", "model": "o3-mini", "range": [0, 1], "pass_threshold": 0.7,
             "input": [{"role": "user", "content": "Rate politeness: {{sample.output_text}}"}]},
            {"name": "Topic", "id": "Topic-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809",
             "type": "label_model", "model": "gpt-4o-mini", "labels": ["billing", "other"],
             "passing_labels": ["billing"],
             "input": [{"role": "user", "content": "{{item.question}}"}]},
        ],
    }


def stored_run() -> dict[str, Any]:
    run = _run(RUN2, 1750000000, "completed", {
        "type": "completions", "model": CHAT_MODEL,
        "source": {"type": "stored_completions", "metadata": {"usecase": "support"}},
        "input_messages": {"type": "item_reference", "item_reference": "item.input"}},
        CHAT_MODEL, 2)
    run["eval_id"] = EVAL2_ID
    return run


def stored_outputs() -> list[dict[str, Any]]:
    rows = []
    for n, question in enumerate(["Why was I billed twice?", "Where is my parcel?"]):
        item = {"question": question, "input": [{"role": "user", "content": question}]}
        rows.append({
            "object": "eval.run.output_item", "id": f"outputitem_{RUN2}_{n}", "run_id": RUN2,
            "eval_id": EVAL2_ID, "created_at": 1750000001 + n, "status": "pass",
            "datasource_item_id": n, "datasource_item": item,
            "results": [{"name": "Polite-0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b", "score": 1.0,
                         "passed": True}],
            "sample": {"output": [{"role": "assistant", "content": "We are sorry."}],
                       "finish_reason": "stop", "error": None, "input": [], "model": CHAT_MODEL,
                       "usage": {}, "temperature": 1.0, "top_p": 1.0, "seed": 0,
                       "max_completion_tokens": 100}})
    return rows


# -- RFT jobs ---------------------------------------------------------------------------------
def rft_grader() -> dict[str, Any]:
    return {"type": "multi", "name": "arith", "calculate_output": "0.5 * exact + 0.5 * close",
            "graders": {
                "exact": {"type": "string_check", "name": "exact",
                          "input": "{{ sample.output_json.answer }}",
                          "reference": "{{ item.expected }}", "operation": "eq"},
                "close": {"type": "python", "name": "close", "source": CLOSENESS_SOURCE}}}


def rft_rows() -> bytes:
    rows = [{"messages": [{"role": "developer", "content": "Answer with JSON."},
                          {"role": "user", "content": f"What is {a}+{b}?"}],
             "expected": str(a + b), "id": f"v{n}"} for n, (a, b) in enumerate(PAIRS[:4])]
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def job(job_id: str = JOB_ID, validation: bool = True) -> dict[str, Any]:
    return {
        "object": "fine_tuning.job", "id": job_id, "model": BASE_MODEL,
        "fine_tuned_model": FT_MODEL, "status": "succeeded", "created_at": 1749000000,
        "finished_at": 1749100000, "organization_id": "org-acme", "result_files": [],
        "seed": 42, "trained_tokens": None, "error": None, "estimated_finish": None,
        "hyperparameters": {}, "integrations": [], "metadata": None,
        "training_file": "file-RftTrain",
        "validation_file": "file-RftValid" if validation else None,
        "method": {"type": "reinforcement", "reinforcement": {
            "grader": rft_grader(),
            "response_format": {"type": "json_schema", "json_schema": {
                "name": "Answer", "schema": ANSWER_SCHEMA, "strict": True}},
            "hyperparameters": {"reasoning_effort": "medium", "eval_samples": 2, "n_epochs": 1,
                                "batch_size": "auto", "compute_multiplier": "auto",
                                "eval_interval": "auto", "learning_rate_multiplier": "auto"}}},
    }


def checkpoints(job_id: str = JOB_ID) -> list[dict[str, Any]]:
    """Newest first, as the API lists them."""
    return [{"object": "fine_tuning.job.checkpoint", "id": f"ftckpt_{job_id}_{step}",
             "created_at": 1749000000 + step, "fine_tuning_job_id": job_id,
             "fine_tuned_model_checkpoint": f"{FT_MODEL}:ckpt-step-{step}",
             "metrics": {"step": float(step), "train_loss": 0.1, "valid_loss": 0.2},
             "step_number": step} for step in (30, 20, 10)]


def install(server: Any) -> None:
    """Register every object on a tests.support.openai_server.OpenAIServer."""
    server.add_eval(evaluation())
    for run in (jsonl_run(), responses_run(), chat_run(), running_run()):
        server.add_run(EVAL_ID, run)
    server.add_output_items(EVAL_ID, RUN_CHAT, output_items(RUN_CHAT, CHAT_MODEL, outputs()))
    server.add_output_items(EVAL_ID, RUN_RESPONSES, output_items(
        RUN_RESPONSES, BASE_MODEL, [json.dumps({"answer": str(a + b)}) for a, b in PAIRS]))
    server.add_output_items(EVAL_ID, RUN_JSONL, output_items(RUN_JSONL, "", [t or "" for t in outputs()]))
    server.add_file(DATA_FILE, data_file())
    server.add_eval(evaluation2())
    server.add_run(EVAL2_ID, stored_run())
    server.add_output_items(EVAL2_ID, RUN2, stored_outputs())
    for job_id, validation in ((JOB_ID, True), (JOB_NO_VALID, False)):
        server.add_job(job(job_id, validation))
        server.add_checkpoints(job_id, checkpoints(job_id))
    server.add_file("file-RftValid", rft_rows())
    server.add_file("file-RftTrain", rft_rows())
