"""``puente worker``: a separate process firing timers whose effects the ``serve`` process
delivers (it polls the outboxes), stopped cleanly by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.worker import run
from handlers.api import Puente
from handlers.common.utc import utcnow
from handlers.contract.actions import AgentAction, AgentActionKind
from handlers.kb.source import KbSource
from handlers.oncall.sla import OncallPolicy
from handlers.oncall.timers import BATCH, Timekeeper
from handlers.storage.db import make_engine
from handlers.storage.models import AgentPost, Escalation
from tests.conftest import REPO, Creator, FakeClock
from tests.fakes.telegram_api import FakeTelegram
from tests.serving import Service, telegram_config, wait_until

CHAT = 7770042


def reminders(engine) -> list[AgentPost]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        rows = session.exec(select(AgentPost)).all()
    return [r for r in rows if '"sla_reminder"' in r.payload]


def a_case_six_hours_old(db: Path) -> Puente:
    clock = FakeClock()
    clock.now = utcnow() - timedelta(hours=6, minutes=1)
    engine = make_engine(f"sqlite:///{db}")
    opened = Puente(engine=engine, kb=KbSource(path=None), clock=clock)
    Creator(opened).says("/agente")  # P3: the 75 % reminder is due after 6 h
    return opened


def test_run_ticks_until_stopped(tmp_path: Path) -> None:
    opened = a_case_six_hours_old(tmp_path / "w.db")
    worker = Timekeeper(opened.engine, OncallPolicy())
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(worker,), kwargs={"every": 0.05, "stop": stop})
    thread.start()
    wait_until(lambda: reminders(opened.engine))
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert len(reminders(opened.engine)) == 1


def test_a_busy_tick_is_followed_at_once_by_the_next(tmp_path: Path) -> None:
    opened = a_case_six_hours_old(tmp_path / "busy.db")
    for n in range(BATCH + 20):
        Creator(opened, chat_id=f"busy-{n}").says("/agente")
    worker = Timekeeper(opened.engine, OncallPolicy())
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(worker,), kwargs={"every": 60.0, "stop": stop})
    thread.start()
    try:
        wait_until(lambda: len(reminders(opened.engine)) == BATCH + 21, timeout=30)
    finally:
        stop.set()
        thread.join(5)


def test_the_worker_command_fires_timers_and_stops_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    opened = a_case_six_hours_old(db)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "PYTHONPATH": str(REPO),
           "PUENTE_WORKER_SECONDS": "0.1"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "worker"], env=env, cwd=tmp_path, stderr=subprocess.PIPE
    )
    try:
        wait_until(lambda: reminders(opened.engine), timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert b"worker: stopped" in err


def test_a_bad_sla_setting_is_refused(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
           "PYTHONPATH": str(REPO), "PUENTE_SLA": "P1=soon"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "bot", "worker"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "PUENTE_SLA" in done.stderr


@pytest.fixture
def telegram_api() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


def test_a_nudge_written_by_the_worker_reaches_telegram(
    puente: Puente, telegram_api: FakeTelegram, tmp_path: Path
) -> None:
    puente.clock = utcnow
    service = Service(
        puente,
        telegram=telegram_config(telegram_api),
    ).start()
    try:
        telegram_api.user_sends(CHAT, "/agente")
        telegram_api.wait_for_messages(CHAT, 1)
        with Session(puente.engine) as session:
            case = session.exec(select(Escalation)).one()
        assert case.id is not None
        puente.handle_agent_action(AgentAction(AgentActionKind.TAKE, case.id, "U0AGENT1"))
        ask = AgentAction(AgentActionKind.REPLY, case.id, "U0AGENT1", text="¿Cuál es tu usuario?")
        puente.handle_agent_action(ask)
        telegram_api.wait_for_messages(CHAT, 3)
        later = FakeClock()
        later.now = utcnow() + timedelta(hours=2, minutes=1)
        worker_engine = make_engine(puente.engine.url.render_as_string(hide_password=False))
        try:
            worker = Puente(engine=worker_engine, kb=KbSource(path=None), clock=later)
            assert worker.handle_tick() >= 1
        finally:
            worker_engine.dispose()
        nudge = telegram_api.wait_for_messages(CHAT, 4)[-1]  # no wake-up: the sender polls
        assert "sigue esperando tu respuesta" in (nudge.text or "")
    finally:
        service.stop()
