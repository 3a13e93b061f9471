"""Budgets: max_tokens / max_cost per suite, --rft-budget-tokens / --rft-budget-cost per run."""

from __future__ import annotations

import json

import pytest

from pytest_rft.backends.budget import Budget, cost_of, price_for
from pytest_rft.core.records import Usage
from tests.backends.test_openai_e2e import project, run  # noqa: F401  (fixture)


def test_prices_resolve_snapshots_and_fine_tunes() -> None:
    assert price_for("gpt-4.1-mini") == (0.40, 0.10, 1.60)
    assert price_for("gpt-4.1-mini-2025-04-14") == price_for("gpt-4.1-mini")
    assert price_for("ft:gpt-4.1-mini-2025-04-14:acme:x:AbC:ckpt-step-9") == price_for("gpt-4.1-mini")
    assert price_for("my-local-llama") is None


def test_cost_bills_cached_input_at_its_rate() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=500_000, reasoning_tokens=100,
                  cached_tokens=400_000)
    assert cost_of(usage, (2.0, 0.5, 8.0)) == pytest.approx(0.6 * 2 + 0.4 * 0.5 + 0.5 * 8)
    assert cost_of(None, (2.0, 0.5, 8.0)) == 0


def test_limits_apply_to_their_suite_and_the_run() -> None:
    budget = Budget(tokens=100, suites={"a": (10, None), "b": (None, None)})
    assert [limit.where for limit in budget.limits("a")] == ["run", "suite 'a'"]
    assert [limit.where for limit in budget.limits("b")] == ["run"]
    budget.charge("a", Usage(input_tokens=6, output_tokens=4), 0.0)
    assert budget.suites["a"].exhausted() and not budget.run.exhausted()


def _samples(report):
    data = json.loads(report.read_text())
    return [s for item in data["suites"][0]["items"] for s in item["samples"]]


def test_suite_token_budget_stops_new_calls(project, openai_server, tmp_path):  # noqa: F811
    pytester = project(n_items=6, repeats=2)
    suite = pytester.path / "rft_arith.yaml"
    suite.write_text(suite.read_text().replace("suite: arith\n", "suite: arith\nmax_tokens: 50\n"))
    report = tmp_path / "r.json"
    result = run(pytester, openai_server, "--rft-model=m", "--rft-concurrency=1",
                 f"--rft-report={report}", "-v")
    samples = _samples(report)
    done = [s for s in samples if s["error"] is None]
    spent = [s["usage"]["input_tokens"] + s["usage"]["output_tokens"] for s in done]
    # calls stop as soon as 50 tokens are spent: every call made was needed, none more
    assert len(openai_server.log) == len(done) and 0 < len(done) < 12
    assert sum(spent[:-1]) < 50 <= sum(spent)
    failed = [s for s in samples if s["error"] is not None]
    assert {s["error_cause"] for s in failed} == {"budget exhausted"}
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "*model call failed: budget exhausted: suite 'arith' token budget 50 spent*",
        f"*rft: budget: run: {sum(spent)} tokens*; suite 'arith': {sum(spent)} tokens, * of 50 tokens*"])


def test_run_cost_budget_with_list_prices(project, openai_server, tmp_path):  # noqa: F811
    pytester = project(n_items=6, repeats=2)
    report = tmp_path / "r.json"
    result = run(pytester, openai_server, "--rft-model=gpt-4.1-mini", "--rft-concurrency=1",
                 "--rft-budget-cost=0.00003", f"--rft-report={report}")
    done = [s for s in _samples(report) if s["error"] is None]
    assert len(openai_server.log) == len(done) and 0 < len(done) < 12
    result.stdout.fnmatch_lines(["*budget exhausted: run cost budget $3e-05 spent*"])


def test_cost_budget_on_an_unpriced_model_is_a_clear_error(project, openai_server):  # noqa: F811
    pytester = project(n_items=2, repeats=1)
    result = run(pytester, openai_server, "--rft-model=my-llama", "--rft-budget-cost=1")
    result.stdout.fnmatch_lines(["*model 'my-llama' has no price*use a token budget*"])
    assert openai_server.log == []


def test_no_budget_no_wrapper(project, openai_server):  # noqa: F811
    pytester = project(n_items=2, repeats=1)
    result = run(pytester, openai_server, "--rft-model=m")
    assert result.ret == 0 and "rft: budget" not in result.stdout.str()
