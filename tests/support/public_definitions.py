"""Eval and RFT definitions shaped like public OpenAI material, for the migration tests.

Each ``Case`` is one platform object set (an eval with a run and its output items, or an RFT job
with its checkpoints and validation file) and what a faithful import must say about it. The
shapes follow their sources (written fresh here, small data):

- ``medical_rft``: the "Exploring Model Graders for Reinforcement Fine-Tuning" cookbook: o4-mini,
  a multi of two python graders (rapidfuzz, ``image_tag``), rows ``{messages, reference_answer}``.
- ``medical_judge_rft``: the same cookbook's ``score_model`` grader (gpt-4.1 judge, seed and
  temperature as ``sampling_params``).
- ``receipts``: the receipt-inspection eval ("Eval-driven system design"): 18 graders that read
  only the item (predicted and correct details recorded in it), a ``jsonl`` run.
- ``image_eval``: the "Evals API: image inputs" cookbook: a ``score_model`` grader and a prompt
  with an ``input_image`` part, plus a ``string_check``.
- ``kitchen_sink``: an eval with 12 graders -- an ``endpoint`` grader (with headers), a
  placeholder the platform accepted but that reads no field, every text_similarity family, a
  label_model, a multi -- and a run whose ``sampling_params`` use every common key.
- ``healthbench_rft``: the "RFT for conversational reasoning" (HealthBench) cookbook: a judge
  reading ``{{item.messages}}`` and the rubric.
- ``agentic_rft``: agentic RFT: job-level ``tools`` served by an endpoint (with headers),
  ``max_episode_steps``, per-row ``tools``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SECRET_HEADER = "Bearer tool-endpoint-secret-9f8e7d"


@dataclass
class Case:
    name: str
    kind: str  # "eval" or "rft-job"
    id: str
    objects: dict[str, Any]
    """GET path under /v1 -> JSON (lists are paged) or bytes."""
    notes: list[str] = field(default_factory=list)
    """Titles MIGRATION.md must list under 'What did not move'."""
    not_notes: list[str] = field(default_factory=list)
    """Words that must not appear in those titles."""
    disabled: list[str] = field(default_factory=list)
    """Graders that must be disabled (and only these)."""
    needs: list[str] = field(default_factory=list)
    """Suite keys owned by other features (tools ...) that must be present to load."""


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _job(job_id: str, model: str, grader: dict[str, Any], *, valid: str, extra: dict | None = None,
         hyper: dict | None = None, fine_tuned: str | None = None) -> dict[str, Any]:
    return {
        "object": "fine_tuning.job", "id": job_id, "model": model, "status": "succeeded",
        "fine_tuned_model": fine_tuned, "created_at": 1748000000, "finished_at": 1748100000,
        "organization_id": "org-demo", "result_files": [], "seed": 42, "trained_tokens": None,
        "error": None, "hyperparameters": {}, "integrations": [], "metadata": None,
        "training_file": "file-Train" + job_id[-4:], "validation_file": valid,
        "method": {"type": "reinforcement", "reinforcement": {
            "grader": grader, "response_format": None,
            "hyperparameters": hyper or {"compute_multiplier": 1.0, "eval_samples": 3,
                                         "eval_interval": 5, "n_epochs": 5,
                                         "reasoning_effort": "medium", "batch_size": "auto",
                                         "learning_rate_multiplier": "auto"},
            **(extra or {})}},
    }


def _checkpoints(job_id: str, ft: str, steps: list[int]) -> list[dict[str, Any]]:
    return [{"object": "fine_tuning.job.checkpoint", "id": f"ftckpt_{job_id}_{s}",
             "fine_tuning_job_id": job_id, "created_at": 1748000000 + s, "step_number": s,
             "fine_tuned_model_checkpoint": f"{ft}:ckpt-step-{s}",
             "metrics": {"step": float(s)}} for s in sorted(steps, reverse=True)]


# -- medical RFT (python graders) -------------------------------------------------------------
CLINICAL_PHRASE = '''def grade(sample: dict, item: dict) -> float:
    from rapidfuzz import fuzz, utils
    score = fuzz.token_set_ratio(sample["output_text"], item["reference_answer"], processor=utils.default_process)
    return score / 100.0
'''
CLINICAL_BINARY = '''def grade(sample: dict, item: dict) -> float:
    return 1.0 if sample["output_text"] == item["reference_answer"] else 0.0
'''
MEDICAL_ROWS = [
    {"messages": [{"role": "user", "content": "You are an expert clinician. ... A 45-year-old "
                   "with sudden painful red eye and photophobia. Most likely diagnosis?"}],
     "reference_answer": "acute anterior uveitis"},
    {"messages": [{"role": "user", "content": "... Hypercalcemia with low PTH and a lung mass. "
                   "Most likely mediator?"}], "reference_answer": "pthrp"},
    {"messages": [{"role": "user", "content": "... Postictal transient weakness of one limb. "
                   "Name the phenomenon."}], "reference_answer": "todd paralysis"},
    {"messages": [{"role": "user", "content": "... Refractory hypokalemia despite repletion. "
                   "Which deficiency?"}], "reference_answer": "hypomagnesemia"},
]
MEDICAL_FT = "ft:o4-mini-2025-04-16:demo:medical-01:AbCdEf12"


def medical_rft() -> Case:
    job_id = "ftjob-Med01PyGr"
    grader = {"type": "multi", "graders": {
        "clinical_phrase": {"name": "clinical_phrase_grader", "image_tag": "2025-05-08",
                            "type": "python", "source": CLINICAL_PHRASE},
        "clinical_phrase_binary": {"name": "clinical_phrase_binary_grader",
                                   "image_tag": "2025-05-08", "type": "python",
                                   "source": CLINICAL_BINARY}},
        "calculate_output": "0.85 * clinical_phrase + 0.15 * clinical_phrase_binary"}
    return Case("medical_rft", "rft-job", job_id, {
        f"/fine_tuning/jobs/{job_id}": _job(job_id, "o4-mini-2025-04-16", grader,
                                            valid="file-78q2N1QAMKhLiRK3zVB6MC",
                                            fine_tuned=MEDICAL_FT),
        f"/fine_tuning/jobs/{job_id}/checkpoints": _checkpoints(job_id, MEDICAL_FT, [5, 10]),
        "/files/file-78q2N1QAMKhLiRK3zVB6MC/content": _jsonl(MEDICAL_ROWS),
    }, notes=["Retired: o4-mini (2026-10-23)"], not_notes=["disabled", "does not load"])


def medical_judge_rft() -> Case:
    job_id = "ftjob-Med02Judg"
    grader = {"type": "score_model", "name": "gpt41_score_model_2", "input": [
        {"role": "system", "content": "You are an expert medical grader. Compare the reference "
                                      "answer with the model prediction; answer only JSON."},
        {"role": "user", "content": "Reference Answer: {{item.reference_answer}}. "
                                    "Model's Answer: {{sample.output_text}}"}],
        "pass_threshold": 0.75, "model": "gpt-4.1-2025-04-14", "range": [0, 1],
        "sampling_params": {"seed": 42, "temperature": 0}}
    ft = "ft:o4-mini-2025-04-16:demo:medical-02:QwErTy34"
    return Case("medical_judge_rft", "rft-job", job_id, {
        f"/fine_tuning/jobs/{job_id}": _job(job_id, "o4-mini-2025-04-16", grader,
                                            valid="file-Med02Valid", fine_tuned=ft),
        f"/fine_tuning/jobs/{job_id}/checkpoints": [],
        "/files/file-Med02Valid/content": _jsonl(MEDICAL_ROWS),
    }, notes=["Retired: o4-mini (2026-10-23)", "Retired: gpt-4.1 (2027-01-14)",
              "Grader 'gpt41_score_model_2' (score_model) calls a judge"],
        not_notes=["disabled", "does not load"])


# -- receipt inspection (graders read only the item; jsonl run) -------------------------------
def _item_prompt(kind: str) -> str:
    return ("Your task is to evaluate the correctness of a receipt extraction model.\n"
            "Actual line items:\n{{ item.correct_receipt_details.items }}\n"
            "Extracted line items:\n{{ item.predicted_receipt_details.items }}\n" + kind)


RECEIPT_FIELDS = ["city", "state", "zipcode"]


def receipt_graders() -> list[dict[str, Any]]:
    graders: list[dict[str, Any]] = [
        {"name": "Merchant Name Accuracy", "type": "text_similarity",
         "input": "{{ item.predicted_receipt_details.merchant }}",
         "reference": "{{ item.correct_receipt_details.merchant }}", "pass_threshold": 0.8,
         "evaluation_metric": "bleu"}]
    graders += [{"name": f"Location {f.title()} Accuracy", "type": "string_check",
                 "operation": "eq", "input": f"{{{{ item.predicted_receipt_details.location.{f} }}}}",
                 "reference": f"{{{{ item.correct_receipt_details.location.{f} }}}}"}
                for f in RECEIPT_FIELDS]
    graders += [{"name": f"{f.title()} Accuracy", "type": "string_check", "operation": "eq",
                 "input": f"{{{{ item.predicted_receipt_details.{f} }}}}",
                 "reference": f"{{{{ item.correct_receipt_details.{f} }}}}"}
                for f in ("time", "subtotal", "tax", "total")]
    graders.append({"name": "Handwritten Notes Accuracy", "type": "text_similarity",
                    "input": "{{ item.predicted_receipt_details.handwritten_notes }}",
                    "reference": "{{ item.correct_receipt_details.handwritten_notes }}",
                    "pass_threshold": 0.8, "evaluation_metric": "fuzzy_match"})
    for name, rng, threshold, kind in (
            ("Missed Line Items", [0, 1], 1, "Score 0 if any item was missed, else 1."),
            ("Extra Line Items", [0, 1], 1, "Score 0 if any item was added, else 1."),
            ("Item Mistakes", [0, 10], 8, "Score 0 to 10 by the mistakes in the items.")):
        graders.append({"name": name, "type": "score_model", "model": "gpt-4o-mini",
                        "input": [{"role": "system", "content": _item_prompt(kind)}],
                        "range": rng, "pass_threshold": threshold})
    graders += [{"name": f"{label} Accuracy", "type": "string_check", "operation": "eq",
                 "input": f"{{{{ item.predicted_audit_decision.{key} }}}}",
                 "reference": f"{{{{ item.correct_audit_decision.{key} }}}}"}
                for label, key in (("Not Travel Related", "not_travel_related"),
                                   ("Amount Over Limit", "amount_over_limit"),
                                   ("Math Error", "math_error"),
                                   ("Handwritten X", "handwritten_x"),
                                   ("Needs Audit", "needs_audit"))]
    graders.append({"name": "Audit Reasoning Quality", "type": "score_model",
                    "model": "gpt-4o-mini", "input": [{"role": "system", "content":
                    "Evaluate the audit reasoning:\n{{ item.predicted_audit_decision }}\n"
                    "against the correct decision:\n{{ item.correct_audit_decision }}\n"
                    "Score 0 to 10."}], "range": [0, 10], "pass_threshold": 8})
    return graders


def _receipt(n: int, right: bool) -> dict[str, Any]:
    correct = {"merchant": f"Shop {n}", "location": {"city": "Seattle", "state": "WA",
                                                     "zipcode": f"9810{n}"},
               "time": f"2024-0{n + 1}-01T12:00:00", "items": [
                   {"description": "Coffee", "product_code": None, "category": "Beverages",
                    "item_price": "4.50", "sale_price": None, "quantity": "1",
                    "total": "4.50"}],
               "subtotal": "4.50", "tax": "0.45", "total": "4.95", "handwritten_notes": []}
    predicted = json.loads(json.dumps(correct))
    if not right:
        predicted["total"] = "5.95"
        predicted["merchant"] = f"Shop {n} Inc"
    audit = {"not_travel_related": False, "amount_over_limit": False, "math_error": not right,
             "handwritten_x": False, "reasoning": "Checked the totals.", "needs_audit": not right}
    return {"predicted_receipt_details": predicted, "correct_receipt_details": correct,
            "predicted_audit_decision": audit,
            "correct_audit_decision": {**audit, "math_error": False, "needs_audit": False}}


def receipts() -> Case:
    eval_id, run_id = "eval_68c4d0receipt0081909a86353f6fb931", "evalrun_68c4d0receipt01"
    items = [_receipt(n, right=n % 2 == 0) for n in range(4)]
    graders = receipt_graders()
    evaluation = {"object": "eval", "id": eval_id, "name": "Receipt audit (initial eval)",
                  "created_at": 1749000000, "metadata": {},
                  "data_source_config": {"type": "custom", "item_schema": {
                      "type": "object", "properties": {
                          "predicted_receipt_details": {"type": "object"},
                          "correct_receipt_details": {"type": "object"},
                          "predicted_audit_decision": {"type": "object"},
                          "correct_audit_decision": {"type": "object"}},
                      "required": ["predicted_receipt_details", "correct_receipt_details"]},
                      "include_sample_schema": False},
                  "testing_criteria": [{**g, "id": f"{g['name']}-{i:08x}-0000-4000-8000-"
                                                     f"{i:012x}"} for i, g in enumerate(graders)]}
    run = {"object": "eval.run", "id": run_id, "eval_id": eval_id, "name": "receipt-run",
           "status": "completed", "created_at": 1749000100, "model": None,
           "data_source": {"type": "jsonl", "source": {
               "type": "file_content", "content": [{"item": i} for i in items]}},
           "result_counts": {"total": 4, "passed": 2, "failed": 2, "errored": 0}}
    outputs = []
    for n, item in enumerate(items):
        results = []
        for g in evaluation["testing_criteria"]:
            if g["type"] == "score_model":
                score = float(g["range"][1])
            elif g["type"] == "string_check":
                path = g["input"].split("item.")[1].rstrip(" }").split(".")
                ref = g["reference"].split("item.")[1].rstrip(" }").split(".")
                got, want = item, item
                for p in path:
                    got = got[p]
                for p in ref:
                    want = want[p]
                score = 1.0 if str(got).lower() == str(want).lower() or got == want else 0.0
            else:
                score = 1.0 if n % 2 == 0 else 0.5
            results.append({"name": g["id"], "type": g["type"], "score": score,
                            "passed": score >= g.get("pass_threshold", 1)})
        outputs.append({"object": "eval.run.output_item", "id": f"outputitem_r{n}",
                        "run_id": run_id, "eval_id": eval_id, "datasource_item_id": n,
                        "datasource_item": item, "results": results, "status": "pass",
                        "sample": {"input": [], "output": [], "finish_reason": "",
                                   "model": "", "usage": {}, "error": None,
                                   "temperature": 1.0, "max_completion_tokens": 0,
                                   "top_p": 1.0, "seed": 0}, "created_at": 1749000200 + n})
    return Case("receipts", "eval", eval_id, {
        f"/evals/{eval_id}": evaluation, f"/evals/{eval_id}/runs": [run],
        f"/evals/{eval_id}/runs/{run_id}/output_items": outputs,
    }, notes=[f"Grader '{g}' (score_model) calls a judge" for g in
              ("Missed Line Items", "Extra Line Items", "Item Mistakes",
               "Audit Reasoning Quality")],
        not_notes=["disabled", "does not load", "No prompt", "No model", "placeholder"])


# -- image inputs -----------------------------------------------------------------------------
def image_eval() -> Case:
    eval_id, run_id = "eval_68d1image0081909a86353f6fb93200", "evalrun_68d1image01"
    items = [{"prompt": "What animal is this?", "media_url": f"https://example.com/{a}.png",
              "reference": a} for a in ("cat", "dog", "owl")]
    image_grader = {"type": "score_model", "name": "Score Model Grader", "id": "smg-1",
                    "input": [
                        {"role": "system", "content": "You are an expert grader. Judge how well "
                                                      "the model response suits the image."},
                        {"role": "user", "content": [
                            {"type": "input_text", "text": "Prompt: {{ item.prompt }}."},
                            {"type": "input_image", "image_url": "{{ item.media_url }}",
                             "detail": "auto"},
                            {"type": "input_text", "text": "Reference answer: "
                             "{{ item.reference }}. Model response: {{ sample.output_text }}."}]}],
                    "pass_threshold": 0.9, "range": [0, 1], "model": "o4-mini"}
    exact = {"type": "string_check", "name": "Names the animal", "id": "sc-1",
             "input": "{{ sample.output_text }}", "reference": "{{ item.reference }}",
             "operation": "ilike"}
    evaluation = {"object": "eval", "id": eval_id, "name": "Image Grading",
                  "data_source_config": {"type": "custom", "item_schema": {
                      "type": "object", "properties": {"prompt": {"type": "string"},
                                                       "media_url": {"type": "string"},
                                                       "reference": {"type": "string"}}},
                      "include_sample_schema": True},
                  "testing_criteria": [image_grader, exact]}
    run = {"object": "eval.run", "id": run_id, "eval_id": eval_id, "name": "gpt-4.1 run",
           "status": "completed", "created_at": 1749100000, "model": "gpt-4.1",
           "data_source": {"type": "responses", "model": "gpt-4.1",
                           "source": {"type": "file_content",
                                      "content": [{"item": i} for i in items]},
                           "input_messages": {"type": "template", "template": [
                               {"role": "user", "type": "message", "content": {
                                   "type": "input_text", "text": "Answer the user's question "
                                                                 "about the image."}},
                               {"role": "user", "type": "message", "content": {
                                   "type": "input_text", "text": "{{ item.prompt }}"}},
                               {"role": "user", "type": "message", "content": {
                                   "type": "input_image", "image_url": "{{ item.media_url }}",
                                   "detail": "auto"}}]},
                           "sampling_params": {"max_completions_tokens": 2048}},
           "result_counts": {"total": 3}}
    outputs = [{"object": "eval.run.output_item", "id": f"oi_img_{n}", "run_id": run_id,
                "eval_id": eval_id, "datasource_item_id": n, "datasource_item": item,
                "results": [{"name": "smg-1", "score": 1.0}, {"name": "sc-1", "score": 1.0}],
                "sample": {"output": [{"role": "assistant", "content": f"A {item['reference']}."}],
                           "finish_reason": "stop", "error": None}}
               for n, item in enumerate(items)]
    return Case("image_eval", "eval", eval_id, {
        f"/evals/{eval_id}": evaluation, f"/evals/{eval_id}/runs": [run],
        f"/evals/{eval_id}/runs/{run_id}/output_items": outputs,
    }, notes=["Grader 'Score Model Grader' disabled", "input_messages: image input left out",
              "Retired: gpt-4.1 (2027-01-14)"],
        disabled=["Score Model Grader"], not_notes=["does not load"])


# -- 12 graders, some that cannot move --------------------------------------------------------
def kitchen_sink() -> Case:
    eval_id, run_id = "eval_68e2sink0081909a86353f6fb93300", "evalrun_68e2sink01"
    items = [{"question": q, "answer": a, "topic": t} for q, a, t in (
        ("Capital of France?", "Paris", "geo"), ("2+2?", "4", "math"),
        ("Largest planet?", "Jupiter", "astro"), ("Author of Hamlet?", "Shakespeare", "lit"))]
    criteria: list[dict[str, Any]] = [
        {"type": "string_check", "name": "Exact", "input": "{{ sample.output_text }}",
         "reference": "{{ item.answer }}", "operation": "eq"},
        {"type": "string_check", "name": "Contains", "input": "{{ sample.output_text }}",
         "reference": "{{ item.answer }}", "operation": "ilike"},
        *({"type": "text_similarity", "name": f"Similarity {m}", "input": "{{ sample.output_text }}",
           "reference": "{{ item.answer }}", "evaluation_metric": m, "pass_threshold": 0.5}
          for m in ("fuzzy_match", "bleu", "gleu", "meteor", "rouge_1", "rouge_l")),
        {"type": "label_model", "name": "Topic", "model": "gpt-4o-mini",
         "labels": ["geo", "math", "astro", "lit"], "passing_labels": ["geo", "math", "astro",
                                                                        "lit"],
         "input": [{"role": "user", "content": "Topic of: {{ item.question }}"}]},
        {"type": "multi", "name": "Blend", "calculate_output": "0.5 * e + 0.5 * f",
         "graders": {"e": {"type": "string_check", "name": "e", "operation": "eq",
                           "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}"},
                     "f": {"type": "text_similarity", "name": "f", "evaluation_metric":
                           "fuzzy_match", "input": "{{ sample.output_text }}",
                           "reference": "{{ item.answer }}"}}},
        {"type": "endpoint", "name": "House scorer", "url": "https://scoring.example.com/grade",
         "headers": {"Authorization": SECRET_HEADER}, "rate_limit": 50},
        {"type": "string_check", "name": "Source cited", "input": "{{ item.source_url }}",
         "reference": "{{ sample.output_text }}", "operation": "like"},
    ]
    for n, c in enumerate(criteria):
        c["id"] = f"{c['name']}-{n:08x}-1111-4111-8111-{n:012x}"
    evaluation = {"object": "eval", "id": eval_id, "name": "Trivia (kitchen sink)",
                  "data_source_config": {"type": "custom", "item_schema": {"type": "object"}},
                  "testing_criteria": criteria}
    run = {"object": "eval.run", "id": run_id, "eval_id": eval_id, "name": "gpt-4.1-mini",
           "status": "completed", "created_at": 1749200000, "model": "gpt-4.1-mini",
           "data_source": {"type": "completions", "model": "gpt-4.1-mini",
                           "source": {"type": "file_id", "id": "file-Sink01"},
                           "input_messages": {"type": "template", "template": [
                               {"role": "developer", "content": "Answer in one word."},
                               {"role": "user", "content": "{{ item.question }}"}]},
                           "sampling_params": {
                               "max_completions_tokens": 256, "temperature": 0.2, "top_p": 0.9,
                               "seed": 7, "frequency_penalty": 0.5, "stop": ["\n"],
                               "reasoning_effort": "default",
                               "tools": [{"type": "web_search_preview"}]}},
           "result_counts": {"total": 4}}
    outputs = [{"object": "eval.run.output_item", "id": f"oi_sink_{n}", "run_id": run_id,
                "eval_id": eval_id, "datasource_item_id": n, "datasource_item": item,
                "results": [{"name": criteria[0]["id"], "score": 1.0}],
                "sample": {"output": [{"role": "assistant", "content": item["answer"]}],
                           "finish_reason": "stop", "error": None}}
               for n, item in enumerate(items)]
    return Case("kitchen_sink", "eval", eval_id, {
        f"/evals/{eval_id}": evaluation, f"/evals/{eval_id}/runs": [run],
        f"/evals/{eval_id}/runs/{run_id}/output_items": outputs,
        "/files/file-Sink01/content": _jsonl([{"item": i} for i in items]),
    }, notes=["Grader 'House scorer' disabled", "Grader 'Source cited' disabled",
              "sampling_params.frequency_penalty: 0.5", "sampling_params.stop: [\"\\n\"]",
              "sampling_params.tools[0]: hosted tool 'web_search_preview'",
              "Grader 'Topic' (label_model) calls a judge"],
        disabled=["House scorer", "Source cited"],
        not_notes=["does not load", "max_completions_tokens", "reasoning_effort"])


# -- HealthBench-style: a judge that reads the conversation -----------------------------------
def healthbench_rft() -> Case:
    job_id = "ftjob-HBench7x"
    grader = {"type": "score_model", "name": "gpt41_score_model_1", "input": [
        {"role": "system", "content": "You are a physician grading a reply against a rubric. "
                                      "Return the fraction of rubric points met."},
        {"role": "user", "content": "## Conversation\n{{item.messages}}\n\n## Rubric\n"
                                    "{{item.rubric}}\n\n## Reply\n{{sample.output_text}}"}],
        "model": "o3-mini-2025-01-31", "range": [0, 1], "pass_threshold": 0.6,
        "sampling_params": {"max_completions_tokens": 4096, "reasoning_effort": "medium"}}
    rows = [{"messages": [{"role": "user", "content": c}], "rubric": r} for c, r in (
        ("I have had a headache for three days.", "Asks about red-flag symptoms."),
        ("My child has a fever of 39C.", "Asks the child's age and duration."),
        ("Can I take ibuprofen with my blood thinner?", "Advises checking with a clinician."))]
    return Case("healthbench_rft", "rft-job", job_id, {
        f"/fine_tuning/jobs/{job_id}": _job(job_id, "o4-mini-2025-04-16", grader,
                                            valid="file-HBValid",
                                            fine_tuned="ft:o4-mini-2025-04-16:demo:hb:Zx9"),
        f"/fine_tuning/jobs/{job_id}/checkpoints": [],
        "/files/file-HBValid/content": _jsonl(rows),
    }, notes=["Retired: o3-mini (2026-10-23)", "Retired: o4-mini (2026-10-23)"],
        not_notes=["disabled", "does not load"])


# -- agentic RFT: tools served by an endpoint, max_episode_steps, per-row tools ---------------
LOOKUP_TOOL = {"type": "function", "name": "lookup_order", "description": "Find an order by id.",
               "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}},
                              "required": ["order_id"], "additionalProperties": False},
               "strict": True, "server_url": "https://tools.example.com/rft/lookup?key=abc",
               "headers": {"Authorization": SECRET_HEADER}}
TOOL_GRADER = '''import json

def grade(sample, item):
    calls = sample.get("output_tools") or []
    names = [c.get("function", {}).get("name") for c in calls]
    return 1.0 if item["expected_tool"] in names else 0.0
'''


def agentic_rft() -> Case:
    job_id = "ftjob-Agent9Tl"
    row_tool = {"type": "function", "function": {
        "name": "refund", "description": "Refund an order.",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}},
                       "required": ["order_id"]}}}
    rows = [{"messages": [{"role": "user", "content": f"Where is order {n}?"}],
             "tools": [row_tool], "expected_tool": "lookup_order"} for n in (101, 102, 103)]
    grader = {"type": "python", "name": "called_the_right_tool", "source": TOOL_GRADER}
    return Case("agentic_rft", "rft-job", job_id, {
        f"/fine_tuning/jobs/{job_id}": _job(
            job_id, "gpt-5-2025-08-07", grader, valid="file-AgentValid",
            fine_tuned="ft:gpt-5-2025-08-07:demo:agent:Tt1",
            extra={"tools": [LOOKUP_TOOL], "max_episode_steps": 10}),
        f"/fine_tuning/jobs/{job_id}/checkpoints": [],
        "/files/file-AgentValid/content": _jsonl(rows),
    }, notes=["Tool 'lookup_order' ran on an endpoint"], not_notes=["disabled"],
        needs=["tools", "max_turns"])


CASES = [medical_rft, medical_judge_rft, receipts, image_eval, kitchen_sink, healthbench_rft,
         agentic_rft]
