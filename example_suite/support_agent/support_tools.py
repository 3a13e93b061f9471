"""The shop's tools, as the agent under test would call them in production: Python functions
over the shop's data (``data/shop.json``), registered with ``@pytest_rft.tool`` and named in
the suite's ``tool_implementations``. ``escalate_to_human`` has no implementation on purpose:
its call ends the conversation, and is what the graders look at."""

from __future__ import annotations

import datetime
import json
from functools import lru_cache
from pathlib import Path

import pytest_rft
from pytest_rft import ToolError

SHOP = Path(__file__).resolve().parent / "data" / "shop.json"
REFUND_DAYS = 30


@lru_cache(maxsize=None)
def shop() -> dict:
    return json.loads(SHOP.read_text())


def _order(order_id: str) -> dict:
    order = shop()["orders"].get(order_id.strip().upper())
    if order is None:
        raise ToolError(f"no order {order_id!r}")
    return order


@pytest_rft.tool("lookup_order")
def lookup_order(order_id: str) -> dict:
    return {"order_id": order_id.upper(), **_order(order_id)}


@pytest_rft.tool("track_shipment")
def track_shipment(tracking_number: str) -> dict:
    shipment = shop()["shipments"].get(tracking_number.strip().upper())
    if shipment is None:
        raise ToolError(f"no parcel with tracking number {tracking_number!r}")
    return {"tracking_number": tracking_number, **shipment}


@pytest_rft.tool("refund_order")
def refund_order(order_id: str, reason: str) -> dict:
    order = _order(order_id)
    if order["status"] != "delivered":
        raise ToolError(f"order {order_id} is {order['status']}, not delivered: nothing to "
                        "refund yet")
    today = datetime.date.fromisoformat(shop()["today"])
    age = (today - datetime.date.fromisoformat(order["delivered"])).days
    if age > REFUND_DAYS:
        raise ToolError(f"order {order_id} was delivered {age} days ago: refunds close "
                        f"{REFUND_DAYS} days after delivery")
    return {"refund_id": f"R-{order_id.upper()}", "amount": order["total"], "reason": reason}


@pytest_rft.tool("search_faq")
def search_faq(query: str) -> str:
    faq = shop()["faq"]
    words = set(query.lower().split())
    best = max(faq, key=lambda topic: (topic in words) + sum(w in faq[topic].lower()
                                                              for w in words))
    return faq[best]
