"""The learning loop: drafts saved from Slack ("Guardar en KB") and KB gap clusters, reviewed by
a person (``puente kb review`` or the Slack Home tab) and published, rejected or edited.

Publishing writes a published :class:`~handlers.storage.models.KbArticle` and bumps
``updated_at``, so
:class:`~handlers.kb.source.KbSource` reloads it on its next check: the next creator who asks
gets the answer, without a restart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from handlers.common.text import clean, fold
from handlers.kb.articles import join_variants, split_variants
from handlers.kb.gaps import GapCluster
from handlers.storage.models import KbArticle, KbGapDismissal

DRAFT_PREFIX = "draft-"
MAX_TEXT = 3000
_SLUG = re.compile(r"[^a-z0-9]+")


class ReviewError(ValueError):
    """A review that can't be applied (no such draft, empty answer, id already taken)."""


@dataclass(frozen=True, slots=True)
class Draft:
    row_id: int
    article_id: str
    locale: str
    category: str
    questions: tuple[str, ...]
    answer: str
    source_case: int | None


def drafts(session: Session) -> list[Draft]:
    """Unpublished articles awaiting review, oldest first."""
    rows = session.exec(
        select(KbArticle).where(col(KbArticle.published).is_(False)).order_by(col(KbArticle.id))
    ).all()
    return [
        Draft(
            a.id or 0,
            a.article_id,
            a.locale,
            a.category,
            split_variants(a.questions),
            a.answer,
            a.source_case,
        )
        for a in rows
    ]


def approve_draft(
    session: Session,
    row_id: int,
    *,
    now: datetime,
    questions: str | None = None,
    answer: str | None = None,
    category: str | None = None,
    article_id: str | None = None,
) -> KbArticle:
    """Publish a draft, edited first when new text is given; ``draft-case-7`` becomes
    ``case-7`` unless another id is chosen. The caller commits."""
    draft = session.get(KbArticle, row_id)
    if draft is None or draft.published:
        raise ReviewError(f"no draft {row_id}")
    new_id = _slug(article_id) if article_id else draft.article_id.removeprefix(DRAFT_PREFIX)
    _check_free(session, new_id, draft.locale, row_id)
    if questions is not None:
        draft.questions = join_variants(split_variants(clean(questions)[:MAX_TEXT]))
    if answer is not None:
        draft.answer = clean(answer)[:MAX_TEXT]
    if category is not None:
        draft.category = clean(category)[:80]
    if not split_variants(draft.questions) or not draft.answer.strip():
        raise ReviewError("an article needs at least one question and an answer")
    draft.article_id, draft.published, draft.updated_at = new_id, True, now
    session.add(draft)
    return draft


def reject_draft(session: Session, row_id: int) -> None:
    draft = session.get(KbArticle, row_id)
    if draft is None or draft.published:
        raise ReviewError(f"no draft {row_id}")
    session.delete(draft)


def approve_gap(
    session: Session,
    gap: GapCluster,
    *,
    answer: str,
    now: datetime,
    category: str = "",
    article_id: str | None = None,
    questions: str | None = None,
) -> KbArticle:
    """A new published article for a missing topic: its wordings become the questions."""
    answer = clean(answer)[:MAX_TEXT]
    if not answer.strip():
        raise ReviewError("an article needs an answer")
    variants = split_variants(clean(questions)) if questions else gap.examples
    new_id = _slug(article_id or f"gap-{gap.label}")
    _check_free(session, new_id, gap.locale, None)
    article = KbArticle(
        article_id=new_id,
        locale=gap.locale,
        category=clean(category)[:80],
        questions=join_variants(variants),
        answer=answer,
        published=True,
        updated_at=now,
    )
    session.add(article)
    dismiss_gap(session, gap, now=now, reviewer=None)
    return article


def dismiss_gap(
    session: Session, gap: GapCluster, *, now: datetime, reviewer: str | None = None
) -> None:
    """Not a KB topic (or handled): the cluster is not offered for review again."""
    if session.get(KbGapDismissal, gap.key) is None:
        session.add(
            KbGapDismissal(key=gap.key, label=gap.label[:500], reviewer=reviewer, created_at=now)
        )


def _slug(text: str) -> str:
    slug = _SLUG.sub("-", fold(clean(text))).strip("-")[:60].strip("-")
    if not slug:
        raise ReviewError("an article id needs letters or digits")
    return slug


def _check_free(session: Session, article_id: str, locale: str, row_id: int | None) -> None:
    taken = session.exec(
        select(KbArticle.id).where(KbArticle.article_id == article_id, KbArticle.locale == locale)
    ).first()
    if taken is not None and taken != row_id:
        raise ReviewError(f"article {article_id!r} ({locale}) already exists")
