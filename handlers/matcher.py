"""Fuzzy KB matching with rapidfuzz and the answer / clarify / escalate decision."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz import fuzz, process

from handlers.kb import KnowledgeBase
from handlers.text import fold


class Action(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    ESCALATE = "escalate"


@dataclass(frozen=True, slots=True)
class MatchPolicy:
    answer_threshold: float = 80.0
    clarify_threshold: float = 60.0
    max_suggestions: int = 3


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


def _score(query: str, choice: str, *, score_cutoff: float | None = None) -> float:
    """Token-set similarity tempered by word order, so one shared word isn't a perfect match."""
    return 0.5 * fuzz.token_set_ratio(query, choice) + 0.5 * fuzz.token_sort_ratio(query, choice)


class Matcher:
    """Scores a message against every question variant of every article."""

    def __init__(self, kb: KnowledgeBase, policy: MatchPolicy | None = None) -> None:
        self.kb = kb
        self.policy = policy or MatchPolicy()
        self._choices: list[str] = []
        self._owners: list[str] = []
        for article in kb.articles.values():
            for variants in article.questions.values():
                for variant in variants:
                    self._choices.append(fold(variant))
                    self._owners.append(article.id)

    def match(self, text: str, locale: str = "es") -> MatchResult:
        query = fold(text)
        if not query or not self._choices:
            return MatchResult(Action.ESCALATE, None, 0.0)
        best: dict[str, float] = {}
        hits = process.extract(
            query, self._choices, scorer=_score, limit=len(self._choices), score_cutoff=40
        )
        for _choice, score, index in hits:
            owner = self._owners[index]
            best[owner] = max(best.get(owner, 0.0), score)
        ranked = sorted(best.items(), key=lambda item: item[1], reverse=True)
        return self._decide(ranked)

    def _decide(self, ranked: list[tuple[str, float]]) -> MatchResult:
        if not ranked:
            return MatchResult(Action.ESCALATE, None, 0.0)
        top_id, top_score = ranked[0]
        policy = self.policy
        if top_score >= policy.answer_threshold:
            return MatchResult(Action.ANSWER, top_id, top_score)
        suggestions = tuple(
            article_id
            for article_id, score in ranked[: policy.max_suggestions]
            if score >= policy.clarify_threshold
        )
        if suggestions:
            return MatchResult(Action.CLARIFY, None, top_score, suggestions)
        return MatchResult(Action.ESCALATE, None, top_score)
