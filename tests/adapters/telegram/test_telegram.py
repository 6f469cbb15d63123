"""The Telegram adapter, unpatched, against a local Bot API server over real HTTP."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.adapters.telegram import WEBHOOK_PATH as TELEGRAM_PATH
from bot.adapters.telegram import (
    MalformedToken,
    TelegramAdapter,
    check_token,
    webhook_secret,
)
from handlers.api import AgentAction, AgentActionKind, Puente
from handlers.contract.messages import OutgoingMessage
from handlers.delivery.inbox import Inbox
from handlers.storage import store
from handlers.storage.models import (
    Conversation,
    Direction,
    Escalation,
    InboundUpdate,
    Message,
    Sender,
)
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegram
from tests.serving import Service, telegram_config, wait_until

CHAT = 5551001


class Running(Service):
    """The Telegram adapter and the web app (for webhooks) running as ``puente serve`` does."""

    def __init__(self, puente: Puente, fake: FakeTelegram, *, webhook: bool = False) -> None:
        config = telegram_config(
            fake, webhook_url="https://puente.example/telegram/webhook" if webhook else None
        )
        super().__init__(puente, telegram=config)
        assert self.telegram is not None
        self.adapter: TelegramAdapter = self.telegram

    @property
    def url(self) -> str:
        return self.base + TELEGRAM_PATH

    def post(self, body: bytes, secret: str | None) -> int:
        headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
        return _post(self.url, body, headers)


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    for name, value in headers.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


@pytest.fixture
def running(puente: Puente, fake: FakeTelegram) -> Iterator[Running]:
    runner = Running(puente, fake).start()
    yield runner
    runner.stop()


def outbound(puente: Puente) -> list[Message]:
    with Session(puente.engine) as session:
        query = select(Message).where(Message.direction == Direction.OUT).order_by(Message.id)
        return list(session.exec(query).all())


def test_a_question_gets_the_kb_answer_and_everything_is_recorded(
    running: Running, fake: FakeTelegram, puente: Puente
) -> None:
    fake.user_sends(CHAT, "no me llegan los regalos", language_code="es-MX")
    (call,) = fake.wait_for_messages(CHAT, 1)
    article = puente.kb.kb.get("gift-not-received")
    assert article is not None and call.text == article.answer("es")
    wait_until(lambda: outbound(puente)[0].delivered_at is not None)
    sent = outbound(puente)[0]
    assert sent.platform_message_id == str(call.result["message_id"])
    with Session(puente.engine) as session:
        (update,) = session.exec(select(InboundUpdate)).all()
        assert update.processed_at is not None and update.error is None
        assert update.attempts == 1  # finished once, with the reply, not again afterwards
        assert json.loads(update.payload)["message"]["text"] == "no me llegan los regalos"


def test_commands_are_registered_in_spanish_and_english(
    running: Running, fake: FakeTelegram
) -> None:
    calls = fake.calls("setMyCommands")
    by_language = {c.params.get("language_code"): c.params["commands"] for c in calls}
    spanish = {c["command"]: c["description"] for c in _commands(by_language["es"])}
    english = {c["command"]: c["description"] for c in _commands(by_language["en"])}
    assert set(spanish) == {"start", "idioma", "agente", "estado", "ayuda"}
    assert set(english) == {"start", "language", "human", "status", "help"}
    assert spanish["agente"] != english["human"]
    assert None in by_language


def _commands(raw: Any) -> list[dict[str, str]]:
    return json.loads(raw) if isinstance(raw, str) else raw


def test_start_greets_in_the_creators_language_with_a_picker(
    running: Running, fake: FakeTelegram
) -> None:
    fake.user_sends(CHAT, "/start", language_code="en")
    (call,) = fake.wait_for_messages(CHAT, 1)
    assert call.text is not None and call.text.startswith("Hi! I'm Puente")
    buttons = _buttons(call)
    assert [b["callback_data"] for b in buttons] == ["/idioma es", "/idioma en", "/agente"]


def _buttons(call: Any) -> list[dict[str, str]]:
    markup = call.params.get("reply_markup")
    markup = json.loads(markup) if isinstance(markup, str) else markup
    return [button for row in (markup or {}).get("inline_keyboard", []) for button in row]


def test_pressing_a_suggestion_answers_the_callback_and_continues(
    running: Running, fake: FakeTelegram, puente: Puente
) -> None:
    fake.user_sends(CHAT, "/idioma")
    (picker,) = fake.wait_for_messages(CHAT, 1)
    english = next(b for b in _buttons(picker) if b["text"] == "English")
    fake.user_presses(CHAT, picker.result["message_id"], english["callback_data"])
    calls = fake.wait_for_messages(CHAT, 2)
    assert calls[1].text == "Done, I'll help you in English."
    assert fake.wait_for_calls("answerCallbackQuery", 1)


def test_every_keyboard_fits_telegrams_callback_limit(
    running: Running, fake: FakeTelegram, puente: Puente
) -> None:
    fake.user_sends(CHAT, "/agente")
    fake.wait_for_messages(CHAT, 1)
    with Session(puente.engine) as session:
        case = session.exec(select(Escalation)).one()
    assert case.id is not None
    puente.handle_agent_action(AgentAction(AgentActionKind.RESOLVE, case.id, "U1"))
    running.adapter.wake()
    calls = fake.wait_for_messages(CHAT, 3)
    survey = _buttons(calls[2])
    assert [b["text"] for b in survey] == ["1", "2", "3", "4", "5"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in survey)
    fake.user_presses(CHAT, calls[2].result["message_id"], survey[4]["callback_data"])
    fake.wait_for_messages(CHAT, 4)
    with Session(puente.engine) as session:
        assert session.get(Escalation, case.id).satisfaction == 5  # type: ignore[union-attr]


def test_photos_documents_voice_and_stickers_are_stored(
    running: Running, fake: FakeTelegram, puente: Puente
) -> None:
    fake.user_sends_photo(CHAT)
    fake.user_sends_document(CHAT, caption="mi comprobante")
    fake.user_sends_voice(CHAT)
    fake.user_sends_sticker(CHAT)
    calls = fake.wait_for_messages(CHAT, 4, timeout=15)
    assert "archivo" in (calls[0].text or "")
    with Session(puente.engine) as session:
        inbound = session.exec(
            select(Message).where(Message.direction == Direction.IN).order_by(Message.id)
        ).all()
    kinds = [json.loads(m.attachments)[0]["kind"] for m in inbound]
    assert kinds == ["photo", "document", "voice", "sticker"]
    assert inbound[1].text == "mi comprobante"


def test_groups_only_when_addressed_and_channel_posts_never(
    running: Running, fake: FakeTelegram
) -> None:
    group = -100200300
    fake.add_chat(group, chat_type="supergroup", title="Agencia Sol")
    fake.user_sends(group, "no me llegan los regalos", chat_type="supergroup")
    fake.raw_update({"channel_post": {"message_id": 1, "date": int(time.time()),
                                      "chat": {"id": -100999, "type": "channel", "title": "C"},
                                      "text": "hola canal"}})  # fmt: skip
    fake.user_sends(group, "@puente_test_bot no me llegan los regalos", chat_type="supergroup")
    (call,) = fake.wait_for_messages(group, 1)
    assert call.text is not None and call.text.startswith("A veces")
    time.sleep(0.5)
    assert len(fake.messages_to(group)) == 1
    assert fake.messages_to(-100999) == []


def test_429_retry_after_is_honoured_and_nothing_is_sent_twice(
    running: Running, fake: FakeTelegram, puente: Puente
) -> None:
    fake.fail_next("sendMessage", status=429, retry_after=1)
    fake.user_sends(CHAT, "no me llegan los regalos")
    (call,) = fake.wait_for_messages(CHAT, 1, timeout=10)
    rejected = [c for c in fake.calls("sendMessage") if not c.ok]
    assert len(rejected) == 1
    assert call.at - rejected[0].at >= 0.95
    wait_until(lambda: outbound(puente)[0].delivered_at is not None)
    assert outbound(puente)[0].attempts == 2


def test_server_errors_are_retried_until_delivered(running: Running, fake: FakeTelegram) -> None:
    fake.fail_next("sendMessage", status=502, times=2)
    fake.user_sends(CHAT, "no me llegan los regalos")
    assert len(fake.wait_for_messages(CHAT, 1, timeout=15)) == 1


def test_one_message_per_second_per_chat_in_order(running: Running, fake: FakeTelegram) -> None:
    for text in ("hola", "gracias", "adios"):
        fake.user_sends(CHAT, text)
    calls = fake.wait_for_messages(CHAT, 3, timeout=15)
    assert [c.text[:6] for c in calls if c.text] == ["¡Hola!", "¡Con g", "¡Hasta"]
    gaps = [b.at - a.at for a, b in itertools.pairwise(calls)]
    assert all(gap >= 0.95 for gap in gaps), gaps


def test_messages_stored_elsewhere_all_leave_in_order_after_one_wake(
    running: Running, fake: FakeTelegram, puente: Puente
) -> None:
    """One announcement, three waiting messages: none is left behind in the outbox."""
    fake.user_sends(CHAT, "hola")
    fake.wait_for_messages(CHAT, 1)
    with Session(puente.engine) as session:
        conversation = session.exec(select(Conversation)).one()
        for n in range(3):
            reply = OutgoingMessage(f"mensaje {n}")
            store.add_reply(session, conversation, reply, Sender.AGENT, when=puente.clock())
        session.commit()
    running.adapter.wake()
    calls = fake.wait_for_messages(CHAT, 4, timeout=15)
    assert [c.text for c in calls[1:]] == ["mensaje 0", "mensaje 1", "mensaje 2"]
    wait_until(lambda: all(m.delivered_at is not None for m in outbound(puente)))


def test_a_blocked_bot_gives_up_instead_of_retrying_forever(
    running: Running, fake: FakeTelegram, puente: Puente
) -> None:
    fake.user_sends(CHAT, "hola")
    fake.user_blocks_bot(CHAT)
    wait_until(lambda: bool(outbound(puente)) and outbound(puente)[0].failed_at is not None)
    assert outbound(puente)[0].delivered_at is None


def test_flood_gets_one_warning_and_every_message_is_stored(
    running: Running, fake: FakeTelegram, puente: Puente
) -> None:
    for n in range(13):
        fake.user_sends(CHAT, f"hola {n}")
    wait_until(lambda: _inbound_count(puente) == 13, timeout=15)
    time.sleep(1.0)
    texts = [m.text for m in outbound(puente)]
    assert sum("muchos mensajes" in t for t in texts) == 1


def _inbound_count(puente: Puente) -> int:
    with Session(puente.engine) as session:
        return len(session.exec(select(Message).where(Message.direction == Direction.IN)).all())


def test_long_replies_are_split_at_sentences(
    puente: Puente, fake: FakeTelegram, tmp_path: Path
) -> None:
    long_answer = " ".join(f"Paso {n}: revisa la configuración de tu cuenta." for n in range(150))
    kb = tmp_path / "kb.csv"
    kb.write_text(
        "id,locale,category,questions,answer\n"
        f'guia-larga,es,account,Necesito la guía completa de mi cuenta,"{long_answer}"\n',
        encoding="utf-8",
    )
    puente.kb.path = kb
    puente.kb.check_every = 0
    runner = Running(puente, fake).start()
    try:
        fake.user_sends(CHAT, "Necesito la guía completa de mi cuenta")
        calls = fake.wait_for_messages(CHAT, 2, timeout=20)
    finally:
        runner.stop()
    assert len(long_answer) > 4096
    assert all(len(c.text or "") <= 4096 for c in calls)
    assert all((c.text or "").endswith(".") for c in calls)
    assert " ".join(c.text or "" for c in calls) == long_answer


def test_unknown_update_kinds_are_ignored(running: Running, fake: FakeTelegram) -> None:
    fake.raw_update({"edited_message": {"message_id": 9, "date": int(time.time()),
                                        "chat": {"id": CHAT, "type": "private"},
                                        "text": "editado"}})  # fmt: skip
    fake.raw_update({"poll": {"id": "1", "question": "?", "options": [], "total_voter_count": 0,
                              "is_closed": False, "is_anonymous": True, "type": "regular",
                              "allows_multiple_answers": False}})  # fmt: skip
    fake.user_sends(CHAT, "hola")
    assert len(fake.wait_for_messages(CHAT, 1)) == 1


def test_telegram_down_at_start_is_retried(puente: Puente, fake: FakeTelegram) -> None:
    fake.fail_for(1.5, status=502)
    started = time.monotonic()
    runner = Running(puente, fake).start()
    try:
        assert time.monotonic() - started >= 1.0
        fake.user_sends(CHAT, "hola")
        assert len(fake.wait_for_messages(CHAT, 1)) == 1
    finally:
        runner.stop()


def test_webhook_checks_the_secret_stores_first_and_deduplicates(
    puente: Puente, fake: FakeTelegram
) -> None:
    runner = Running(puente, fake, webhook=True).start()
    try:
        secret = webhook_secret(fake.token, None)
        assert fake.webhook.url.endswith("/telegram/webhook")
        assert fake.webhook.secret_token == secret
        update = fake.user_sends(CHAT, "no me llegan los regalos")
        body = json.dumps(update).encode()
        assert runner.post(body, None) == 401
        assert runner.post(body, "wrong") == 401
        assert runner.post(b"{not json", secret) == 400
        assert runner.post(b'{"no_update_id": 1}', secret) == 400
        assert runner.post(body, secret) == 200
        assert runner.post(body, secret) == 200
        fake.wait_for_messages(CHAT, 1)
        time.sleep(0.5)
        assert len(fake.messages_to(CHAT)) == 1
        with Session(puente.engine) as session:
            assert len(session.exec(select(InboundUpdate)).all()) == 1
    finally:
        runner.stop()


def test_webhook_answers_503_when_it_cannot_store(puente: Puente, fake: FakeTelegram) -> None:
    runner = Running(puente, fake, webhook=True).start()
    try:
        update = fake.user_sends(CHAT, "hola")
        broken = runner.adapter.inbox

        def refuse(**_: object) -> int | None:
            raise OSError("disk full")

        broken.accept = refuse  # type: ignore[method-assign]
        assert runner.post(json.dumps(update).encode(), webhook_secret(fake.token, None)) == 503
    finally:
        runner.stop()


def test_token_checks() -> None:
    assert check_token(f" {DEFAULT_TOKEN} ") == DEFAULT_TOKEN
    for bad in ("", "123", "abc:defghijklmnopqrstuvwxyz0123456789", "12:short"):
        with pytest.raises(MalformedToken) as error:
            check_token(bad)
        assert bad not in str(error.value) or not bad


def test_updates_stored_before_a_crash_are_finished_at_start(
    puente: Puente, fake: FakeTelegram
) -> None:
    """Stored, then the process died; Telegram redelivers it too: answered exactly once."""
    update = fake.user_sends(CHAT, "no me llegan los regalos")

    Inbox(puente.engine).accept(
        platform="telegram", key=str(update["update_id"]), payload=json.dumps(update)
    )
    runner = Running(puente, fake).start()
    try:
        assert len(fake.wait_for_messages(CHAT, 1)) == 1
        time.sleep(1.0)
        assert len(fake.messages_to(CHAT)) == 1
    finally:
        runner.stop()
