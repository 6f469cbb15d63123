"""Support metrics from the database: pure queries over a time window, returning dataclasses.

Definitions (the README's "Insights" section says the same for support leads):

- a *conversation* is a chat in which the creator wrote during the window, counted once, on the
  day it first wrote then;
- it is *deflected* when the bot answered it from the KB and no person was called in;
- it is *escalated* when a case was opened for it in the window (a transfer is the same case);
- *first response* is from the case's opening to the moment an agent took it or first wrote to
  the creator, whichever came first; *resolution* is to when it was resolved (after transfers);
- *SLA attainment* is the share of cases whose first response and resolution met the targets of
  their priority (:mod:`handlers.sla`); an open case counts once it is late, not before;
- *satisfaction* is the creators' 1-5 survey score; *repeat contacts* are cases whose creator
  came back about the same topic within ``repeat_days`` days (:mod:`handlers.repeats`).

Nothing here formats: the report, the Home tab and ``/oncall stats`` do that in a locale.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
from sqlmodel import Session, col, select

from handlers.matcher import Matcher
from handlers.models import (
    Conversation,
    Creator,
    Direction,
    Escalation,
    EscalationStatus,
    Message,
    Sender,
    as_utc,
)
from handlers.repeats import DEFAULT_REPEAT_DAYS, Contact, contact_numbers, topic_of
from handlers.sla import SlaTarget, target_for

PRIORITIES = ("P1", "P2", "P3", "P4")
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
class Figures:
    conversations: int = 0
    deflected: int = 0
    escalated: int = 0  # conversations with a case
    escalations: int = 0  # cases
    first_response_p50: float | None = None
    first_response_p90: float | None = None
    resolution_p50: float | None = None
    resolution_p90: float | None = None
    sla_met: int = 0
    sla_counted: int = 0
    satisfaction_avg: float | None = None
    satisfaction_count: int = 0
    repeat_contacts: int = 0

    @property
    def deflection_rate(self) -> float | None:
        return self.deflected / self.conversations if self.conversations else None

    @property
    def escalation_rate(self) -> float | None:
        return self.escalated / self.conversations if self.conversations else None

    @property
    def sla_attainment(self) -> float | None:
        return self.sla_met / self.sla_counted if self.sla_counted else None


@dataclass(frozen=True, slots=True)
class Row:
    key: str | date
    figures: Figures


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    escalations: dict[str, int]  # by priority
    conversations: int
    deflected: int

    @property
    def deflection_rate(self) -> float | None:
        return self.deflected / self.conversations if self.conversations else None


@dataclass(frozen=True, slots=True)
class RepeatRow:
    creator: str
    platform: str
    topic: str
    contacts: int
    last_at: datetime


@dataclass(frozen=True, slots=True)
class Metrics:
    since: datetime
    until: datetime
    total: Figures
    by_week: list[Row]
    by_category: list[Row]
    by_root_cause: list[Row]
    by_locale: list[Row]
    by_platform: list[Row]
    by_priority: list[Row]
    days: list[Day]
    repeats: list[RepeatRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Facts:
    conversations: list[ConversationFacts]
    cases: list[CaseFacts]
    repeats: list[RepeatRow]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default); None for no values."""
    return float(np.percentile(values, q)) if values else None


def figures(
    conversations: Iterable[ConversationFacts], cases: Iterable[CaseFacts], *, repeat_from: int = 2
) -> Figures:
    convs, cases = list(conversations), list(cases)
    responses = [c.first_response for c in cases if c.first_response is not None]
    resolutions = [c.resolution for c in cases if c.resolution is not None]
    judged = [c.sla_met for c in cases if c.sla_met is not None]
    scores = [c.satisfaction for c in cases if c.satisfaction is not None]
    return Figures(
        conversations=len(convs),
        deflected=sum(c.deflected for c in convs),
        escalated=sum(c.escalated for c in convs),
        escalations=len(cases),
        first_response_p50=percentile(responses, 50),
        first_response_p90=percentile(responses, 90),
        resolution_p50=percentile(resolutions, 50),
        resolution_p90=percentile(resolutions, 90),
        sla_met=sum(judged),
        sla_counted=len(judged),
        satisfaction_avg=sum(scores) / len(scores) if scores else None,
        satisfaction_count=len(scores),
        repeat_contacts=sum(c.contact_number >= repeat_from for c in cases),
    )


