"""Faults, automated: Slack down for a while, a sender killed mid-delivery, PostgreSQL restarted.

Outages last in fake time where the code under test allows it (``FakeClock``), so a 30-second
Slack outage takes well under a second of real time.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from handlers.api import Puente
from handlers.cases.casework import Routing
from handlers.common.utc import as_utc
from handlers.storage.db import make_engine, migrate
from handlers.storage.models import AgentPost, Conversation, Direction, Message
from tests.conftest import REPO, Creator, FakeClock
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram
from tests.pg_server import PrivatePostgres
from tests.serving import Service, slack_config, wait_until

QUEUE = "C0ESC"
CHAT = 5550001


@pytest.fixture
def slack_api() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def desk(puente: Puente, slack_api: FakeSlack) -> Iterator[Service]:
    """The Slack adapter delivering the agents' outbox, on the test's fake clock."""
    puente.routing = Routing(default_queue=QUEUE)
    config = slack_config(slack_api, signing_secret="faults-secret")
    service = Service(puente, slack=config).start()
    yield service
    service.stop()


def _attempts(puente: Puente) -> tuple[int, int]:
    """(attempts made, posts still waiting) over the agents' outbox."""
    with Session(puente.engine) as session:
        made = session.exec(select(func.coalesce(func.sum(AgentPost.attempts), 0))).one()
        waiting = session.exec(
            select(func.count(col(AgentPost.id))).where(
                col(AgentPost.delivered_at).is_(None), col(AgentPost.failed_at).is_(None)
            )
        ).one()
    return int(made), int(waiting)


def _next_retry(puente: Puente) -> object | None:
    with Session(puente.engine) as session:
        return session.exec(
            select(func.min(AgentPost.next_attempt_at)).where(
                col(AgentPost.delivered_at).is_(None), col(AgentPost.failed_at).is_(None)
            )
        ).one()


def _deliver_all(puente: Puente, clock: FakeClock, desk: Service, rounds: int = 60) -> None:
    """Move the clock to each due retry and wait for that attempt, until nothing waits."""
    for _ in range(rounds):
        made, waiting = _attempts(puente)
        if not waiting:
            return
        due = _next_retry(puente)
        if due is not None:
            clock.now = max(clock.now, as_utc(due))  # type: ignore[arg-type]
        desk.wake_all()
        wait_until(lambda made=made: _attempts(puente)[0] > made or not _attempts(puente)[1])
    raise AssertionError("the agents' outbox never emptied")


# 500: backoff 1, 2, 4, 8, 16 s → sent at 31 s; 429: Retry-After 7 s each time → at 35 s
@pytest.mark.parametrize(("status", "sent_after"), [(500, 31), (429, 35)])
def test_slack_down_for_30_seconds_then_everything_arrives_in_order(
    puente: Puente,
    clock: FakeClock,
    creator: Creator,
    slack_api: FakeSlack,
    desk: Service,
    status: int,
    sent_after: int,
) -> None:
    start = clock.now
    slack_api.fail_for(30, status=status, retry_after=7, clock=clock)
    creator.says("quiero hablar con una persona")
    lines = [f"sigo esperando, mensaje {n}" for n in range(1, 6)]
    for line in lines:
        creator.says(line)
    _deliver_all(puente, clock, desk)

    with Session(puente.engine) as session:
        first = session.get(AgentPost, 1)
        assert first is not None and first.delivered_at is not None
        assert (as_utc(first.delivered_at) - start).total_seconds() == sent_after
    assert {r.status for r in slack_api.rejected} == {status}
    card = [m for m in slack_api.posted(QUEUE) if m.get("thread_ts") in (None, m["ts"])]
    assert len(card) == 1
    ts = card[0]["ts"]
    thread = [m["text"] for m in slack_api.posted(QUEUE, thread_ts=ts) if m["ts"] != ts]
    shown = [next(i for i, text in enumerate(thread) if line in text) for line in lines]
    assert shown == sorted(shown)
    assert all(sum(line in text for text in thread) == 1 for line in lines)


