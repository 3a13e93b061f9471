"""Sizes written by people: ``2GB``, ``512MB`` (a leaf module: options import it at start-up)."""

from __future__ import annotations

import re


def parse_size(text: str | int | float | None) -> int | None:
    """``2GB``, ``512MB``, ``1.5G``, ``1048576`` -> bytes; ``0``/``off``/``none`` -> None."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return int(text) or None
    value = str(text).strip().lower()
    if value in ("", "0", "off", "none", "unlimited"):
        return None
    match = re.fullmatch(r"([0-9]*\.?[0-9]+)\s*([kmgt]?)i?b?", value)
    if not match:
        raise ValueError(f"not a size: {text!r} (write e.g. 2GB, 512MB or a number of bytes)")
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[match.group(2)]
    return int(float(match.group(1)) * scale) or None
