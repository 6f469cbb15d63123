"""Repeat complaints: a creator who comes back about the same topic within a few days.

A contact is a case (an escalation; a transfer is the same contact, not a new one). Its topic is
the case's category, except for the generic ones ("wants a person", "complaint"), where it is
the KB category of what the creator asked (``payouts``, ``gifts``…) when the KB recognises it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from handlers.common.utc import as_utc
from handlers.conversation.intents import detect
from handlers.kb.matching.matcher import LEGACY_CLARIFY, Matcher
from handlers.storage.models import Conversation, Creator, Escalation

GENERIC_CATEGORIES = frozenset({"human_request", "complaint", "none", ""})
DEFAULT_REPEAT_DAYS = 10


@dataclass(frozen=True, slots=True)
class Contact:
    case_id: int
    creator_id: int
    opened_at: datetime
    topic: str


@dataclass(frozen=True, slots=True)
class RepeatFlag:
    """The ``count``-th contact in ``days`` days about ``topic`` (count ≥ 2)."""

    count: int
    days: int
    topic: str


def topic_of(category: str, summary: str, locale: str, matcher: Matcher | None) -> str:
    """The case's topic: its category, or for a generic one the KB category of the creator's
    most recent recognisable question."""
    if category not in GENERIC_CATEGORIES or matcher is None:
        return category
    for line in reversed(summary.splitlines()):
        if not line.strip() or detect(line) is not None:
            continue
        ranked = matcher.rank(line, locale)
        if ranked and ranked[0][1] >= LEGACY_CLARIFY:
            article = matcher.kb.get(ranked[0][0])
            if article is not None and article.category:
                return article.category
    return category


def contact_numbers(contacts: Sequence[Contact], days: int) -> dict[int, int]:
    """For each case: how many contacts its creator made about its topic in the ``days`` days
    up to and including it."""
    window = timedelta(days=days)
    by_thread: dict[tuple[int, str], list[Contact]] = defaultdict(list)
    for contact in contacts:
        by_thread[(contact.creator_id, contact.topic)].append(contact)
    numbers: dict[int, int] = {}
    for thread in by_thread.values():
        thread.sort(key=lambda c: (c.opened_at, c.case_id))
        for n, contact in enumerate(thread):
            earlier = [c for c in thread[:n] if contact.opened_at - c.opened_at <= window]
            numbers[contact.case_id] = len(earlier) + 1
    return numbers


def creator_contacts(
    session: Session,
    creator_id: int,
    since: datetime,
    until: datetime,
    matcher: Matcher | None,
    locale: str = "es",
) -> list[Contact]:
    """The creator's cases opened in [since, until], transfers left out."""
    rows = session.exec(
        select(Escalation)
        .join(Conversation, col(Conversation.id) == Escalation.conversation_id)
        .where(
            Conversation.creator_id == creator_id,
            col(Escalation.linked_from).is_(None),
            Escalation.created_at >= since,
            Escalation.created_at <= until,
        )
    ).all()
    return [
        Contact(
            case.id or 0,
            creator_id,
            as_utc(case.created_at),
            topic_of(case.category, case.summary, locale, matcher),
        )
        for case in rows
    ]


def repeat_flag(
    session: Session, escalation_id: int, *, days: int, matcher: Matcher | None
) -> RepeatFlag | None:
    """The flag for a case's card, or None when it is the creator's first contact about it.

    A transferred case counts as the contact it came from."""
    case = session.get(Escalation, escalation_id)
    while case is not None and case.linked_from is not None:
        case = session.get(Escalation, case.linked_from)
    conversation = session.get(Conversation, case.conversation_id) if case else None
    if case is None or case.id is None or conversation is None:
        return None
    opened = as_utc(case.created_at)
    creator = session.get(Creator, conversation.creator_id)
    locale = creator.locale if creator else "es"
    contacts = creator_contacts(
        session, conversation.creator_id, opened - timedelta(days=days), opened, matcher, locale
    )
    count = contact_numbers(contacts, days).get(case.id, 1)
    if count < 2:
        return None
    topic = next(c.topic for c in contacts if c.case_id == case.id)
    return RepeatFlag(count, days, topic)