class ServeProcess:
    """``puente serve`` in a process of its own, as production runs it; its log goes to a
    file (a pipe nobody reads fills up and blocks the process)."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.log = cwd / f"serve-{len(list(cwd.glob('serve-*.log')))}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve"],
                env=env,
                cwd=cwd,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)
        return self.log.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_env(url: str, telegram: FakeTelegram, port: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_BASE_URL": telegram.base_url,
        "TELEGRAM_BASE_FILE_URL": telegram.base_file_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PUENTE_SEMANTIC": "false",  # starts in a second; matching isn't what is tested
        "PUENTE_CLAIM_SECONDS": "1",
        "PYTHONPATH": str(REPO),
        **extra,
    }


@pytest.fixture
def telegram_api() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


def test_a_sender_killed_mid_delivery_delivers_after_restart_once(
    engine: Engine, telegram_api: FakeTelegram, tmp_path: Path
) -> None:
    """SIGKILL while the reply's sendMessage is in flight (not yet accepted by Telegram): the
    claim runs out, the next process sends it, and the chat gets it exactly once."""
    env = serve_env(engine.url.render_as_string(hide_password=False), telegram_api, free_port())
    telegram_api.hold("sendMessage")
    first = ServeProcess(env, tmp_path)
    try:
        telegram_api.user_sends(CHAT, "no me llegan los regalos")
        wait_until(lambda: telegram_api.holding == 1, timeout=60)
        first.kill()
    finally:
        first.kill()
    with Session(engine) as session:
        reply = session.exec(select(Message).where(Message.direction == Direction.OUT)).one()
        assert reply.delivered_at is None and reply.claimed_by is not None
    telegram_api.release_held(accept=False)

    second = ServeProcess(env, tmp_path)
    try:
        telegram_api.wait_for_messages(CHAT, 1, timeout=60)
    finally:
        second.stop()
    assert telegram_api.texts_to(CHAT) == [reply.text]
    with Session(engine) as session:
        done = session.get(Message, reply.id)
        assert done is not None and done.delivered_at is not None
        assert session.exec(select(func.count(col(Message.id)))).one() == 2  # in, out: no redo


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A server of the test's own: restarting the machine's would break everyone else's."""
    reason = PrivatePostgres.unavailable()
    if reason:
        pytest.skip(reason)
    server = PrivatePostgres().start()
    yield server
    server.stop()


def test_postgres_restarted_under_load_loses_no_acknowledged_message(
    private_postgres: PrivatePostgres, telegram_api: FakeTelegram, tmp_path: Path
) -> None:
    engine = make_engine(private_postgres.url, check_schema=False)
    migrate(engine)
    port = free_port()
    webhook = f"http://127.0.0.1:{port}/telegram/webhook"
    env = serve_env(private_postgres.url, telegram_api, port, TELEGRAM_WEBHOOK_URL=webhook)
    server = ServeProcess(env, tmp_path)
    try:
        wait_until(lambda: telegram_api.webhook.url == webhook, timeout=60)
        telegram_api.push_updates(connections=4)
        chats = [CHAT + n for n in range(30)]
        for chat in chats:
            telegram_api.user_sends(chat, "hola, ¿cómo cambio mi nombre?")
        wait_until(lambda: len(telegram_api.calls("sendMessage")) >= 10, timeout=60)
        private_postgres.restart()  # mid-load: updates arriving, replies being sent
        for round_ in (2, 3):
            for chat in chats:
                telegram_api.user_sends(chat, f"mensaje {round_}: sigo sin poder cambiarlo")
        expected = 3 * len(chats)
        wait_until(lambda: _settled(engine, telegram_api, expected), timeout=60)
    finally:
        server.stop()
    with Session(engine) as session:
        inbound = session.exec(select(Message).where(Message.direction == Direction.IN)).all()
        assert len(inbound) == expected
        assert len({(m.conversation_id, m.platform_message_id) for m in inbound}) == expected
        for chat in chats:
            replies = session.exec(
                select(Message.text)
                .join(Conversation, col(Conversation.id) == Message.conversation_id)
                .where(Message.direction == Direction.OUT, Conversation.chat_id == str(chat))
                .order_by(col(Message.id))
            ).all()
            assert replies and telegram_api.texts_to(chat) == list(replies)
    engine.dispose()


def _settled(engine: Engine, telegram: FakeTelegram, inbound: int) -> bool:
    """Every update pushed and stored, every reply sent (a database error counts as not yet)."""
    if telegram.pending_updates:
        return False
    try:
        with Session(engine) as session:
            stored = session.exec(
                select(func.count(col(Message.id))).where(Message.direction == Direction.IN)
            ).one()
            waiting = session.exec(
                select(func.count(col(Message.id))).where(
                    Message.direction == Direction.OUT, col(Message.delivered_at).is_(None)
                )
            ).one()
    except OperationalError:
        return False
    return stored == inbound and waiting == 0
