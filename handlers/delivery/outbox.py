"""The outbound edge of every chat platform: messages for creators and posts for agents wait
here, and every delivery attempt is recorded, so a crash or an outage loses nothing."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ParamSpec, TypeVar

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from handlers.cases import casework
from handlers.cases.casework import Kind
from handlers.common.utc import as_utc_or_none, utcnow
from handlers.contract.messages import Attachment, Suggestion
from handlers.contract.roles import ThreadRole
from handlers.delivery.leases import process_name, take
from handlers.storage.db import retrying
from handlers.storage.models import (
    AgentPost,
    Conversation,
    Creator,
    DeliveryState,
    Direction,
    Escalation,
    Message,
    Sender,
)

_DELIVERED = (
    update(Message)
    .where(col(Message.id) == bindparam("message_id"))
    .values(
        delivered_at=bindparam("when"),
        attempts=Message.attempts + 1,
        platform_message_id=bindparam("sent_as"),
        error=None,
    )
    .returning(col(Message.relay_ref))
)
MAX_BACKOFF = timedelta(minutes=5)
MAX_ATTEMPTS = 10
# How long a claimed row stays with the process sending it: longer than any one send (files
# included), short enough that a row of a process killed mid-send is soon sent by another.
DEFAULT_LEASE = timedelta(seconds=60)
DELIVERED_MARK = "white_check_mark"
FAILED_MARK = "warning"


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
    # claimed before and never recorded: a send may have been interrupted after the platform
    # took it, so a platform that can be asked looks for it before sending again
    resumed: bool = False
    from_agent: bool = False  # an agent's text, in the agents' platform's encoding


P = ParamSpec("P")
R = TypeVar("R")


def durable(method: Callable[P, R]) -> Callable[P, R]:
    """Bookkeeping after a send must survive a database restart: a message the platform took
    but that isn't marked would be sent again. Retried while the database is unreachable."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return retrying(lambda: method(*args, **kwargs))

    return wrapper


class _Deliveries:
    """Delivery bookkeeping shared by both outboxes: claims, retries with backoff, give-ups.

    Any number of processes may send from one: ``next_for`` claims a row for this process
    (``owner``), so each row is sent by one process, in order.
    """

    table: type[DeliveryState]

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime] = utcnow,
        *,
        owner: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.owner = owner or process_name()
        self.lease = lease

    def _claim(self, session: Session, row_id: int, not_before: datetime | None) -> bool:
        """A row waiting for its retry time stays claimed until then, plus the lease."""
        table, now = self.table, self.clock()
        return take(
            session,
            table,
            row_id,
            col(table.delivered_at).is_(None),
            col(table.failed_at).is_(None),
            owner=self.owner,
            now=now,
            until=max(now, as_utc_or_none(not_before) or now) + self.lease,
            until_column="claimed_until",
        )

    @durable
    def retry_later(self, row_id: int, *, after: timedelta | None, error: str) -> datetime:
        """Record a failed attempt; ``after`` is the platform's own wait (429), else backoff.
        After ``MAX_ATTEMPTS`` the row is given up."""
        with Session(self.engine) as session:
            row = session.get(self.table, row_id)
            if row is None:
                return self.clock()
            if row.attempts + 1 >= MAX_ATTEMPTS:
                session.close()
                self.give_up(row_id, error=error)
                return self.clock()
            row.attempts += 1
            row.next_attempt_at = self.clock() + (
                after if after is not None else backoff(row.attempts)
            )
            row.error = error[:500]
            session.commit()
            return row.next_attempt_at

    @durable
    def give_up(self, row_id: int, *, error: str) -> None:
        """The platform refused for good (the chat is gone, the channel archived)."""
        with Session(self.engine) as session:
            row = session.get(self.table, row_id)
            if row is not None:
                row.failed_at = self.clock()
                row.attempts += 1
                row.error = error[:500]
                self._given_up(session, row)
                session.commit()

    def _given_up(self, session: Session, row: DeliveryState) -> None:
        """What else a give-up changes, in its transaction."""


class Outbox(_Deliveries):
    """The creators' outbox."""

    table = Message

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
        """The oldest undelivered message of one chat, claimed for this process; None when
        there is none or another process holds it (messages leave a chat in order)."""
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
            outbound = Outbound(
                id=message.id,
                chat_id=chat,
                text=message.text,
                suggestions=tuple(Suggestion(**s) for s in json.loads(message.suggestions)),
                attachments=tuple(Attachment(**a) for a in json.loads(message.attachments)),
                attempts=message.attempts,
                not_before=message.next_attempt_at,
                resumed=message.claimed_by is not None,
                from_agent=message.sender == Sender.AGENT,
            )
            if not self._claim(session, outbound.id, outbound.not_before):
                return None
        return outbound

    @durable
    def delivered(self, message_id: int, *, platform_message_id: str | None = None) -> None:
        """One prebuilt UPDATE; the message is loaded only when an agent waits for a ✓."""
        params = {"message_id": message_id, "when": self.clock(), "sent_as": platform_message_id}
        with Session(self.engine) as session:
            relay = session.connection().execute(_DELIVERED, params).first()
            if relay is not None and relay.relay_ref:
                message = session.get(Message, message_id)
                assert message is not None
                _mark_relay(session, message, delivered=True)
            session.commit()

    def _given_up(self, session: Session, row: DeliveryState) -> None:
        """A creator's message given up: the agent's relay gets ⚠️ and the thread a line."""
        assert isinstance(row, Message)
        _mark_relay(session, row, delivered=False)

    @staticmethod
    def _undelivered(platform: str) -> tuple[object, ...]:
        return (
            Message.direction == Direction.OUT,
            col(Message.delivered_at).is_(None),
            col(Message.failed_at).is_(None),
            Conversation.platform == platform,
        )


