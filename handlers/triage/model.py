"""The learned reader of risk triage: a calibrated linear model over a message's sentence
embedding and its character n-grams.

Multinomial logistic regression over the categories (whose probabilities are calibrated by
construction, and checked on held-out authors by ``bench.triage``). The character n-grams are
hashed, so the shipped artefact (``data/model.npz``) holds weights and thresholds but no text
of the messages it was trained on. ``python -m handlers.triage.train`` regenerates it.

Two thresholds on the summed probability of the critical (P1) categories, both chosen on the
training folds with P1 recall as the first constraint: at or above ``possible`` the message is
a P1 for a person to confirm; at or above ``confident`` it pages.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

ARTEFACT = Path(__file__).parent / "data" / "model.npz"
HASH_FEATURES = 2**13
NGRAMS = (2, 5)
GRAM_CAPACITY = 200_000  # n-grams whose column is remembered (~30 MB at most)


class Confidence(StrEnum):
    """How sure triage is of a P1: a confident P1 pages; a possible one waits for a person."""

    CONFIDENT = "confident"
    POSSIBLE = "possible"


@dataclass(frozen=True, slots=True)
class Reading:
    """The model's view of one message."""

    probabilities: dict[str, float]
    critical: float  # summed probability of the P1 categories

    def best(self, categories: Sequence[str]) -> str:
        return max(categories, key=lambda c: self.probabilities.get(c, 0.0))


def hasher() -> Any:
    """The stateless character n-gram hasher shared by training and reading."""
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer="char_wb",
        ngram_range=NGRAMS,
        n_features=HASH_FEATURES,
        alternate_sign=False,
        norm="l2",
    )


def features(prepared: Sequence[str], vectors: np.ndarray) -> Any:
    """[sentence embedding | hashed character n-grams of the folded text] per message."""
    from scipy.sparse import csr_matrix, hstack

    return hstack([csr_matrix(vectors), hasher().transform(prepared)]).tocsr()


class GramColumns:
    """Each character n-gram's hashed column, as scikit-learn's ``FeatureHasher`` computes it
    (the hasher :func:`hasher` uses), asked once per n-gram and remembered."""

    def __init__(self, capacity: int = GRAM_CAPACITY) -> None:
        from sklearn.feature_extraction import FeatureHasher

        self._feature = FeatureHasher(
            n_features=HASH_FEATURES, input_type="string", alternate_sign=False
        )
        self._known: dict[str, int] = {}
        self._lock = threading.Lock()  # messages are triaged on several threads; one may clear
        self.capacity = capacity

    def of(self, grams: Sequence[str]) -> list[int]:
        with self._lock:
            known = self._known
            new = list({g: None for g in grams if g not in known})
            if new:
                if len(known) + len(new) > self.capacity:
                    known.clear()
                    new = list(dict.fromkeys(grams))
                hashed = self._feature.transform([[gram] for gram in new])
                known.update(zip(new, hashed.indices.tolist(), strict=True))
            return [known[g] for g in grams]


class TriageModel:
    """Weights, categories and P1 thresholds; ``read`` gives one message's probabilities."""

    def __init__(
        self,
        weights: np.ndarray,
        bias: np.ndarray,
        classes: Sequence[str],
        critical: Sequence[str],
        possible: float,
        confident: float,
    ) -> None:
        self.weights = weights.astype(np.float32)
        self.bias = bias.astype(np.float32)
        self.classes = tuple(classes)
        self.critical_index = [i for i, c in enumerate(self.classes) if c in critical]
        self.possible = possible
        self.confident = confident
        self._analyze = hasher().build_analyzer()
        self._columns = GramColumns()
        self._gram_weights = np.ascontiguousarray(self.weights[:, -HASH_FEATURES:].T)

    def read(self, prepared: str, vector: np.ndarray) -> Reading:
        return self.read_many([prepared], vector[None, :])[0]

    def read_many(self, prepared: Sequence[str], vectors: np.ndarray) -> list[Reading]:
        dense = vectors.shape[1]
        logits = vectors @ self.weights[:, :dense].T
        logits += np.stack([self._gram_logits(text) for text in prepared]) + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        odds = np.exp(logits)
        probabilities = odds / odds.sum(axis=1, keepdims=True)
        return [
            Reading(
                dict(zip(self.classes, row.tolist(), strict=True)),
                float(row[self.critical_index].sum()),
            )
            for row in probabilities
        ]

    def _gram_logits(self, prepared: str) -> np.ndarray:
        """The n-gram part of the logits: :func:`hasher`'s l2-normalised counts times the
        weights, reading only the weight rows of the message's own n-grams (scikit-learn's
        sparse transform costs a third of a millisecond a message, mostly set-up)."""
        counts = Counter(self._columns.of(self._analyze(prepared)))
        if not counts:
            return np.zeros(self._gram_weights.shape[1], dtype=np.float32)
        columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        values = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        values /= np.sqrt(values @ values)
        return values @ self._gram_weights[columns]

    def confidence(self, reading: Reading) -> Confidence | None:
        """Confident or possible P1, or None when the model reads no P1."""
        if reading.critical >= self.confident:
            return Confidence.CONFIDENT
        if reading.critical >= self.possible:
            return Confidence.POSSIBLE
        return None

    def save(self, path: Path = ARTEFACT) -> None:
        np.savez_compressed(
            path,
            weights=self.weights.astype(np.float16),
            bias=self.bias,
            classes=np.array(self.classes),
            critical=np.array([self.classes[i] for i in self.critical_index]),
            thresholds=np.array([self.possible, self.confident], dtype=np.float32),
        )


def load_model(path: Path = ARTEFACT) -> TriageModel | None:
    """The shipped model, or None (with a warning) when it or scikit-learn is missing."""
    try:
        with np.load(path) as data:
            possible, confident = (float(x) for x in data["thresholds"])
            return TriageModel(
                data["weights"],
                data["bias"],
                data["classes"].tolist(),
                data["critical"].tolist(),
                possible,
                confident,
            )
    except (OSError, KeyError, ValueError) as exc:
        log.warning("triage model %s unreadable (%s): triage reads rules and examples", path, exc)
        return None
