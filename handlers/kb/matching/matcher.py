"""KB matching: normalised tokens, an idf-weighted inverted index, rapidfuzz for typos, and
optionally a sentence encoder for paraphrases that share no word with the KB.

Each question variant becomes a set of normalised tokens. A message is scored against the
best-prefiltered variants by how much of the variant it covers and how much of the message the
variant explains (both idf-weighted), so one shared common word is never a confident match.
Long messages are scored by their best sentence or window, which keeps a threshold meaning the
same for a 3-word and a 60-word message. With an encoder, the final score blends that lexical
score with the best cosine similarity to the article's questions; a clear lexical win skips the
encoder altogether.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from handlers.kb.articles import KnowledgeBase
from handlers.kb.matching.decision import (
    DecisionModel,
    Judgement,
    Signals,
    judge,
    shipped_model,
    verbatim,
)
from handlers.kb.matching.lexical import LexicalIndex
from handlers.kb.matching.normalize import Normalizer, normalizer
from handlers.kb.matching.semantic import SemanticIndex, SentenceEncoder

log = logging.getLogger(__name__)

PREFILTER = 40
LONG_PREFILTER = PREFILTER * 8  # a long message's windows share one pool of candidates
WINDOW = 8
MAX_WINDOWS = 12  # per kind (sentences, sliding windows): bounds the work on a 2,000-char rant
UNRELATED_COSINE = 0.3
SAME_MEANING_COSINE = 0.9
SEMANTIC_CHARS = 300
LEGACY_ANSWER = 50.0  # the previous decision's thresholds on raw scores
LEGACY_CLARIFY = 35.0
SEMANTIC_ALSO = 10  # the best lexical articles always get a cosine, shortlisted or not


class Action(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    ESCALATE = "escalate"


@dataclass(frozen=True, slots=True)
class MatchPolicy:
    """With the encoder, the learned decision (:mod:`.decision`) applies: answer when the
    probability that the best article is right reaches ``answer_threshold`` (percent), offer up
    to ``max_suggestions`` articles when the probability that the message is in scope reaches
    ``clarify_threshold``; ``None`` means the thresholds tuned with the shipped model.

    Words only (no encoder), the previous rule applies to raw scores 0..100: answer when the best
    article reaches ``answer_threshold`` (default 50) and leads the next by ``margin``; offer the
    articles above ``clarify_threshold`` (default 35)."""

    answer_threshold: float | None = None
    clarify_threshold: float | None = None
    margin: float = 4.0
    max_suggestions: int = 3
    lexical_weight: float = 0.5
    sure_score: float = 80.0
    sure_margin: float = 20.0
    max_new_embeddings: int = 1000  # more than that (~5 s) waits for `puente kb embed`


@dataclass(frozen=True, slots=True)
class MatchResult:
    action: Action
    article_id: str | None
    score: float
    suggestions: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        return {
            "action": self.action.value,
            "article_id": self.article_id,
            "score": round(self.score, 2),
            "suggestions": list(self.suggestions),
        }


class Matcher:
    """Answers, clarifies or escalates a message against one knowledge base."""

    def __init__(
        self,
        kb: KnowledgeBase,
        policy: MatchPolicy | None = None,
        encoder: SentenceEncoder | None = None,
        model: DecisionModel | None = None,
    ) -> None:
        self.kb = kb
        self.policy = policy or MatchPolicy()
        self.model = model or (shipped_model() if encoder is not None else None)
        self.index = LexicalIndex(kb)
        self.known = frozenset(kb.articles)
        self.semantic: SemanticIndex | None = None
        if encoder is not None:
            new = encoder.missing(self.index.texts)
            if new > self.policy.max_new_embeddings:
                log.warning(
                    "%d KB questions have no embedding yet: matching by words only until "
                    "`puente kb embed` has run (or the service has warmed its cache)",
                    new,
                )
            else:
                self.semantic = SemanticIndex(self.index.owners, self.index.texts, encoder)

    def match(self, text: str, locale: str = "es") -> MatchResult:
        if self.semantic is None or self.model is None:
            return self.decide(self.rank(text, locale))
        words = self._words(text, locale)
        if (article_id := verbatim(words)) is not None:  # no need to embed it
            return MatchResult(Action.ANSWER, article_id, 100.0)
        signals = self._with_meaning(words, text, locale)
        return self.decide_learned(judge(self.model, signals, self.known))

    def signals(self, text: str, locale: str = "es") -> Signals:
        """Lexical scores and cosines (0..1) per article, and the message's embedding."""
        return self._with_meaning(self._words(text, locale), text, locale)

    def _words(self, text: str, locale: str) -> Signals:
        windows = self._windows(normalizer(locale), text)
        tokens = len(windows[0])
        if not tokens:
            return Signals({}, {}, 0)
        return Signals({a: s / 100.0 for a, s in self._lexical(windows)}, {}, tokens)

    def _with_meaning(self, words: Signals, text: str, locale: str) -> Signals:
        if self.semantic is None or not words.tokens:
            return words
        focus = self._focus(normalizer(locale), text)
        best_words = list(words.lexical)[:SEMANTIC_ALSO]  # built from a ranking, best first
        cosines = self.semantic.similarities(focus, also=best_words)
        embedding = self.semantic.encoder.message_vector(focus)
        return Signals(words.lexical, cosines, words.tokens, embedding)

    def decide_learned(self, judgement: Judgement) -> MatchResult:
        assert self.model is not None
        return learned_result(judgement, self.model, self.policy)

    def rank(self, text: str, locale: str = "es") -> list[tuple[str, float]]:
        """Articles by score (0..100), best first."""
        norm = normalizer(locale)
        windows = self._windows(norm, text)
        if not windows[0]:
            return []
        lexical = self._lexical(windows)
        if self.semantic is None or self._sure(lexical):
            return lexical
        return self._blend(self._focus(norm, text), dict(lexical))

    def _focus(self, norm: Normalizer, text: str) -> str:
        """What the encoder reads of a long message: its sentences richest in KB words."""
        if len(text) <= SEMANTIC_CHARS:
            return text
        sentences = norm.sentences(text)
        weights = [self._known_weight(norm.tokens(sentence)) for sentence in sentences]
        chosen: set[int] = set()
        length = 0
        for n in sorted(range(len(sentences)), key=lambda i: weights[i], reverse=True):
            if chosen and length + len(sentences[n]) > SEMANTIC_CHARS:
                break
            chosen.add(n)
            length += len(sentences[n])
        return " ".join(sentences[n] for n in sorted(chosen))[: SEMANTIC_CHARS * 2]

    def _known_weight(self, tokens: Sequence[str]) -> float:
        hits = (self.index.resolve(t) for t in set(tokens))
        return sum(self.index.idf[hit[0]] * hit[1] for hit in hits if hit)

    def _sure(self, ranked: list[tuple[str, float]]) -> bool:
        if not ranked:
            return False
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        top = ranked[0][1]
        return top >= self.policy.sure_score and top - runner_up >= self.policy.sure_margin

    def _blend(self, text: str, lexical: dict[str, float]) -> list[tuple[str, float]]:
        assert self.semantic is not None
        weight = self.policy.lexical_weight
        cosines = self.semantic.similarities(text, also=list(lexical)[:SEMANTIC_ALSO])
        span = SAME_MEANING_COSINE - UNRELATED_COSINE
        blended = {
            article: weight * lexical.get(article, 0.0)
            + (1 - weight) * 100.0 * min(1.0, max(0.0, (cosine - UNRELATED_COSINE) / span))
            for article, cosine in cosines.items()
        }
        return sorted(blended.items(), key=lambda item: item[1], reverse=True)

    def _lexical(self, windows: list[list[str]]) -> list[tuple[str, float]]:
        """Each window (the whole message, its sentences, its stretches of words) against the
        message's best-prefiltered variants, so a long message's question isn't drowned by its
        small talk; an article keeps its best score. All pairs are scored at once with numpy."""
        index = self.index
        every = {t for window in windows for t in window}
        resolved = {t: r for t in every if (r := index.resolve(t)) is not None}
        if not resolved:
            return []
        columns: dict[str, int] = {}
        for vocab_token, _similarity in resolved.values():
            columns.setdefault(vocab_token, len(columns))
        found, explained, weight = self._window_weights(windows, resolved, columns)
        size = PREFILTER if len(windows) == 1 else LONG_PREFILTER
        pool = index.pool(list(columns), explained[0], size)
        if not len(pool.variants):
            return []
        covered = (pool.member @ found.T) / index.weight_sums[pool.variants][:, None]
        share = (pool.member @ explained.T) / weight[None, :]
        scores = (100.0 * np.sqrt(covered * share)).max(axis=1)
        best: dict[str, float] = {}
        for variant, score in zip(pool.variants.tolist(), scores.tolist(), strict=True):
            owner = index.owners[variant]
            if score > best.get(owner, 0.0):
                best[owner] = score
        return sorted(best.items(), key=lambda item: item[1], reverse=True)

    def _window_weights(
        self,
        windows: list[list[str]],
        resolved: dict[str, tuple[str, float]],
        columns: dict[str, int],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per window: the idf weight it brings to each known word (best typo similarity, for
        coverage; summed over its own words, for how much of it is explained) and its total
        weight, unknown words included."""
        idf = self.index.idf
        found = np.zeros((len(windows), len(columns)), dtype=np.float32)
        explained = np.zeros_like(found)
        weight = np.zeros(len(windows), dtype=np.float32)
        for row, window in enumerate(windows):
            for token in set(window):
                hit = resolved.get(token)
                if hit is None:
                    weight[row] += self.index.unknown_idf
                    continue
                vocab_token, similarity = hit
                column = columns[vocab_token]
                weight[row] += idf[vocab_token]
                explained[row, column] += idf[vocab_token] * similarity
                found[row, column] = max(found[row, column], idf[vocab_token] * similarity)
        return found, explained, weight

    def _windows(self, norm: Normalizer, text: str) -> list[list[str]]:
        """The whole message, and for long ones each sentence and each window of tokens."""
        whole = norm.tokens(text)
        if len(whole) <= WINDOW:
            return [whole]
        windows = [whole]
        windows.extend(t for s in norm.sentences(text)[:MAX_WINDOWS] if (t := norm.tokens(s)))
        step = max(WINDOW // 2, -(-len(whole) // MAX_WINDOWS))
        windows.extend(whole[i : i + WINDOW] for i in range(0, len(whole) - WINDOW // 2, step))
        unique = {tuple(w): w for w in windows if w}
        return list(unique.values())

    def decide(self, ranked: list[tuple[str, float]]) -> MatchResult:
        """The previous decision: the policy's thresholds on a ranking from :meth:`rank`."""
        if not ranked:
            return MatchResult(Action.ESCALATE, None, 0.0)
        policy = self.policy
        answer_at = LEGACY_ANSWER if policy.answer_threshold is None else policy.answer_threshold
        offer_at = LEGACY_CLARIFY if policy.clarify_threshold is None else policy.clarify_threshold
        top_id, top_score = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        if top_score >= answer_at and top_score - runner_up >= policy.margin:
            return MatchResult(Action.ANSWER, top_id, top_score)
        suggestions = tuple(
            article_id
            for article_id, score in ranked[: policy.max_suggestions]
            if score >= offer_at
        )
        if suggestions:
            return MatchResult(Action.CLARIFY, None, top_score, suggestions)
        return MatchResult(Action.ESCALATE, None, top_score)


def learned_result(judgement: Judgement, model: DecisionModel, policy: MatchPolicy) -> MatchResult:
    """Answer, offer or decline from the learned model's probabilities; ``score`` is the
    probability (percent) that the best article is the right one."""
    if not judgement.ranked:
        return MatchResult(Action.ESCALATE, None, 0.0)
    answer, offer = policy.answer_threshold, policy.clarify_threshold
    answer_at = model.answer_threshold if answer is None else answer / 100.0
    offer_at = model.offer_threshold if offer is None else offer / 100.0
    top_id, top = judgement.ranked[0][0], judgement.confidence
    if top >= answer_at:
        return MatchResult(Action.ANSWER, top_id, 100.0 * top)
    if judgement.in_scope >= offer_at:
        offered = tuple(a for a, _ in judgement.ranked[: policy.max_suggestions])
        return MatchResult(Action.CLARIFY, None, 100.0 * top, offered)
    return MatchResult(Action.ESCALATE, None, 100.0 * top)
