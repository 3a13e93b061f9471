"""Train the two checkpoints of the example model on data/train.jsonl (never on validation).

One-vs-rest logistic regression over a bag of stemmed words (see ``eurovoc_model.tokens``),
weighted by inverse document frequency, fitted in plain numpy by full-batch gradient descent
with an L2 penalty. Positive examples are up-weighted, as each label is rare. Deterministic.

    python example_suite/model/train.py
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from eurovoc_model import tokens  # noqa: E402  (training and inference share the features)

LABELS = ["04", "08", "10", "12", "16", "20", "24", "28", "32", "36", "40",
          "44", "48", "52", "56", "60", "64", "66", "68", "72", "76"]

CHECKPOINTS = {
    # v1: an early checkpoint, after a few epochs on the first 30% of the training set.
    "eurovoc-clf-v1": dict(fraction=0.3, epochs=40, lr=0.5, l2=1e-4, pos_weight=20.0),
    "eurovoc-clf-v2": dict(fraction=1.0, epochs=2000, lr=0.5, l2=1e-4, pos_weight=20.0),
}
MIN_DOCS = 2  # a term must occur in this many training texts to enter the vocabulary


def load(path: Path) -> tuple[list[str], np.ndarray]:
    """Texts and their 0/1 label matrix."""
    records = [json.loads(line) for line in path.open() if line.strip()]
    y = np.array([[float(code in {e["code"] for e in r["level1"]}) for code in LABELS]
                  for r in records])
    return [r["text_input"] for r in records], y


def bag(texts: list[str], vocabulary: list[str]) -> np.ndarray:
    """0/1 matrix: does text i contain term j."""
    index = {term: j for j, term in enumerate(vocabulary)}
    x = np.zeros((len(texts), len(vocabulary)))
    for i, text in enumerate(texts):
        x[i, [index[t] for t in set(tokens(text)) if t in index]] = 1.0
    return x


def fit(x: np.ndarray, y: np.ndarray, *, epochs: int, lr: float, l2: float,
        pos_weight: float) -> tuple[np.ndarray, np.ndarray]:
    """Weights (features, labels) and biases minimising weighted log-loss + L2."""
    prior = y.mean(axis=0).clip(0.01, 0.99)
    w, b = np.zeros((x.shape[1], y.shape[1])), np.log(prior / (1 - prior))
    sample_weight = np.where(y == 1, pos_weight, 1.0)
    for _ in range(epochs):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        grad = (p - y) * sample_weight / len(x)
        w -= lr * (x.T @ grad + l2 * w)
        b -= lr * grad.sum(axis=0)
    return w, b


def train(name: str, texts: list[str], y: np.ndarray, *, fraction: float, **hyper) -> dict:
    n = round(fraction * len(texts))
    texts, y = texts[:n], y[:n]
    docs = Counter(t for text in texts for t in set(tokens(text)))
    vocabulary = sorted(t for t, k in docs.items() if k >= MIN_DOCS)
    idf = np.log(n / np.array([docs[t] for t in vocabulary]))
    w, b = fit(bag(texts, vocabulary) * idf, y, **hyper)
    return {
        "name": name,
        "labels": LABELS,
        "vocabulary": vocabulary,
        "weights": np.round(w * idf[:, None], 4).tolist(),  # idf folded in: x @ (idf * w)
        "bias": np.round(b, 4).tolist(),
        "metadata": {"train_size": n, "vocabulary_size": len(vocabulary), **hyper},
    }


def main() -> None:
    texts, y = load(HERE.parent / "data" / "train.jsonl")
    (HERE / "checkpoints").mkdir(exist_ok=True)
    for name, config in CHECKPOINTS.items():
        checkpoint = train(name, texts, y, **config)
        path = HERE / "checkpoints" / f"{name}.json"
        path.write_text(json.dumps(checkpoint, separators=(",", ":")))
        print(f"{name}: {checkpoint['metadata']}, {path.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
