"""SLA timers, paging and close-the-loop in the handler layer, with time moved by a FakeClock.

Two workers are two Puente instances on their own engines over one database file, as two
``puente worker`` processes would be; a restart is a new set of objects on the same file.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from handlers.api import Puente
from handlers.cases.casework import Kind
from handlers.contract.actions import AgentAction, AgentActionKind
from handlers.kb.source import SHIPPED_KB, KbSource
from handlers.oncall.schedule import Rotation
from handlers.oncall.sla import OncallPolicy, parse_sla
from handlers.oncall.timers import AUTO_CLOSE, NUDGE
from handlers.storage.db import make_engine
from handlers.storage.models import (
    AgentPost,
    Direction,
    Escalation,
    EscalationStatus,
    Message,
    Page,
    Sender,
    Timer,
)
from handlers.triage.classifier import Rule, Triager
from tests.conftest import Creator, FakeClock

ANA, BEA = "UANA", "UBEA"
POLICY = OncallPolicy(
    rotation=Rotation((ANA, BEA), handoff_weekday=0, handoff_hour=10, timezone="Europe/Madrid"),
    sla=parse_sla(""),
    page_repeat=timedelta(minutes=5),
    page_repeats=2,
    nudge_after=timedelta(hours=2),
    close_after=timedelta(hours=24),
)


def make_puente(db: Path, clock: FakeClock) -> Puente:
    engine = make_engine(f"sqlite:///{db}")
    rules = [Rule("self_harm", "intent to self-harm", (re.compile(r"\btermino con todo\b"),))]
    return Puente(
        engine=engine,
        kb=KbSource(path=SHIPPED_KB, engine=engine),
        clock=clock,
        triager=Triager(rules, [], examples=[]),
        oncall=POLICY,
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "puente.db"


@pytest.fixture
def bot(db: Path, clock: FakeClock) -> Puente:
    return make_puente(db, clock)


def posts(engine: Engine, *, role: str | None = None, kind: str | None = None) -> list[dict]:
    """The agents' posts (payload plus ``kind``), oldest first."""
    with Session(engine) as session:
        rows = session.exec(select(AgentPost).order_by(col(AgentPost.id))).all()
    found = [{"kind": r.kind, **json.loads(r.payload)} for r in rows]
    return [
        p
        for p in found
        if (role is None or p.get("role") == role) and (kind is None or p["kind"] == kind)
    ]


def pages(engine: Engine) -> list[Page]:
    with Session(engine) as session:
        return list(session.exec(select(Page).order_by(col(Page.id))).all())


def the_case(engine: Engine) -> Escalation:
    with Session(engine) as session:
        return session.exec(select(Escalation)).one()


def bot_messages(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Message.text)
                .where(Message.direction == Direction.OUT, Message.sender == Sender.BOT)
                .order_by(col(Message.id))
            ).all()
        )


def on_call_now(bot: Puente) -> str:
    with Session(bot.engine) as session:
        user = bot.timekeeper.schedule.now(session, bot.clock()).user
    assert user is not None
    return user


def test_a_p1_pages_on_call_at_once_then_repeats_then_passes_on(
    bot: Puente, clock: FakeClock
) -> None:
    first = on_call_now(bot)
    Creator(bot).says("ya no aguanto, esta noche termino con todo")
    dms = posts(bot.engine, kind=Kind.DM)
    assert [(d["user"], d["attempt"]) for d in dms] == [(first, 1)]
    assert "termino con todo" in dms[0]["reason"]
    assert [p["user"] for p in posts(bot.engine, role="page", kind=Kind.THREAD)] == [first]

    clock.advance(minutes=4)
    assert bot.handle_tick() == 0
    clock.advance(minutes=1)
    bot.handle_tick()
    clock.advance(minutes=5)
    bot.handle_tick()
    second = POLICY.rotation.after(first)
    assert [(p.user, p.attempt) for p in pages(bot.engine)] == [(first, 1), (first, 2), (second, 1)]
    assert [d["user"] for d in posts(bot.engine, kind=Kind.DM)] == [first, first, second]


def test_taking_the_case_acknowledges_its_pages(bot: Puente, clock: FakeClock) -> None:
    Creator(bot).says("termino con todo")
    case = the_case(bot.engine)
    assert case.id is not None
    bot.handle_agent_action(AgentAction(AgentActionKind.TAKE, case.id, BEA))
    clock.advance(minutes=30)
    bot.handle_tick()
    (page,) = pages(bot.engine)
    assert page.acked_by == BEA
    assert len(posts(bot.engine, kind=Kind.DM)) == 1


