"""Durable timers: SLA reminders and breaches, page repeats, creator nudges and auto-close.

Timers are rows (:class:`~handlers.storage.models.Timer`) written in the same transaction as
the case
event that starts them. ``Timekeeper.tick(now)`` fires the due ones: each is claimed with a
conditional UPDATE (a lease), and ``fired_at`` is set — again conditionally — in the transaction
that writes its effects, so two workers on one database fire a timer once, and a restart neither
loses nor repeats one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import exists, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from handlers.cases import casework
from handlers.cases.casework import Kind
from handlers.common.i18n import N_, translator
from handlers.common.utc import as_utc
from handlers.contract.messages import OutgoingMessage
from handlers.contract.priority import Priority
from handlers.contract.roles import ThreadRole
from handlers.delivery.leases import process_name, take, takeable
from handlers.oncall import paging
from handlers.oncall.schedule import Schedule
from handlers.oncall.sla import OncallPolicy
from handlers.storage import store
from handlers.storage.models import (
    Conversation,
    Creator,
    Direction,
    Escalation,
    EscalationStatus,
    Message,
    Page,
    Sender,
    Timer,
)
from handlers.triage.reasons import is_possible

FIRST_REMINDER, FIRST_BREACH = "first_reminder", "first_breach"
RESOLVE_REMINDER, RESOLVE_BREACH = "resolve_reminder", "resolve_breach"
NUDGE, AUTO_CLOSE, FOLLOW_UP = "creator_nudge", "auto_close", "follow_up"
SLA_KINDS = (FIRST_REMINDER, FIRST_BREACH, RESOLVE_REMINDER, RESOLVE_BREACH)
BATCH = 100
CREATOR_NUDGE, CREATOR_AUTO_CLOSED = N_("creator_nudge"), N_("creator_auto_closed")


def sla_due(case: Escalation, policy: OncallPolicy) -> tuple[str, datetime]:
    """The target a case is running against now: first response until taken, then resolution.
    Counted from the case's opening, as its timers are."""
    target = policy.sla[case.priority]
    opened = as_utc(case.created_at)
    if case.status == EscalationStatus.OPEN:
        return "first_response", opened + target.first_response
    return "resolution", opened + target.resolution


def pending(session: Session, escalation_id: int, kinds: tuple[str, ...]) -> list[Timer]:
    return list(
        session.exec(
            select(Timer).where(
                Timer.escalation_id == escalation_id,
                col(Timer.kind).in_(kinds),
                col(Timer.fired_at).is_(None),
                col(Timer.cancelled_at).is_(None),
            )
        ).all()
    )


