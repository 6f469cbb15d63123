"""The learned KB decision: which article, and whether to answer, offer buttons or decline.

Raw scores of paraphrases that share few words with the KB overlap with scores of out-of-scope
messages, so fixed thresholds on them decline answerable questions. Here two small calibrated
logistic models read the matcher's signals instead:

- the *article* model scores each candidate (the best articles by words and by meaning) with
  the probability that it is the article the creator needs — lexical score, cosine, ranks on
  both sides and their agreement, margins to the next article, message length;
- the *scope* model gives the probability that the message is about creator support at all,
  from the message's sentence embedding and its best scores.

Both were fitted by ``python -m handlers.kb.matching.train`` and ship as plain JSON weights
(``data/decision.json``): no pickle, loaded in a millisecond.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SHIPPED_MODEL = Path(__file__).parent / "data" / "decision.json"
SCOPE_EXTRA = 4  # scope features after the embedding
CANDIDATES = 5  # per side: the best articles by words, and by meaning
CANDIDATE_FEATURES = (
    "lexical",
    "cosine",
    "lexical_rank",
    "cosine_rank",
    "agree",
    "lexical_margin",
    "cosine_margin",
    "top_lexical",
    "top_cosine",
    "length",
    "blend",
    "blend_margin",
    "prototype",
    "prototype_rank",
    "prototype_margin",
    "has_prototype",
    "prototype_agrees_with_words",
    "prototype_agrees_with_meaning",
    "prototype_x_lexical",
)


@dataclass(frozen=True, slots=True)
class Prototypes:
    """Per article, the mean embedding of the labelled creator messages it answered: what the
    model learned of how creators (not the KB's authors) ask for it."""

    ids: tuple[str, ...]
    matrix: np.ndarray  # articles x dimensions, unit rows

    def similarities(self, embedding: np.ndarray | None) -> dict[str, float]:
        if embedding is None or not self.ids:
            return {}
        return dict(zip(self.ids, (self.matrix @ embedding).tolist(), strict=True))

    @classmethod
    def fit(cls, embeddings: list[np.ndarray], labels: list[str]) -> Prototypes:
        groups: dict[str, list[np.ndarray]] = {}
        for vector, label in zip(embeddings, labels, strict=True):
            groups.setdefault(label, []).append(vector)
        ids = tuple(sorted(groups))
        if not ids:
            return cls((), np.zeros((0, 512)))
        matrix = np.stack([np.mean(groups[i], axis=0) for i in ids])
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)
        return cls(ids, matrix)


@dataclass(frozen=True, slots=True)
class Signals:
    """What the matcher measured for one message: scores 0..1 per article, and its embedding."""

    lexical: dict[str, float]
    cosine: dict[str, float]
    tokens: int
    embedding: np.ndarray | None = None


def _top(scores: dict[str, float]) -> list[str]:
    return sorted(scores, key=scores.__getitem__, reverse=True)[:CANDIDATES]


def _rank_of(scores: dict[str, float]) -> dict[str, int]:
    ordered = sorted(scores, key=scores.__getitem__, reverse=True)
    return {article: n for n, article in enumerate(ordered[: CANDIDATES * 2])}


def _blend(lexical: float, cosine: float) -> float:
    return 0.5 * lexical + 0.5 * min(1.0, max(0.0, (cosine - 0.3) / 0.6))


def candidate_features(
    signals: Signals, prototypes: Prototypes, known: frozenset[str] | None = None
) -> tuple[list[str], np.ndarray]:
    """One row of :data:`CANDIDATE_FEATURES` per candidate article (``known``: the KB's ids)."""
    learned = prototypes.similarities(signals.embedding)
    if known is not None:
        learned = {a: v for a, v in learned.items() if a in known}
    articles = list(dict.fromkeys(_top(signals.lexical) + _top(signals.cosine) + _top(learned)))
    if not signals.tokens or not articles:
        return [], np.zeros((0, len(CANDIDATE_FEATURES)), dtype=np.float64)
    lexical = np.array([signals.lexical.get(a, 0.0) for a in articles])
    cosine = np.array([signals.cosine.get(a, 0.0) for a in articles])
    blend = np.array([_blend(x, c) for x, c in zip(lexical, cosine, strict=True)])
    proto = np.array([learned.get(a, 0.0) for a in articles])
    lexical_rank, cosine_rank = _rank_of(signals.lexical), _rank_of(signals.cosine)
    proto_rank = _rank_of(learned)
    lexical_margin, cosine_margin = _margins(lexical), _margins(cosine)
    blend_margin, proto_margin = _margins(blend), _margins(proto)
    rows = []
    for n, article in enumerate(articles):
        lr = lexical_rank.get(article)
        cr = cosine_rank.get(article)
        pr = proto_rank.get(article)
        rows.append(
            (
                lexical[n],
                cosine[n],
                1.0 / (1 + lr) if lr is not None else 0.0,
                1.0 / (1 + cr) if cr is not None else 0.0,
                1.0 if lr == 0 and cr == 0 else 0.0,
                lexical_margin[n],
                cosine_margin[n],
                float(lexical.max()),
                float(cosine.max()),
                math.log1p(signals.tokens),
                blend[n],
                blend_margin[n],
                proto[n],
                1.0 / (1 + pr) if pr is not None else 0.0,
                proto_margin[n],
                1.0 if article in learned else 0.0,
                1.0 if pr == 0 and lr == 0 else 0.0,
                1.0 if pr == 0 and cr == 0 else 0.0,
                proto[n] * lexical[n],
            )
        )
    return articles, np.array(rows, dtype=np.float64)


