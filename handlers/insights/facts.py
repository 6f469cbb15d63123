"""The facts the metrics are computed from: one row per contact (case) and per conversation in
a window, read from the database once. See :mod:`handlers.insights.metrics` for the definitions."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from handlers.common.utc import as_utc
from handlers.insights.repeats import DEFAULT_REPEAT_DAYS, Contact, contact_numbers, topic_of
from handlers.kb.matching.matcher import Matcher
from handlers.oncall.sla import SlaTargets, Target, parse_sla
from handlers.storage.models import (
    Conversation,
    Creator,
    Direction,
    Escalation,
    EscalationStatus,
    Message,
    Sender,
)

CLOSED = (EscalationStatus.RESOLVED, EscalationStatus.RETURNED)


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """One contact (a case and the cases it was transferred to), as the metrics see it."""

    case_id: int
    conversation_id: int
    creator_id: int
    opened_at: datetime
    priority: str
    category: str
    topic: str
    root_cause: str
    locale: str
    platform: str
    status: str
    first_response: float | None  # seconds
    resolution: float | None  # seconds
    sla_met: bool | None  # None: still open and not late yet
    satisfaction: int | None
    contact_number: int = 1


@dataclass(frozen=True, slots=True)
class ConversationFacts:
    conversation_id: int
    first_seen: datetime
    locale: str
    platform: str
    category: str
    root_cause: str
    escalated: bool
    deflected: bool


@dataclass(frozen=True, slots=True)
class RepeatRow:
    creator: str
    platform: str
    topic: str
    contacts: int
    last_at: datetime


@dataclass(frozen=True, slots=True)
class Facts:
    conversations: list[ConversationFacts]
    cases: list[CaseFacts]
    repeats: list[RepeatRow]


def collect(
    session: Session,
    since: datetime,
    until: datetime,
    *,
    matcher: Matcher | None = None,
    repeat_days: int = DEFAULT_REPEAT_DAYS,
    targets: SlaTargets | None = None,
) -> Facts:
    people = _people(session)
    every_case = session.exec(
        select(Escalation).where(Escalation.created_at >= since - timedelta(days=repeat_days))
    ).all()
    contacts = [c for c in every_case if c.linked_from is None]
    topics = {
        c.id: topic_of(c.category, c.summary, people[c.conversation_id][0], matcher)
        for c in contacts
    }
    numbers = contact_numbers(
        [
            Contact(c.id or 0, people[c.conversation_id][2], as_utc(c.created_at), topics[c.id])
            for c in contacts
        ],
        repeat_days,
    )
    in_window = [c for c in contacts if since <= as_utc(c.created_at) < until]
    chains = {c.id: c for c in every_case}
    agent_times = _agent_message_times(session, {c.conversation_id for c in in_window}, since)
    cases = [
        _case_facts(
            case,
            _last_of_chain(case, chains),
            people[case.conversation_id],
            topics[case.id],
            agent_times.get(case.conversation_id, []),
            until,
            targets,
            numbers.get(case.id or 0, 1),
        )
        for case in in_window
    ]
    conversations = _conversation_facts(session, since, until, people, cases, matcher)
    return Facts(conversations, cases, _repeat_rows(session, cases, repeat_days))


def _people(session: Session) -> dict[int, tuple[str, str, int]]:
    """conversation id → (creator's locale, platform, creator id)."""
    rows = session.exec(
        select(Conversation.id, Creator.locale, Conversation.platform, Creator.id).join(
            Creator, col(Creator.id) == Conversation.creator_id
        )
    ).all()
    return {conv: (locale, platform, creator) for conv, locale, platform, creator in rows}


def _agent_message_times(
    session: Session, conversation_ids: set[int], since: datetime
) -> dict[int, list[datetime]]:
    times: dict[int, list[datetime]] = defaultdict(list)
    if not conversation_ids:
        return times
    rows = session.exec(
        select(Message.conversation_id, Message.created_at).where(
            col(Message.conversation_id).in_(conversation_ids),
            Message.direction == Direction.OUT,
            Message.sender == Sender.AGENT,
            Message.created_at >= since,
        )
    ).all()
    for conversation_id, created in rows:
        times[conversation_id].append(as_utc(created))
    return times


def _last_of_chain(case: Escalation, chains: dict[int | None, Escalation]) -> Escalation:
    seen = {case.id}
    while case.transferred_to is not None and case.transferred_to in chains:
        case = chains[case.transferred_to]
        if case.id in seen:
            break
        seen.add(case.id)
    return case


def _case_facts(
    case: Escalation,
    last: Escalation,
    person: tuple[str, str, int],
    topic: str,
    agent_times: list[datetime],
    now: datetime,
    targets: SlaTargets | None,
    contact_number: int,
) -> CaseFacts:
    opened = as_utc(case.created_at)
    firsts = [t for t in agent_times if t >= opened]
    if case.assigned_at is not None:
        firsts.append(as_utc(case.assigned_at))
    first = min(firsts) if firsts else None
    closed_at = as_utc(last.resolved_at) if last.resolved_at else None
    first_response = (first - opened).total_seconds() if first else None
    resolution = (closed_at - opened).total_seconds() if closed_at else None
    target = (targets or parse_sla(""))[case.priority]
    return CaseFacts(
        case_id=case.id or 0,
        conversation_id=case.conversation_id,
        creator_id=person[2],
        opened_at=opened,
        priority=case.priority,
        category=case.category,
        topic=topic,
        root_cause=last.root_cause or "",
        locale=person[0],
        platform=person[1],
        status=str(last.status),
        first_response=first_response,
        resolution=resolution,
        sla_met=_sla_met(first_response, resolution, last.status, (now - opened), target),
        satisfaction=last.satisfaction,
        contact_number=contact_number,
    )


def _sla_met(
    first_response: float | None,
    resolution: float | None,
    status: str,
    age: timedelta,
    target: Target,
) -> bool | None:
    """Met, missed, or None while the case is open and neither target has passed yet."""
    respond, resolve = target.first_response.total_seconds(), target.resolution.total_seconds()
    if first_response is not None and first_response > respond:
        return False
    if first_response is None and age.total_seconds() > respond:
        return False
    if resolution is not None:
        return resolution <= resolve
    if status in CLOSED:  # returned to the bot: judged on the first response alone
        return first_response is not None
    return False if age.total_seconds() > resolve else None


def _conversation_facts(
    session: Session,
    since: datetime,
    until: datetime,
    people: dict[int, tuple[str, str, int]],
    cases: list[CaseFacts],
    matcher: Matcher | None,
) -> list[ConversationFacts]:
    first_seen: dict[int, datetime] = {}
    for conversation_id, created in session.exec(
        select(Message.conversation_id, Message.created_at).where(
            Message.direction == Direction.IN,
            Message.sender == Sender.CREATOR,
            Message.created_at >= since,
            Message.created_at < until,
        )
    ).all():
        moment = as_utc(created)
        if conversation_id not in first_seen or moment < first_seen[conversation_id]:
            first_seen[conversation_id] = moment
    answered: dict[int, str] = {}
    for conversation_id, article_id in session.exec(
        select(Message.conversation_id, Message.article_id)
        .where(
            Message.direction == Direction.OUT,
            Message.sender == Sender.BOT,
            col(Message.article_id).is_not(None),
            Message.created_at >= since,
            Message.created_at < until,
        )
        .order_by(col(Message.id))
    ).all():
        answered.setdefault(conversation_id, article_id or "")
    first_case: dict[int, CaseFacts] = {}
    for case in sorted(cases, key=lambda c: c.opened_at):
        first_case.setdefault(case.conversation_id, case)
    facts = []
    for conversation_id, seen in first_seen.items():
        locale, platform, _ = people[conversation_id]
        case = first_case.get(conversation_id)
        if case is not None:
            category, root_cause = case.topic, case.root_cause
        else:
            category, root_cause = _article_category(answered.get(conversation_id), matcher), ""
        facts.append(
            ConversationFacts(
                conversation_id,
                seen,
                locale,
                platform,
                category,
                root_cause,
                escalated=case is not None,
                deflected=case is None and conversation_id in answered,
            )
        )
    return facts


def _article_category(article_id: str | None, matcher: Matcher | None) -> str:
    if not article_id:
        return "none"
    article = matcher.kb.get(article_id) if matcher is not None else None
    return article.category if article is not None and article.category else "none"


def _repeat_rows(session: Session, cases: list[CaseFacts], days: int) -> list[RepeatRow]:
    """One row per creator and topic with a repeat contact in the window, most contacts first."""
    best: dict[tuple[int, str], CaseFacts] = {}
    for case in cases:
        if case.contact_number < 2:
            continue
        key = (case.creator_id, case.topic)
        if key not in best or case.contact_number > best[key].contact_number:
            best[key] = case
    rows = []
    for (creator_id, topic), case in best.items():
        creator = session.get(Creator, creator_id)
        name = (creator.display_name or creator.platform_user_id) if creator else str(creator_id)
        rows.append(RepeatRow(name, case.platform, topic, case.contact_number, case.opened_at))
    return sorted(rows, key=lambda r: (-r.contacts, r.creator))