class Timekeeper:
    """Starts timers from case events and fires them on ticks."""

    def __init__(self, engine: Engine, policy: OncallPolicy) -> None:
        self.engine = engine
        self.policy = policy
        self.worker_id = process_name()

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.policy.rotation)

    # -- started by case events (inside the caller's transaction) -------------------------

    def case_opened(self, session: Session, case: Escalation, now: datetime) -> None:
        """SLA timers for a new case; a P1 pages whoever is on call at once, unless it is a
        possible P1 waiting for a person to confirm it from the card."""
        self._start_sla(session, case, now)
        if case.priority == Priority.P1 and not is_possible(case.reason):
            self.page_on_call(session, case, now, why="p1", detail=case.reason)

    def priority_changed(self, session: Session, case: Escalation, now: datetime) -> None:
        """New targets for the new priority; a case raised to P1 pages."""
        assert case.id is not None
        for timer in pending(session, case.id, SLA_KINDS):
            timer.cancelled_at = now
        self.case_opened(session, case, now)

    def agent_asked(self, session: Session, case: Escalation, now: datetime) -> None:
        """The agent asked the creator something: nudge them if they stay silent."""
        assert case.id is not None
        for timer in pending(session, case.id, (NUDGE, AUTO_CLOSE)):
            timer.cancelled_at = now
        self._add(session, NUDGE, case, now + self.policy.nudge_after, now)

    def page_on_call(
        self, session: Session, case: Escalation, now: datetime, *, why: str, detail: str = ""
    ) -> Page:
        user = self.schedule.now(session, now).user
        return paging.page(
            session, case, user=user, now=now, policy=self.policy, reason=_reason(why, detail)
        )

    def _start_sla(self, session: Session, case: Escalation, now: datetime) -> None:
        target = self.policy.sla[case.priority]
        opened = as_utc(case.created_at)
        share = self.policy.reminder_at
        for kind, delay in (
            (FIRST_REMINDER, target.first_response * share),
            (FIRST_BREACH, target.first_response),
            (RESOLVE_REMINDER, target.resolution * share),
            (RESOLVE_BREACH, target.resolution),
        ):
            self._add(session, kind, case, max(opened + delay, now), now)

    @staticmethod
    def _add(session: Session, kind: str, case: Escalation, due: datetime, now: datetime) -> Timer:
        timer = Timer(kind=kind, escalation_id=case.id, due_at=due, created_at=now)
        session.add(timer)
        return timer

    # -- ticks --------------------------------------------------------------------------

    def tick(self, now: datetime) -> int:
        """Fire every due timer this worker can claim; the number fired."""
        self._sweep(now)
        return self.fire(self.claim(now), now)

    def claim(self, now: datetime) -> list[int]:
        """Claim the due timers nobody holds (or whose holder's lease ran out)."""
        return [timer_id for timer_id in self._due(now) if self._claim(timer_id, now)]

    def fire(self, timer_ids: list[int], now: datetime) -> int:
        return sum(1 for timer_id in timer_ids if self._fire(timer_id, now))

    def _due(self, now: datetime) -> list[int]:
        with Session(self.engine) as session:
            ids = session.exec(
                select(Timer.id)
                .where(
                    col(Timer.fired_at).is_(None),
                    col(Timer.cancelled_at).is_(None),
                    col(Timer.due_at) <= now,
                    takeable(Timer.claimed_by, Timer.lease_until, owner=self.worker_id, now=now),
                )
                .order_by(col(Timer.due_at))
                .limit(BATCH)
            ).all()
        return [i for i in ids if i is not None]

    def _claim(self, timer_id: int, now: datetime) -> bool:
        with Session(self.engine) as session:
            return take(
                session,
                Timer,
                timer_id,
                col(Timer.fired_at).is_(None),
                owner=self.worker_id,
                now=now,
                until=now + self.policy.lease,
                until_column="lease_until",
            )

    def _fire(self, timer_id: int, now: datetime) -> bool:
        with Session(self.engine, expire_on_commit=False) as session:
            timer = session.get(Timer, timer_id)
            case = session.get(Escalation, timer.escalation_id) if timer else None
            if timer is not None and case is not None and timer.cancelled_at is None:
                self._handlers()[timer.kind](session, timer, case, now)
            done = session.execute(
                update(Timer)
                .where(
                    col(Timer.id) == timer_id,
                    col(Timer.fired_at).is_(None),
                    col(Timer.claimed_by) == self.worker_id,
                )
                .values(fired_at=now)
            )
            if done.rowcount != 1:  # the lease ran out and another worker fired it
                session.rollback()
                return False
            session.commit()
            return True

    def _handlers(self) -> dict[str, Callable[[Session, Timer, Escalation, datetime], None]]:
        return {
            FIRST_REMINDER: self._remind,
            RESOLVE_REMINDER: self._remind,
            FIRST_BREACH: self._breach,
            RESOLVE_BREACH: self._breach,
            paging.PAGE_REPEAT: self._repeat_page,
            NUDGE: self._nudge,
            AUTO_CLOSE: self._auto_close,
            FOLLOW_UP: self._follow_up,
        }

    # -- what each timer does ---------------------------------------------------------------

    def _remind(self, session: Session, timer: Timer, case: Escalation, now: datetime) -> None:
        if not _running(case, timer.kind):
            return
        target, due = sla_due(case, self.policy)
        who = case.assignee or self.schedule.now(session, now).user
        left = (due - now).total_seconds()
        casework.post(
            session,
            case,
            Kind.THREAD,
            role=ThreadRole.SLA_REMINDER,
            target=target,
            user=who,
            left=left,
        )

    def _breach(self, session: Session, timer: Timer, case: Escalation, now: datetime) -> None:
        if not _running(case, timer.kind):
            return
        target, _ = sla_due(case, self.policy)
        casework.post(session, case, Kind.THREAD, role=ThreadRole.SLA_BREACH, target=target)
        self.page_on_call(session, case, now, why=f"breach_{target}")

    def _repeat_page(self, session: Session, timer: Timer, case: Escalation, now: datetime) -> None:
        page = session.get(Page, timer.page_id) if timer.page_id else None
        if page is None or page.acked_at is not None or case.status not in store.OPEN_STATUSES:
            return
        if page.attempt < self.policy.page_repeats:
            user, attempt = page.user, page.attempt + 1
        else:
            user, attempt = self.policy.rotation.after(page.user), 1
        page.acked_at, page.acked_by = now, paging.SUPERSEDED
        paging.page(
            session,
            case,
            user=user,
            now=now,
            policy=self.policy,
            reason=page.reason,
            attempt=attempt,
        )

    def _nudge(self, session: Session, timer: Timer, case: Escalation, now: datetime) -> None:
        if case.status != EscalationStatus.ASSIGNED or _creator_wrote(session, case, timer):
            return
        self._tell_creator(session, case, CREATOR_NUDGE, now)
        casework.post(session, case, Kind.THREAD, role=ThreadRole.CREATOR_NUDGED)
        self._add(session, AUTO_CLOSE, case, now + self.policy.close_after, now)

    def _auto_close(self, session: Session, timer: Timer, case: Escalation, now: datetime) -> None:
        if case.status not in store.OPEN_STATUSES or _creator_wrote(session, case, timer):
            return
        conversation = session.get(Conversation, case.conversation_id)
        assert conversation is not None
        resolution = case.resolution or "auto-closed: the creator did not answer"
        casework.resolve(case, conversation, now, resolution=resolution, root_cause=case.root_cause)
        self._tell_creator(session, case, CREATOR_AUTO_CLOSED, now)
        casework.post(session, case, Kind.UPDATE)
        casework.post(session, case, Kind.THREAD, role=ThreadRole.AUTO_CLOSED)

    def _follow_up(self, session: Session, timer: Timer, case: Escalation, now: datetime) -> None:
        """The sweep's safety net for a case with nothing else scheduled."""
        if case.status not in store.OPEN_STATUSES:
            return
        if case.assignee is None:
            self.page_on_call(session, case, now, why="no_owner")
        else:
            self._remind(session, timer, case, now)

    def _tell_creator(self, session: Session, case: Escalation, key: str, now: datetime) -> None:
        conversation = session.get(Conversation, case.conversation_id)
        creator = session.get(Creator, conversation.creator_id) if conversation else None
        assert conversation is not None and creator is not None
        text = translator(creator.locale).gettext(key, case=case.id)
        store.add_reply(session, conversation, OutgoingMessage(text), Sender.BOT, when=now)

    # -- the sweep ------------------------------------------------------------------------

    def _sweep(self, now: datetime) -> None:
        """No open case is ever left without a next step: one with no pending timer (opened
        before the worker ran, transferred, or whose timers all fired) gets a follow-up."""
        waiting = exists().where(
            Timer.escalation_id == Escalation.id,
            col(Timer.fired_at).is_(None),
            col(Timer.cancelled_at).is_(None),
        )
        with Session(self.engine) as session:
            cases = session.exec(
                select(Escalation)
                .where(col(Escalation.status).in_(store.OPEN_STATUSES), ~waiting)
                .limit(BATCH)
            ).all()
            for case in cases:
                if not _ever_timed(session, case):
                    self._start_sla(session, case, now)
                else:
                    delay = self.policy.sla[case.priority].first_response
                    self._add(session, FOLLOW_UP, case, now + delay, now)
            session.commit()


def _running(case: Escalation, kind: str) -> bool:
    """First-response timers matter until the case is taken; resolution ones until it closes."""
    if kind in (FIRST_REMINDER, FIRST_BREACH):
        return case.status == EscalationStatus.OPEN
    return case.status in store.OPEN_STATUSES


def _ever_timed(session: Session, case: Escalation) -> bool:
    """Whether SLA timers were ever started for the case (not so for one opened before the
    on-call feature, or by a transfer)."""
    found = session.exec(
        select(Timer.id).where(Timer.escalation_id == case.id, col(Timer.kind).in_(SLA_KINDS))
    ).first()
    return found is not None


def _creator_wrote(session: Session, case: Escalation, timer: Timer) -> bool:
    return (
        session.exec(
            select(Message.id).where(
                Message.conversation_id == case.conversation_id,
                Message.direction == Direction.IN,
                col(Message.created_at) > timer.created_at,
            )
        ).first()
        is not None
    )


def _reason(why: str, detail: str) -> str:
    return f"{why}|{detail}" if detail else why