def test_reminder_at_75_percent_then_breach_page_fire_once_with_two_workers(
    db: Path, clock: FakeClock
) -> None:
    workers = [make_puente(db, clock), make_puente(db, clock)]
    Creator(workers[0]).says("/agente")  # P3: first response within 8 h
    clock.advance(hours=5, minutes=59)
    assert sum(w.handle_tick() for w in workers) == 0
    assert posts(workers[0].engine, role="sla_reminder") == []

    clock.advance(minutes=1)  # 6 h = 75 % of 8 h
    with ThreadPoolExecutor(2) as pool:
        fired = list(pool.map(lambda w: w.handle_tick(), workers))
    assert sum(fired) == 1
    (reminder,) = posts(workers[0].engine, role="sla_reminder")
    assert reminder["target"] == "first_response"
    assert reminder["left"] == pytest.approx(2 * 3600)

    clock.advance(hours=2)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda w: w.handle_tick(), workers))
    for w in workers:
        w.handle_tick()
    assert len(posts(workers[0].engine, role="sla_breach")) == 1
    assert len(pages(workers[0].engine)) == 1


def test_a_case_taken_in_time_gets_no_first_response_reminder(
    bot: Puente, clock: FakeClock
) -> None:
    Creator(bot).says("/agente")
    case = the_case(bot.engine)
    assert case.id is not None
    bot.handle_agent_action(AgentAction(AgentActionKind.TAKE, case.id, ANA))
    clock.advance(hours=9)
    bot.handle_tick()
    assert posts(bot.engine, role="sla_reminder") == []
    assert posts(bot.engine, role="sla_breach") == []
    assert pages(bot.engine) == []
    clock.advance(hours=72 * 0.75 - 9)  # the resolution target still runs
    bot.handle_tick()
    (reminder,) = posts(bot.engine, role="sla_reminder")
    assert (reminder["target"], reminder["user"]) == ("resolution", ANA)


def test_a_due_timer_is_claimed_by_one_worker_only(db: Path, clock: FakeClock) -> None:
    first, second = make_puente(db, clock), make_puente(db, clock)
    Creator(first).says("/agente")
    clock.advance(hours=6)
    mine = first.timekeeper.claim(clock.now)
    assert len(mine) == 1
    assert second.timekeeper.claim(clock.now) == []
    assert second.timekeeper.fire(mine, clock.now) == 0  # not its claim
    assert first.timekeeper.fire(mine, clock.now) == 1
    assert len(posts(first.engine, role="sla_reminder")) == 1


def test_a_worker_whose_lease_ran_out_does_not_fire_again(db: Path, clock: FakeClock) -> None:
    slow, quick = make_puente(db, clock), make_puente(db, clock)
    Creator(slow).says("/agente")
    clock.advance(hours=6)
    held = slow.timekeeper.claim(clock.now)
    clock.advance(minutes=2)  # past the lease: the slow worker is presumed dead
    assert quick.handle_tick() == 1
    assert slow.timekeeper.fire(held, clock.now) == 0
    assert len(posts(slow.engine, role="sla_reminder")) == 1


def test_a_restart_neither_loses_nor_repeats_timers(db: Path, clock: FakeClock) -> None:
    before = make_puente(db, clock)
    Creator(before).says("/agente")
    before.engine.dispose()
    clock.advance(hours=6)
    after = make_puente(db, clock)  # new process objects, same database
    assert after.handle_tick() == 1
    assert after.handle_tick() == 0
    again = make_puente(db, clock)
    assert again.handle_tick() == 0
    assert len(posts(again.engine, role="sla_reminder")) == 1


def test_a_timer_claimed_by_a_crashed_worker_fires_after_its_lease(
    bot: Puente, clock: FakeClock
) -> None:
    Creator(bot).says("/agente")
    clock.advance(hours=6)
    with bot.engine.begin() as connection:
        connection.execute(
            update(Timer).values(
                claimed_by="dead-worker", lease_until=clock.now + timedelta(seconds=30)
            )
        )
    assert bot.handle_tick() == 0
    clock.advance(minutes=1)
    assert bot.handle_tick() == 1
    assert len(posts(bot.engine, role="sla_reminder")) == 1


def agent_asks(bot: Puente, creator: Creator, question: str) -> Escalation:
    creator.says("/agente")
    case = the_case(bot.engine)
    assert case.id is not None
    bot.handle_agent_action(AgentAction(AgentActionKind.TAKE, case.id, ANA))
    bot.handle_agent_action(AgentAction(AgentActionKind.REPLY, case.id, ANA, text=question))
    return case


def test_a_silent_creator_is_nudged_then_the_case_closes(bot: Puente, clock: FakeClock) -> None:
    case = agent_asks(bot, Creator(bot), "¿Me pasas tu usuario, porfa?")
    clock.advance(hours=2)
    bot.handle_tick()
    assert "sigue esperando tu respuesta" in bot_messages(bot.engine)[-1]
    assert len(posts(bot.engine, role="creator_nudged")) == 1
    clock.advance(hours=23)
    bot.handle_tick()
    assert the_case(bot.engine).status == EscalationStatus.ASSIGNED
    clock.advance(hours=1)
    bot.handle_tick()
    closed = the_case(bot.engine)
    assert (closed.id, closed.status) == (case.id, EscalationStatus.RESOLVED)
    assert f"Cerramos tu caso #{case.id}" in bot_messages(bot.engine)[-1]
    assert len(posts(bot.engine, role="auto_closed")) == 1


