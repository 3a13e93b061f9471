"""Registers the example suite's embedded model checkpoints (see eurovoc_model.py)."""

import eurovoc_model  # noqa: F401  (registers eurovoc-clf-v1 and eurovoc-clf-v2)
