"""The counts behind ``/metrics``, on SQLite and on PostgreSQL (where production runs them)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel

from handlers.common.utc import utcnow
from handlers.insights.telemetry import OutboxCounts, snapshot
from handlers.storage.models import (
    AgentPost,
    Conversation,
    Creator,
    Direction,
    Escalation,
    EscalationStatus,
    InboundUpdate,
    Message,
    Sender,
    Timer,
)
from tests.conftest import PG_URL

POSTGRES = PG_URL  # TEST_DATABASE_URL, normalised (see conftest)


@pytest.fixture(params=["sqlite", "postgresql"])
def session(request: pytest.FixtureRequest, engine: Engine) -> Iterator[Session]:
    if request.param == "sqlite":
        with Session(engine) as sqlite_session:
            yield sqlite_session
        return
    if not POSTGRES:
        pytest.skip("PostgreSQL runs are off: TEST_DATABASE_URL is empty")
    url = POSTGRES
    try:
        pg = create_engine(url, connect_args={"connect_timeout": 3})
        connection = pg.connect()
    except OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES}: {exc.orig}")
    # a schema of its own inside a transaction that is rolled back: nothing is left behind and
    # tests sharing the database are not disturbed
    transaction = connection.begin()
    connection.execute(text("CREATE SCHEMA puente_telemetry_test"))
    connection.execute(text("SET LOCAL search_path TO puente_telemetry_test"))
    SQLModel.metadata.create_all(connection)
    with Session(bind=connection) as pg_session:
        yield pg_session
    transaction.rollback()
    connection.close()
    pg.dispose()


def _conversation(session: Session, platform: str, chat: str) -> int:
    creator = Creator(platform=platform, platform_user_id=chat)
    session.add(creator)
    session.flush()
    conversation = Conversation(creator_id=creator.id or 0, platform=platform, chat_id=chat)
    session.add(conversation)
    session.flush()
    return conversation.id or 0


def _message(session: Session, conversation: int, direction: Direction, **fields: object) -> None:
    fields.setdefault("sender", Sender.CREATOR if direction is Direction.IN else Sender.BOT)
    session.add(Message(conversation_id=conversation, direction=direction, **fields))  # type: ignore[arg-type]


def test_counts_per_platform_outbox_and_priority(session: Session) -> None:
    now = utcnow()
    telegram = _conversation(session, "telegram", "1")
    slack = _conversation(session, "slack", "D1")
    for _ in range(3):
        _message(session, telegram, Direction.IN, text="hola")
    _message(session, slack, Direction.IN, text="hola")
    _message(session, telegram, Direction.OUT, article_id="a", delivered_at=now, attempts=3)
    _message(session, telegram, Direction.OUT, delivered_at=now, attempts=1)
    _message(session, telegram, Direction.OUT, attempts=2, next_attempt_at=now)
    _message(session, telegram, Direction.OUT, failed_at=now, attempts=1)
    _message(session, slack, Direction.OUT, article_id="b", delivered_at=now)  # console-style
    _message(session, slack, Direction.OUT, sender=Sender.AGENT, article_id="c")
    urgent = Escalation(conversation_id=telegram, priority="P1")
    session.add(urgent)
    session.add(Escalation(conversation_id=telegram, priority="P3"))
    session.add(
        Escalation(
            conversation_id=slack,
            priority="P3",
            status=EscalationStatus.RESOLVED,
            resolved_at=now,
        )
    )
    session.flush()
    case = urgent.id or 0
    session.add(AgentPost(escalation_id=case, kind="card", attempts=4))
    session.add(AgentPost(escalation_id=case, kind="thread", delivered_at=now, attempts=2))
    session.add(InboundUpdate(platform="telegram", update_key="9", payload="{}"))
    session.add(
        InboundUpdate(
            platform="telegram", update_key="8", payload="{}", processed_at=now - timedelta(1)
        )
    )
    hour = timedelta(hours=1)
    session.add(Timer(kind="sla_breach", escalation_id=case, due_at=now - hour))
    session.add(Timer(kind="sla_breach", escalation_id=case, due_at=now - 2 * hour))
    session.add(Timer(kind="nudge", escalation_id=case, due_at=now + hour))  # not due yet
    session.add(Timer(kind="nudge", due_at=now - hour, cancelled_at=now))
    session.add(Timer(kind="nudge", due_at=now - hour, fired_at=now - hour))
    session.flush()

    counts = snapshot(session, now)

    assert counts.received == {"telegram": 3, "slack": 1}
    assert counts.sent == {"telegram": 2, "slack": 1}
    assert counts.deflections == {"telegram": 1, "slack": 1}  # an agent's message is no deflection
    assert counts.escalations == {"P1": 1, "P3": 2}
    assert counts.open_cases == {"open": 2}
    assert counts.inbox_pending == {"telegram": 1}
    assert counts.timers_due == {"sla_breach": 2} and counts.timers_fired == {"nudge": 1}
    assert counts.timers_overdue_s == 2 * hour.total_seconds()  # cancelled and fired don't wait
    boxes = {(box.outbox, box.platform): box for box in counts.outboxes}
    assert boxes[("creators", "telegram")] == OutboxCounts(
        "creators", "telegram", pending=1, delivered=2, undeliverable=1, failed_attempts=5
    )
    assert boxes[("creators", "slack")] == OutboxCounts(
        "creators", "slack", pending=1, delivered=1, undeliverable=0, failed_attempts=0
    )
    assert boxes[("agents", "slack")] == OutboxCounts(
        "agents", "slack", pending=1, delivered=1, undeliverable=0, failed_attempts=5
    )


def test_an_empty_database_counts_nothing(session: Session) -> None:
    counts = snapshot(session, utcnow())
    assert counts.received == {} and counts.escalations == {} and counts.timers_due == {}
    assert counts.timers_overdue_s == 0.0
    assert [box.pending for box in counts.outboxes] == [0]
