"""Learning from production: a creator's wording becomes a question variant of an article.

When a creator picks an offered article, or an agent sends one from the case card, the
creator's last question is stored as a *pending* :class:`~handlers.storage.models.KbVariant`.
A person approves or rejects it (``puente kb review``); approved variants join the article's
questions, and :class:`~handlers.kb.source.KbSource` sees the change on its next check, so the
next creator who words it that way is answered without a restart.

Crisis text never enters KB work: a P1/P2 message is not learned.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from handlers.common.text import clean, fold
from handlers.contract.ids import parse_article_payload
from handlers.contract.priority import Priority
from handlers.kb.articles import Article, KnowledgeBase
from handlers.storage.models import (
    Direction,
    KbVariant,
    Message,
    VariantSource,
    VariantStatus,
)

MAX_VARIANT = 300
MAX_FOLDED = 500
MIN_WORDS = 2
LOOKBACK = 5  # inbound messages searched for the wording before a pick
NEVER_LEARNED = frozenset({Priority.P1, Priority.P2})


@dataclass(frozen=True, slots=True)
class Learned:
    """Approved variants per (article id, locale)."""

    questions: dict[tuple[str, str], tuple[str, ...]]

    def applied_to(self, kb: KnowledgeBase) -> KnowledgeBase:
        """A new KB whose articles also carry their approved variants (unknown articles are
        skipped: an article deleted since keeps no orphan questions)."""
        if not self.questions:
            return kb
        articles: dict[str, Article] = {}
        for article_id, article in kb.articles.items():
            questions = dict(article.questions)
            for (learned_id, locale), extra in self.questions.items():
                if learned_id == article_id:
                    # a creator's words never become a button's label: the title stays first
                    current = questions.get(locale) or (article.title(locale),)
                    known = {fold(q) for q in current}
                    questions[locale] = (*current, *(q for q in extra if fold(q) not in known))
            articles[article_id] = Article(
                article_id, article.category, questions, dict(article.answers)
            )
        return KnowledgeBase(articles)


def learnable(text: str) -> str | None:
    """The wording worth keeping, or None: a pick, a command or a word or two teach nothing."""
    text = clean(text)[:MAX_VARIANT].strip()
    if not text or text.startswith("/") or parse_article_payload(text) is not None:
        return None
    if len(fold(text).split()) < MIN_WORDS:
        return None
    return text


def wording_before(
    session: Session, *, conversation_id: int, before_id: int | None = None
) -> Message | None:
    """The creator's question a pick (or an agent's article) answers: the latest inbound
    message, before ``before_id`` when given, that has words (numbers and payloads are picks
    themselves)."""
    query = select(Message).where(
        Message.conversation_id == conversation_id, Message.direction == Direction.IN
    )
    if before_id is not None:
        query = query.where(col(Message.id) < before_id)
    rows = session.exec(query.order_by(col(Message.id).desc()).limit(LOOKBACK)).all()
    return next((m for m in rows if learnable(m.text) is not None), None)


def learn(
    session: Session,
    message: Message | None,
    *,
    article_id: str,
    locale: str,
    source: VariantSource,
    now: datetime,
) -> KbVariant | None:
    """Store ``message``'s wording as a pending variant of ``article_id``; None when it is not
    learnable, is a P1/P2 message, or this article already has (or rejected) that wording."""
    if message is None or _is_crisis(message.priority):
        return None
    text = learnable(message.text)
    if text is None:
        return None
    folded = fold(text)[:MAX_FOLDED]
    existing = session.exec(
        select(KbVariant.id).where(
            KbVariant.article_id == article_id,
            KbVariant.locale == locale,
            KbVariant.folded == folded,
        )
    ).first()
    if existing is not None:
        return None
    variant = KbVariant(
        article_id=article_id,
        locale=locale,
        text=text,
        folded=folded,
        source=source,
        conversation_id=message.conversation_id,
        created_at=now,
    )
    try:
        with session.begin_nested():  # a racing twin: the first one stays, this one is dropped
            session.add(variant)
    except IntegrityError:
        return None
    return variant


def pending(session: Session, *, locale: str | None = None) -> list[KbVariant]:
    """Variants awaiting review, oldest first."""
    query = select(KbVariant).where(KbVariant.status == VariantStatus.PENDING)
    if locale is not None:
        query = query.where(KbVariant.locale == locale)
    return list(session.exec(query.order_by(col(KbVariant.id))).all())


def review(
    session: Session, ids: Iterable[int], *, approve: bool, now: datetime
) -> list[KbVariant]:
    """Approve or reject pending variants; returns the ones changed (unknown or already
    reviewed ids are skipped). The caller commits."""
    wanted = set(ids)
    if not wanted:
        return []
    rows = session.exec(
        select(KbVariant).where(
            col(KbVariant.id).in_(wanted), KbVariant.status == VariantStatus.PENDING
        )
    ).all()
    status = VariantStatus.APPROVED if approve else VariantStatus.REJECTED
    for row in rows:
        row.status, row.reviewed_at = status, now
        session.add(row)
    return list(rows)


def approved(session: Session) -> Learned:
    rows = session.exec(
        select(KbVariant)
        .where(KbVariant.status == VariantStatus.APPROVED)
        .order_by(col(KbVariant.id))
    ).all()
    questions: dict[tuple[str, str], tuple[str, ...]] = {}
    for row in rows:
        key = (row.article_id, row.locale)
        questions[key] = (*questions.get(key, ()), row.text)
    return Learned(questions)


def version(session: Session) -> tuple[int, datetime | None]:
    """Changes whenever a variant is approved: (approved count, latest review)."""
    count, latest = session.exec(
        select(func.count(col(KbVariant.id)), func.max(KbVariant.reviewed_at)).where(
            KbVariant.status == VariantStatus.APPROVED
        )
    ).one()
    return int(count), latest


def _is_crisis(priority: str | None) -> bool:
    return priority is not None and priority in {p.value for p in NEVER_LEARNED}