def test_the_nudge_speaks_the_creators_language(bot: Puente, clock: FakeClock) -> None:
    agent_asks(bot, Creator(bot, locale="en"), "Could you send me your username?")
    clock.advance(hours=2)
    bot.handle_tick()
    assert "still waiting for your answer" in bot_messages(bot.engine)[-1]


def test_a_creator_who_answers_is_not_nudged(bot: Puente, clock: FakeClock) -> None:
    creator = Creator(bot)
    agent_asks(bot, creator, "¿Desde cuándo pasa?")
    clock.advance(hours=1)
    creator.says("desde ayer")
    clock.advance(hours=30)
    bot.handle_tick()
    assert posts(bot.engine, role="creator_nudged") == []
    assert the_case(bot.engine).status == EscalationStatus.ASSIGNED


def test_a_statement_starts_no_nudge(bot: Puente) -> None:
    agent_asks(bot, Creator(bot), "Ya revisé tu cuenta, todo está en orden.")
    with Session(bot.engine) as session:
        kinds = session.exec(select(Timer.kind)).all()
    assert NUDGE not in kinds and AUTO_CLOSE not in kinds


def test_no_open_case_is_left_without_a_next_step(bot: Puente, clock: FakeClock) -> None:
    Creator(bot).says("/agente")
    with bot.engine.begin() as connection:  # e.g. a case opened before the worker existed
        connection.execute(update(Timer).values(cancelled_at=clock.now))
    clock.advance(hours=30)
    bot.handle_tick()
    with Session(bot.engine) as session:
        waiting = session.exec(
            select(Timer).where(col(Timer.fired_at).is_(None), col(Timer.cancelled_at).is_(None))
        ).all()
    assert waiting
    clock.advance(hours=8)
    bot.handle_tick()
    (page,) = pages(bot.engine)
    assert page.reason == "no_owner" and page.user == on_call_now(bot)


def test_a_critical_message_in_an_open_case_pages_and_resets_its_targets(
    bot: Puente, clock: FakeClock
) -> None:
    creator = Creator(bot)
    creator.says("/agente")
    assert pages(bot.engine) == []
    clock.advance(minutes=10)
    creator.says("la verdad es que esta noche termino con todo")
    assert [p.reason.split("|")[0] for p in pages(bot.engine)] == ["p1"]
    clock.advance(minutes=15)  # the P1 first-response target, counted from the case's opening
    bot.handle_tick()
    assert [p["target"] for p in posts(bot.engine, role="sla_breach")] == ["first_response"]


def test_an_agent_correcting_a_case_to_p1_pages(bot: Puente) -> None:
    Creator(bot).says("/agente")
    case = the_case(bot.engine)
    assert case.id is not None
    fix = AgentAction(AgentActionKind.RECLASSIFY, case.id, ANA, category="violent_threat")
    bot.handle_agent_action(fix)
    assert len(pages(bot.engine)) == 1
    bot.handle_agent_action(fix)  # the same correction again: no second page
    assert len(pages(bot.engine)) == 1


def test_a_handoff_sends_the_pages_to_the_cover(bot: Puente, clock: FakeClock) -> None:
    scheduled = on_call_now(bot)
    cover = POLICY.rotation.after(scheduled)
    assert cover is not None
    with Session(bot.engine) as session:
        bot.timekeeper.schedule.hand_off(session, to=cover, by=scheduled, now=clock.now)
        session.commit()
    Creator(bot).says("termino con todo")
    assert [d["user"] for d in posts(bot.engine, kind=Kind.DM)] == [cover]


def test_a_transferred_case_runs_its_own_targets(bot: Puente, clock: FakeClock) -> None:
    Creator(bot).says("/agente")
    first = the_case(bot.engine)
    assert first.id is not None
    clock.advance(hours=4)
    move = AgentAction(AgentActionKind.TRANSFER, first.id, ANA, queue="C0PAY")
    bot.handle_agent_action(move)
    clock.advance(hours=2)  # 6 h after the first case, 2 h after the transfer: nothing due
    bot.handle_tick()
    assert posts(bot.engine, role="sla_reminder") == []
    clock.advance(hours=4)  # 6 h after the transfer: the new case's 75 % reminder
    bot.handle_tick()
    assert [p["target"] for p in posts(bot.engine, role="sla_reminder")] == ["first_response"]
    with Session(bot.engine) as session:
        moved = session.exec(select(Escalation).where(Escalation.linked_from == first.id)).one()
        (post,) = session.exec(
            select(AgentPost).where(col(AgentPost.payload).contains("sla_reminder"))
        ).all()
    assert post.escalation_id == moved.id
