"""The same handler path on the real PostgreSQL this machine runs (the scale path).

``pg_engine`` (tests/conftest.py) is a fresh schema at the newest migration, skipped with the
reason when the server can't be reached.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from handlers.api import Puente
from handlers.contract.actions import AgentAction, AgentActionKind
from handlers.delivery.inbox import Inbox
from handlers.delivery.outbox import AgentOutbox, Outbox
from handlers.kb.source import SHIPPED_KB, KbSource
from handlers.storage.models import Escalation, EscalationStatus, Message
from tests.conftest import Creator


def test_a_conversation_on_postgres(pg_engine: Engine) -> None:
    puente = Puente(engine=pg_engine, kb=KbSource(path=SHIPPED_KB, engine=pg_engine))
    creator = Creator(puente)
    assert creator.says("no me llegan los regalos").replies[0].text.startswith("A veces")
    retry = puente.handle_message(creator.message("otra vez", message_id="m1"))
    assert retry.duplicate
    assert creator.says("\x00 texto con NUL").replies
    creator.says("/agente")
    puente.handle_agent_action(AgentAction(AgentActionKind.TAKE, 1, "U1"))
    with Session(pg_engine) as session:
        case = session.exec(select(Escalation)).one()
        assert case.status == EscalationStatus.ASSIGNED
        texts = [m.text for m in session.exec(select(Message)).all()]
    assert "\ufffd texto con NUL" in texts
    assert Outbox(pg_engine).chats_waiting(platform="console") == ["chat-1"]
    assert AgentOutbox(pg_engine).cases_waiting() == [1]


def test_inbox_deduplicates_on_postgres(pg_engine: Engine) -> None:
    inbox = Inbox(pg_engine)
    first = inbox.accept(platform="telegram", key="42", payload="{}")
    assert first is not None
    assert inbox.accept(platform="telegram", key="42", payload="{}") is None
    assert [p.id for p in inbox.pending(platform="telegram")] == [first]
