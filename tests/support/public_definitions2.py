"""More public OpenAI definitions for the migration tests (issue 18, second set).

Each definition copies its eval / run / grader / job JSON from a public source (named in a
comment above it, with its URL); only ids, timestamps, the data rows and the recorded outputs are
made up (the platform objects around them are shaped like the API's answers). None of these is
in ``public_definitions``. Cookbook = github.com/openai/openai-cookbook examples/evaluation/
use-cases/; guide = platform.openai.com/docs/guides/graders.

- ``tools_eval_chat`` / ``tools_eval_responses``: tools-evaluation.ipynb, a function tool in the
  chat and the flat responses shape; a judge (o3, range [1, 7]) reading
  ``{{sample.output_tools[0].function.arguments.symbols}}``.
- ``structured_chat`` / ``structured_responses``: structured-outputs-evaluation.ipynb,
  ``response_format`` and ``text.format`` in sampling_params; the judge reads ``output_json``.
- ``mcp_eval``: mcp_eval_notebook.ipynb, a hosted ``mcp`` tool, a label_model and a python
  grader on ``output_tools``.
- ``completion_monitoring``: completion-monitoring.ipynb, ``stored_completions`` config and
  source, ``item_reference: item.input``, label_model o3-mini.
- ``responses_logs``: responses-evaluation.ipynb, ``logs`` config, ``responses`` source, a judge
  whose template has ``{{sample.output_text}`` (one brace short) and no range.
- ``web_search_eval``: web-search-evaluation.ipynb, ``web_search_preview`` on responses.
- ``regression_jsonl``: regression.ipynb, a jsonl run whose samples are ChatCompletion dumps.
- ``guide_multi_rft`` / ``guide_score_python_rft`` / ``guide_tool_multi_rft`` /
  ``guide_label_eval``: the graders guide's multigrader, score_model, python (no name),
  tool-call multi, label_model (``sampling_params.max_tokens``) and every text_similarity metric
  (cosine included).
- ``security_rft``: the RFT guide's security review (multi of score_model + string_check on
  output_json, response_format, test set verbatim).
- ``calibration_rft``: a public judge-calibration RFT script: ``abs()`` in calculate_output, a
  python passthrough of an item key, a judge on output_json with range [0, 100].
- ``audio_eval``: EvalsAPI_Audio_Inputs.ipynb, the only user message is an input_audio part.
- ``foundry_agentic_rft``: agentic RFT as Azure Foundry's guide and the agent-RFT pattern write
  it: tools with only a name and an endpoint, max_episode_steps, compute_multiplier.
- ``api_reference_multi_rft``: the API reference's multi example (graders as a list, a formula
  with an unbalanced parenthesis): disabled with a note that says why.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.public_definitions import Case, _checkpoints, _job, _jsonl

COOKBOOK = "https://github.com/openai/openai-cookbook/blob/main/examples/evaluation/use-cases/"
GUIDE = "https://platform.openai.com/docs/guides/graders"


def _eval(eval_id: str, name: str, config: dict[str, Any], criteria: list[dict[str, Any]],
          ids: bool = True) -> dict[str, Any]:
    if ids:  # the platform gives each criterion an id "<name>-<uuid>"
        criteria = [{**c, "id": f"{c['name']}-{n:08x}-2222-4222-8222-{n:012x}"}
                    for n, c in enumerate(criteria)]
    return {"object": "eval", "id": eval_id, "name": name, "created_at": 1750000000,
            "metadata": {}, "data_source_config": config, "testing_criteria": criteria}


def _run(eval_id: str, run_id: str, name: str, model: str | None,
         data_source: dict[str, Any], total: int) -> dict[str, Any]:
    return {"object": "eval.run", "id": run_id, "eval_id": eval_id, "name": name,
            "status": "completed", "created_at": 1750000100, "model": model,
            "data_source": data_source, "result_counts": {"total": total}}


def _outputs(evaluation: dict[str, Any], run_id: str, items: list[dict[str, Any]],
             sample: Any) -> list[dict[str, Any]]:
    return [{"object": "eval.run.output_item", "id": f"oi_{run_id[-6:]}_{n}", "run_id": run_id,
             "eval_id": evaluation["id"], "datasource_item_id": n, "datasource_item": item,
             "results": [{"name": c["id"], "score": float(c.get("range", [0, 1])[1]),
                          "passed": True} for c in evaluation["testing_criteria"]],
             "status": "pass", "sample": sample(item), "created_at": 1750000200 + n}
            for n, item in enumerate(items)]


def _case(name: str, evaluation: dict[str, Any], run: dict[str, Any],
          outputs: list[dict[str, Any]], files: dict[str, bytes] | None = None,
          **expect: Any) -> Case:
    eval_id, run_id = evaluation["id"], run["id"]
    objects: dict[str, Any] = {f"/evals/{eval_id}": evaluation, f"/evals/{eval_id}/runs": [run],
                               f"/evals/{eval_id}/runs/{run_id}/output_items": outputs}
    for file_id, content in (files or {}).items():
        objects[f"/files/{file_id}/content"] = content
    return Case(name, "eval", eval_id, objects, **expect)


def _message(role: str, text: str) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": {"type": "input_text", "text": text}}


# -- tools-evaluation.ipynb: a function tool, a judge reading output_tools[0] arguments ------------
# source: COOKBOOK + "tools-evaluation.ipynb" (cells "Dataset factory & grading rubric",
# "Evals Creation", "Kick off model runs")
STRUCTURED_OUTPUT_GRADER = """
You are a helpful assistant that grades the quality of extracted information from a code file.
You will be given a code file and a list of extracted information.
You should grade the quality of the extracted information.

You should grade the quality on a scale of 1 to 7.
You should apply the following criteria, and calculate your score as follows:
You should first check for completeness on a scale of 1 to 7.
Then you should apply a quality modifier.

The quality modifier is a multiplier from 0 to 1 that you multiply by the completeness score.
If there is 100% coverage for completion and it is all high quality, then you would return 7*1.
If there is 100% coverage for completion but it is all low quality, then you would return 7*0.5.
etc.
"""
TOOLS_USER_PROMPT = """
<Code File>
{{item.input}}
</Code File>

