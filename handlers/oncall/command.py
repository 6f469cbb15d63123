"""``/oncall``: parse an agent's command and answer it in their language.

The Slack adapter only passes the text and the agent's locale in and posts the answer back.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from handlers.common.i18n import N_, Translator, translator
from handlers.common.utc import as_utc
from handlers.contract.ids import parse_case_ref
from handlers.contract.priority import Priority
from handlers.insights import metrics, telemetry
from handlers.insights.report import headline_text
from handlers.oncall import paging
from handlers.oncall.timers import sla_due
from handlers.storage import store
from handlers.storage.models import Escalation, Page

if TYPE_CHECKING:
    from handlers.router import Puente

MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$|^([UW][A-Z0-9]{2,})$")
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
    def __init__(self, puente: Puente) -> None:
        self.puente = puente

    def answer(self, request: OncallRequest) -> str:
        t = translator(request.locale)
        name, *args = request.text.split() or [""]
        handler = self._handlers().get(name.casefold().lstrip("/"))
        if handler is None:
            return t.gettext("oncall_unknown", command=UNSAFE.sub("", name)[:40])
        with Session(self.puente.engine, expire_on_commit=False) as session:
            reply = handler(session, t, request.user, args)
            session.commit()
        return reply

    def _handlers(self) -> dict[str, Callable[[Session, Translator, str, list[str]], str]]:
        return {
            "": self._overview,
            "list": self._list,
            "ack": self._ack,
            "page": self._page,
            "handoff": self._handoff,
            "schedule": self._schedule,
            "stats": self._stats,
            "help": lambda _s, t, _u, _a: t.gettext("oncall_help"),
        }

    @property
    def now(self) -> datetime:
        return self.puente.clock()

    # -- subcommands ----------------------------------------------------------------------

    def _overview(self, session: Session, t: Translator, _user: str, _args: list[str]) -> str:
        schedule = self.puente.timekeeper.schedule
        current, following = schedule.now(session, self.now), schedule.next(session, self.now)
        lines = [
            t.gettext(
                "oncall_now",
                user=_mention(current.user, t),
                until=self._when(t, current.ends_at),
                next=_mention(following.user, t),
            )
        ]
        urgent = [c for c in self._open(session) if Priority.of(c.priority).urgent]
        lines.append(t.gettext("oncall_urgent_header") if urgent else t.gettext("oncall_no_urgent"))
        lines.extend(self._line(t, case) for case in urgent[:MAX_LISTED])
        late = telemetry.timers_late(session, self.now, self.puente.oncall.worker_late)
        if late is not None:
            lines.append(t.gettext("oncall_worker_late", minutes=round(late / 60)))
        return "\n".join(lines)

    def _list(self, session: Session, t: Translator, user: str, args: list[str]) -> str:
        which = args[0].casefold() if args else ""
        if (which and which not in LIST_FILTERS) or len(args) > 1:
            return t.gettext("oncall_bad_list")
        keep: dict[str, Callable[[Escalation], bool]] = {
            "": lambda c: True,
            "p1": lambda c: c.priority == Priority.P1,
            "p2": lambda c: c.priority == Priority.P2,
            "mine": lambda c: c.assignee == user,
            "unassigned": lambda c: c.assignee is None,
        }
        cases = [c for c in self._open(session) if keep[which](c)]
        if not cases:
            return t.gettext("oncall_list_empty")
        return "\n".join(self._line(t, case) for case in cases[:MAX_LISTED])

    def _ack(self, session: Session, t: Translator, user: str, args: list[str]) -> str:
        case = _case(session, args)
        if case is None or case.id is None:
            return t.gettext("oncall_bad_case", command="ack")
        count = paging.ack(session, case.id, by=user, now=self.now)
        key = N_("oncall_acked") if count else N_("oncall_nothing_to_ack")
        return t.gettext(key, case=case.id)

    def _page(self, session: Session, t: Translator, user: str, args: list[str]) -> str:
        case = _case(session, args)
        if case is None or case.id is None:
            return t.gettext("oncall_bad_case", command="page")
        if case.status not in store.OPEN_STATUSES:
            return t.gettext("oncall_case_closed", case=case.id)
        page = self.puente.timekeeper.page_on_call(
            session, case, self.now, why="manual", detail=user
        )
        if page.user is None:
            return t.gettext("oncall_nobody", case=case.id)
        return t.gettext("oncall_paged", case=case.id, user=_mention(page.user, t))

    def _handoff(self, session: Session, t: Translator, user: str, args: list[str]) -> str:
        found = MENTION.match(args[0]) if len(args) == 1 else None
        if found is None:
            return t.gettext("oncall_bad_handoff")
        to = found.group(1) or found.group(2)
        schedule = self.puente.timekeeper.schedule
        cover = schedule.hand_off(session, to=to, by=user, now=self.now)
        return t.gettext(
            "oncall_handed_off", user=_mention(to, t), until=self._when(t, as_utc(cover.ends_at))
        )

    def _schedule(self, session: Session, t: Translator, _user: str, _args: list[str]) -> str:
        rotation = self.puente.oncall.rotation
        if not rotation.members:
            return t.gettext("oncall_no_rotation")
        shifts = self.puente.timekeeper.schedule.upcoming(session, self.now, count=4)
        lines = [t.gettext("oncall_schedule_header", zone=rotation.timezone)]
        for shift in shifts:
            lines.append(
                t.gettext(
                    "oncall_shift",
                    user=_mention(shift.user, t),
                    start=self._when(t, shift.starts_at),
                    end=self._when(t, shift.ends_at),
                )
            )
        return "\n".join(lines)

    def _stats(self, session: Session, t: Translator, _user: str, _args: list[str]) -> str:
        """Headline figures for the last 7 days; full metrics live elsewhere."""
        since = self.now - timedelta(days=7)
        open_cases = self._open(session)
        late = sum(1 for c in open_cases if sla_due(c, self.puente.oncall)[1] <= self.now)
        pages = session.exec(select(Page).where(col(Page.created_at) >= since)).all()
        answered = [p for p in pages if p.acked_at and p.acked_by != paging.SUPERSEDED]
        waits = [
            (as_utc(p.acked_at) - as_utc(p.created_at)).total_seconds()
            for p in answered
            if p.acked_at is not None
        ]
        paging_line = t.gettext(
            "oncall_stats",
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
            matcher=self.puente.kb.matcher(),
            targets=self.puente.oncall.sla,
        )
        return "\n".join([paging_line, headline_text(figures, t)])

    # -- helpers ---------------------------------------------------------------------------

    def _open(self, session: Session) -> list[Escalation]:
        """Open cases, most urgent first, then the closest to their SLA target."""
        cases = [c for c, _ in store.list_escalations(session, statuses=store.OPEN_STATUSES)]
        return sorted(cases, key=lambda c: (c.priority, sla_due(c, self.puente.oncall)[1]))

    def _line(self, t: Translator, case: Escalation) -> str:
        target, due = sla_due(case, self.puente.oncall)
        left = (due - self.now).total_seconds()
        sla = (
            t.gettext(TIME_LEFT[target], time=t.timedelta(left))
            if left > 0
            else t.gettext(TIME_LATE[target], time=t.timedelta(-left))
        )
        owner = _mention(case.assignee, t) if case.assignee else t.gettext("oncall_unassigned")
        return t.gettext(
            "oncall_case_line",
            case=case.id,
            priority=case.priority,
            category=case.category,
            owner=owner,
            sla=sla,
        )

    def _when(self, t: Translator, moment: datetime) -> str:
        return t.datetime(moment, self.puente.oncall.rotation.timezone)


def _case(session: Session, args: list[str]) -> Escalation | None:
    if len(args) != 1:
        return None
    number = parse_case_ref(args[0])
    return None if number is None else session.get(Escalation, number)


def _mention(user: str | None, t: Translator) -> str:
    return f"<@{user}>" if user else t.gettext("oncall_nobody_on_call")
