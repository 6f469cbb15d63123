"""Database tables (sqlmodel). Plain data; behaviour lives in the handler modules."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from handlers.common.utc import utcnow
from handlers.contract.priority import Priority


class ConversationState(StrEnum):
    BOT = "bot"
    ESCALATED = "escalated"
    AGENT = "agent"
    RESOLVED = "resolved"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class Sender(StrEnum):
    CREATOR = "creator"
    BOT = "bot"
    AGENT = "agent"


class EscalationStatus(StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    RETURNED = "returned"
    RESOLVED = "resolved"
    TRANSFERRED = "transferred"


class Creator(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(index=True)
    platform_user_id: str
    display_name: str = ""
    locale: str = "es"
    locale_chosen: bool = False
    timezone: str | None = None
    is_vip: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Conversation(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("platform", "chat_id"),)

    id: int | None = Field(default=None, primary_key=True)
    creator_id: int = Field(foreign_key="creator.id", index=True)
    platform: str
    chat_id: str
    state: ConversationState = ConversationState.BOT
    misses: int = 0
    flood_warned_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class DeliveryState(SQLModel):
    """Outbox bookkeeping shared by every row that waits to be delivered somewhere."""

    delivered_at: datetime | None = Field(default=None, index=True)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    failed_at: datetime | None = None
    error: str | None = None
    # the claim of the process sending it (handlers.delivery.leases): no other process sends it
    # until ``claimed_until``, so a process killed mid-send only delays the row
    claimed_by: str | None = None
    claimed_until: datetime | None = None


class Message(DeliveryState, table=True):
    """Every message in both directions; inbound ones are unique per platform id (dedup).

    Outbound rows are also the outbox: stored before they are sent, ``delivered_at`` set once
    the platform accepted them, retried until then (``attempts``, ``next_attempt_at``).
    """

    __table_args__ = (
        UniqueConstraint("conversation_id", "direction", "platform_message_id"),
        # the outbox query: undelivered outbound rows, without scanning every inbound message
        Index("ix_message_outbox", "direction", "delivered_at", "failed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    direction: Direction
    sender: Sender
    platform_message_id: str | None = None
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    attachments: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    suggestions: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    article_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    relay_ref: str | None = None
    priority: str | None = None  # inbound: the triage verdict
    category: str | None = None


class Escalation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    priority: str = Priority.P3
    category: str = "human_request"
    status: EscalationStatus = Field(default=EscalationStatus.OPEN, index=True)
    reason: str = ""
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    assignee: str | None = None
    root_cause: str | None = None
    resolution: str | None = None
    satisfaction: int | None = None
    queue: str | None = None
    thread_ts: str | None = None
    transferred_to: int | None = None
    linked_from: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    due_at: datetime | None = None
    assigned_at: datetime | None = None
    resolved_at: datetime | None = None


class KbArticle(SQLModel, table=True):
    """One article in one locale; ``questions`` keeps the CSV's `` | `` separated variants."""

    __table_args__ = (UniqueConstraint("article_id", "locale"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: str = Field(index=True)
    locale: str
    category: str = ""
    questions: str = Field(sa_column=Column(Text, nullable=False))
    answer: str = Field(sa_column=Column(Text, nullable=False))
    published: bool = True
    source_case: int | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class InboundUpdate(SQLModel, table=True):
    """A platform's raw update, stored before it is acknowledged; unique per platform id."""

    __table_args__ = (UniqueConstraint("platform", "update_key"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    update_key: str
    payload: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(default_factory=utcnow)
    processed_at: datetime | None = Field(default=None, index=True)
    attempts: int = 0
    error: str | None = None


class AgentPost(DeliveryState, table=True):
    """The agents' side of the outbox: case cards, thread lines, card updates and reactions,
    delivered in order per case by the agents' platform adapter (Slack)."""

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(foreign_key="escalation.id", index=True)
    kind: str
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    result: str | None = None


class TriageExample(SQLModel, table=True):
    """A labelled example learned from an agent's correction of a case's triage."""

    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    category: str
    source_case: int | None = None
    agent: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class OncallOverride(SQLModel, table=True):
    """Someone covers the on-call rotation from ``starts_at`` until ``ends_at`` (a handoff)."""

    id: int | None = Field(default=None, primary_key=True)
    user: str
    starts_at: datetime = Field(index=True)
    ends_at: datetime = Field(index=True)
    created_by: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Page(SQLModel, table=True):
    """One page of one person about one case; the worker repeats or escalates it until acked."""

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(foreign_key="escalation.id", index=True)
    user: str | None = None
    attempt: int = 1
    reason: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    acked_at: datetime | None = None
    acked_by: str | None = None


class Timer(SQLModel, table=True):
    """A durable timer (SLA reminder, breach, page repeat, creator nudge, auto-close).

    Workers claim a due timer with a conditional UPDATE (``claimed_by``/``lease_until``) and set
    ``fired_at`` in the same transaction as its effects, so it fires once across processes.
    """

    __table_args__ = (Index("ix_timer_due", "fired_at", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    escalation_id: int | None = Field(default=None, foreign_key="escalation.id", index=True)
    page_id: int | None = None
    due_at: datetime
    created_at: datetime = Field(default_factory=utcnow)
    fired_at: datetime | None = None
    cancelled_at: datetime | None = None
    claimed_by: str | None = None
    lease_until: datetime | None = None


class KbGapDismissal(SQLModel, table=True):
    """A "missing topic" (KB gap cluster) someone reviewed and rejected: not offered again."""

    key: str = Field(primary_key=True, max_length=40)
    label: str = Field(default="", sa_column=Column(Text, nullable=False))
    reviewer: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class VariantStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class VariantSource(StrEnum):
    """How the wording was tied to the article: the creator picked it, or an agent sent it."""

    PICK = "pick"
    AGENT = "agent"


class KbVariant(SQLModel, table=True):
    """A creator's wording learned as a question variant of an article: pending until a person
    approves it (``puente kb review``); approved ones join the article's questions."""

    __table_args__ = (UniqueConstraint("article_id", "locale", "folded"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: str = Field(index=True)
    locale: str
    text: str = Field(sa_column=Column(Text, nullable=False))
    folded: str = Field(max_length=500)
    source: VariantSource = VariantSource.PICK
    status: VariantStatus = Field(default=VariantStatus.PENDING, index=True)
    conversation_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    reviewed_at: datetime | None = None
