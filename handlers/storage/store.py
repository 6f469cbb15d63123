"""Keyword-only query functions over the tables; each takes an open session."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, update
from sqlmodel import Session, col, select

from handlers.common.utc import utcnow
from handlers.contract.messages import Attachment, OutgoingMessage, Suggestion
from handlers.kb.articles import KbRow, join_variants, split_variants
from handlers.storage.models import (
    Conversation,
    Creator,
    Direction,
    Escalation,
    EscalationStatus,
    InboundUpdate,
    KbArticle,
    Message,
    Sender,
    TriageExample,
)

OPEN_STATUSES = (EscalationStatus.OPEN, EscalationStatus.ASSIGNED)

# Built once: these run for every message, and building the expression costs more than the query.
_CREATOR = select(Creator).where(
    Creator.platform == bindparam("platform"), Creator.platform_user_id == bindparam("user_id")
)
_CONVERSATION = select(Conversation).where(
    Conversation.platform == bindparam("platform"), Conversation.chat_id == bindparam("chat_id")
)
_CREATOR_IN_CHAT = (
    select(Creator, Conversation)
    .join(Conversation, col(Conversation.creator_id) == col(Creator.id))
    .where(
        Conversation.platform == bindparam("platform"),
        Conversation.chat_id == bindparam("chat_id"),
        Creator.platform_user_id == bindparam("user_id"),
    )
)
_INBOUND = select(Message.id).where(
    Message.conversation_id == bindparam("conversation_id"),
    Message.direction == Direction.IN,
    Message.platform_message_id == bindparam("platform_message_id"),
)


def get_or_create_creator(
    session: Session,
    *,
    platform: str,
    user_id: str,
    display_name: str,
    locale: str | None,
    timezone: str | None = None,
) -> Creator:
    creator = session.exec(_CREATOR, params={"platform": platform, "user_id": user_id}).first()
    if creator is None:
        creator = Creator(platform=platform, platform_user_id=user_id, display_name=display_name)
        if locale:
            creator.locale = locale
        creator.timezone = timezone
        session.add(creator)
        session.flush()
        return creator
    refresh_creator(creator, display_name=display_name, locale=locale, timezone=timezone)
    return creator


def refresh_creator(
    creator: Creator, *, display_name: str, locale: str | None, timezone: str | None
) -> None:
    """What the platform says about a known creator now (a chosen language stays)."""
    if display_name and display_name != creator.display_name:
        creator.display_name = display_name
    if locale and not creator.locale_chosen and locale != creator.locale:
        creator.locale = locale
    if timezone and not creator.timezone:
        creator.timezone = timezone


def creator_in_chat(
    session: Session, *, platform: str, user_id: str, chat_id: str
) -> tuple[Creator, Conversation] | None:
    """A known creator in their own conversation, in one query (the usual message)."""
    params = {"platform": platform, "chat_id": chat_id, "user_id": user_id}
    row = session.exec(_CREATOR_IN_CHAT, params=params).first()
    if row is None or row[0].platform != platform:
        return None
    return row[0], row[1]


def get_or_create_conversation(
    session: Session, *, creator: Creator, platform: str, chat_id: str
) -> Conversation:
    conversation = session.exec(
        _CONVERSATION, params={"platform": platform, "chat_id": chat_id}
    ).first()
    if conversation is None:
        assert creator.id is not None
        conversation = Conversation(creator_id=creator.id, platform=platform, chat_id=chat_id)
        session.add(conversation)
        session.flush()
    return conversation


def inbound_exists(session: Session, *, conversation_id: int, platform_message_id: str) -> bool:
    params = {"conversation_id": conversation_id, "platform_message_id": platform_message_id}
    return session.exec(_INBOUND, params=params).first() is not None


def add_message(
    session: Session,
    *,
    conversation_id: int,
    direction: Direction,
    sender: Sender,
    text: str,
    platform_message_id: str | None = None,
    attachments: Sequence[Attachment] = (),
    suggestions: Sequence[Suggestion] = (),
    article_id: str | None = None,
    created_at: datetime | None = None,
) -> Message:
    message = Message(
        conversation_id=conversation_id,
        direction=direction,
        sender=sender,
        text=text,
        platform_message_id=platform_message_id,
        attachments=json.dumps([_attachment_json(a) for a in attachments]),
        suggestions=json.dumps([{"label": s.label, "payload": s.payload} for s in suggestions]),
        article_id=article_id,
        created_at=created_at or utcnow(),
    )
    session.add(message)
    return message


def _attachment_json(attachment: Attachment) -> dict[str, object]:
    return {
        "source": attachment.source,
        "kind": attachment.kind,
        "platform_file_id": attachment.platform_file_id,
        "file_name": attachment.file_name,
        "mime_type": attachment.mime_type,
        "size": attachment.size,
    }


_INBOUND_SINCE = select(func.count(col(Message.id))).where(
    Message.conversation_id == bindparam("conversation_id"),
    Message.direction == Direction.IN,
    Message.created_at >= bindparam("since"),
)


def count_inbound_since(session: Session, *, conversation_id: int, since: datetime) -> int:
    params = {"conversation_id": conversation_id, "since": since}
    return int(session.exec(_INBOUND_SINCE, params=params).one())


def recent_inbound_texts(session: Session, *, conversation_id: int, limit: int) -> list[str]:
    texts = session.exec(
        select(Message.text)
        .where(Message.conversation_id == conversation_id, Message.direction == Direction.IN)
        .order_by(col(Message.id).desc())
        .limit(limit)
    ).all()
    return list(reversed(texts))


def open_escalation(session: Session, *, conversation_id: int) -> Escalation | None:
    return session.exec(
        select(Escalation)
        .where(
            Escalation.conversation_id == conversation_id,
            col(Escalation.status).in_(OPEN_STATUSES),
        )
        .order_by(col(Escalation.id).desc())
    ).first()


def list_escalations(
    session: Session, *, statuses: Iterable[EscalationStatus] | None = None, limit: int = 100
) -> list[tuple[Escalation, Creator]]:
    query = (
        select(Escalation, Creator)
        .join(Conversation, col(Conversation.id) == Escalation.conversation_id)
        .join(Creator, col(Creator.id) == Conversation.creator_id)
        .order_by(col(Escalation.id).desc())
        .limit(limit)
    )
    if statuses is not None:
        query = query.where(col(Escalation.status).in_(list(statuses)))
    return [(escalation, creator) for escalation, creator in session.exec(query).all()]


def upsert_articles(session: Session, *, rows: Iterable[KbRow]) -> int:
    """Insert or replace (article, locale) pairs; the caller commits once for the whole file."""
    count = 0
    now = utcnow()
    for row in rows:
        article = session.exec(
            select(KbArticle).where(KbArticle.article_id == row.id, KbArticle.locale == row.locale)
        ).first()
        if article is None:
            article = KbArticle(article_id=row.id, locale=row.locale, questions="", answer="")
            session.add(article)
        article.category = row.category
        article.questions = join_variants(row.questions)
        article.answer = row.answer
        article.published = True
        article.updated_at = now
        count += 1
    session.flush()
    return count


def delete_articles(session: Session, *, article_ids: Iterable[str]) -> int:
    """Remove the published articles (every locale) with these ids; how many rows went."""
    ids = list(article_ids)
    articles = session.exec(
        select(KbArticle).where(
            col(KbArticle.article_id).in_(ids), col(KbArticle.published).is_(True)
        )
    ).all()
    for article in articles:
        session.delete(article)
    session.flush()
    return len(articles)


def published_article_ids(session: Session) -> set[str]:
    query = select(KbArticle.article_id).where(col(KbArticle.published).is_(True))
    return set(session.exec(query).all())


def published_articles(session: Session) -> list[KbRow]:
    articles = session.exec(
        select(KbArticle).where(col(KbArticle.published).is_(True)).order_by(col(KbArticle.id))
    ).all()
    return [
        KbRow(a.article_id, a.locale, a.category, split_variants(a.questions), a.answer)
        for a in articles
    ]


def kb_version(session: Session) -> tuple[int, datetime | None]:
    """Changes whenever an article is added or edited: (row count, latest update)."""
    count, latest = session.exec(
        select(func.count(col(KbArticle.id)), func.max(KbArticle.updated_at))
    ).one()
    return int(count), latest


def add_reply(
    session: Session,
    conversation: Conversation,
    reply: OutgoingMessage,
    sender: Sender,
    *,
    when: datetime,
    relay_ref: str | None = None,
) -> Message:
    """An outbound message for the creator, waiting in the outbox (inserted with the caller's
    next flush or commit: a turn's replies go in together)."""
    assert conversation.id is not None
    message = add_message(
        session,
        conversation_id=conversation.id,
        direction=Direction.OUT,
        sender=sender,
        text=reply.text,
        attachments=reply.attachments,
        suggestions=reply.suggestions,
        article_id=reply.article_id,
        created_at=when,
    )
    message.relay_ref = relay_ref
    return message


def mark_delivered(
    session: Session, *, message_id: int, when: datetime, platform_message_id: str | None = None
) -> None:
    message = session.get(Message, message_id)
    if message is not None:
        message.delivered_at = when
        message.platform_message_id = platform_message_id or message.platform_message_id
        message.error = None


_FINISH_UPDATE = (
    update(InboundUpdate)
    .where(col(InboundUpdate.id) == bindparam("row"))
    .values(
        processed_at=bindparam("when"),
        attempts=InboundUpdate.attempts + 1,
        error=bindparam("failure"),
    )
)


def finish_update(
    session: Session, *, row: int | None, when: datetime, error: str | None = None
) -> None:
    """Mark a stored raw update processed: one prebuilt UPDATE in the session's transaction,
    nothing loaded. ``row=None`` (no stored update) marks nothing."""
    if row is None:
        return
    params = {"row": row, "when": when, "failure": error[:500] if error else None}
    session.connection().execute(_FINISH_UPDATE, params)


def transcript(session: Session, *, conversation_id: int, limit: int = 50) -> list[list[str]]:
    """The conversation's last messages as [role, text] pairs, oldest first."""
    rows = session.exec(
        select(Message.sender, Message.text)
        .where(Message.conversation_id == conversation_id)
        .order_by(col(Message.id).desc())
        .limit(limit)
    ).all()
    return [[str(sender), text] for sender, text in reversed(rows)]


def triage_examples(session: Session) -> list[tuple[str, str]]:
    """(text, category) learned from agents' corrections, oldest first."""
    rows = session.exec(
        select(TriageExample.text, TriageExample.category).order_by(col(TriageExample.id))
    ).all()
    return [(text, category) for text, category in rows]
