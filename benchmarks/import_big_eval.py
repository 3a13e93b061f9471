"""Wall time and peak memory of importing a big eval run over HTTP.

Serves an eval of N items (two graders, one output item per item, pages of 100 like the API)
from the local test server on 127.0.0.1, then runs ``pytest-rft import eval`` in this process:
every page is a GET, the data file one more, then the suite, baseline and samples are written.

    python benchmarks/import_big_eval.py [--items 20000]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_rft.cli.main import main  # noqa: E402
from tests.support import platform_fixtures as pf  # noqa: E402
from tests.support.openai_server import OpenAIServer  # noqa: E402


def build(server: OpenAIServer, n: int) -> None:
    pf.install(server)
    items = [{"id": f"q{i}", "question": f"What is {i}+1?", "expected": str(i + 1)}
             for i in range(n)]
    server.platform_objects[f"/files/{pf.DATA_FILE}/content"] = "".join(
        f'{{"item": {{"id": "q{i}", "question": "What is {i}+1?", "expected": "{i + 1}"}}}}\n'
        for i in range(n)).encode()
    run = pf.chat_run()
    run["result_counts"]["total"] = n
    server.platform_objects[f"/evals/{pf.EVAL_ID}/runs"] = [run]
    outputs = []
    for i, item in enumerate(items):
        text = f'{{"answer": "{i + 1 if i % 3 else i}"}}'
        scores = pf.true_scores(text, item["expected"])
        outputs.append({
            "object": "eval.run.output_item", "id": f"oi_{i:07d}", "run_id": pf.RUN_CHAT,
            "eval_id": pf.EVAL_ID, "datasource_item_id": i, "datasource_item": item,
            "results": [{"name": pf.EXACT_ID, "score": scores["Exact answer"]},
                        {"name": pf.CLOSE_ID, "score": scores["Closeness"]}],
            "sample": {"output": [{"role": "assistant", "content": text}],
                       "finish_reason": "stop", "error": None}})
    server.platform_objects[f"/evals/{pf.EVAL_ID}/runs/{pf.RUN_CHAT}/output_items"] = outputs


def main_() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=20_000)
    args = parser.parse_args()
    with OpenAIServer(record_requests=False) as server:
        build(server, args.items)
        os.environ["OPENAI_API_KEY"] = server.api_key
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            code = main(["import", "eval", pf.EVAL_ID, "--out", f"{folder}/x",
                         "--base-url", server.base_url])
            took = time.perf_counter() - started
            pages = sum("/output_items" in p for p in server.get_log)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"import of {args.items:,} output items: exit {code}, {pages} pages, "
          f"{took:.1f} s ({args.items / took:,.0f} items/s), peak RSS {peak:.0f} MB "
          "(the local server included)")


if __name__ == "__main__":
    main_()
