"""The knowledge base: articles with question variants and answers per locale."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

VARIANT_SEPARATOR = " | "
FALLBACK_LOCALES: tuple[str, ...] = ("es", "en")


@dataclass(frozen=True, slots=True)
class KbRow:
    """One row of the import format: one article in one locale."""

    id: str
    locale: str
    category: str
    questions: tuple[str, ...]
    answer: str


@dataclass(slots=True)
class Article:
    id: str
    category: str
    questions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)

    def answer(self, locale: str) -> str:
        """The answer in ``locale``, else Spanish, else English, else any."""
        for lang in (locale, *FALLBACK_LOCALES):
            if lang in self.answers:
                return self.answers[lang]
        return next(iter(self.answers.values()))

    def title(self, locale: str) -> str:
        """A short label for suggestions: the article's first question in the best locale."""
        for lang in (locale, *FALLBACK_LOCALES):
            if self.questions.get(lang):
                return self.questions[lang][0]
        return self.id


class KnowledgeBase:
    def __init__(self, articles: Mapping[str, Article]) -> None:
        self.articles = dict(articles)

    @classmethod
    def from_rows(cls, rows: Iterable[KbRow]) -> KnowledgeBase:
        articles: dict[str, Article] = {}
        for row in rows:
            article = articles.setdefault(row.id, Article(id=row.id, category=row.category))
            article.questions[row.locale] = row.questions
            article.answers[row.locale] = row.answer
        return cls(articles)

    def rows(self) -> list[KbRow]:
        return [
            KbRow(a.id, lang, a.category, a.questions.get(lang, ()), answer)
            for a in self.articles.values()
            for lang, answer in a.answers.items()
        ]

    def merged(self, overrides: Iterable[KbRow]) -> KnowledgeBase:
        """A new KB where ``overrides`` replace or add (article, locale) pairs."""
        return KnowledgeBase.from_rows([*self.rows(), *overrides])

    def __len__(self) -> int:
        return len(self.articles)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self.articles

    def get(self, article_id: str) -> Article | None:
        return self.articles.get(article_id)


def split_variants(questions: str) -> tuple[str, ...]:
    return tuple(q.strip() for q in questions.split("|") if q.strip())


def join_variants(questions: Iterable[str]) -> str:
    return VARIANT_SEPARATOR.join(questions)
