"""Paging: a direct message to the person on call and a mention in the case's thread, stored as
a :class:`~handlers.storage.models.Page` that the worker repeats, then passes on, until someone
acks."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from handlers.cases import casework
from handlers.cases.casework import Kind
from handlers.contract.roles import ThreadRole
from handlers.oncall.sla import OncallPolicy
from handlers.storage.models import Escalation, Page, Timer

PAGE_REPEAT = "page_repeat"
SUPERSEDED = "superseded"  # acked_by of a page that was repeated or passed on, not answered


def page(
    session: Session,
    case: Escalation,
    *,
    user: str | None,
    now: datetime,
    policy: OncallPolicy,
    reason: str,
    attempt: int = 1,
) -> Page:
    """Page ``user`` about ``case`` (nobody on call: the thread says so) and schedule the
    repeat that follows an unanswered page."""
    assert case.id is not None
    row = Page(escalation_id=case.id, user=user, attempt=attempt, reason=reason, created_at=now)
    session.add(row)
    session.flush()
    if user:
        casework.post(
            session,
            case,
            Kind.DM,
            user=user,
            role=ThreadRole.PAGE,
            priority=case.priority,
            category=case.category,
            reason=reason,
            attempt=attempt,
        )
        due = now + policy.page_repeat
        session.add(
            Timer(
                kind=PAGE_REPEAT, escalation_id=case.id, page_id=row.id, due_at=due, created_at=now
            )
        )
    casework.post(
        session, case, Kind.THREAD, role=ThreadRole.PAGE, user=user, attempt=attempt, reason=reason
    )
    return row


def pending_pages(session: Session, escalation_id: int) -> list[Page]:
    return list(
        session.exec(
            select(Page).where(Page.escalation_id == escalation_id, col(Page.acked_at).is_(None))
        ).all()
    )


def ack(session: Session, escalation_id: int, *, by: str, now: datetime) -> int:
    """Acknowledge every unanswered page of a case; how many there were."""
    pages = pending_pages(session, escalation_id)
    for row in pages:
        row.acked_at, row.acked_by = now, by
    return len(pages)
