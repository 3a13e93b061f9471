"""A small agent under test: the support agent of an online shop, with two checkpoints.

It reads the conversation, picks an intent (order status, tracking, refund, help centre, hand
over to a human, small talk) from keyword scores, sampled like an LLM (softmax at the request's
temperature, seeded by (seed, item, repeat): repeats differ, reruns agree), then acts with the
tools the request offers: it pulls order ids and tracking numbers out of the conversation (tool
results included), chains calls (an order's tracking number, then the parcel), and answers from
the tools' results. Only the standard library is needed.

``support-agent-v2`` is the release candidate. ``support-agent-v1`` is an earlier checkpoint:
it knows fewer words, and it tracks a parcel with the order id instead of looking the order up
for its tracking number first.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re

import pytest_rft
from pytest_rft import Completion, tool_call

INTENTS = ("status", "track", "refund", "faq", "human", "chat")
KEYWORDS = {
    "status": {"status": 2.5, "order": 1.0, "check": 2.0, "shipped": 1.5, "arrived": 1.5, "yet": 1.0,
               "processing": 1.5, "placed": 1.0, "happened": 1.0, "update": 1.0},
    "track": {"track": 3.0, "tracking": 3.0, "parcel": 2.5, "package": 2.0, "courier": 2.5,
              "where": 1.5, "arrive": 2.0, "eta": 2.5, "now": 0.5, "delivery": 1.0},
    "refund": {"refund": 3.5, "money": 2.0, "broken": 2.0, "damaged": 2.0, "cracked": 2.0,
               "wrong": 1.5, "reimburse": 3.0, "back": 0.5},
    "faq": {"policy": 2.5, "how": 1.0, "cost": 2.0, "free": 1.5, "pay": 2.0, "paypal": 2.5,
            "warranty": 3.0, "hours": 2.5, "open": 1.5, "return": 1.5, "returns": 2.5,
            "shipping": 2.0, "do": 0.5, "accept": 1.5},
    "human": {"human": 4.0, "person": 3.0, "manager": 3.5, "lawyer": 4.0, "complaint": 2.5,
              "unacceptable": 2.5, "real": 1.0, "agent": 1.5},
    "chat": {"thanks": 3.0, "thank": 3.0, "hello": 2.0, "bye": 3.0, "great": 1.0},
}
EARLY_GAPS = {"parcel", "courier", "eta", "person", "manager", "reimburse", "paypal", "accept",
              "check"}
"""Words the early checkpoint never learned."""
BIAS = {"chat": 0.8}
ORDER = re.compile(r"\bA\d{4}\b", re.IGNORECASE)
TRACKING = re.compile(r"\b1Z\w{9}\b")
FAQ_TOPICS = {"return": "returns", "returns": "returns", "refund": "returns",
              "shipping": "shipping", "delivery": "shipping", "pay": "payment",
              "paypal": "payment", "card": "payment", "warranty": "warranty",
              "guarantee": "warranty", "hours": "hours", "open": "hours"}


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def _text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def intent_logits(messages: list[dict], early: bool) -> list[float]:
    """Keyword scores of each intent: the last user message counts fully, earlier ones 0.4."""
    users = [_text(m) for m in messages if m.get("role") == "user"]
    scores = dict.fromkeys(INTENTS, 0.0)
    for weight, text in [(0.4, t) for t in users[:-1]] + [(1.0, users[-1] if users else "")]:
        for word in set(words(text)):
            if early and word in EARLY_GAPS:
                continue
            for intent, table in KEYWORDS.items():
                scores[intent] += weight * table.get(word, 0.0)
    return [scores[i] + BIAS.get(i, 0.0) for i in INTENTS]


def pick_intent(logits: list[float], temperature: float, rng: random.Random) -> str:
    if temperature <= 0:
        return INTENTS[max(range(len(INTENTS)), key=logits.__getitem__)]
    top = max(logits)
    weights = [math.exp((x - top) / temperature) for x in logits]
    return rng.choices(INTENTS, weights)[0]


def _last(pattern: re.Pattern, messages: list[dict]) -> str | None:
    """The last match in the conversation (tool results included)."""
    found = None
    for message in messages:
        for match in pattern.findall(_text(message)):
            found = match.upper()
    return found


def _reason(text: str) -> str:
    w = set(words(text))
    if w & {"broken", "damaged", "cracked"}:
        return "damaged"
    if w & {"wrong", "different", "described"}:
        return "not_as_described"
    return "changed_mind"


def _since_last_call(messages: list[dict]) -> list[dict]:
    """The tool results answering the conversation's last tool calls."""
    out = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        out.insert(0, message)
    return out


