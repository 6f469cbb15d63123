"""Timer claims on the real PostgreSQL: two workers, one firing (``pg_engine``: a fresh schema
at the newest migration, see tests/conftest.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from handlers.api import Puente
from handlers.kb.source import KbSource
from handlers.storage.db import make_engine
from handlers.storage.models import AgentPost
from tests.conftest import Creator, FakeClock


def test_two_workers_on_postgres_fire_a_timer_once(pg_engine: Engine, pg_url: str) -> None:
    clock = FakeClock()
    first = Puente(engine=pg_engine, kb=KbSource(path=None), clock=clock)
    second_engine = make_engine(pg_url)
    try:
        second = Puente(engine=second_engine, kb=KbSource(path=None), clock=clock)
        Creator(first).says("/agente")
        clock.advance(hours=6)
        mine = first.timekeeper.claim(clock.now)
        assert len(mine) == 1 and second.timekeeper.claim(clock.now) == []
        assert second.timekeeper.fire(mine, clock.now) == 0
        assert first.timekeeper.fire(mine, clock.now) == 1
        clock.advance(minutes=2)
        assert second.handle_tick(clock.now + timedelta(seconds=1)) == 0
        with Session(pg_engine) as session:
            payloads = session.exec(select(AgentPost.payload)).all()
        assert sum('"sla_reminder"' in p for p in payloads) == 1
    finally:
        second_engine.dispose()
