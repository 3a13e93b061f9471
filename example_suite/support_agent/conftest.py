"""Registers the support agent's checkpoints and the shop's tools (support_model.py,
support_tools.py)."""

import support_model  # noqa: F401  (support-agent-v1, support-agent-v2)
import support_tools  # noqa: F401  (lookup_order, track_shipment, refund_order, search_faq)