def act(intent: str, messages: list[dict], tools: set[str], early: bool) -> str | Completion:
    """The agent's next move: a reply, or tool calls."""
    results = _since_last_call(messages)
    order = _last(ORDER, messages)
    tracking = _last(TRACKING, messages)
    if results:
        return after_tools(intent, results, tracking, tools, early)
    last_user = next((_text(m) for m in reversed(messages) if m.get("role") == "user"), "")

    def call(name: str, **arguments) -> Completion | str:
        if name not in tools:
            return "I can't do that here, sorry."
        return Completion(tool_calls=[tool_call(name, arguments)])

    if intent == "status":
        return call("lookup_order", order_id=order) if order else \
            "Could you give me your order number (it looks like A1234)?"
    if intent == "track":
        if tracking:
            return call("track_shipment", tracking_number=tracking)
        if order:
            return call("track_shipment", tracking_number=order) if early else \
                call("lookup_order", order_id=order)
        return "Could you give me your order number or tracking number?"
    if intent == "refund":
        said = " ".join(_text(m) for m in messages if m.get("role") == "user")
        return call("refund_order", order_id=order, reason=_reason(said)) if order else \
            "Which order would you like refunded? Please give me its number."
    if intent == "faq":
        topics = [FAQ_TOPICS[w] for w in words(last_user) if w in FAQ_TOPICS]
        return call("search_faq", query=topics[0] if topics else last_user)
    if intent == "human":
        return call("escalate_to_human", reason="the customer asked for a person"
                    if "human" in last_user.lower() or "person" in last_user.lower()
                    else "an unhappy customer")
    return "You're welcome! Anything else I can help with?"


def after_tools(intent: str, results: list[dict], tracking: str | None, tools: set[str],
                early: bool) -> str | Completion:
    """Answer from the tools' results (or chain: an order's tracking number, then its parcel)."""
    text = _text(results[-1])
    if text.startswith("Error:"):
        return "Sorry, " + text.removeprefix("Error:").strip() + "."
    data = json.loads(text) if text.startswith("{") else text
    if not isinstance(data, dict):
        return str(data)
    if "refund_id" in data:
        return f"Done: refund {data['refund_id']} of {data['amount']:.2f} EUR is on its way."
    if "location" in data:
        return f"Your parcel is {data['location']}; expected {data['eta']}."
    if intent == "track" and data.get("tracking") and "track_shipment" in tools \
            and data.get("status") == "shipped":
        return Completion(tool_calls=[tool_call("track_shipment",
                                                {"tracking_number": data["tracking"]})])
    status = data.get("status", "unknown")
    when = data.get("delivered") or data.get("shipped")
    return f"Order {data.get('order_id')} is {status}" + (f" ({when})." if when else ".")


def answer(request, checkpoint: str) -> str | Completion:
    early = checkpoint == "support-agent-v1"
    temperature = float(request.sampling.get("temperature", 1.0)) * (2.0 if early else 1.0)
    key = f"{request.sampling.get('seed')}|{request.item_id}|{request.repeat}".encode()
    rng = random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "little"))
    intent = pick_intent(intent_logits(request.messages, early), temperature, rng)
    tools = {t["function"]["name"] for t in request.tools or []}
    return act(intent, request.messages, tools, early)


@pytest_rft.model("support-agent-v2")
def support_v2(request):
    """The release candidate."""
    return answer(request, "support-agent-v2")


@pytest_rft.model("support-agent-v1")
def support_v1(request):
    """An early checkpoint."""
    return answer(request, "support-agent-v1")
