"""The agents' live dashboard (Slack's Home tab): headline figures, open cases, missing topics
and KB drafts awaiting review, read fresh from the database each time it is shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from handlers.insights import metrics
from handlers.kb import gaps
from handlers.kb import review as kb_review
from handlers.kb.source import KbSource
from handlers.oncall.sla import SlaTargets

DAYS = 7
MAX_GAPS = 5
MAX_DRAFTS = 10
GAP_SCAN = 2000  # newest creator messages read for missing topics: the tab must stay quick


@dataclass(frozen=True, slots=True)
class Dashboard:
    since: datetime
    now: datetime
    figures: metrics.Figures
    open_cases: dict[str, int]
    gaps: tuple[gaps.GapCluster, ...]
    drafts: tuple[kb_review.Draft, ...]
    drafts_total: int


def dashboard(
    engine: Engine,
    kb: KbSource,
    now: datetime,
    *,
    days: int = DAYS,
    targets: SlaTargets | None = None,
) -> Dashboard:
    since = now - timedelta(days=days)
    matcher = kb.matcher()
    with Session(engine) as session:
        figures = metrics.headline(session, since, now, matcher=matcher, targets=targets)
        waiting = metrics.open_cases(session)
        missing = gaps.kb_gaps(session, since, now, matcher, limit=GAP_SCAN)
        pending = kb_review.drafts(session)
    return Dashboard(
        since, now, figures, waiting, tuple(missing[:MAX_GAPS]), tuple(pending[:MAX_DRAFTS]),
        len(pending),
    )  # fmt: skip


def review_gap(
    engine: Engine,
    kb: KbSource,
    key: str,
    *,
    now: datetime,
    reviewer: str,
    answer: str | None = None,
    questions: str | None = None,
    category: str = "",
    days: int = DAYS,
) -> str | None:
    """Publish an article for a missing topic (with ``answer``) or dismiss it (without);
    the published id, or None."""
    since = now - timedelta(days=days)
    with Session(engine) as session:
        found = gaps.kb_gaps(session, since, now, kb.matcher(), limit=GAP_SCAN)
        found = [g for g in found if g.key == key]
        if not found:
            raise kb_review.ReviewError(f"no missing topic {key!r}")
        article_id = None
        if answer is None:
            kb_review.dismiss_gap(session, found[0], now=now, reviewer=reviewer)
        else:
            article = kb_review.approve_gap(
                session, found[0], answer=answer, now=now, category=category, questions=questions
            )
            article_id = article.article_id
        session.commit()
    return article_id


def gap_by_key(engine: Engine, kb: KbSource, key: str, now: datetime) -> gaps.GapCluster | None:
    since = now - timedelta(days=DAYS)
    with Session(engine) as session:
        found = gaps.kb_gaps(session, since, now, kb.matcher(), limit=GAP_SCAN)
    return next((g for g in found if g.key == key), None)


def review_draft(engine: Engine, row_id: int, *, approve: bool, now: datetime) -> str | None:
    """Approve (publish) or reject a draft from Slack; the published id, or None."""
    with Session(engine) as session:
        if approve:
            article_id: str | None = kb_review.approve_draft(session, row_id, now=now).article_id
        else:
            kb_review.reject_draft(session, row_id)
            article_id = None
        session.commit()
    return article_id
