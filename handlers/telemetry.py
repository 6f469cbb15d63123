"""Operational counts read from the database at scrape time (``GET /metrics``).

Counted from the rows every process writes, so the figures are right however many ``web`` and
``worker`` processes share the database, and survive restarts. (Business metrics for people —
deflection rates, KB gaps, reports — live in ``handlers/insights.py``.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import case, func
from sqlalchemy.orm import Session
from sqlmodel import col, select

from handlers.models import (
    AgentPost,
    Conversation,
    Direction,
    Escalation,
    InboundUpdate,
    Message,
    Sender,
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


def snapshot(session: Session) -> Telemetry:
    return Telemetry(
        received=_messages_by_platform(session, Message.direction == Direction.IN),
        sent=_messages_by_platform(
            session, Message.direction == Direction.OUT, col(Message.delivered_at).is_not(None)
        ),
        deflections=_messages_by_platform(
            session,
            Message.direction == Direction.OUT,
            Message.sender == Sender.BOT,
            col(Message.article_id).is_not(None),
        ),
        escalations=_escalations(session, open_only=False),
        open_cases=_escalations(session, open_only=True),
        outboxes=(*_creator_outboxes(session), _agent_outbox(session)),
        inbox_pending=_inbox_pending(session),
    )


def _messages_by_platform(session: Session, *conditions: object) -> dict[str, int]:
    rows = session.execute(
        select(Conversation.platform, func.count(col(Message.id)))
        .join(Conversation, col(Conversation.id) == Message.conversation_id)
        .where(*conditions)  # type: ignore[arg-type]
        .group_by(Conversation.platform)
    ).all()
    return {str(platform): int(count) for platform, count in rows}


def _escalations(session: Session, *, open_only: bool) -> dict[str, int]:
    label = Escalation.status if open_only else Escalation.priority
    query = select(label, func.count(col(Escalation.id))).group_by(label)
    if open_only:
        query = query.where(col(Escalation.resolved_at).is_(None))
    return {str(key): int(count) for key, count in session.execute(query).all()}


def _delivery_columns(table: type[Message] | type[AgentPost]) -> tuple[object, ...]:
    """Pending, delivered and given-up rows, and failed attempts: a delivered row's last
    attempt succeeded (the console marks rows delivered without counting an attempt)."""
    delivered = col(table.delivered_at).is_not(None)
    failed = col(table.failed_at).is_not(None)
    attempts = col(table.attempts)
    failed_attempts = case(
        (delivered & (attempts > 0), attempts - 1), (delivered, 0), else_=attempts
    )
    return (
        func.count(col(table.id)).filter(~delivered, ~failed),
        func.count(col(table.id)).filter(delivered),
        func.count(col(table.id)).filter(failed),
        func.coalesce(func.sum(failed_attempts), 0),
    )


def _creator_outboxes(session: Session) -> list[OutboxCounts]:
    rows = session.execute(
        select(Conversation.platform, *_delivery_columns(Message))  # type: ignore[call-overload]
        .join(Conversation, col(Conversation.id) == Message.conversation_id)
        .where(Message.direction == Direction.OUT)
        .group_by(Conversation.platform)
    ).all()
    return [
        _outbox("creators", str(platform), pending, delivered, failed, attempts)
        for platform, pending, delivered, failed, attempts in rows
    ]


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
