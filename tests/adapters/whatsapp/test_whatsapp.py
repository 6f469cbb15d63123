"""The WhatsApp adapter against a local fake Graph API over real HTTP, with signed webhooks."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from sqlmodel import Session, select

from bot.adapters.base import ChatAdapter
from bot.adapters.whatsapp import WEBHOOK_PATH, MissingSecret, WhatsAppConfig
from bot.config import Settings
from bot.serve import whatsapp_adapter
from handlers.api import Puente
from handlers.contract.actions import AgentAction, AgentActionKind
from handlers.contract.messages import Attachment
from handlers.storage.models import AgentPost, Escalation, InboundUpdate, Message
from tests.conftest import FakeClock
from tests.fakes.whatsapp_api import (
    APP_SECRET,
    VERIFY_TOKEN,
    FakeWhatsApp,
    Fault,
    button_reply,
    envelope,
    list_reply,
    message,
    post_webhook,
    status,
    text_message,
)
from tests.serving import Service, wait_until

NUMBER = "5215512345678"


def whatsapp_config(fake: FakeWhatsApp, **options: object) -> WhatsAppConfig:
    options.setdefault("per_number_spacing", 0.0)
    return WhatsAppConfig(
        access_token=fake.token,
        phone_number_id=fake.phone_number_id,
        app_secret=APP_SECRET,
        verify_token=VERIFY_TOKEN,
        api_url=fake.api_url,
        **options,  # type: ignore[arg-type]
    )


class Running(Service):
    @property
    def url(self) -> str:
        return self.base + WEBHOOK_PATH

    def send(self, *messages: dict[str, object]) -> int:
        return post_webhook(self.url, envelope(messages=list(messages)))


@pytest.fixture
def fake() -> Iterator[FakeWhatsApp]:
    with FakeWhatsApp() as server:
        yield server


def _running(puente: Puente, fake: FakeWhatsApp, **options: object) -> Running:
    return Running(puente, whatsapp=whatsapp_config(fake, **options)).start()  # type: ignore[return-value]


@pytest.fixture
def running(puente: Puente, fake: FakeWhatsApp) -> Iterator[Running]:
    runner = _running(puente, fake)
    yield runner
    runner.stop()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), ""


def _posts(puente: Puente, kind: str | None = None) -> list[dict[str, object]]:
    with Session(puente.engine) as session:
        rows = session.exec(select(AgentPost).order_by(AgentPost.id)).all()  # type: ignore[arg-type]
    return [{"kind": r.kind, **json.loads(r.payload)} for r in rows if kind in (None, r.kind)]


def _case(puente: Puente) -> Escalation:
    with Session(puente.engine) as session:
        return session.exec(select(Escalation)).one()


def test_the_subscription_handshake_echoes_the_challenge_only_with_the_token(
    running: Running,
) -> None:
    query = f"?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"
    assert _get(running.url + query) == (200, "1158201444")
    forged = "?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1158201444"
    assert _get(running.url + forged)[0] == 403


def test_a_forged_or_missing_signature_is_refused_and_nothing_processed(
    running: Running, fake: FakeWhatsApp, puente: Puente
) -> None:
    body = envelope(messages=[text_message(NUMBER, "no me llegan los regalos")])
    assert post_webhook(running.url, body, secret="not-the-app-secret") == 401
    assert post_webhook(running.url, body, signed="") == 401
    assert post_webhook(running.url, body, signed="sha256=" + "0" * 64) == 401
    with Session(puente.engine) as session:
        assert session.exec(select(InboundUpdate)).all() == []
    assert fake.sends == []


def test_a_spanish_question_is_answered_in_spanish_marked_read_and_recorded(
    running: Running, fake: FakeWhatsApp, puente: Puente
) -> None:
    incoming = text_message(NUMBER, "no me llegan los regalos")
    assert running.send(incoming) == 200
    (sent,) = fake.wait_for_sends(NUMBER, 1)
    article = puente.kb.kb.get("gift-not-received")
    assert article is not None and sent.text == article.answer("es")
    wait_until(lambda: fake.reads == [incoming["id"]])
    with Session(puente.engine) as session:
        reply = wait_until(
            lambda: session.exec(select(Message).where(Message.delivered_at.isnot(None))).first()
        )  # type: ignore[union-attr]
        assert reply.platform_message_id == sent.wamid
        (update,) = session.exec(select(InboundUpdate)).all()
        assert update.platform == "whatsapp" and update.processed_at is not None


def test_a_duplicate_delivery_is_answered_once(
    running: Running, fake: FakeWhatsApp, puente: Puente
) -> None:
    incoming = text_message(NUMBER, "no me llegan los regalos")
    assert running.send(incoming) == 200
    assert running.send(incoming) == 200
    fake.wait_for_sends(NUMBER, 1)
    running.send(text_message(NUMBER, "gracias"))
    sends = fake.wait_for_sends(NUMBER, 2)
    assert len(sends) == 2 and sends[0].text != sends[1].text


def test_asking_for_a_person_opens_a_case_whose_thread_relays_both_ways(
    running: Running, fake: FakeWhatsApp, puente: Puente
) -> None:
    running.send(text_message(NUMBER, "quiero hablar con una persona"))
    fake.wait_for_sends(NUMBER, 1)
    case = wait_until(lambda: _case(puente))
    running.send(text_message(NUMBER, "es sobre mi pago de noviembre"))
    wait_until(lambda: any("noviembre" in str(p.get("text")) for p in _posts(puente, "thread")))
    assert case.id is not None
    puente.handle_agent_action(AgentAction(AgentActionKind.TAKE, case.id, "U1"))
    reply = AgentAction(
        AgentActionKind.REPLY, case.id, "U1", text="Hola, ya lo reviso", relay_ref="1700.01"
    )
    puente.handle_agent_action(reply)
    running.wake_all()
    wait_until(lambda: any(s.text == "Hola, ya lo reviso" for s in fake.sends_to(NUMBER)))
    wait_until(lambda: {"kind": "reaction", "ref": "1700.01", "name": "white_check_mark"}
               in _posts(puente, "reaction"))  # fmt: skip
    relayed = next(s for s in fake.sends_to(NUMBER) if s.text == "Hola, ya lo reviso")
    post_webhook(running.url, envelope(statuses=[status(relayed.wamid, NUMBER, "failed", 131026)]))
    wait_until(lambda: {"kind": "reaction", "ref": "1700.01", "name": "warning"}
               in _posts(puente, "reaction"))  # fmt: skip


def test_a_button_reply_is_handled_like_typed_text(running: Running, fake: FakeWhatsApp) -> None:
    running.send(text_message(NUMBER, "/idioma"))
    (picker,) = fake.wait_for_sends(NUMBER, 1)
    assert picker.type == "interactive" and picker.body["type"] == "button"
    buttons = picker.body["action"]["buttons"]
    assert 0 < len(buttons) <= 3 and all(len(b["reply"]["title"]) <= 20 for b in buttons)
    english = next(b["reply"] for b in buttons if b["reply"]["title"] == "English")
    running.send(button_reply(NUMBER, english["id"], english["title"]))
    sends = fake.wait_for_sends(NUMBER, 2)
    assert sends[1].text == "Done, I'll help you in English."


def test_the_satisfaction_survey_is_a_list_and_a_row_choice_is_recorded(
    running: Running, fake: FakeWhatsApp, puente: Puente
) -> None:
    running.send(text_message(NUMBER, "quiero hablar con una persona"))
    fake.wait_for_sends(NUMBER, 1)
    case = wait_until(lambda: _case(puente))
    assert case.id is not None
    puente.handle_agent_action(AgentAction(AgentActionKind.RESOLVE, case.id, "U1"))
    running.wake_all()
    survey = wait_until(lambda: [s for s in fake.sends_to(NUMBER) if s.body.get("type") == "list"])
    rows = survey[0].body["action"]["sections"][0]["rows"]
    assert [r["title"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert survey[0].body["action"]["button"] == "Ver opciones"
    count = len(fake.sends_to(NUMBER))
    running.send(list_reply(NUMBER, rows[4]["id"], rows[4]["title"]))
    fake.wait_for_sends(NUMBER, count + 1)
    with Session(puente.engine) as session:
        assert session.get(Escalation, case.id).satisfaction == 5  # type: ignore[union-attr]


def test_429_and_server_errors_are_retried_until_the_reply_arrives(
    running: Running, fake: FakeWhatsApp
) -> None:
    fake.fail_next(Fault(429, 130429, retry_after=0.2), Fault(503, 2), Fault(400, 130429))
    running.send(text_message(NUMBER, "no me llegan los regalos"))
    (sent,) = fake.wait_for_sends(NUMBER, 1, timeout=15)
    assert fake.refused == 3 and sent.type == "text"
    assert len(fake.sends_to(NUMBER)) == 1


def _agent_reply_after_a_day(
    running: Running, fake: FakeWhatsApp, puente: Puente, clock: FakeClock
) -> int:
    running.send(text_message(NUMBER, "quiero hablar con una persona"))
    fake.wait_for_sends(NUMBER, 1)
    case = wait_until(lambda: _case(puente))
    assert case.id is not None
    puente.handle_agent_action(AgentAction(AgentActionKind.TAKE, case.id, "U1"))
    running.wake_all()
    fake.wait_for_sends(NUMBER, 2)  # "a person took your case"
    clock.advance(hours=25)
    reply = AgentAction(
        AgentActionKind.REPLY, case.id, "U1", text="Ya quedó tu pago", relay_ref="1800.02"
    )
    puente.handle_agent_action(reply)
    running.wake_all()
    return len(fake.sends_to(NUMBER))


def test_an_agent_reply_after_24_hours_goes_out_as_the_template(
    fake: FakeWhatsApp, puente: Puente, clock: FakeClock
) -> None:
    running = _running(puente, fake, reply_template="respuesta_soporte")
    try:
        before = _agent_reply_after_a_day(running, fake, puente, clock)
        template = fake.wait_for_sends(NUMBER, before + 1)[-1]
        assert template.type == "template" and template.body["name"] == "respuesta_soporte"
        assert template.body["language"] == {"code": "es"}
        note = wait_until(lambda: [p for p in _posts(puente) if p.get("role") == "whatsapp_window"])
        assert note[0]["template"] is True and "Ya quedó tu pago" in str(note[0]["text"])
        assert not any(s.text == "Ya quedó tu pago" for s in fake.sends_to(NUMBER))
        running.send(text_message(NUMBER, "hola, ya estoy aquí"))
        wait_until(lambda: any(s.text == "Ya quedó tu pago" for s in fake.sends_to(NUMBER)))
        assert [s.type for s in fake.sends_to(NUMBER)].count("template") == 1
    finally:
        running.stop()


def test_without_a_template_the_agent_is_told_the_creator_cant_be_reached(
    running: Running, fake: FakeWhatsApp, puente: Puente, clock: FakeClock
) -> None:
    before = _agent_reply_after_a_day(running, fake, puente, clock)
    note = wait_until(lambda: [p for p in _posts(puente) if p.get("role") == "whatsapp_window"])
    assert note[0]["template"] is False
    assert len(fake.sends_to(NUMBER)) == before


def test_media_locations_contacts_and_reactions(
    running: Running, fake: FakeWhatsApp, puente: Puente
) -> None:
    photo = fake.add_media(b"\x89PNG fake image", "image/png")
    running.send(message(NUMBER, "image", {"id": photo, "mime_type": "image/png"}))
    running.send(message(NUMBER, "location", {"latitude": 19.43, "longitude": -99.13,
                                              "name": "Estudio"}))  # fmt: skip
    running.send(message(NUMBER, "reaction", {"message_id": "wamid.X", "emoji": "👍"}))
    with Session(puente.engine) as session:
        rows = wait_until(lambda: _finished(session, 3))
    assert all(r.error is None for r in rows)
    with Session(puente.engine) as session:
        texts = [m.text for m in session.exec(select(Message)).all()]
        stored = [json.loads(m.attachments) for m in session.exec(select(Message)).all()]
    assert "📍 Estudio (19.43, -99.13)" in texts
    assert any(a and a[0]["platform_file_id"] == photo for a in stored)
    assert running.run(running.whatsapp.download(photo)) == b"\x89PNG fake image"  # type: ignore[union-attr]


def _finished(session: Session, count: int) -> list[InboundUpdate] | None:
    session.expire_all()
    rows = session.exec(select(InboundUpdate)).all()
    done = [r for r in rows if r.processed_at is not None]
    return list(done) if len(done) == count else None


def test_503_when_the_event_cannot_be_stored(running: Running) -> None:
    def refuse(**_: object) -> int | None:
        raise OSError("disk full")

    assert running.whatsapp is not None
    running.whatsapp.inbox.accept = refuse  # type: ignore[method-assign]
    assert running.send(text_message(NUMBER, "hola")) == 503


def test_no_app_secret_refuses_to_start(puente: Puente) -> None:
    group = {"access_token": "EAAtoken", "phone_number_id": "1", "app_secret": ""}
    settings = Settings.load(None, whatsapp=group)
    with pytest.raises(MissingSecret):
        whatsapp_adapter(puente, settings, {})


def test_the_adapter_keeps_the_chat_adapter_contract(running: Running) -> None:
    assert isinstance(running.whatsapp, ChatAdapter)
    assert running.whatsapp.platform == "whatsapp" and running.whatsapp.sender_alive


def test_files_go_both_ways_between_the_creator_and_the_case_thread(
    running: Running, fake: FakeWhatsApp, puente: Puente
) -> None:
    running.send(text_message(NUMBER, "quiero hablar con una persona"))
    fake.wait_for_sends(NUMBER, 1)
    case = wait_until(lambda: _case(puente))
    assert case.id is not None and running.whatsapp is not None
    voice = fake.add_media(b"OggS voice note", "audio/ogg")
    running.send(message(NUMBER, "audio", {"id": voice, "mime_type": "audio/ogg", "voice": True}))
    (relayed,) = wait_until(lambda: _posts(puente, "file"))
    assert relayed["platform"] == "whatsapp" and relayed["type"] == "voice"
    assert running.run(running.whatsapp.download(str(relayed["file_id"]))) == b"OggS voice note"

    async def from_agents(file_id: str) -> bytes | None:
        return b"%PDF agent guide" if file_id == "F1" else None

    running.whatsapp.files["agents"] = from_agents
    puente.handle_agent_action(AgentAction(AgentActionKind.TAKE, case.id, "U1"))
    guide = Attachment("document", "F1", "guia.pdf", "application/pdf", source="agents")
    reply = AgentAction(
        AgentActionKind.REPLY, case.id, "U1", text="Te mando la guía", attachments=(guide,)
    )
    puente.handle_agent_action(reply)
    running.wake_all()
    document = wait_until(lambda: [s for s in fake.sends_to(NUMBER) if s.type == "document"])
    assert document[0].body["filename"] == "guia.pdf"
    assert fake.uploads[document[0].body["id"]] == (b"%PDF agent guide", "application/pdf")


def test_an_agent_reply_refused_for_good_is_marked_in_the_thread(
    running: Running, fake: FakeWhatsApp, puente: Puente
) -> None:
    running.send(text_message(NUMBER, "quiero hablar con una persona"))
    fake.wait_for_sends(NUMBER, 1)
    case = wait_until(lambda: _case(puente))
    assert case.id is not None
    puente.handle_agent_action(AgentAction(AgentActionKind.TAKE, case.id, "U1"))
    running.wake_all()
    fake.wait_for_sends(NUMBER, 2)
    fake.fail_next(Fault(400, 131026))  # "message undeliverable"
    reply = AgentAction(AgentActionKind.REPLY, case.id, "U1", text="¿Sigues ahí?", relay_ref="9.1")
    puente.handle_agent_action(reply)
    running.wake_all()
    wait_until(lambda: {"kind": "reaction", "ref": "9.1", "name": "warning"}
               in _posts(puente, "reaction"))  # fmt: skip
    lines = [p for p in _posts(puente, "thread") if p.get("role") == "undeliverable"]
    assert lines and lines[0]["text"] == "¿Sigues ahí?"
    assert len(fake.sends_to(NUMBER)) == 2


def test_a_message_of_an_unreadable_shape_is_stored_finished_and_skipped(
    running: Running, fake: FakeWhatsApp, puente: Puente
) -> None:
    hostile = message(NUMBER, "interactive", {"type": "button_reply", "button_reply": "x"})
    assert running.send(hostile) == 200
    assert running.send(text_message(NUMBER, "no me llegan los regalos")) == 200
    fake.wait_for_sends(NUMBER, 1)
    with Session(puente.engine) as session:
        rows = wait_until(lambda: _finished(session, 2))
    assert sorted(str(r.error) for r in rows) == ["None", "unreadable: AttributeError"]
    assert len(fake.sends_to(NUMBER)) == 1
