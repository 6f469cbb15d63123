"""Support metrics from the database: pure queries over a time window, returning dataclasses.

Definitions (docs/insights.md says the same for support leads):

- a *conversation* is a chat in which the creator wrote during the window, counted once, on the
  day it first wrote then;
- it is *deflected* when the bot answered it from the KB and no person was called in;
- it is *escalated* when a case was opened for it in the window (a transfer is the same case);
- *first response* is from the case's opening to the moment an agent took it or first wrote to
  the creator, whichever came first; *resolution* is to when it was resolved (after transfers);
- *SLA attainment* is the share of cases whose first response and resolution met the targets of
  their priority (:mod:`handlers.oncall.sla`); an open case counts once it is late, not before;
- *satisfaction* is the creators' 1-5 survey score; *repeat contacts* are cases whose creator
  came back about the same topic within ``repeat_days`` days (:mod:`handlers.insights.repeats`).

Nothing here formats: the report, the Home tab and ``/oncall stats`` do that in a locale.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
from sqlmodel import Session, col, select

from handlers.contract.priority import Priority
from handlers.insights.facts import CaseFacts, ConversationFacts, RepeatRow, collect
from handlers.insights.repeats import DEFAULT_REPEAT_DAYS
from handlers.kb.matching.matcher import Matcher
from handlers.oncall.sla import SlaTargets
from handlers.storage.models import Escalation, EscalationStatus

PRIORITIES = tuple(Priority)


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
    targets: SlaTargets | None = None,
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
    session: Session,
    since: datetime,
    now: datetime,
    *,
    matcher: Matcher | None = None,
    targets: SlaTargets | None = None,
) -> Figures:
    """The headline figures for ``/oncall stats`` and the Home tab."""
    facts = collect(session, since, now, matcher=matcher, targets=targets)
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
