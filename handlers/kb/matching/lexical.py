"""The lexical index: every KB question as a set of normalised tokens, an idf-weighted
inverted index over them, and rapidfuzz for typos."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process

from handlers.kb.articles import KnowledgeBase
from handlers.kb.matching.normalize import CONCEPT_PREFIX, normalizer

MIN_FUZZY_LEN = 4
FUZZY_CUTOFF = 84.0
SAMPLE_PER_PICK = 64  # prefilter: sample scores, per variant kept
SAMPLE_MARGIN = 4  # the bound is the sample's score that many times further down than needed


class LexicalIndex:
    """Variants of every article in every locale, indexed by normalised token."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.owners: list[str] = []
        self.texts: list[str] = []
        self.variants: list[frozenset[str]] = []
        for article in kb.articles.values():
            for locale, questions in article.questions.items():
                norm = normalizer(locale)
                for question in questions:
                    tokens = frozenset(norm.tokens(question))
                    if tokens:
                        self.owners.append(article.id)
                        self.texts.append(question)
                        self.variants.append(tokens)
        self._build_postings(max(len(kb), 1))
        self.resolve = lru_cache(maxsize=20_000)(self._resolve)

    def _build_postings(self, total: int) -> None:
        token_ids: dict[str, int] = {}
        flat = [token_ids.setdefault(t, len(token_ids)) for tokens in self.variants for t in tokens]
        tokens_of = np.asarray(flat, dtype=np.int64)
        variant_of = np.repeat(
            np.arange(len(self.variants), dtype=np.int64), [len(v) for v in self.variants]
        )
        article_ids: dict[str, int] = {}
        owner_of = np.asarray(
            [article_ids.setdefault(o, len(article_ids)) for o in self.owners], dtype=np.int64
        )
        articles = max(len(article_ids), 1)
        pairs = np.sort(tokens_of * articles + owner_of[variant_of])
        first = np.ones(len(pairs), dtype=bool)
        first[1:] = pairs[1:] != pairs[:-1]
        document_frequency = np.bincount(pairs[first] // articles, minlength=len(token_ids))
        idf = np.log1p(total / np.maximum(document_frequency, 1))
        names = list(token_ids)
        self.idf = dict(zip(names, idf.tolist(), strict=True))
        self.unknown_idf = math.log(1 + total)
        order = np.argsort(tokens_of, kind="stable")
        bounds = np.searchsorted(tokens_of[order], np.arange(len(names) + 1))
        sorted_variants = variant_of[order].astype(np.int32)
        self.postings = {
            name: sorted_variants[bounds[n] : bounds[n + 1]] for n, name in enumerate(names)
        }
        self.vocabulary = [t for t in names if not t.startswith(CONCEPT_PREFIX)]
        self.weight_sums = np.bincount(
            variant_of, weights=idf[tokens_of], minlength=len(self.variants)
        ).astype(np.float32)

    def _resolve(self, token: str) -> tuple[str, float] | None:
        """The vocabulary token this one stands for, with a similarity in 0..1 (typo tolerance)."""
        if token in self.idf:
            return token, 1.0
        if not self.vocabulary or len(token) < MIN_FUZZY_LEN or token.startswith(CONCEPT_PREFIX):
            return None
        found = process.extractOne(
            token, self.vocabulary, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF
        )
        return (found[0], found[1] / 100) if found else None

    def pool(self, vocab: Sequence[str], weights: np.ndarray, size: int) -> Pool:
        """The ``size`` variants sharing the most weight with the message (``weights[j]`` for
        ``vocab[j]``), and which of those words each of them contains."""
        scores = np.zeros(len(self.variants), dtype=np.float32)
        for token, weight in zip(vocab, weights.tolist(), strict=True):
            scores[self.postings[token]] += weight
        hits = _best(scores, size)
        position = np.full(len(self.variants), -1, dtype=np.int32)
        position[hits] = np.arange(len(hits), dtype=np.int32)
        member = np.zeros((len(hits), len(vocab)), dtype=np.float32)
        for column, token in enumerate(vocab):
            rows = position[self.postings[token]]
            member[rows[rows >= 0], column] = 1.0
        return Pool(hits, member)


def _best(scores: np.ndarray, size: int) -> np.ndarray:
    """Indexes of the ``size`` highest non-zero scores (all of them when fewer).

    A message with a common word touches most of a large KB's variants; selecting among all of
    them costs a millisecond at 64,000 variants. A bound read off a strided sample usually
    leaves a few dozen candidates; it is exact, since when at least ``size`` scores reach the
    bound the best ``size`` are among them (otherwise every non-zero score is read)."""
    step = max(1, len(scores) // (size * SAMPLE_PER_PICK))
    hits = None
    if step > 1:
        sample = scores[::step]
        rank = min(len(sample), SAMPLE_MARGIN * -(-size // step))
        bound = float(np.partition(sample, -rank)[-rank])
        if bound > 0:
            hits = np.flatnonzero(scores >= bound)
    if hits is None or len(hits) < size:
        hits = np.flatnonzero(scores)
    if len(hits) > size:
        hits = hits[np.argpartition(scores[hits], -size)[-size:]]
    return hits


@dataclass(frozen=True, slots=True)
class Pool:
    """Candidate variants (indexes into the lexical index) and their word membership matrix."""

    variants: np.ndarray
    member: np.ndarray