<Extracted Information>
{{sample.output_tools[0].function.arguments.symbols}}
</Extracted Information>
"""
SYMBOL_TOOL = {
    "name": "extract_symbols",
    "description": "Extract the symbols from the code file",
    "parameters": {
        "type": "object",
        "properties": {
            "symbols": {
                "type": "array",
                "description": "A list of symbols extracted from Python code.",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "description": "The name of the symbol."},
                        "symbol_type": {"type": "string", "description": "The type of the symbol, e.g., variable, function, class."},
                    },
                    "required": ["name", "symbol_type"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["symbols"],
        "additionalProperties": False,
    },
}
CODE_ITEMS = [{"input": "def create(name):\n    return Eval(name)\n\nclass Evals:\n    pass\n"},
              {"input": "MAX = 3\n\ndef embed(text):\n    return [0.0] * MAX\n"}]
SYMBOLS = {"symbols": [{"name": "create", "symbol_type": "function"},
                       {"name": "Evals", "symbol_type": "class"}]}


def _code_eval(eval_id: str, user_prompt: str, threshold: float) -> dict[str, Any]:
    return _eval(eval_id, "Code QA Eval", {
        "type": "custom",
        "item_schema": {"type": "object", "properties": {"input": {"type": "string"}}},
        "include_sample_schema": True,
    }, [{
        "type": "score_model",
        "name": "General Evaluator",
        "model": "o3",
        "input": [
            {"role": "system", "content": STRUCTURED_OUTPUT_GRADER},
            {"role": "user", "content": user_prompt},
        ],
        "range": [1, 7],
        "pass_threshold": threshold,
    }])


def _code_source(api: str, model: str, sampling: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": api,
        "source": {"type": "file_content", "content": [{"item": item} for item in CODE_ITEMS]},
        "input_messages": {
            "type": "template",
            "template": [
                _message("system", "You are a helpful assistant."),
                _message("user", "Extract the symbols from the code file {{item.input}}"),
            ],
        },
        "model": model,
        "sampling_params": {"seed": 42, "temperature": 0.7, "max_completions_tokens": 10000,
                            "top_p": 0.9, **sampling},
    }


def _tool_sample(item: dict[str, Any]) -> dict[str, Any]:
    call = {"id": "call_1", "type": "function", "function": {
        "name": "extract_symbols", "arguments": json.dumps(SYMBOLS)}}
    return {"output": [{"role": "assistant", "content": None, "tool_calls": [call]}],
            "finish_reason": "tool_calls", "error": None}


def tools_eval_chat() -> Case:
    evaluation = _code_eval("eval_6848e2tools0081919aaaa000000001", TOOLS_USER_PROMPT, 5.0)
    run = _run(evaluation["id"], "evalrun_6848e2269570819198b757fe12b979da", "gpt-4.1",
               "gpt-4.1", _code_source("completions", "gpt-4.1", {
                   "tools": [{"type": "function", "function": SYMBOL_TOOL}]}), 2)
    return _case("tools_eval_chat", evaluation, run,
                 _outputs(evaluation, run["id"], CODE_ITEMS, _tool_sample),
                 notes=["Retired: gpt-4.1 (2027-01-14)",
                        "Grader 'General Evaluator' (score_model) calls a judge"],
                 not_notes=["disabled", "does not load", "tools"])


def tools_eval_responses() -> Case:
    evaluation = _code_eval("eval_6848e2tools0081919aaaa000000002", TOOLS_USER_PROMPT, 5.0)
    run = _run(evaluation["id"], "evalrun_6848e227d3a481918a9b970c897b5998", "gpt-4.1-mini",
               "gpt-4.1-mini", _code_source("responses", "gpt-4.1-mini", {
                   "tools": [{"type": "function", **SYMBOL_TOOL}]}), 2)
    return _case("tools_eval_responses", evaluation, run,
                 _outputs(evaluation, run["id"], CODE_ITEMS, _tool_sample),
                 notes=["Grader 'General Evaluator' (score_model) calls a judge"],
                 not_notes=["disabled", "does not load", "tools", "Retired"])


# -- structured-outputs-evaluation.ipynb: response_format (chat) and text.format (responses) -----
# source: COOKBOOK + "structured-outputs-evaluation.ipynb" (cells "Dataset factory & grading
# rubric", "Kick off model runs")
STRUCTURED_USER_PROMPT = """
<Code File>
{{item.input}}
</Code File>

<Extracted Information>
{{sample.output_json.symbols}}
</Extracted Information>
"""
PYTHON_SYMBOLS_SCHEMA = {
    "type": "object",
    "properties": {
        "symbols": {
            "type": "array",
            "description": "A list of symbols extracted from Python code.",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "The name of the symbol."},
                    "symbol_type": {
                        "type": "string", "description": "The type of the symbol, e.g., variable, function, class.",
                    },
                },
                "required": ["name", "symbol_type"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["symbols"],
    "additionalProperties": False,
}


def _json_sample(item: dict[str, Any]) -> dict[str, Any]:
    return {"output": [{"role": "assistant", "content": json.dumps(SYMBOLS)}],
            "finish_reason": "stop", "error": None}


def structured_chat() -> Case:
    evaluation = _code_eval("eval_68487dstruct0081918ec257100000001", STRUCTURED_USER_PROMPT,
                            5.5)
    run = _run(evaluation["id"], "evalrun_68487dcc749081918ec2571e76cc9ef6", "gpt-4.1",
               "gpt-4.1", _code_source("completions", "gpt-4.1", {"response_format": {
                   "type": "json_schema",
                   "json_schema": {"name": "python_symbols", "schema": PYTHON_SYMBOLS_SCHEMA,
                                   "strict": True}}}), 2)
    return _case("structured_chat", evaluation, run,
                 _outputs(evaluation, run["id"], CODE_ITEMS, _json_sample),
                 notes=["Grader 'General Evaluator' (score_model) calls a judge"],
                 not_notes=["disabled", "does not load", "response_format"])


def structured_responses() -> Case:
    evaluation = _code_eval("eval_68487dstruct0081918ec257100000002", STRUCTURED_USER_PROMPT,
                            5.5)
    run = _run(evaluation["id"], "evalrun_68487dd3c0448191a7e3d8d7b71a6e1c", "gpt-4.1-mini",
               "gpt-4.1-mini", _code_source("responses", "gpt-4.1-mini", {"text": {"format": {
                   "type": "json_schema", "name": "python_symbols",
                   "schema": PYTHON_SYMBOLS_SCHEMA, "strict": True}}}), 2)
    return _case("structured_responses", evaluation, run,
                 _outputs(evaluation, run["id"], CODE_ITEMS, _json_sample),
                 notes=["Grader 'General Evaluator' (score_model) calls a judge"],
                 not_notes=["disabled", "does not load", "text", "format"])


# -- mcp_eval_notebook.ipynb: a label_model judge, a python grader on output_tools, an MCP tool ---
# source: COOKBOOK + "mcp_eval_notebook.ipynb" (cells "Define Grading Logic", "Define the
# Evaluation Configuration", "Run 2: o4-mini using MCP")
PASS_FAIL_GRADER = """
You are a helpful assistant that grades the quality of the answer to a query about a GitHub repo.
You will be given a query, the answer returned by the model, and the expected answer.
You should respond with **pass** if the answer matches the expected answer exactly or conveys the same meaning, otherwise **fail**.
"""
PASS_FAIL_USER_PROMPT = """
<Query>
{{item.query}}
</Query>

