"""Operational counts read from the database at scrape time (``GET /metrics``).

Counted from the rows every process writes, so the figures are right however many ``web`` and
``worker`` processes share the database, and survive restarts. (Business metrics for people —
deflection rates, KB gaps, reports — live in ``handlers/insights.py``.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func
from sqlalchemy.orm import Session
from sqlmodel import col, select

from handlers.common.utc import as_utc
from handlers.storage.models import (
    AgentPost,
    Conversation,
    Direction,
    Escalation,
    InboundUpdate,
    Message,
    Sender,
    Timer,
)

AGENTS_PLATFORM = "slack"  # the agents' outbox is delivered by the Slack adapter


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    """One outbox on one platform."""

    outbox: str  # "creators" (message rows) or "agents" (agent_post rows)
    platform: str
    pending: int  # stored, neither delivered nor given up
    delivered: int
    undeliverable: int  # given up (refused for good, or too many failures)
    failed_attempts: int  # every attempt that did not deliver


@dataclass(frozen=True, slots=True)
class Telemetry:
    received: dict[str, int] = field(default_factory=dict)  # creators' messages, per platform
    sent: dict[str, int] = field(default_factory=dict)  # delivered replies, per platform
    deflections: dict[str, int] = field(default_factory=dict)  # KB answers, per platform
    escalations: dict[str, int] = field(default_factory=dict)  # cases opened, per priority
    open_cases: dict[str, int] = field(default_factory=dict)  # per status, not resolved
    outboxes: tuple[OutboxCounts, ...] = ()
    inbox_pending: dict[str, int] = field(default_factory=dict)  # raw updates not yet handled
    timers_due: dict[str, int] = field(default_factory=dict)  # due, not fired yet, per kind
    timers_fired: dict[str, int] = field(default_factory=dict)  # per kind
    timers_overdue_s: float = 0.0  # how long the oldest due timer has waited (0: none waits)


def snapshot(session: Session, now: datetime) -> Telemetry:
    received, sent, deflections, outboxes = _messages(session)
    return Telemetry(
        received=received,
        sent=sent,
        deflections=deflections,
        escalations=_escalations(session, open_only=False),
        open_cases=_escalations(session, open_only=True),
        outboxes=(*outboxes, _agent_outbox(session)),
        inbox_pending=_inbox_pending(session),
        timers_due=_timers(session, col(Timer.fired_at).is_(None), col(Timer.due_at) <= now),
        timers_fired=_timers(session, col(Timer.fired_at).is_not(None)),
        timers_overdue_s=overdue_seconds(session, now),
    )


def overdue_seconds(session: Session, now: datetime) -> float:
    """Seconds the oldest due, unfired timer has waited: a worker ticking every few seconds
    keeps this near 0, so a large value means no worker runs, or it is stuck."""
    oldest = session.execute(
        select(func.min(col(Timer.due_at))).where(
            col(Timer.fired_at).is_(None),
            col(Timer.cancelled_at).is_(None),
            col(Timer.due_at) <= now,
        )
    ).scalar()
    return max(0.0, (now - as_utc(oldest)).total_seconds()) if oldest is not None else 0.0


def timers_late(session: Session, now: datetime, allowed: timedelta) -> float | None:
    """How long the oldest due timer has waited, when that is longer than ``allowed`` (no
    worker runs, or it is stuck); None while the timers fire on time."""
    waited = overdue_seconds(session, now)
    return waited if waited > allowed.total_seconds() else None


def _messages(
    session: Session,
) -> tuple[dict[str, int], dict[str, int], dict[str, int], list[OutboxCounts]]:
    """One pass over the message table, grouped by platform (it is the biggest table)."""
    inbound = Message.direction == Direction.IN
    outbound = Message.direction == Direction.OUT
    answered = (Message.sender == Sender.BOT) & col(Message.article_id).is_not(None)
    count = func.count(col(Message.id))
    rows = session.execute(
        select(  # type: ignore[call-overload]
            Conversation.platform,
            count.filter(inbound),
            count.filter(outbound & answered),
            *_delivery_columns(Message, outbound),
        )
        .join(Conversation, col(Conversation.id) == Message.conversation_id)
        .group_by(Conversation.platform)
    ).all()
    received, deflections, sent, boxes = {}, {}, {}, []
    for platform, ins, kb_answers, pending, delivered, failed, attempts in rows:
        received[str(platform)] = int(ins)
        deflections[str(platform)] = int(kb_answers)
        sent[str(platform)] = int(delivered)
        boxes.append(_outbox("creators", str(platform), pending, delivered, failed, attempts))
    return received, sent, deflections, boxes


def _escalations(session: Session, *, open_only: bool) -> dict[str, int]:
    label = Escalation.status if open_only else Escalation.priority
    query = select(label, func.count(col(Escalation.id))).group_by(label)
    if open_only:
        query = query.where(col(Escalation.resolved_at).is_(None))
    return {str(key): int(count) for key, count in session.execute(query).all()}


def _delivery_columns(
    table: type[Message] | type[AgentPost], *where: ColumnElement[bool]
) -> tuple[object, ...]:
    """Pending, delivered and given-up rows, and failed attempts (among rows matching
    ``where``): a delivered row's last attempt succeeded (the console marks rows delivered
    without counting an attempt)."""
    delivered = col(table.delivered_at).is_not(None)
    failed = col(table.failed_at).is_not(None)
    attempts = col(table.attempts)
    failed_attempts = case(
        (delivered & (attempts > 0), attempts - 1), (delivered, 0), else_=attempts
    )
    count = func.count(col(table.id))
    return (
        count.filter(~delivered, ~failed, *where),
        count.filter(delivered, *where),
        count.filter(failed, *where),
        func.coalesce(func.sum(failed_attempts).filter(*where), 0),
    )


def _agent_outbox(session: Session) -> OutboxCounts:
    pending, delivered, failed, attempts = session.execute(
        select(*_delivery_columns(AgentPost))  # type: ignore[call-overload]
    ).one()
    return _outbox("agents", AGENTS_PLATFORM, pending, delivered, failed, attempts)


def _outbox(
    name: str, platform: str, pending: int, delivered: int, failed: int, attempts: int
) -> OutboxCounts:
    return OutboxCounts(
        outbox=name,
        platform=platform,
        pending=int(pending),
        delivered=int(delivered),
        undeliverable=int(failed),
        failed_attempts=int(attempts),
    )


def _inbox_pending(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(InboundUpdate.platform, func.count(col(InboundUpdate.id)))
        .where(col(InboundUpdate.processed_at).is_(None))
        .group_by(InboundUpdate.platform)
    ).all()
    return {str(platform): int(count) for platform, count in rows}


def _timers(session: Session, *where: ColumnElement[bool]) -> dict[str, int]:
    rows = session.execute(
        select(Timer.kind, func.count(col(Timer.id)))
        .where(col(Timer.cancelled_at).is_(None), *where)
        .group_by(Timer.kind)
    ).all()
    return {str(kind): int(count) for kind, count in rows}
