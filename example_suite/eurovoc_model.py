"""A small real model under test: a bag-of-words multi-label classifier for EuroVoc domains.

Two checkpoints of the same model are registered, so the suite can show a gate passing
(``eurovoc-clf-v2``, well trained) and failing (``eurovoc-clf-v1``, an early checkpoint).
They sample like an LLM: at temperature T each label is kept with probability
``sigmoid(logit / T)``, drawn from a generator seeded by (seed, item, repeat); at T = 0 the
answer is deterministic (every label with p >= 0.5). Only numpy is needed at run time.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

import pytest_rft

CHECKPOINTS = Path(__file__).resolve().parent / "model" / "checkpoints"
STOPWORDS = frozenset(
    "and are for from into its not such that the their them this those under which with within"
    .split())


def tokens(text: str) -> list[str]:
    """The model's features: lowercased words of 3+ letters, minus stopwords, cut to their
    first 5 letters (a crude stemmer: "finance" and "financial" both become "finan")."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return [w[:5] for w in words if len(w) > 2 and w not in STOPWORDS]


class Checkpoint:
    """Weights of one checkpoint: ``logits(text)`` gives one score per label code."""

    def __init__(self, path: Path):
        data = json.loads(path.read_text())
        self.labels: list[str] = data["labels"]
        self.index = {term: i for i, term in enumerate(data["vocabulary"])}
        self.weights = np.asarray(data["weights"], dtype=np.float64)  # (vocabulary, labels)
        self.bias = np.asarray(data["bias"], dtype=np.float64)
        self.metadata: dict = data["metadata"]

    def logits(self, text: str) -> np.ndarray:
        """Bias plus the weight rows of the known terms in ``text`` (each counted once)."""
        rows = [self.index[t] for t in set(tokens(text)) if t in self.index]
        return self.bias + self.weights[rows].sum(axis=0)


@lru_cache(maxsize=None)
def load(name: str) -> Checkpoint:
    """Load ``model/checkpoints/<name>.json`` once."""
    return Checkpoint(CHECKPOINTS / f"{name}.json")


def probabilities(text: str, checkpoint_name: str) -> dict[str, float]:
    """Per-label probabilities at temperature 1, ``{code: p}``."""
    ckpt = load(checkpoint_name)
    p = _sigmoid(ckpt.logits(text))
    return {code: float(pi) for code, pi in zip(ckpt.labels, p)}


def classify(text: str, checkpoint_name: str, *, temperature: float = 1.0,
             rng: np.random.Generator | None = None) -> list[str]:
    """Label codes for ``text``: sampled at ``temperature`` > 0, the p >= 0.5 ones at 0.
    Never empty: falls back to the most probable label."""
    ckpt = load(checkpoint_name)
    logits = ckpt.logits(text)
    if temperature <= 0:
        keep = logits >= 0
    else:
        rng = rng or np.random.default_rng()
        keep = rng.random(len(logits)) < _sigmoid(logits / temperature)
    if not keep.any():
        keep[np.argmax(logits)] = True
    return [code for code, k in zip(ckpt.labels, keep) if k]


def predict_with(checkpoint_name: str, request) -> str:
    """Answer one request of the suite with a checkpoint, as JSON text.

    The text to classify is the last user message. The draw is seeded from the request's
    seed, item id and repeat, so repeats differ and reruns agree (also without a seed)."""
    users = [m for m in request.messages if m["role"] == "user"]
    if not users:
        raise ValueError("the request has no user message to classify")
    text = _text(users[-1]["content"])
    temperature = float(request.sampling.get("temperature", 1.0))
    seed = request.sampling.get("seed")
    key = f"{seed}|{request.item_id}|{request.repeat}".encode()
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(key).digest()[:8], "little"))
    codes = classify(text, checkpoint_name, temperature=temperature, rng=rng)
    return json.dumps({"level1": [{"code": c} for c in codes]})


@pytest_rft.model("eurovoc-clf-v2")
def predict_v2(request) -> str:
    """The release candidate."""
    return predict_with("eurovoc-clf-v2", request)


@pytest_rft.model("eurovoc-clf-v1")
def predict_v1(request) -> str:
    """An early checkpoint: fewer epochs on less data."""
    return predict_with("eurovoc-clf-v1", request)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def _text(content) -> str:
    """Message content as text (a string, or a list of ``{"type": "text", "text": ...}`` parts)."""
    if isinstance(content, str):
        return content
    return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