def _mark_relay(session: Session, message: Message, *, delivered: bool) -> None:
    """An agent's relayed reply gets ✓ once the creator has it, ⚠️ (and a line in the case's
    thread) when it can't be delivered; a failed bot message is reported in the thread too."""
    if delivered and not message.relay_ref:
        return
    case = session.exec(
        select(Escalation)
        .where(Escalation.conversation_id == message.conversation_id)
        .order_by(col(Escalation.id).desc())
    ).first()
    if case is None:
        return
    if message.relay_ref:
        mark = DELIVERED_MARK if delivered else FAILED_MARK
        casework.post(session, case, Kind.REACTION, ref=message.relay_ref, name=mark)
    if not delivered:
        casework.post(
            session,
            case,
            Kind.THREAD,
            role=ThreadRole.UNDELIVERABLE,
            text=message.text,
            error=message.error or "",
        )


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s … up to five minutes."""
    return min(timedelta(seconds=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


@dataclass(frozen=True, slots=True)
class AgentItem:
    """One post for the agents' platform, with what it needs to render it."""

    id: int
    escalation_id: int
    kind: str
    payload: dict[str, object]
    attempts: int
    not_before: datetime | None
    queue: str | None
    thread_ts: str | None
    resumed: bool = False  # as :attr:`Outbound.resumed`


class AgentOutbox(_Deliveries):
    """The agents' outbox: :class:`~handlers.storage.models.AgentPost` rows, in order per
    case."""

    table = AgentPost

    def cases_waiting(self, *, limit: int = 500) -> list[int]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(AgentPost.escalation_id)
                .where(col(AgentPost.delivered_at).is_(None), col(AgentPost.failed_at).is_(None))
                .order_by(col(AgentPost.id))
                .limit(limit)
            ).all()
        return list(dict.fromkeys(rows))

    def next_for(self, escalation_id: int) -> AgentItem | None:
        """The case's oldest waiting post, claimed for this process (as :meth:`Outbox.next_for`)."""
        with Session(self.engine) as session:
            row = session.exec(
                select(AgentPost, Escalation)
                .join(Escalation, col(Escalation.id) == AgentPost.escalation_id)
                .where(
                    AgentPost.escalation_id == escalation_id,
                    col(AgentPost.delivered_at).is_(None),
                    col(AgentPost.failed_at).is_(None),
                )
                .order_by(col(AgentPost.id))
                .limit(1)
            ).first()
            if row is None:
                return None
            post, case = row
            assert post.id is not None
            item = AgentItem(
                id=post.id,
                escalation_id=escalation_id,
                kind=post.kind,
                payload=json.loads(post.payload),
                attempts=post.attempts,
                not_before=post.next_attempt_at,
                queue=case.queue,
                thread_ts=case.thread_ts,
                resumed=post.claimed_by is not None,
            )
            if not self._claim(session, item.id, item.not_before):
                return None
        return item

    def case_of(self, *, queue: str, thread_ts: str) -> int | None:
        """The case whose card is this thread's parent."""
        with Session(self.engine) as session:
            return session.exec(
                select(Escalation.id).where(
                    Escalation.queue == queue, Escalation.thread_ts == thread_ts
                )
            ).first()

    def case_details(self, escalation_id: int) -> tuple[Escalation, Creator, list[str]] | None:
        """The case, its creator and the articles the bot offered before escalating."""
        with Session(self.engine, expire_on_commit=False) as session:
            case = session.get(Escalation, escalation_id)
            conversation = session.get(Conversation, case.conversation_id) if case else None
            creator = session.get(Creator, conversation.creator_id) if conversation else None
            if case is None or creator is None:
                return None
            tried = session.exec(
                select(Message.article_id).where(
                    Message.conversation_id == case.conversation_id,
                    col(Message.article_id).is_not(None),
                )
            ).all()
            return case, creator, [t for t in dict.fromkeys(tried) if t]

    @durable
    def delivered(self, post_id: int, *, result: str | None = None) -> None:
        """Done; a card's result is its message ts, which becomes the case's thread."""
        with Session(self.engine) as session:
            post = session.get(AgentPost, post_id)
            if post is None:
                return
            post.delivered_at, post.result = self.clock(), result
            post.attempts += 1
            if post.kind == Kind.CARD and result:
                case = session.get(Escalation, post.escalation_id)
                if case is not None and not case.thread_ts:
                    case.thread_ts = result
            session.commit()