def week_of(moment: datetime) -> date:
    """The Monday of the moment's ISO week (UTC)."""
    day = moment.date()
    return day - timedelta(days=day.weekday())


def metrics(
    session: Session,
    since: datetime,
    until: datetime,
    *,
    matcher: Matcher | None = None,
    repeat_days: int = DEFAULT_REPEAT_DAYS,
    targets: dict[str, SlaTarget] | None = None,
) -> Metrics:
    """Every figure for [since, until), overall and by week, category, root cause, locale,
    platform and priority, plus the per-day series the report charts."""
    facts = collect(
        session, since, until, matcher=matcher, repeat_days=repeat_days, targets=targets
    )
    convs, cases = facts.conversations, facts.cases

    def by(conv_key: Callable[[ConversationFacts], str | date] | None, case_key) -> list[Row]:  # type: ignore[no-untyped-def]
        groups: dict[str | date, tuple[list[ConversationFacts], list[CaseFacts]]] = defaultdict(
            lambda: ([], [])
        )
        if conv_key is not None:
            for conv in convs:
                groups[conv_key(conv)][0].append(conv)
        for case in cases:
            groups[case_key(case)][1].append(case)
        rows = [Row(key, figures(*group)) for key, group in groups.items()]
        return sorted(rows, key=lambda r: (-r.figures.conversations, -r.figures.escalations))

    by_week = sorted(
        by(lambda c: week_of(c.first_seen), lambda c: week_of(c.opened_at)),
        key=lambda r: str(r.key),
    )
    by_priority = [Row(p, figures((), [c for c in cases if c.priority == p])) for p in PRIORITIES]
    return Metrics(
        since=since,
        until=until,
        total=figures(convs, cases),
        by_week=by_week,
        by_category=by(lambda c: c.category, lambda c: c.topic),
        by_root_cause=by(lambda c: c.root_cause, lambda c: c.root_cause),
        by_locale=by(lambda c: c.locale, lambda c: c.locale),
        by_platform=by(lambda c: c.platform, lambda c: c.platform),
        by_priority=by_priority,
        days=_days(since, until, convs, cases),
        repeats=facts.repeats,
    )


def headline(
    session: Session, since: datetime, now: datetime, *, matcher: Matcher | None = None
) -> Figures:
    """The headline figures for ``/oncall stats`` and the Home tab."""
    facts = collect(session, since, now, matcher=matcher)
    return figures(facts.conversations, facts.cases)


def open_cases(session: Session) -> dict[str, int]:
    """Cases waiting for or owned by a person right now, by priority."""
    counts = dict.fromkeys(PRIORITIES, 0)
    waiting = select(Escalation.priority).where(
        col(Escalation.status).in_([EscalationStatus.OPEN, EscalationStatus.ASSIGNED])
    )
    for priority in session.exec(waiting).all():
        counts[priority] = counts.get(priority, 0) + 1
    return counts


def _days(
    since: datetime, until: datetime, convs: list[ConversationFacts], cases: list[CaseFacts]
) -> list[Day]:
    first, last = since.date(), (until - timedelta(microseconds=1)).date()
    days = []
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        today = [c for c in convs if c.first_seen.date() == day]
        opened = [c for c in cases if c.opened_at.date() == day]
        days.append(
            Day(
                day,
                {p: sum(c.priority == p for c in opened) for p in PRIORITIES},
                len(today),
                sum(c.deflected for c in today),
            )
        )
    return days


# -- collecting facts ------------------------------------------------------------------------


def collect(
    session: Session,
    since: datetime,
    until: datetime,
    *,
    matcher: Matcher | None = None,
    repeat_days: int = DEFAULT_REPEAT_DAYS,
    targets: dict[str, SlaTarget] | None = None,
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
    targets: dict[str, SlaTarget] | None,
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
    target = target_for(case.priority, targets)
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
    target: SlaTarget,
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