<Web Search Result>
{{sample.output_text}}
</Web Search Result>

<Ground Truth>
{{item.answer}}
</Ground Truth>
"""
PYTHON_MCP_GRADER = {
    "type": "python",
    "name": "Assert MCP was used",
    "image_tag": "2025-05-08",
    "pass_threshold": 1.0,
    "source": """
def grade(sample: dict, item: dict) -> float:
    output = sample.get('output_tools', [])
    return 1.0 if len(output) > 0 else 0.0
""",
}
MCP_ITEMS = [
    {"query": "What is tiktoken?",
     "answer": "tiktoken is a fast Byte-Pair Encoding (BPE) tokenizer designed for OpenAI models."},
    {"query": "How do I install the open-source version of tiktoken?",
     "answer": "Install it from PyPI with `pip install tiktoken`."},
]


def mcp_eval() -> Case:
    evaluation = _eval("eval_684769mcp00081918aaaa0000000001", "MCP Eval", {
        "type": "custom",
        "item_schema": {"type": "object", "properties": {
            "query": {"type": "string"}, "answer": {"type": "string"}}},
        "include_sample_schema": True,
    }, [{
        "type": "label_model",
        "name": "General Evaluator",
        "model": "o3",
        "input": [
            {"role": "system", "content": PASS_FAIL_GRADER},
            {"role": "user", "content": PASS_FAIL_USER_PROMPT},
        ],
        "passing_labels": ["pass"],
        "labels": ["pass", "fail"],
    }, PYTHON_MCP_GRADER])
    run = _run(evaluation["id"], "evalrun_684769c1ad9c8191affea5aa02ef1215", "o4-mini",
               "o4-mini", {
                   "type": "responses",
                   "source": {"type": "file_content",
                              "content": [{"item": item} for item in MCP_ITEMS]},
                   "input_messages": {"type": "template", "template": [
                       _message("system", "You are a helpful assistant that searches the web "
                                          "and gives contextually relevant answers."),
                       _message("user", "Search the web for the answer to the query "
                                        "{{item.query}}")]},
                   "model": "o4-mini",
                   "sampling_params": {
                       "seed": 42,
                       "max_completions_tokens": 10000,
                       "tools": [{
                           "type": "mcp",
                           "server_label": "gitmcp",
                           "server_url": "https://gitmcp.io/openai/tiktoken",
                           "allowed_tools": ["search_tiktoken_documentation",
                                             "fetch_tiktoken_documentation"],
                           "require_approval": "never",
                       }],
                   }}, 2)
    return _case("mcp_eval", evaluation, run, _outputs(
        evaluation, run["id"], MCP_ITEMS, lambda item: {
            "output": [{"role": "assistant", "content": item["answer"]}],
            "finish_reason": "stop", "error": None}),
        notes=["Retired: o4-mini (2026-10-23)", "sampling_params.tools[0]: hosted tool 'mcp'",
               "Grader 'General Evaluator' (label_model) calls a judge",
               "Grader 'Assert MCP was used' reads output_tools"],
        not_notes=["does not load"])


# -- completion-monitoring.ipynb: stored_completions, item_reference, label_model o3-mini ---------
# source: COOKBOOK + "completion-monitoring.ipynb" (cells "Setting up your eval", "Creating runs")
GRADER_DEVELOPER_PROMPT = """
Label the following push notification summary as either correct or incorrect.
The push notification and the summary will be provided below.
A good push notificiation summary is concise and snappy.
If it is good, then label it as correct, if not, then incorrect.
"""
GRADER_TEMPLATE_PROMPT = """
Push notifications: {{item.input}}
Summary: {{sample.output_text}}
"""
PUSH_PROMPT = ("\n        You are a helpful assistant that summarizes push notifications.\n"
               "        You are given a list of push notifications and you need to collapse "
               "them into a single one.\n        Output only the final summary, nothing else.\n"
               "        ")
PUSH_ITEMS = [{"input": [{"role": "developer", "content": PUSH_PROMPT},
                         {"role": "user", "content": n}],
               "output": [{"role": "assistant", "content": s}],
               "metadata": {"prompt_version": "v1", "usecase": "push_notifications_summarizer"}}
              for n, s in (
                  ('\n- New message from Sarah: "Can you call me later?"\n- Your package has been '
                   'delivered!\n- Flash sale: 20% off electronics for the next 2 hours!\n',
                   "Sarah asked for a call; package delivered; 20% off electronics."),
                  ("\n- Weather alert: Thunderstorm expected in your area.\n- Reminder: Doctor's "
                   "appointment at 3 PM.\n- John liked your photo on Instagram.\n",
                   "Storm alert; doctor at 3 PM; John liked your photo."))]


def completion_monitoring() -> Case:
    evaluation = _eval("eval_67e0push0081909a86353f6fb9317a00", "Push Notification Completion "
                       "Monitoring", {"type": "stored_completions", "metadata": {
                           "usecase": "push_notifications_summarizer"}}, [{
                               "name": "Push Notification Summary Grader",
                               "type": "label_model",
                               "model": "o3-mini",
                               "input": [
                                   {"role": "developer", "content": GRADER_DEVELOPER_PROMPT},
                                   {"role": "user", "content": GRADER_TEMPLATE_PROMPT},
                               ],
                               "passing_labels": ["correct"],
                               "labels": ["correct", "incorrect"],
                           }])
    run = _run(evaluation["id"], "evalrun_67e0push01", "post-fix-new-model-run-v1", "gpt-4o", {
        "type": "completions",
        "input_messages": {"type": "item_reference", "item_reference": "item.input"},
        "model": "gpt-4o",
        "source": {"type": "stored_completions", "metadata": {"prompt_version": "v1"}},
    }, 2)
    return _case("completion_monitoring", evaluation, run, _outputs(
        evaluation, run["id"], PUSH_ITEMS, lambda item: {
            "output": [{"role": "assistant", "content": "Short summary."}],
            "finish_reason": "stop", "error": None}),
        notes=["Retired: o3-mini (2026-10-23)", "Retired: gpt-4o (2027-01-14)",
               "Grader 'Push Notification Summary Grader' (label_model) calls a judge"],
        not_notes=["disabled", "does not load"])


# -- responses-evaluation.ipynb: logs config, responses source, a placeholder missing a brace ---
# source: COOKBOOK + "responses-evaluation.ipynb" (cells with grader_system_prompt (abridged
# here), logs_eval, gpt_41_run)
UNIVERSAL_SYSTEM = ("\nWe've created a consumer-facing Evals product to help AI integrators "
                    "quickly and clearly understand their models' real-world performance. ...\n"
                    "Given the conversation messages, assign a quality score in the `result` key "
                    "of the response in the inclusive range between 1.0 (poor) and 7.0 "
                    "(excellent).\n")
USER_INPUT_MESSAGE = """**User input**

