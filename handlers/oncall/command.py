"""``/oncall``: parse an agent's command and answer it in their language.

The Slack adapter only passes the text and the agent's locale in and posts the answer back.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from handlers.common.i18n import N_, Translator, translator
from handlers.common.utc import as_utc
from handlers.contract.ids import parse_case_ref
from handlers.contract.priority import Priority
from handlers.contract.rich import Line, Mention, RichReply, Value
from handlers.insights import metrics, telemetry
from handlers.insights.report import headline_lines
from handlers.kb.source import KbSource
from handlers.oncall import paging
from handlers.oncall.timers import Timekeeper, sla_due
from handlers.storage import store
from handlers.storage.models import Escalation, Page

AGENT_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")  # the adapter hands mentions over as plain ids
UNSAFE = re.compile(r"[<>&*_~`]")  # echoed text can't format, link or mention anything
LIST_FILTERS = ("p1", "p2", "mine", "unassigned")
MAX_LISTED = 20
TIME_LEFT = {
    "first_response": N_("oncall_left_first_response"),
    "resolution": N_("oncall_left_resolution"),
}
TIME_LATE = {
    "first_response": N_("oncall_late_first_response"),
    "resolution": N_("oncall_late_resolution"),
}


@dataclass(frozen=True, slots=True)
class OncallRequest:
    user: str
    text: str
    locale: str = "es"


class OncallCommand:
    def __init__(
        self, engine: Engine, kb: KbSource, clock: Callable[[], datetime], timekeeper: Timekeeper
    ) -> None:
        self.engine = engine
        self.kb = kb
        self.clock = clock
        self.policy = timekeeper.policy
        self.timekeeper = timekeeper

    def answer(self, request: OncallRequest) -> RichReply:
        """Mentions stay structured (:class:`Mention`); the agents' adapter renders them."""
        t = translator(request.locale)
        name, *args = request.text.split() or [""]
        handler = self._handlers().get(name.casefold().lstrip("/"))
        if handler is None:
            return _say(N_("oncall_unknown"), command=UNSAFE.sub("", name)[:40])
        with Session(self.engine, expire_on_commit=False) as session:
            reply = handler(session, t, request.user, args)
            session.commit()
        return reply

    def _handlers(self) -> dict[str, Callable[[Session, Translator, str, list[str]], RichReply]]:
        return {
            "": self._overview,
            "list": self._list,
            "ack": self._ack,
            "page": self._page,
            "handoff": self._handoff,
            "schedule": self._schedule,
            "stats": self._stats,
            "help": lambda _s, _t, _u, _a: _say(N_("oncall_help")),
        }

    @property
    def now(self) -> datetime:
        return self.clock()

    # -- subcommands ----------------------------------------------------------------------

    def _overview(self, session: Session, t: Translator, _user: str, _args: list[str]) -> RichReply:
        schedule = self.timekeeper.schedule
        current, following = schedule.now(session, self.now), schedule.next(session, self.now)
        lines = [
            Line.of(
                N_("oncall_now"),
                user=Mention(current.user),
                until=self._when(t, current.ends_at),
                next=Mention(following.user),
            )
        ]
        urgent = [c for c in self._open(session) if Priority.of(c.priority).urgent]
        lines.append(Line.of(N_("oncall_urgent_header") if urgent else N_("oncall_no_urgent")))
        lines.extend(self._line(t, case) for case in urgent[:MAX_LISTED])
        late = telemetry.timers_late(session, self.now, self.policy.worker_late)
        if late is not None:
            lines.append(Line.of(N_("oncall_worker_late"), minutes=round(late / 60)))
        return RichReply(tuple(lines))

    def _list(self, session: Session, t: Translator, user: str, args: list[str]) -> RichReply:
        which = args[0].casefold() if args else ""
        if (which and which not in LIST_FILTERS) or len(args) > 1:
            return _say(N_("oncall_bad_list"))
        keep: dict[str, Callable[[Escalation], bool]] = {
            "": lambda c: True,
            "p1": lambda c: c.priority == Priority.P1,
            "p2": lambda c: c.priority == Priority.P2,
            "mine": lambda c: c.assignee == user,
            "unassigned": lambda c: c.assignee is None,
        }
        cases = [c for c in self._open(session) if keep[which](c)]
        if not cases:
            return _say(N_("oncall_list_empty"))
        return RichReply(tuple(self._line(t, case) for case in cases[:MAX_LISTED]))

    def _ack(self, session: Session, _t: Translator, user: str, args: list[str]) -> RichReply:
        case = _case(session, args)
        if case is None or case.id is None:
            return _say(N_("oncall_bad_case"), command="ack")
        count = paging.ack(session, case.id, by=user, now=self.now)
        return _say(N_("oncall_acked") if count else N_("oncall_nothing_to_ack"), case=case.id)

    def _page(self, session: Session, _t: Translator, user: str, args: list[str]) -> RichReply:
        case = _case(session, args)
        if case is None or case.id is None:
            return _say(N_("oncall_bad_case"), command="page")
        if case.status not in store.OPEN_STATUSES:
            return _say(N_("oncall_case_closed"), case=case.id)
        page = self.timekeeper.page_on_call(session, case, self.now, why="manual", detail=user)
        if page.user is None:
            return _say(N_("oncall_nobody"), case=case.id)
        return _say(N_("oncall_paged"), case=case.id, user=Mention(page.user))

    def _handoff(self, session: Session, t: Translator, user: str, args: list[str]) -> RichReply:
        if len(args) != 1 or not AGENT_ID.match(args[0]):
            return _say(N_("oncall_bad_handoff"))
        to = args[0]
        cover = self.timekeeper.schedule.hand_off(session, to=to, by=user, now=self.now)
        until = self._when(t, as_utc(cover.ends_at))
        return _say(N_("oncall_handed_off"), user=Mention(to), until=until)

    def _schedule(self, session: Session, t: Translator, _user: str, _args: list[str]) -> RichReply:
        rotation = self.policy.rotation
        if not rotation.members:
            return _say(N_("oncall_no_rotation"))
        shifts = self.timekeeper.schedule.upcoming(session, self.now, count=4)
        lines = [Line.of(N_("oncall_schedule_header"), zone=str(rotation.timezone))]
        for shift in shifts:
            lines.append(
                Line.of(
                    N_("oncall_shift"),
                    user=Mention(shift.user),
                    start=self._when(t, shift.starts_at),
                    end=self._when(t, shift.ends_at),
                )
            )
        return RichReply(tuple(lines))

    def _stats(self, session: Session, t: Translator, _user: str, _args: list[str]) -> RichReply:
        """Headline figures for the last 7 days; full metrics live elsewhere."""
        since = self.now - timedelta(days=7)
        open_cases = self._open(session)
        late = sum(1 for c in open_cases if sla_due(c, self.policy)[1] <= self.now)
        pages = session.exec(select(Page).where(col(Page.created_at) >= since)).all()
        answered = [p for p in pages if p.acked_at and p.acked_by != paging.SUPERSEDED]
        waits = [
            (as_utc(p.acked_at) - as_utc(p.created_at)).total_seconds()
            for p in answered
            if p.acked_at is not None
        ]
        paging_line = Line.of(
            N_("oncall_stats"),
            open=len(open_cases),
            p1=sum(1 for c in open_cases if c.priority == Priority.P1),
            p2=sum(1 for c in open_cases if c.priority == Priority.P2),
            late=late,
            pages=len(pages),
            acked=len(answered),
            ack_time=t.timedelta(statistics.median(waits)) if waits else "-",
        )
        figures = metrics.headline(
            session,
            since,
            self.now,
            matcher=self.kb.matcher(),
            targets=self.policy.sla,
        )
        return RichReply((paging_line,), tuple(headline_lines(figures, t)))

    # -- helpers ---------------------------------------------------------------------------

    def _open(self, session: Session) -> list[Escalation]:
        """Open cases, most urgent first, then the closest to their SLA target."""
        cases = [c for c, _ in store.list_escalations(session, statuses=store.OPEN_STATUSES)]
        return sorted(
            cases, key=lambda c: (-Priority.of(c.priority).severity, sla_due(c, self.policy)[1])
        )

    def _line(self, t: Translator, case: Escalation) -> Line:
        target, due = sla_due(case, self.policy)
        left = (due - self.now).total_seconds()
        sla = (
            t.gettext(TIME_LEFT[target], time=t.timedelta(left))
            if left > 0
            else t.gettext(TIME_LATE[target], time=t.timedelta(-left))
        )
        owner = Mention(case.assignee) if case.assignee else t.gettext("oncall_unassigned")
        return Line.of(
            N_("oncall_case_line"),
            case=case.id or 0,
            priority=case.priority,
            category=case.category,
            owner=owner,
            sla=sla,
        )

    def _when(self, t: Translator, moment: datetime) -> str:
        return t.datetime(moment, self.policy.rotation.timezone)


def _case(session: Session, args: list[str]) -> Escalation | None:
    if len(args) != 1:
        return None
    number = parse_case_ref(args[0])
    return None if number is None else session.get(Escalation, number)


def _say(key: str, **values: Value) -> RichReply:
    return RichReply((Line.of(key, **values),))