def _margins(values: np.ndarray) -> list[float]:
    """Each value minus the best of the others."""
    if len(values) < 2:
        return values.tolist()
    first, second = np.sort(values)[-2:][::-1]
    return [v - (second if v == first else first) for v in values.tolist()]


def scope_features(signals: Signals, dimensions: int, prototypes: Prototypes) -> np.ndarray:
    """The embedding (zeros without an encoder), then the best lexical, cosine and learned
    scores and the message's length."""
    embedding = signals.embedding if signals.embedding is not None else np.zeros(dimensions)
    best_lexical = max(signals.lexical.values(), default=0.0)
    best_cosine = max(signals.cosine.values(), default=0.0)
    best_learned = max(prototypes.similarities(signals.embedding).values(), default=0.0)
    extra = np.array([best_lexical, best_cosine, best_learned, math.log1p(signals.tokens)])
    return np.concatenate([np.asarray(embedding, dtype=np.float64), extra])


@dataclass(frozen=True, slots=True)
class CalibratedLogistic:
    """A logistic model on standardised features, calibrated by Platt scaling per CV fold
    (what scikit-learn's ``CalibratedClassifierCV(method="sigmoid")`` computes), as arrays."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # folds x features
    intercept: np.ndarray  # folds
    platt_a: np.ndarray  # folds
    platt_b: np.ndarray  # folds

    def probability(self, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        z = (rows - self.mean) / self.scale
        decision = z @ self.coef.T + self.intercept  # rows x folds
        return (1.0 / (1.0 + np.exp(self.platt_a * decision + self.platt_b))).mean(axis=1)

    def as_json(self) -> dict[str, list[float] | list[list[float]]]:
        return {name: getattr(self, name).tolist() for name in self.__slots__}

    @classmethod
    def from_json(cls, data: dict[str, list]) -> CalibratedLogistic:
        return cls(**{name: np.asarray(data[name], dtype=np.float64) for name in cls.__slots__})


@dataclass(frozen=True, slots=True)
class DecisionModel:
    article: CalibratedLogistic
    scope: CalibratedLogistic
    prototypes: Prototypes
    answer_threshold: float  # probability 0..1 that the best article is right
    offer_threshold: float  # probability 0..1 that the message is in scope

    @property
    def dimensions(self) -> int:
        return len(self.scope.mean) - SCOPE_EXTRA

    def save(self, path: Path) -> None:
        """JSON weights, and the prototypes as float16 in an ``.npz`` beside it."""
        np.savez_compressed(
            path.with_suffix(".npz"),
            ids=np.array(self.prototypes.ids),
            matrix=self.prototypes.matrix.astype(np.float16),
        )
        payload = {
            "article": self.article.as_json(),
            "scope": self.scope.as_json(),
            "answer_threshold": self.answer_threshold,
            "offer_threshold": self.offer_threshold,
        }
        path.write_text(json.dumps(payload, separators=(",", ":")), encoding="utf-8")

    @classmethod
    def load(cls, path: Path = SHIPPED_MODEL) -> DecisionModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        with np.load(path.with_suffix(".npz")) as arrays:
            ids = tuple(arrays["ids"].tolist())
            prototypes = Prototypes(ids, arrays["matrix"].astype(np.float32))
        return cls(
            CalibratedLogistic.from_json(data["article"]),
            CalibratedLogistic.from_json(data["scope"]),
            prototypes,
            float(data["answer_threshold"]),
            float(data["offer_threshold"]),
        )


@lru_cache(maxsize=1)
def shipped_model() -> DecisionModel | None:
    """The shipped model, or None (the previous decision applies) if it is missing or broken."""
    try:
        return DecisionModel.load(SHIPPED_MODEL)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("no learned KB decision (%s): using the previous thresholds", exc)
        return None


@dataclass(frozen=True, slots=True)
class Judgement:
    """Candidates by probability of being the right article, best first, and the probability
    that the message is in scope at all."""

    ranked: list[tuple[str, float]]
    in_scope: float

    @property
    def confidence(self) -> float:
        """Probability that answering with the best article is right: it is the right article,
        and the message is about creator support at all."""
        return self.ranked[0][1] * self.in_scope if self.ranked else 0.0


def judge(model: DecisionModel, signals: Signals, known: frozenset[str] | None = None) -> Judgement:
    articles, rows = candidate_features(signals, model.prototypes, known)
    if not articles:
        return Judgement([], 0.0)
    probabilities = model.article.probability(rows)
    ranked = sorted(
        zip(articles, probabilities.tolist(), strict=True), key=lambda p: p[1], reverse=True
    )
    features = scope_features(signals, model.dimensions, model.prototypes)
    scope = model.scope.probability(features[None, :])
    return Judgement(ranked, float(scope[0]))


VERBATIM = 0.995  # lexical score of a message that is one of the KB's questions, word for word
VERBATIM_MARGIN = 0.1


def verbatim(signals: Signals) -> str | None:
    """The article whose question the message repeats word for word, if one clearly does: it is
    answered even when the model never saw the article (a KB edited after training)."""
    ranked = sorted(signals.lexical.values(), reverse=True)
    if not ranked or ranked[0] < VERBATIM:
        return None
    if len(ranked) > 1 and ranked[1] > ranked[0] - VERBATIM_MARGIN:
        return None
    return max(signals.lexical, key=signals.lexical.__getitem__)
