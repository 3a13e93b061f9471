"""Spending limits: tokens and dollars per suite (``max_tokens`` / ``max_cost`` in the suite
file) and per run (``--rft-budget-tokens`` / ``--rft-budget-cost``).

A :class:`BudgetBackend` wraps a model backend: before each call it checks every limit that
applies (the run's, the request's suite's) and, once one is spent, starts no more calls -- the
remaining samples become errors with cause ``budget exhausted`` (an error, never a zero, so the
error gate fails the build). Calls already in flight finish and are counted, so a limit can be
overshot by at most the calls in flight (``--rft-concurrency``). Answers from ``--rft-cache``
cost nothing and are not counted.

Cost is computed from the price table below (USD per million tokens, OpenAI list prices), keyed
by model name; dated snapshots (``gpt-4.1-2025-04-14``) and fine-tuned models and checkpoints
(``ft:gpt-4.1-mini:org::id``) use their base model's price. Reasoning tokens are part of the
output tokens and cached input tokens are billed at the cached rate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .base import Backend, CallError
from ..core.records import Completion, Request, Usage

PRICES: dict[str, tuple[float, float, float]] = {
    # model: (input, cached input, output) in USD per 1M tokens
    "gpt-4.1": (2.00, 0.50, 8.00),
    "gpt-4.1-mini": (0.40, 0.10, 1.60),
    "gpt-4.1-nano": (0.10, 0.025, 0.40),
    "gpt-4o": (2.50, 1.25, 10.00),
    "gpt-4o-mini": (0.15, 0.075, 0.60),
    "o4-mini": (1.10, 0.275, 4.40),
    "o3": (2.00, 0.50, 8.00),
    "o3-mini": (1.10, 0.55, 4.40),
    "o1": (15.00, 7.50, 60.00),
    "gpt-5": (1.25, 0.125, 10.00),
    "gpt-5-mini": (0.25, 0.025, 2.00),
    "gpt-5-nano": (0.05, 0.005, 0.40),
}
_DATED = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def price_for(model: str, prices: dict[str, tuple[float, float, float]] | None = None
              ) -> tuple[float, float, float] | None:
    """(input, cached input, output) USD per 1M tokens, or None when the model is not priced."""
    table = PRICES if prices is None else prices
    name = model
    if name.startswith("ft:"):
        name = name.split(":")[1]
    for candidate in (model, name, _DATED.sub("", name)):
        if candidate in table:
            return table[candidate]
    return None


def cost_of(usage: Usage | None, price: tuple[float, float, float]) -> float:
    if usage is None:
        return 0.0
    fresh = max(0, usage.input_tokens - usage.cached_tokens)
    return (fresh * price[0] + usage.cached_tokens * price[1]
            + usage.output_tokens * price[2]) / 1_000_000


@dataclass
class Limit:
    """One budget (the run's or a suite's) and what has been spent against it."""

    where: str
    tokens: int | None = None
    cost: float | None = None
    spent_tokens: int = 0
    spent_cost: float = 0.0

    def exhausted(self) -> str | None:
        if self.tokens is not None and self.spent_tokens >= self.tokens:
            return (f"{self.where} token budget {self.tokens:,} spent "
                    f"({self.spent_tokens:,} tokens)")
        if self.cost is not None and self.spent_cost >= self.cost:
            return f"{self.where} cost budget ${self.cost:g} spent (${self.spent_cost:.4f})"
        return None


class Budget:
    """The run's limit and each suite's, shared by the backends of every model."""

    def __init__(self, tokens: int | None = None, cost: float | None = None,
                 suites: dict[str, tuple[int | None, float | None]] | None = None):
        self.run = Limit("run", tokens, cost)
        self.suites = {name: Limit(f"suite {name!r}", t, c)
                       for name, (t, c) in (suites or {}).items() if t is not None or c is not None}

    def limits(self, suite: str) -> list[Limit]:
        found = [self.run]
        if suite in self.suites:
            found.append(self.suites[suite])
        return found

    def needs_prices(self) -> bool:
        return any(limit.cost is not None for limit in [self.run, *self.suites.values()])

    def charge(self, suite: str, usage: Usage | None, cost: float) -> None:
        tokens = usage.input_tokens + usage.output_tokens if usage else 0
        for limit in self.limits(suite):
            limit.spent_tokens += tokens
            limit.spent_cost += cost

    def note(self) -> str:
        parts = []
        for limit in [self.run, *self.suites.values()]:
            caps = [f"{limit.tokens:,} tokens" if limit.tokens is not None else "",
                    f"${limit.cost:g}" if limit.cost is not None else ""]
            cap = " and ".join(c for c in caps if c) or "no limit"
            parts.append(f"{limit.where}: {limit.spent_tokens:,} tokens, "
                         f"${limit.spent_cost:.4f} spent of {cap}")
        return "rft: budget: " + "; ".join(parts)


class BudgetBackend:
    """Wraps a backend: no call starts once a limit that applies to it is spent."""

    def __init__(self, inner: Backend, budget: Budget, model: str, *, priced: bool = True):
        self.inner = inner
        self.name = inner.name
        self.budget = budget
        self.model = model
        self.price = price_for(model) if priced else (0.0, 0.0, 0.0)

    def request_body(self, request: Request):  # the cache keys on the inner backend's body
        from .cache import request_body

        return request_body(self.inner, request)

    async def complete(self, request: Request) -> Completion:
        if self.price is None and self.budget.needs_prices():
            raise CallError("no price", f"a cost budget is set but model {self.model!r} has no "
                                        "price in pytest_rft.backends.budget.PRICES; use a token "
                                        "budget")
        for limit in self.budget.limits(request.suite):
            reason = limit.exhausted()
            if reason is not None:
                raise CallError("budget exhausted", f"budget exhausted: {reason}; no new calls "
                                                    "are started")
        completion = await self.inner.complete(request)
        self.budget.charge(request.suite, completion.usage,
                           cost_of(completion.usage, self.price) if self.price else 0.0)
        return completion

    async def aclose(self) -> None:
        await self.inner.aclose()
