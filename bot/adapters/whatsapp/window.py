"""The 24-hour customer-service window and delivery statuses, kept in the database.

WhatsApp takes free text only within 24 hours of the creator's last message. A row that can't
go out is *parked* (its retry time pushed far ahead, its claim released) and the agents are told
in the case's thread; the creator's next message unparks the chat's rows, which then leave in
order as usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from handlers.cases import casework
from handlers.cases.casework import Kind
from handlers.common.utc import as_utc
from handlers.contract.messages import Platform
from handlers.contract.roles import ThreadRole
from handlers.delivery.outbox import FAILED_MARK
from handlers.storage.models import Conversation, Creator, Direction, Escalation, Message

PLATFORM = Platform.WHATSAPP.value
WINDOW = timedelta(hours=24)
PARKED_FOR = timedelta(days=30)
PARKED_PREFIX = "window:"
WINDOW_ROLE = ThreadRole.WHATSAPP_WINDOW.value


@dataclass(frozen=True, slots=True)
class ChatState:
    last_inbound: datetime | None
    locale: str


def chat_state(engine: Engine, chat_id: str) -> ChatState:
    """When the creator last wrote (None: never) and their language."""
    with Session(engine) as session:
        last = session.exec(
            select(func.max(Message.created_at))
            .join(Conversation, col(Conversation.id) == Message.conversation_id)
            .where(
                Conversation.platform == PLATFORM,
                Conversation.chat_id == chat_id,
                Message.direction == Direction.IN,
            )
        ).one()
        locale = session.exec(
            select(Creator.locale)
            .join(Conversation, col(Conversation.creator_id) == Creator.id)
            .where(Conversation.platform == PLATFORM, Conversation.chat_id == chat_id)
        ).first()
    return ChatState(as_utc(last) if last else None, locale or "es")


def window_open(state: ChatState, now: datetime) -> bool:
    return state.last_inbound is not None and now - state.last_inbound < WINDOW


def waiting_unparked(engine: Engine, chat_id: str) -> list[tuple[int, bool]]:
    """The chat's undelivered rows not parked yet: (row id, an agent's relayed reply)."""
    with Session(engine) as session:
        rows = session.exec(
            select(Message.id, Message.relay_ref)
            .join(Conversation, col(Conversation.id) == Message.conversation_id)
            .where(
                Conversation.platform == PLATFORM,
                Conversation.chat_id == chat_id,
                Message.direction == Direction.OUT,
                col(Message.delivered_at).is_(None),
                col(Message.failed_at).is_(None),
                or_(col(Message.error).is_(None), ~col(Message.error).startswith(PARKED_PREFIX)),
            )
            .order_by(col(Message.id))
        ).all()
    return [(row_id, bool(relay)) for row_id, relay in rows if row_id is not None]


def park(engine: Engine, row_ids: list[int], now: datetime, *, template_sent: bool) -> None:
    """Hold rows until the creator writes; the agents are told in the thread about each of
    their replies held."""
    with Session(engine) as session:
        for row_id in row_ids:
            message = session.get(Message, row_id)
            if message is None:
                continue
            message.next_attempt_at = now + PARKED_FOR
            message.claimed_by = None
            message.claimed_until = None
            message.error = f"{PARKED_PREFIX} {'template sent' if template_sent else 'closed'}"
            case = _case_of(session, message)
            if case is not None and message.relay_ref:
                casework.post(
                    session, case, Kind.THREAD, role=WINDOW_ROLE,
                    template=template_sent, text=message.text[:500],
                )  # fmt: skip
        session.commit()


def unpark(engine: Engine, chat_id: str) -> int:
    """The creator wrote: the chat's parked rows may go out now."""
    conversations = select(Conversation.id).where(
        Conversation.platform == PLATFORM, Conversation.chat_id == chat_id
    )
    with Session(engine) as session:
        result = session.exec(  # type: ignore[call-overload]
            update(Message)
            .where(
                col(Message.conversation_id).in_(conversations.scalar_subquery()),
                Message.direction == Direction.OUT,
                col(Message.delivered_at).is_(None),
                col(Message.failed_at).is_(None),
                col(Message.error).startswith(PARKED_PREFIX),
            )
            .values(next_attempt_at=None, claimed_by=None, claimed_until=None)
        )
        session.commit()
        return int(result.rowcount or 0)


def failed_after_sending(engine: Engine, wamid: str, error: str) -> bool:
    """A ``failed`` status for a message WhatsApp had accepted: ⚠️ on an agent's relayed
    reply, and the text in the case's thread."""
    with Session(engine) as session:
        message = session.exec(
            select(Message)
            .join(Conversation, col(Conversation.id) == Message.conversation_id)
            .where(
                Conversation.platform == PLATFORM,
                Message.direction == Direction.OUT,
                Message.platform_message_id == wamid,
            )
        ).first()
        if message is None or (message.error or "").startswith("failed"):
            return False
        message.error = f"failed: {error}"[:500]
        case = _case_of(session, message)
        if case is not None:
            if message.relay_ref:
                casework.post(session, case, Kind.REACTION, ref=message.relay_ref, name=FAILED_MARK)
            casework.post(
                session, case, Kind.THREAD, role="undeliverable", text=message.text, error=error
            )
        session.commit()
        return True


def _case_of(session: Session, message: Message) -> Escalation | None:
    return session.exec(
        select(Escalation)
        .where(Escalation.conversation_id == message.conversation_id)
        .order_by(col(Escalation.id).desc())
    ).first()
