"""A WhatsApp creator and agents in Slack, end to end: signed webhooks in, the fake Graph API
and the fake Slack Web API on the other side."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.adapters.slack import kit
from handlers.api import Puente
from handlers.cases.casework import Routing
from tests.adapters.slack.test_slack import AGENT, QUEUE, Desk
from tests.adapters.whatsapp.test_whatsapp import whatsapp_config
from tests.conftest import FakeClock
from tests.fakes.slack_api import FakeSlack
from tests.fakes.whatsapp_api import FakeWhatsApp, envelope, message, post_webhook, text_message
from tests.serving import Service, slack_config, wait_until

NUMBER = "5491122334455"


@pytest.fixture
def slack_api() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(AGENT, "lucia", real_name="Lucía Agente")
        yield fake


@pytest.fixture
def graph() -> Iterator[FakeWhatsApp]:
    with FakeWhatsApp() as fake:
        yield fake


@pytest.fixture
def service(puente: Puente, slack_api: FakeSlack, graph: FakeWhatsApp) -> Iterator[Service]:
    puente.routing = Routing(default_queue=QUEUE)
    running = Service(
        puente,
        slack=slack_config(slack_api, agents=(AGENT,)),
        whatsapp=whatsapp_config(graph, reply_template="respuesta_soporte"),
    ).start()
    yield running
    running.stop()


def creator_writes(service: Service, *messages: dict[str, object]) -> None:
    url = service.base + "/whatsapp/webhook"
    assert post_webhook(url, envelope(messages=list(messages))) == 200


def test_a_case_thread_relays_both_ways_with_files_and_the_window(
    service: Service, slack_api: FakeSlack, graph: FakeWhatsApp, clock: FakeClock
) -> None:
    desk = Desk(service, slack_api)
    creator_writes(service, text_message(NUMBER, "quiero hablar con una persona"))
    card = desk.card()
    assert "#1" in card["text"]
    photo = graph.add_media(b"\xff\xd8\xff\xe0 comprobante", "image/jpeg")
    creator_writes(service, message(NUMBER, "image", {"id": photo, "caption": "mi recibo"}))
    wait_until(lambda: any("mi recibo" in line for line in desk.thread(card["ts"])))
    (file_id,) = wait_until(lambda: slack_api.files)
    assert wait_until(lambda: slack_api.file_content(file_id)) == b"\xff\xd8\xff\xe0 comprobante"

    assert desk.click(kit.TAKE, 1) == 200
    wait_until(lambda: any("se unió" in s.text for s in graph.sends_to(NUMBER)))
    assert desk.reply("Hola, soy Lucía. Ya vi tu recibo.", card["ts"]) == 200
    wait_until(lambda: graph.sends_to(NUMBER)[-1].text == "Hola, soy Lucía. Ya vi tu recibo.")
    assert wait_until(lambda: [r for r in slack_api.reactions if r.name == "white_check_mark"])

    clock.advance(hours=25)
    assert desk.reply("¿Te llegó el pago?", card["ts"]) == 200
    (template,) = wait_until(lambda: [s for s in graph.sends_to(NUMBER) if s.type == "template"])
    assert template.body["name"] == "respuesta_soporte"
    assert not any(s.text == "¿Te llegó el pago?" for s in graph.sends_to(NUMBER))
    note = wait_until(lambda: [t for t in desk.thread(card["ts"]) if "24 horas" in t])
    assert "plantilla" in note[0] and "¿Te llegó el pago?" in note[0]
    creator_writes(service, text_message(NUMBER, "ya estoy aquí"))
    wait_until(lambda: any(s.text == "¿Te llegó el pago?" for s in graph.sends_to(NUMBER)))
