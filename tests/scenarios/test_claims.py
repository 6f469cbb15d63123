"""Several processes sending from one outbox: every row is claimed by one, in order per chat.

Each ``Outbox``/``AgentOutbox`` instance stands for a process (its own ``owner``); the threaded
tests run them at once on a real database, SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from handlers.cases.casework import Kind
from handlers.contract.messages import OutgoingMessage
from handlers.delivery.outbox import AgentOutbox, Outbox
from handlers.storage import store
from handlers.storage.models import AgentPost, Creator, Escalation, Sender
from tests.conftest import FakeClock


def _queue(engine: Engine, chats: int, per_chat: int) -> dict[str, list[str]]:
    """``per_chat`` outbound messages in each of ``chats`` console chats; texts by chat."""
    expected: dict[str, list[str]] = defaultdict(list)
    with Session(engine) as session:
        for c in range(chats):
            chat = f"chat-{c}"
            creator = store.get_or_create_creator(
                session, platform="console", user_id=chat, display_name="", locale="es"
            )
            conversation = store.get_or_create_conversation(
                session, creator=creator, platform="console", chat_id=chat
            )
            for n in range(per_chat):
                text = f"{chat} #{n}"
                store.add_reply(
                    session, conversation, OutgoingMessage(text), Sender.BOT, when=store.utcnow()
                )
                expected[chat].append(text)
        session.commit()
    return expected


def test_a_claimed_message_holds_back_its_chat(engine: Engine, clock: FakeClock) -> None:
    _queue(engine, chats=1, per_chat=2)
    first, second = Outbox(engine, clock), Outbox(engine, clock)
    item = first.next_for(platform="console", chat_id="chat-0")
    assert item is not None and item.text == "chat-0 #0"
    assert second.next_for(platform="console", chat_id="chat-0") is None
    first.delivered(item.id)
    following = second.next_for(platform="console", chat_id="chat-0")
    assert following is not None and following.text == "chat-0 #1"


def test_a_dead_process_claim_runs_out(engine: Engine, clock: FakeClock) -> None:
    _queue(engine, chats=1, per_chat=1)
    lease = timedelta(seconds=30)
    dead, alive = Outbox(engine, clock, lease=lease), Outbox(engine, clock, lease=lease)
    taken = dead.next_for(platform="console", chat_id="chat-0")
    assert taken is not None
    clock.advance(seconds=29)
    assert alive.next_for(platform="console", chat_id="chat-0") is None
    clock.advance(seconds=2)
    again = alive.next_for(platform="console", chat_id="chat-0")
    assert again is not None and again.id == taken.id


def test_a_message_waiting_for_its_retry_keeps_later_ones_back(
    engine: Engine, clock: FakeClock
) -> None:
    _queue(engine, chats=1, per_chat=2)
    lease = timedelta(seconds=10)
    first, second = Outbox(engine, clock, lease=lease), Outbox(engine, clock, lease=lease)
    item = first.next_for(platform="console", chat_id="chat-0")
    assert item is not None
    first.retry_later(item.id, after=timedelta(seconds=60), error="429")
    for _ in range(8):  # whoever gets the chat gets the failed message, never the next one
        clock.advance(seconds=10)
        got = second.next_for(platform="console", chat_id="chat-0")
        assert got is None or got.id == item.id


def test_agent_posts_are_claimed_once(engine: Engine, clock: FakeClock) -> None:
    with Session(engine) as session:
        creator = Creator(platform="console", platform_user_id="u")
        session.add(creator)
        session.flush()
        conversation = store.get_or_create_conversation(
            session, creator=creator, platform="console", chat_id="c"
        )
        case = Escalation(conversation_id=conversation.id, queue="C1")
        session.add(case)
        session.flush()
        assert case.id is not None
        case_id = case.id
        session.add(AgentPost(escalation_id=case_id, kind=Kind.CARD))
        session.add(AgentPost(escalation_id=case_id, kind=Kind.THREAD))
        session.commit()
    first, second = AgentOutbox(engine, clock), AgentOutbox(engine, clock)
    card = first.next_for(case_id)
    assert card is not None and card.kind == Kind.CARD
    assert second.next_for(case_id) is None
    first.delivered(card.id, result="1.0001")
    line = second.next_for(case_id)
    assert line is not None and line.kind == Kind.THREAD and line.thread_ts == "1.0001"


SENDERS = 4


def test_concurrent_senders_deliver_everything_once_in_order(engine: Engine) -> None:
    expected = _queue(engine, chats=12, per_chat=8)
    sent: dict[str, list[str]] = defaultdict(list)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def sender() -> None:
        outbox = Outbox(engine)  # real clock, an owner of its own: one "process"
        try:
            while True:
                chats = outbox.chats_waiting(platform="console")
                if not chats:
                    return
                for chat in chats:
                    while (item := outbox.next_for(platform="console", chat_id=chat)) is not None:
                        with lock:
                            sent[chat].append(item.text)
                        outbox.delivered(item.id)
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert dict(sent) == dict(expected)