{{item.input}}

**Response to evaluate**

{{sample.output_text}
"""
CODE_RESPONSES = [{"input": [{"role": "user", "content": [
    {"type": "input_text", "text": "What does this file do?"},
    {"type": "input_text", "text": code["input"]}]}]} for code in CODE_ITEMS]


def responses_logs() -> Case:
    evaluation = _eval("eval_6822dd1c4d308190855601dc7fe982bd", "Code QA Eval",
                       {"type": "logs"}, [{
                           "type": "score_model",
                           "name": "General Evaluator",
                           "model": "o3",
                           "input": [{"role": "system", "content": UNIVERSAL_SYSTEM},
                                     {"role": "user", "content": USER_INPUT_MESSAGE}],
                           "pass_threshold": 0.5,
                       }])
    run = _run(evaluation["id"], "evalrun_6822dd1f89b88190a3287c706fd599f4", "gpt-4.1-mini",
               "gpt-4.1-mini", {
                   "type": "responses",
                   "source": {"type": "responses", "limit": 5},
                   "input_messages": {"type": "item_reference", "item_reference": "item.input"},
                   "model": "gpt-4.1-mini",
               }, 2)
    return _case("responses_logs", evaluation, run, _outputs(
        evaluation, run["id"], CODE_RESPONSES, lambda item: {
            "output": [{"role": "assistant", "content": "It defines helpers."}],
            "finish_reason": "stop", "error": None}),
        notes=["Grader 'General Evaluator' disabled", "The suite does not load yet"],
        disabled=["General Evaluator"])


# -- web-search-evaluation.ipynb: a pass/fail label_model, web_search_preview on responses ------
# source: COOKBOOK + "web-search-evaluation.ipynb" (cells "Define Grading Logic", "Define the
# Evaluation Configuration", "Run the Model")
WEB_GRADER = """
You are a helpful assistant that grades the quality of a web search.
You will be given a query and an answer.
You should grade the quality of the web search.

You should either say "pass" or "fail", if the query contains the answer.

"""
WEB_ITEMS = [{"query": "the city of lights, home to the eiffel tower and louvre museum",
              "answer": "paris"},
             {"query": "founder of microsoft, philanthropist and software pioneer",
              "answer": "bill gates"}]


def web_search_eval() -> Case:
    evaluation = _eval("eval_68477e0f00a481919eea5e7d8a040001", "Web-Search Eval", {
        "type": "custom",
        "item_schema": {"type": "object", "properties": {
            "query": {"type": "string"}, "answer": {"type": "string"}}},
        "include_sample_schema": True,
    }, [{
        "type": "label_model",
        "name": "Web Search Evaluator",
        "model": "o3",
        "input": [{"role": "system", "content": WEB_GRADER},
                  {"role": "user", "content": PASS_FAIL_USER_PROMPT}],
        "passing_labels": ["pass"],
        "labels": ["pass", "fail"],
    }])
    run = _run(evaluation["id"], "evalrun_68477e712bb48191bc7368b084f8c52c", "gpt-4.1-mini",
               "gpt-4.1-mini", {
                   "type": "responses",
                   "source": {"type": "file_content",
                              "content": [{"item": item} for item in WEB_ITEMS]},
                   "input_messages": {"type": "template", "template": [
                       _message("system", "You are a helpful assistant that searches the web "
                                          "and gives contextually relevant answers."),
                       _message("user", "Search the web for the answer to the query "
                                        "{{item.query}}")]},
                   "model": "gpt-4.1-mini",
                   "sampling_params": {"seed": 42, "temperature": 0.7,
                                       "max_completions_tokens": 10000, "top_p": 0.9,
                                       "tools": [{"type": "web_search_preview"}]},
               }, 2)
    return _case("web_search_eval", evaluation, run, _outputs(
        evaluation, run["id"], WEB_ITEMS, lambda item: {
            "output": [{"role": "assistant", "content": item["answer"].title()}],
            "finish_reason": "stop", "error": None}),
        notes=["sampling_params.tools[0]: hosted tool 'web_search_preview'",
               "Grader 'Web Search Evaluator' (label_model) calls a judge"],
        not_notes=["disabled", "does not load", "reads output_tools"])


# -- graders guide: RFT jobs with the guide's graders -------------------------------------------
# source: GUIDE, "Multigraders" (name + email, structured output), "Score model graders" and
# "Python graders" (verbatim; the python grader has no name and no image_tag); RFT job shape: https://platform.openai.com/docs/api-reference/
# fine-tuning/object (method.reinforcement.response_format)
GUIDE_MULTI = {
    "type": "multi",
    "graders": {
        "name": {
            "name": "name_grader",
            "type": "text_similarity",
            "input": "{{sample.output_json.name}}",
            "reference": "{{item.name}}",
            "evaluation_metric": "fuzzy_match",
            "pass_threshold": 0.9,
        },
        "email": {
            "name": "email_grader",
            "type": "string_check",
            "input": "{{sample.output_json.email}}",
            "reference": "{{item.email}}",
            "operation": "eq",
        },
    },
    "calculate_output": "(name + email) / 2",
}
CONTACT_SCHEMA = {"type": "json_schema", "json_schema": {
    "name": "contact", "strict": True, "schema": {
        "type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string"}},
        "required": ["name", "email"], "additionalProperties": False}}}
CONTACT_ROWS = [{"messages": [{"role": "user", "content": f"Extract the contact: {t}"}],
                 "name": n, "email": e} for t, n, e in (
    ("Reach Ada Lovelace at ada@example.com.", "Ada Lovelace", "ada@example.com"),
    ("Grace Hopper (grace@example.org) wrote back.", "Grace Hopper", "grace@example.org"))]


def guide_multi_rft() -> Case:
    job_id = "ftjob-GuideMulti1"
    ft = "ft:o4-mini-2025-04-16:demo:contact:Cc1"
    return Case("guide_multi_rft", "rft-job", job_id, {
        f"/fine_tuning/jobs/{job_id}": _job(job_id, "o4-mini-2025-04-16", GUIDE_MULTI,
                                            valid="file-GuideMultiV", fine_tuned=ft,
                                            extra={"response_format": CONTACT_SCHEMA}),
        f"/fine_tuning/jobs/{job_id}/checkpoints": _checkpoints(job_id, ft, [4]),
        "/files/file-GuideMultiV/content": _jsonl(CONTACT_ROWS),
    }, notes=["Retired: o4-mini (2026-10-23)"], not_notes=["disabled", "does not load"])


GUIDE_SCORE_MODEL = {
    "type": "score_model",
    "name": "my_score_model",
    "input": [
        {"role": "system", "content": "You are an expert grader. If the reference and model "
         "answer are exact matches, output a score of 1. If they are somewhat similar in "
         "meaning, output a score in 0.5. Otherwise, give a score of 0."},
        {"role": "user",
         "content": "Reference: {{ item.reference_answer }}. Model answer: {{ sample.output_text }}"},
    ],
    "pass_threshold": 0.5,
    "model": "o4-mini-2025-04-16",
    "range": [0, 1],
    "sampling_params": {"max_completions_tokens": 32768, "top_p": 1,
                        "reasoning_effort": "medium"},
}
GUIDE_PYTHON = {  # verbatim: no name, no image_tag
    "type": "python",
    "source": """
from rapidfuzz import fuzz, utils

def grade(sample, item) -> float:
    output_text = sample["output_text"]
    reference_answer = item["reference_answer"]
    return fuzz.WRatio(output_text, reference_answer, processor=utils.default_process) / 100.0
""",
}
QA_ROWS = [{"messages": [{"role": "user", "content": q}], "reference_answer": a}
           for q, a in (("What is the capital of France?", "Paris"),
                        ("Who wrote Hamlet?", "William Shakespeare"))]


def guide_score_python_rft() -> Case:
    job_id = "ftjob-GuideScore2"
    grader = {"type": "multi", "graders": {"judge": GUIDE_SCORE_MODEL, "fuzzy": GUIDE_PYTHON},
              "calculate_output": "0.5 * judge + 0.5 * fuzzy"}
    ft = "ft:o4-mini-2025-04-16:demo:qa:Qq2"
    return Case("guide_score_python_rft", "rft-job", job_id, {
        f"/fine_tuning/jobs/{job_id}": _job(job_id, "o4-mini-2025-04-16", grader,
                                            valid="file-GuideScoreV", fine_tuned=ft),
        f"/fine_tuning/jobs/{job_id}/checkpoints": [],
        "/files/file-GuideScoreV/content": _jsonl(QA_ROWS),
    }, notes=["Retired: o4-mini (2026-10-23)"], not_notes=["disabled", "does not load"])


# -- graders guide: the tool-call multi (string_checks on output_tools[0]) on an RFT job whose rows
# carry their tools (RFT input rows: "messages and tools are the only reserved keywords")
# source: GUIDE, "Details on grading tool calls" (verbatim); row shape: https://platform.openai.com/docs/
# api-reference/fine-tuning/reinforcement-input
GUIDE_TOOL_MULTI = {
    "type": "multi",
    "graders": {
        "function_name": {
            "name": "function_name",
            "type": "string_check",
            "input": "get_acceptors",
            "reference": "{{sample.output_tools[0].function.name}}",
            "operation": "eq",
        },
        "arguments": {
            "name": "arguments",
            "type": "string_check",
            "input": "{\"smiles\": \"{{item.smiles}}\"}",
            "reference": "{{sample.output_tools[0].function.arguments}}",
            "operation": "eq",
        },
    },
    "calculate_output": "0.5 * function_name + 0.5 * arguments",
}
ACCEPTORS_TOOL = {"type": "function", "function": {
    "name": "get_acceptors", "description": "Count hydrogen-bond acceptors of a molecule.",
    "parameters": {"type": "object", "properties": {"smiles": {"type": "string"}},
                   "required": ["smiles"], "additionalProperties": False}, "strict": True}}
CHEM_ROWS = [{"messages": [{"role": "user", "content": f"How many acceptors has {s}?"}],
              "tools": [ACCEPTORS_TOOL], "smiles": s} for s in ("CCO", "c1ccccc1O")]


def guide_tool_multi_rft() -> Case:
    job_id = "ftjob-GuideTools3"
    ft = "ft:o4-mini-2025-04-16:demo:chem:Ch3"
    return Case("guide_tool_multi_rft", "rft-job", job_id, {
        f"/fine_tuning/jobs/{job_id}": _job(job_id, "o4-mini-2025-04-16", GUIDE_TOOL_MULTI,
                                            valid="file-GuideToolsV", fine_tuned=ft),
        f"/fine_tuning/jobs/{job_id}/checkpoints": [],
        "/files/file-GuideToolsV/content": _jsonl(CHEM_ROWS),
    }, notes=["Retired: o4-mini (2026-10-23)"], not_notes=["disabled", "does not load"])


CASES = [tools_eval_chat, tools_eval_responses, structured_chat, structured_responses, mcp_eval,
         completion_monitoring, responses_logs, web_search_eval, guide_multi_rft,
         guide_score_python_rft, guide_tool_multi_rft]


# -- regression.ipynb: a jsonl run whose samples are whole ChatCompletion dumps ------------------
# source: COOKBOOK + "regression.ipynb" (cells "Setting up your eval", push_notification_grader,
# "baseline-run": {"item": PushNotifications(...).model_dump(), "sample": result.model_dump()})
REGRESSION_GRADER_PROMPT = """
Push notifications: {{item.notifications}}
Summary: {{sample.output_text}}
"""
NOTIFICATIONS = [
    '\n- New message from Sarah: "Can you call me later?"\n- Your package has been delivered!\n'
    '- Flash sale: 20% off electronics for the next 2 hours!\n',
    "\n- Weather alert: Thunderstorm expected in your area.\n- Reminder: Doctor's appointment "
    "at 3 PM.\n- John liked your photo on Instagram.\n"]
SUMMARIES = ["Sarah wants a call; package delivered; 20% off electronics for 2 hours.",
             "Thunderstorm alert, doctor at 3 PM, and John liked your photo."]


def _completion_dump(n: int) -> dict[str, Any]:
    return {"id": f"chatcmpl-Reg{n}", "object": "chat.completion", "created": 1741000000 + n,
            "model": "gpt-4o-mini-2024-07-18", "service_tier": "default",
            "system_fingerprint": "fp_06737a9306",
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None, "message": {
                "role": "assistant", "content": SUMMARIES[n], "refusal": None,
                "annotations": [], "audio": None, "function_call": None, "tool_calls": None}}],
            "usage": {"prompt_tokens": 60, "completion_tokens": 15, "total_tokens": 75,
                      "completion_tokens_details": None, "prompt_tokens_details": None}}


def regression_jsonl() -> Case:
    evaluation = _eval("eval_67e57965b480819094274e3a32235e4c", "Push Notification Summary "
                       "Workflow", {
                           "type": "custom",
                           "item_schema": {"properties": {"notifications": {
                               "title": "Notifications", "type": "string"}},
                               "required": ["notifications"], "title": "PushNotifications",
                               "type": "object"},
                           "include_sample_schema": True,
                       }, [{
                           "name": "Push Notification Summary Grader",
                           "type": "label_model",
                           "model": "o3-mini",
                           "input": [
                               {"role": "developer", "content": GRADER_DEVELOPER_PROMPT},
                               {"role": "user", "content": REGRESSION_GRADER_PROMPT},
                           ],
                           "passing_labels": ["correct"],
                           "labels": ["correct", "incorrect"],
                       }])
    items = [{"notifications": n} for n in NOTIFICATIONS]
    content = [{"item": item, "sample": _completion_dump(n)} for n, item in enumerate(items)]
    run = _run(evaluation["id"], "evalrun_67e579652b548190aaa83ada4ee7b2b5", "baseline-run",
               None, {"type": "jsonl", "source": {"type": "file_content", "content": content}},
               2)
    return _case("regression_jsonl", evaluation, run, _outputs(
        evaluation, run["id"], items, lambda item: {
            "output": [{"role": "assistant",
                        "content": SUMMARIES[NOTIFICATIONS.index(item["notifications"])]}],
            "finish_reason": "stop", "model": "gpt-4o-mini-2024-07-18", "error": None}),
        notes=["Retired: o3-mini (2026-10-23)",
               "Grader 'Push Notification Summary Grader' (label_model) calls a judge"],
        not_notes=["disabled", "does not load", "No prompt", "No model"])


CASES.append(regression_jsonl)


# -- graders guide: the label_model example (sampling_params.max_tokens), every text_similarity
# metric the guide lists (cosine: "only available for evals") --------------------------------
# source: GUIDE, "Label model graders" (verbatim) and "Text similarity grader" (metric list)
GUIDE_LABEL = {
    "type": "label_model",
    "name": "my_label_model",
    "input": [
        {"role": "system", "content": "You are an expert grader."},
        {"role": "user", "content": "Classify this: {{ sample.output_text }} as either good or "
                                    "bad, where closer to 1 is good."},
    ],
    "passing_labels": ["good"],
    "labels": ["good", "bad"],
    "model": "o3-mini-2024-01-31",
    "sampling_params": {"max_tokens": 32768, "top_p": 1, "seed": 42, "reasoning_effort": "medium"},
}
GUIDE_METRICS = ["fuzzy_match", "bleu", "gleu", "meteor", "cosine", "rouge_1", "rouge_2",
                 "rouge_3", "rouge_4", "rouge_5", "rouge_l"]
FUZZY_ITEMS = [{"reference_answer": "fuzzy wuzzy had no hair"},
               {"reference_answer": "fuzzy wuzzy was a bear"}]


def guide_label_eval() -> Case:
    criteria = [GUIDE_LABEL] + [{
        "type": "text_similarity", "name": f"similarity {m}", "input": "{{ sample.output_text }}",
        "reference": "{{ item.reference_answer }}", "pass_threshold": 0.5,
        "evaluation_metric": m} for m in GUIDE_METRICS]
    evaluation = _eval("eval_68a0guide0081909a86353f6fb9310001", "Guide graders", {
        "type": "custom", "item_schema": {"type": "object", "properties": {
            "reference_answer": {"type": "string"}}}, "include_sample_schema": True}, criteria)
    run = _run(evaluation["id"], "evalrun_68a0guide01", "gpt-4.1-nano", "gpt-4.1-nano", {
        "type": "completions",
        "source": {"type": "file_content", "content": [{"item": i} for i in FUZZY_ITEMS]},
        "input_messages": {"type": "template", "template": [
            {"role": "user", "content": "Say: {{ item.reference_answer }}"}]},
        "model": "gpt-4.1-nano", "sampling_params": {"temperature": 0}}, 2)
    return _case("guide_label_eval", evaluation, run, _outputs(
        evaluation, run["id"], FUZZY_ITEMS, lambda item: {
            "output": [{"role": "assistant", "content": item["reference_answer"]}],
            "finish_reason": "stop", "error": None}),
        notes=["Retired: o3-mini (2026-10-23)",
               "Grader 'my_label_model' (label_model) calls a judge",
               "Grader 'similarity cosine' (cosine) calls an embeddings model"],
        not_notes=["disabled", "does not load", "Results of unknown"])


# -- the RFT guide's security review: multi of a score_model (EvalItem-typed message, no range)
# and a string_check on output_json; response_format security_assistant -----------------------
# source: https://platform.openai.com/docs/guides/reinforcement-fine-tuning ("Example:
# LLM-powered security review": grader configuration, grading prompt (abridged in the middle),
# test set, Structured Outputs JSON schema)
SECURITY_PROMPT = """# Overview

Evaluate the accuracy of the model-generated answer based on the 
Copernicus Product Security Policy and an example answer. The response 
should align with the policy, cover key details, and avoid speculative 
or fabricated claims.

Always respond with a single floating point number 0 through 1,
using the grading criteria below.

## Grading Criteria:
- **1.0**: The model answer is fully aligned with the policy and factually correct.
- **0.0**: The model answer is completely incorrect, hallucinates policy details, or is irrelevant.

Reference Answer: {{item.explanation}}
Model Answer: {{sample.output_json.explanation}}
"""
SECURITY_GRADER = {
    "type": "multi",
    "graders": {
        "explanation": {
            "name": "Explanation text grader",
            "type": "score_model",
            "input": [{"role": "user", "type": "message", "content": SECURITY_PROMPT}],
            "model": "gpt-4o-2024-08-06",
        },
        "compliant": {
            "name": "compliant",
            "type": "string_check",
            "reference": "{{item.compliant}}",
            "operation": "eq",
            "input": "{{sample.output_json.compliant}}",
        },
    },
    "calculate_output": "0.5 * compliant + 0.5 * explanation",
}
SECURITY_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "security_assistant",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"compliant": {"type": "string"}, "explanation": {"type": "string"}},
            "required": ["compliant", "explanation"],
            "additionalProperties": False,
        },
    },
}
SECURITY_TEST_SET = b"""{"messages":[{"role":"user","content":"Will our data be encrypted at rest?"}],"compliant":"yes","explanation":"Copernicus utilizes cloud-based storage with strong encryption (AES-256) and strict access controls."}
{"messages":[{"role":"user","content":"Will data transmitted to/from your services be encrypted in transit?"}],"compliant":"needs review","explanation":"The policy does not explicitly mention encryption of data in transit. It focuses on encryption in cloud storage."}
{"messages":[{"role":"user","content":"Do you enforce multi-factor authentication (MFA) internally?"}],"compliant":"yes","explanation":"The policy explicitly mentions role-based authentication with multi-factor security."}
"""


def security_rft() -> Case:
    job_id = "ftjob-Security01"
    ft = "ft:o4-mini-2025-04-16:demo:security:Sc1"
    return Case("security_rft", "rft-job", job_id, {
        f"/fine_tuning/jobs/{job_id}": _job(job_id, "o4-mini-2025-04-16", SECURITY_GRADER,
                                            valid="file-SecurityTest", fine_tuned=ft,
                                            extra={"response_format": SECURITY_SCHEMA}),
        f"/fine_tuning/jobs/{job_id}/checkpoints": _checkpoints(job_id, ft, [6, 12]),
        "/files/file-SecurityTest/content": SECURITY_TEST_SET,
    }, notes=["Retired: o4-mini (2026-10-23)", "Retired: gpt-4o (2027-01-14)",
              "Grader 'grader' (multi) calls a judge"],
        not_notes=["disabled", "does not load"])


# -- a judge-calibration RFT job: abs() in calculate_output, a python passthrough of an item key,
# a judge reading output_json, range [0, 100] ----------------------------------------------------
# source: a public GitHub script (found with the code search "passthrough_grader_v2"):
# create_fine_tuning_job(): judge_grader / passthrough_grader / multi_grader, verbatim
JUDGE_PROMPT = """Assess the assistant's performance in the following conversation on a scale of 0 to 100, based on the grading rubric provided.

### Grading Rubric
{{ sample.output_json.grading_rubric }}

### Assistant
{
    "name": "{{ item.assistant_name }}",
    "description": "{{ item.assistant_description }}"
}

### Conversation
{{ item.conversation_str }}        
"""
CALIBRATION_GRADER = {
    "type": "multi",
    "graders": {
        "actual_score": {
            "type": "score_model",
            "name": "judge_grader",
            "input": [{"role": "user", "content": JUDGE_PROMPT}],
            "model": "o3-2025-04-16",
            "range": [0, 100],
            "sampling_params": {"reasoning_effort": "medium"},
        },
        "expected_score": {
            "type": "python",
            "name": "passthrough_grader_v2",
            "source": "def grade(sample, item):\n    return int(item['expected_judge_score'])",
            "image_tag": "2025-05-08",
        },
    },
    "calculate_output": "(100 - abs(expected_score - actual_score)) / 100",
}
RUBRIC_SCHEMA = {"type": "json_schema", "json_schema": {"name": "response", "strict": True,
                 "schema": {"type": "object", "properties": {"grading_rubric": {"type": "string"}},
                            "required": ["grading_rubric"], "additionalProperties": False}}}
CALIBRATION_ROWS = [{
    "messages": [{"role": "user", "content": "Write a grading rubric for the assistant."}],
    "assistant_name": "Chef Bot", "assistant_description": "Suggests weeknight recipes.",
    "conversation_str": json.dumps([{"role": "user", "content": "Dinner ideas?"},
                                    {"role": "assistant", "content": "Try a stir-fry."}],
                                   indent=4),
    "expected_judge_score": score, "grading_rubric": "Helpful, concrete, safe."}
    for score in (72, 40)]


def calibration_rft() -> Case:
    job_id = "ftjob-JudgeCal01"
    ft = "ft:o4-mini-2025-04-16:demo:judge:Jc1"
    return Case("calibration_rft", "rft-job", job_id, {
        f"/fine_tuning/jobs/{job_id}": _job(
            job_id, "o4-mini-2025-04-16", CALIBRATION_GRADER, valid="file-JudgeCalV",
            fine_tuned=ft, extra={"response_format": RUBRIC_SCHEMA},
            hyper={"reasoning_effort": "medium", "batch_size": 6, "eval_interval": 4,
                   "n_epochs": 2, "learning_rate_multiplier": 2.0}),
        f"/fine_tuning/jobs/{job_id}/checkpoints": [],
        "/files/file-JudgeCalV/content": _jsonl(CALIBRATION_ROWS),
    }, notes=["Retired: o4-mini (2026-10-23)"], not_notes=["disabled", "does not load"])


CASES += [guide_label_eval, security_rft, calibration_rft]


# -- the API reference's "Run grader" example: a multi whose graders are a LIST, and a formula
# with an unbalanced ')' -- the platform's validator rejects it; a team that copied it gets one
# clear note, not "without sub-graders" -------------------------------------------------------
# source: https://platform.openai.com/docs/api-reference/graders/multi (example, verbatim)
API_REFERENCE_MULTI = {
    "type": "multi",
    "graders": [
        {
            "type": "text_similarity",
            "name": "Example text similarity grader",
            "input": "The graded text",
            "reference": "The reference text",
            "evaluation_metric": "fuzzy_match",
        },
        {
            "type": "string_check",
            "name": "Example string check grader",
            "input": "{{sample.output_text}}",
            "reference": "{{item.label}}",
            "operation": "eq",
        },
    ],
    "calculate_output": "0.5 * text_similarity_score +  0.5 * string_check_score)",
}


def api_reference_multi_rft() -> Case:
    job_id = "ftjob-ApiRefMulti"
    ft = "ft:o4-mini-2025-04-16:demo:label:Lb1"
    return Case("api_reference_multi_rft", "rft-job", job_id, {
        f"/fine_tuning/jobs/{job_id}": _job(job_id, "o4-mini-2025-04-16", API_REFERENCE_MULTI,
                                            valid="file-ApiRefV", fine_tuned=ft),
        f"/fine_tuning/jobs/{job_id}/checkpoints": [],
        "/files/file-ApiRefV/content": _jsonl([
            {"messages": [{"role": "user", "content": "Label: spam or ham? 'WIN A PRIZE'"}],
             "label": "spam"}]),
    }, notes=["Grader 'grader' disabled", "The suite does not load yet"], disabled=["grader"])


CASES.append(api_reference_multi_rft)


# -- EvalsAPI_Audio_Inputs.ipynb: the only user message is an input_audio part -------------------
# source: COOKBOOK + "EvalsAPI_Audio_Inputs.ipynb" (data_source_config, grader_config,
# sampling_messages, the eval run; audio shortened)
AUDIO_ITEMS = [{"id": n, "category": "formal_fallacies", "official_answer": a,
                "audio_base64": "UklGRjrODwBXQVZFZm10IBAAAAABAAEAIlYAAESsA" + str(n)}
               for n, a in ((0, "invalid"), (1, "valid"))]


def audio_eval() -> Case:
    evaluation = _eval("eval_68b0audio0081909a86353f6fb9310001", "Audio Grading Cookbook", {
        "type": "custom",
        "item_schema": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "category": {"type": "string"},
                "official_answer": {"type": "string"},
                "audio_base64": {"type": "string"},
            },
            "required": ["id", "category", "official_answer", "audio_base64"],
        },
        "include_sample_schema": True,
    }, [{
        "type": "string_check",
        "name": "String check grader",
        "input": "{{sample.output_text}}",
        "reference": "{{item.official_answer}}",
        "operation": "like",
    }])
    run = _run(evaluation["id"], "evalrun_68b0audio01", "Audio Input Eval Run",
               "gpt-4o-audio-preview", {
                   "type": "completions",
                   "source": {"type": "file_id", "id": "file-AudioItems"},
                   "model": "gpt-4o-audio-preview",
                   "input_messages": {"type": "template", "template": [
                       {"role": "system", "content": "You are a helpful assistant that can "
                        "answer questions with the audio input. You will be given an audio input "
                        "and a question. You will need to answer the question based on the audio "
                        "input."},
                       {"role": "user", "type": "message", "content": {
                           "type": "input_audio",
                           "input_audio": {"data": "{{ item.audio_base64 }}", "format": "wav"}}},
                   ]}}, 2)
    return _case("audio_eval", evaluation, run, _outputs(
        evaluation, run["id"], AUDIO_ITEMS, lambda item: {
            "output": [{"role": "assistant", "content": item["official_answer"]}],
            "finish_reason": "stop", "error": None}),
        files={"file-AudioItems": _jsonl([{"item": i} for i in AUDIO_ITEMS])},
        notes=["input_messages: audio input left out", "input_messages: no user message left"],
        not_notes=["does not load"])


CASES.append(audio_eval)


# -- agentic RFT as the Azure Foundry guide and the agent-RFT pattern write it: job tools with only
# a name and an endpoint (no type, no parameters), max_episode_steps, compute_multiplier ---------
# sources: https://github.com/microsoft/azure-skills (microsoft-foundry skill,
# finetuning/references/agentic-rft.md: tools with server_url + headers, the job's method
# verbatim) and https://agentic-patterns.com/patterns/agent-reinforcement-fine-tuning (tools
# with url + headers). The grader is ours (a string_check on the final answer).
AGENT_TOOLS = [
    {"name": "search", "server_url": "https://your-function-app.azurewebsites.net/api/tools",
     "headers": {"Authorization": "Bearer <your-key>"}},
    {"name": "get_by_id", "server_url": "https://your-function-app.azurewebsites.net/api/tools",
     "headers": {"Authorization": "Bearer <your-key>"}},
    {"name": "read_file", "url": "https://your-tools.modal.run/read_file",
     "headers": {"Authorization": "Bearer YOUR_TOKEN"}},
]
AGENT_ROWS = [{"messages": [{"role": "user", "content": q}], "answer": a} for q, a in (
    ("What was ACME's 2024 revenue?", "$12.4M"), ("Who is ACME's CFO?", "Dana Li"))]


def foundry_agentic_rft() -> Case:
    job_id = "ftjob-AgentFoundry"
    ft = "ft:o4-mini-2025-04-16:demo:agent:Ag1"
    grader = {"type": "string_check", "name": "final_answer", "operation": "ilike",
              "input": "{{sample.output_text}}", "reference": "{{item.answer}}"}
    return Case("foundry_agentic_rft", "rft-job", job_id, {
        f"/fine_tuning/jobs/{job_id}": _job(
            job_id, "o4-mini-2025-04-16", grader, valid="file-AgentFoundryV", fine_tuned=ft,
            extra={"tools": AGENT_TOOLS, "max_episode_steps": 10},
            hyper={"eval_interval": 5, "eval_samples": 10, "compute_multiplier": 1.5,
                   "reasoning_effort": "medium"}),
        f"/fine_tuning/jobs/{job_id}/checkpoints": [],
        "/files/file-AgentFoundryV/content": _jsonl(AGENT_ROWS),
    }, notes=["Tool 'search' ran on an endpoint", "Tool 'get_by_id' ran on an endpoint",
              "Tool 'read_file' ran on an endpoint", "Retired: o4-mini (2026-10-23)"],
        not_notes=["disabled", "does not load"])


CASES.append(foundry_agentic_rft)
