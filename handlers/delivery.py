"""The durable edges of every chat platform: raw updates in, outbound messages out.

An adapter stores a platform's update here before acknowledging it, and delivers outbound
messages from here, recording each attempt, so a crash or an outage loses nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from handlers.messages import Attachment, Suggestion
from handlers.models import Conversation, Direction, InboundUpdate, Message, utcnow

MAX_BACKOFF = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class PendingUpdate:
    id: int
    payload: str


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message waiting for delivery, as the adapter needs it."""

    id: int
    chat_id: str
    text: str
    suggestions: tuple[Suggestion, ...]
    attachments: tuple[Attachment, ...]
    attempts: int
    not_before: datetime | None


class Inbox:
    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock

    def accept(self, *, platform: str, key: str, payload: str) -> int | None:
        """Store a raw update; its row id, or None when this update was stored before."""
        with Session(self.engine) as session:
            row = InboundUpdate(
                platform=platform, update_key=key, payload=payload, received_at=self.clock()
            )
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return None
            return row.id

    def pending(self, *, platform: str, limit: int = 100) -> list[PendingUpdate]:
        """Updates stored but never finished (a crash between storing and answering)."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(InboundUpdate)
                .where(
                    InboundUpdate.platform == platform,
                    col(InboundUpdate.processed_at).is_(None),
                )
                .order_by(col(InboundUpdate.id))
                .limit(limit)
            ).all()
            return [PendingUpdate(r.id, r.payload) for r in rows if r.id is not None]

    def finish(self, update_id: int, *, error: str | None = None) -> None:
        with Session(self.engine) as session:
            row = session.get(InboundUpdate, update_id)
            if row is not None:
                row.processed_at = self.clock()
                row.attempts += 1
                row.error = error[:500] if error else None
                session.commit()


class Outbox:
    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock

    def chats_waiting(self, *, platform: str, limit: int = 500) -> list[str]:
        """Chats with at least one undelivered message, oldest first."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(Conversation.chat_id, Message.id)
                .join(Conversation, col(Conversation.id) == Message.conversation_id)
                .where(*self._undelivered(platform))
                .order_by(col(Message.id))
                .limit(limit)
            ).all()
        return list(dict.fromkeys(chat for chat, _ in rows))

    def next_for(self, *, platform: str, chat_id: str) -> Outbound | None:
        """The oldest undelivered message of one chat: messages leave a chat in order."""
        with Session(self.engine) as session:
            row = session.exec(
                select(Message, Conversation.chat_id)
                .join(Conversation, col(Conversation.id) == Message.conversation_id)
                .where(*self._undelivered(platform), Conversation.chat_id == chat_id)
                .order_by(col(Message.id))
                .limit(1)
            ).first()
        if row is None:
            return None
        message, chat = row
        assert message.id is not None
        return Outbound(
            id=message.id,
            chat_id=chat,
            text=message.text,
            suggestions=tuple(Suggestion(**s) for s in json.loads(message.suggestions)),
            attachments=tuple(Attachment(**a) for a in json.loads(message.attachments)),
            attempts=message.attempts,
            not_before=message.next_attempt_at,
        )

    def delivered(self, message_id: int, *, platform_message_id: str | None = None) -> None:
        with Session(self.engine) as session:
            message = session.get(Message, message_id)
            if message is not None:
                message.delivered_at = self.clock()
                message.attempts += 1
                message.platform_message_id = platform_message_id
                message.error = None
                session.commit()

    def retry_later(self, message_id: int, *, after: timedelta | None, error: str) -> datetime:
        """Record a failed attempt; ``after`` is the platform's own wait (429), else backoff."""
        with Session(self.engine) as session:
            message = session.get(Message, message_id)
            if message is None:
                return self.clock()
            message.attempts += 1
            wait = after if after is not None else backoff(message.attempts)
            message.next_attempt_at = self.clock() + wait
            message.error = error[:500]
            session.commit()
            return message.next_attempt_at

    def give_up(self, message_id: int, *, error: str) -> None:
        """The platform refused for good (the creator blocked the bot, the chat is gone)."""
        with Session(self.engine) as session:
            message = session.get(Message, message_id)
            if message is not None:
                message.failed_at = self.clock()
                message.attempts += 1
                message.error = error[:500]
                session.commit()

    @staticmethod
    def _undelivered(platform: str) -> tuple[object, ...]:
        return (
            Message.direction == Direction.OUT,
            col(Message.delivered_at).is_(None),
            col(Message.failed_at).is_(None),
            Conversation.platform == platform,
        )


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s … up to five minutes."""
    return min(timedelta(seconds=2 ** max(attempts - 1, 0)), MAX_BACKOFF)
