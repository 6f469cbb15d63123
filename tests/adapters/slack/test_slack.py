"""Agents in Slack, end to end: signed requests into the running app, a fake Slack Web API and a
local Telegram Bot API server on the other side."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.adapters.slack import kit
from handlers.api import Puente
from handlers.cases.casework import Routing
from handlers.common.utc import utcnow
from handlers.storage.models import (
    AgentPost,
    Escalation,
    EscalationStatus,
    InboundUpdate,
    KbArticle,
)
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import (
    JSON,
    WRONG_SECRET,
    block_actions,
    dm_event,
    event_callback,
    event_payload,
    message_event,
    post_signed,
    stale_timestamp,
    view_submission,
)
from tests.fakes.telegram_api import FakeTelegram
from tests.serving import Service, slack_config, telegram_config, wait_until

QUEUE, PAYMENTS = "C0ESC", "C0PAY"
AGENT, SECOND_AGENT, OUTSIDER = "U0AGENT1", "U0AGENT2", "U0OTHER"
CHAT = 7770001


@pytest.fixture
def slack_api() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(AGENT, "lucia", real_name="Lucía Agente")
        fake.add_user(SECOND_AGENT, "tomas", real_name="Tomás Agente")
        fake.add_user(OUTSIDER, "pedro", real_name="Pedro Ventas")
        fake.add_user("U0CREATOR", "agencia_sol", real_name="Agencia Sol", locale="es-AR")
        fake.add_usergroup("S0AGENTS", [AGENT])
        yield fake


@pytest.fixture
def telegram_api() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def service(puente: Puente, slack_api: FakeSlack, telegram_api: FakeTelegram) -> Iterator[Service]:
    puente.routing = Routing(default_queue=QUEUE, teams=(("Pagos", PAYMENTS),))
    puente.clock = utcnow  # delivery retries wait on the wall clock
    running = Service(
        puente,
        telegram=telegram_config(telegram_api),
        slack=slack_config(
            slack_api,
            agents=("S0AGENTS", SECOND_AGENT),
            root_causes=("bug de la app", "pago retrasado"),
            teams=(("Pagos", PAYMENTS),),
        ),
    ).start()
    yield running
    running.stop()


class Desk:
    """What an agent does in Slack, as signed HTTP requests."""

    def __init__(self, service: Service, slack_api: FakeSlack) -> None:
        self.url = service.base + "/slack/events"
        self.slack_api = slack_api

    def card(self, channel: str = QUEUE) -> dict[str, Any]:
        parents = wait_until(
            lambda: [
                m
                for m in self.slack_api.posted(channel)
                if not m.get("thread_ts") or m["thread_ts"] == m["ts"]
            ]
        )
        return parents[-1]

    def thread(self, ts: str, channel: str = QUEUE) -> list[str]:
        return [m["text"] for m in self.slack_api.posted(channel, thread_ts=ts) if m["ts"] != ts]

    def click(self, action_id: str, case: int, user: str = AGENT) -> int:
        payload = block_actions(action_id, str(case), user_id=user, channel_id=QUEUE)
        return post_signed(self.url, *payload).status

    def reply(self, text: str, ts: str, user: str = AGENT, **kwargs: Any) -> int:
        event = message_event(text, user=user, channel=QUEUE, thread_ts=ts)
        return post_signed(self.url, *event_payload(event), **kwargs).status

    def submit(self, callback_id: str, case: int, values: dict[str, Any], user: str = AGENT) -> int:
        payload = view_submission(
            callback_id, {f"b{n}": {k: v} for n, (k, v) in enumerate(values.items())},
            user_id=user, private_metadata=str(case),
        )  # fmt: skip
        return post_signed(self.url, *payload).status


@pytest.fixture
def desk(service: Service, slack_api: FakeSlack) -> Desk:
    return Desk(service, slack_api)


def case_row(puente: Puente, case: int = 1) -> Escalation:
    with Session(puente.engine) as session:
        row = session.get(Escalation, case)
        assert row is not None
        return row


def select_option(value: str) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"value": value}}


def test_the_whole_story(
    service: Service, desk: Desk, slack_api: FakeSlack, telegram_api: FakeTelegram, puente: Puente
) -> None:
    telegram_api.user_sends(CHAT, "no me llegan los regalos")
    telegram_api.user_sends(CHAT, "quiero hablar con una persona")
    telegram_api.wait_for_messages(CHAT, 2)
    card = desk.card()
    assert "#1" in card["text"]
    transcript = wait_until(lambda: desk.thread(card["ts"]))[0]
    assert "no me llegan los regalos" in transcript

    assert desk.click(kit.TAKE, 1) == 200
    joined = telegram_api.wait_for_messages(CHAT, 3)[-1]
    assert "se unió" in (joined.text or "")
    wait_until(lambda: slack_api.calls_to("chat.update"))

    assert desk.reply("Hola, soy Lucía. Reviso tus regalos ahora mismo.", card["ts"]) == 200
    relayed = telegram_api.wait_for_messages(CHAT, 4)[-1]
    assert relayed.text == "Hola, soy Lucía. Reviso tus regalos ahora mismo."
    assert wait_until(lambda: [r for r in slack_api.reactions if r.name == "white_check_mark"])

    telegram_api.user_sends(CHAT, "gracias! fue ayer en mi live de las 9")
    wait_until(lambda: any("ayer en mi live" in line for line in desk.thread(card["ts"])))

    assert desk.reply("nota: revisar con pagos", card["ts"]) == 200
    assert desk.reply("  // interno", card["ts"]) == 200
    assert desk.reply("yo también opino", card["ts"], user=OUTSIDER) == 200

    assert desk.click(kit.RESOLVE, 1) == 200
    modal = wait_until(lambda: slack_api.calls_to("views.open"))[0].params["view"]
    assert modal["callback_id"] == kit.RESOLVE_VIEW and modal["private_metadata"] == "1"
    values = {kit.ROOT_CAUSE: select_option("pago retrasado"), kit.SUMMARY: "se acreditó"}
    assert desk.submit(kit.RESOLVE_VIEW, 1, values) == 200
    survey = telegram_api.wait_for_messages(CHAT, 6)[-1]
    texts = telegram_api.texts_to(CHAT)
    assert not any("revisar con pagos" in t or "interno" in t or "opino" in t for t in texts)
    markup = survey.params["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    press = markup["inline_keyboard"][4][0]["callback_data"]
    telegram_api.user_presses(CHAT, survey.result["message_id"], press)
    telegram_api.wait_for_messages(CHAT, 7)
    resolved = case_row(puente)
    assert resolved.status == EscalationStatus.RESOLVED and resolved.satisfaction == 5
    assert (resolved.root_cause, resolved.resolution) == ("pago retrasado", "se acreditó")


def test_creator_text_cannot_ping_anyone(
    service: Service, desk: Desk, slack_api: FakeSlack, telegram_api: FakeTelegram
) -> None:
    telegram_api.user_sends(CHAT, "/agente")
    card = desk.card()
    hostile = "<!channel> <@U123> <https://x|y> & <b> mi código es 482913"
    telegram_api.user_sends(CHAT, hostile)
    line = wait_until(lambda: [t for t in desk.thread(card["ts"]) if "channel" in t])[0]
    assert "<!channel>" not in line and "<@U123>" not in line and "<https" not in line
    assert "&lt;!channel&gt;" in line and "&amp;" in line
    assert "482913" not in line
    for call in slack_api.calls_to("chat.postMessage"):
        assert not call.params.get("link_names") and call.params.get("parse") != "full"


def test_asking_again_nudges_the_thread_without_a_second_card(
    service: Service, desk: Desk, slack_api: FakeSlack, telegram_api: FakeTelegram
) -> None:
    telegram_api.user_sends(CHAT, "/agente")
    card = desk.card()
    telegram_api.user_sends(CHAT, "quiero hablar con una persona ya")
    reassurance = telegram_api.wait_for_messages(CHAT, 2)[-1]
    assert "#1" in (reassurance.text or "")
    wait_until(lambda: len(desk.thread(card["ts"])) >= 3)
    parents = [m for m in slack_api.posted(QUEUE) if m.get("thread_ts", m["ts"]) == m["ts"]]
    assert len(parents) == 1


def test_only_agents_may_act_and_replies_need_the_case_taken(
    service: Service, desk: Desk, slack_api: FakeSlack, telegram_api: FakeTelegram, puente: Puente
) -> None:
    telegram_api.user_sends(CHAT, "/agente")
    card = desk.card()
    assert desk.click(kit.TAKE, 1, user=OUTSIDER) == 200
    wait_until(lambda: slack_api.ephemerals)
    assert case_row(puente).status == EscalationStatus.OPEN
    assert desk.reply("hola, te ayudo yo", card["ts"], user=SECOND_AGENT) == 200
    wait_until(lambda: len(slack_api.ephemerals) >= 2)
    outsider, early = (str(e.get("text")) for e in slack_api.ephemerals[:2])
    assert outsider.startswith("Solo los agentes") and "slack_hint" not in outsider
    assert early.startswith("Toma el caso") and "slack_hint" not in early
    assert len(telegram_api.messages_to(CHAT)) == 1
    assert desk.click(kit.TAKE, 1, user=SECOND_AGENT) == 200
    wait_until(lambda: case_row(puente).assignee == SECOND_AGENT)


def test_transfer_moves_the_case_to_another_team(
    service: Service, desk: Desk, slack_api: FakeSlack, telegram_api: FakeTelegram, puente: Puente
) -> None:
    telegram_api.user_sends(CHAT, "/agente")
    desk.card()
    assert desk.click(kit.TRANSFER, 1) == 200
    modal = wait_until(lambda: slack_api.calls_to("views.open"))[0].params["view"]
    assert modal["callback_id"] == kit.TRANSFER_VIEW
    assert desk.submit(kit.TRANSFER_VIEW, 1, {kit.TEAM: select_option(PAYMENTS)}) == 200
    new_card = desk.card(PAYMENTS)
    assert "#2" in new_card["text"]
    assert case_row(puente, 1).status == EscalationStatus.TRANSFERRED
    assert case_row(puente, 2).linked_from == 1
    assert telegram_api.wait_for_messages(CHAT, 2)[-1].text


def test_save_to_kb_makes_a_draft_awaiting_review(
    service: Service, desk: Desk, slack_api: FakeSlack, telegram_api: FakeTelegram, puente: Puente
) -> None:
    telegram_api.user_sends(CHAT, "/agente")
    card = desk.card()
    desk.click(kit.TAKE, 1)
    telegram_api.user_sends(CHAT, "¿cómo cambio la moneda de mis retiros?")
    wait_until(lambda: any("moneda" in t for t in desk.thread(card["ts"])))
    desk.reply("Se cambia en Saldo > Retiros > Moneda.", card["ts"])
    telegram_api.wait_for_messages(CHAT, 3)
    assert desk.click(kit.SAVE_KB, 1) == 200
    modal = wait_until(lambda: slack_api.calls_to("views.open"))[0].params["view"]
    prefilled = json.dumps(modal, ensure_ascii=False)
    assert "moneda de mis retiros" in prefilled and "Saldo > Retiros" in prefilled
    values = {
        kit.QUESTION: "¿Cómo cambio la moneda de mis retiros?",
        kit.ANSWER: "Se cambia en Saldo > Retiros > Moneda.",
        kit.CATEGORY: "payouts",
    }
    assert desk.submit(kit.SAVE_KB_VIEW, 1, values) == 200
    with Session(puente.engine) as session:
        draft = wait_until(lambda: session.exec(select(KbArticle)).first())
    assert draft.published is False and draft.source_case == 1
    assert "draft-case-1" not in puente.kb.kb


def test_forged_or_stale_requests_are_refused_and_change_nothing(
    service: Service, desk: Desk, telegram_api: FakeTelegram, puente: Puente
) -> None:
    telegram_api.user_sends(CHAT, "/agente")
    desk.card()
    payload = block_actions(kit.TAKE, "1", user_id=AGENT, channel_id=QUEUE)
    assert post_signed(desk.url, *payload, secret=WRONG_SECRET).status == 401
    assert post_signed(desk.url, *payload, timestamp=stale_timestamp()).status == 401
    event = event_payload(message_event("hola", user=AGENT, channel=QUEUE))
    assert post_signed(desk.url, *event, secret=WRONG_SECRET).status == 401
    assert case_row(puente).status == EscalationStatus.OPEN
    with Session(puente.engine) as session:
        assert not [u for u in session.exec(select(InboundUpdate)).all() if u.platform == "slack"]


def test_slack_retries_of_an_event_are_processed_once(
    service: Service, desk: Desk, slack_api: FakeSlack, telegram_api: FakeTelegram
) -> None:
    telegram_api.user_sends(CHAT, "/agente")
    card = desk.card()
    desk.click(kit.TAKE, 1)
    telegram_api.wait_for_messages(CHAT, 2)
    envelope = event_callback(message_event("Ya quedó, revisa tu saldo.", user=AGENT,
                                            channel=QUEUE, thread_ts=card["ts"]))  # fmt: skip
    body = json.dumps(envelope)
    assert post_signed(desk.url, body, JSON).status == 200
    assert post_signed(desk.url, body, JSON, retry_num=1).status == 200
    assert post_signed(desk.url, body, JSON, retry_num=2).status == 200
    telegram_api.wait_for_messages(CHAT, 3)
    wait_until(lambda: slack_api.reactions)
    assert telegram_api.texts_to(CHAT).count("Ya quedó, revisa tu saldo.") == 1


def test_rate_limited_slack_gets_the_card_later_exactly_once(
    service: Service, desk: Desk, slack_api: FakeSlack, telegram_api: FakeTelegram
) -> None:
    slack_api.fail_next("chat.postMessage", status=429, retry_after=1)
    telegram_api.user_sends(CHAT, "/agente")
    card = desk.card()
    assert "#1" in card["text"]
    parents = [m for m in slack_api.posted(QUEUE) if m.get("thread_ts", m["ts"]) == m["ts"]]
    assert len(parents) == 1
    assert any(r.status == 429 for r in slack_api.rejected)


def test_slack_dms_from_creators_go_through_the_same_handlers(
    service: Service, desk: Desk, slack_api: FakeSlack, puente: Puente
) -> None:
    event = dm_event("no me llegan los regalos", user="U0CREATOR")
    assert post_signed(desk.url, *event_payload(event)).status == 200
    answer = wait_until(lambda: slack_api.posted(event["channel"]))[0]
    article = puente.kb.kb.get("gift-not-received")
    assert article is not None and article.answer("es")[:30] in answer["text"]


def test_agents_outbox_rows_are_all_delivered(
    service: Service, desk: Desk, telegram_api: FakeTelegram, puente: Puente
) -> None:
    telegram_api.user_sends(CHAT, "/agente")
    desk.card()

    def pending() -> list[AgentPost]:
        with Session(puente.engine) as session:
            rows = session.exec(select(AgentPost)).all()
            return [r for r in rows if r.delivered_at is None]

    wait_until(lambda: not pending())
    assert case_row(puente).thread_ts == desk.card()["ts"]


def test_a_creators_photo_is_copied_into_the_thread(
    service: Service, desk: Desk, slack_api: FakeSlack, telegram_api: FakeTelegram
) -> None:
    telegram_api.user_sends(CHAT, "/agente")
    card = desk.card()
    telegram_api.user_sends_photo(CHAT, b"\xff\xd8\xff\xe0 comprobante", caption="mi recibo")
    wait_until(lambda: any("mi recibo" in line for line in desk.thread(card["ts"])))
    uploaded = wait_until(lambda: slack_api.files)
    (file_id,) = uploaded
    # the file exists from getUploadURLExternal on; its bytes arrive with the upload after it
    content = wait_until(lambda: slack_api.file_content(file_id))
    assert content == b"\xff\xd8\xff\xe0 comprobante"
    assert wait_until(lambda: slack_api.calls_to("files.completeUploadExternal"))


def test_an_agents_file_reaches_the_creator(
    service: Service, desk: Desk, slack_api: FakeSlack, telegram_api: FakeTelegram
) -> None:
    telegram_api.user_sends(CHAT, "/agente")
    card = desk.card()
    desk.click(kit.TAKE, 1)
    telegram_api.wait_for_messages(CHAT, 2)
    uploaded = slack_api.web_client().files_upload_v2(
        filename="guia.pdf", content=b"%PDF-1.4 guia de retiros", title="guia.pdf"
    )
    file_id = uploaded["file"]["id"]
    event = message_event("Te dejo la guía", user=AGENT, channel=QUEUE, thread_ts=card["ts"])
    event["files"] = [{"id": file_id, "name": "guia.pdf", "mimetype": "application/pdf"}]
    assert post_signed(desk.url, *event_payload(event)).status == 200
    calls = telegram_api.wait_for_messages(CHAT, 4)
    document = next(c for c in calls if c.method == "sendDocument")
    assert document.files and next(iter(document.files.values())).data.startswith(b"%PDF")
    assert calls[-1].text == "Te dejo la guía"


def test_agents_correct_the_triage_from_the_card(
    service: Service, desk: Desk, slack_api: FakeSlack, telegram_api: FakeTelegram, puente: Puente
) -> None:
    telegram_api.user_sends(CHAT, "/agente")
    card = desk.card()
    selects = [e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]
               if e["type"] == "static_select"]  # fmt: skip
    assert selects and selects[0]["action_id"] == kit.RECLASSIFY
    assert "1:violent_threat" in [o["value"] for o in selects[0]["options"]]
    payload = block_actions(
        kit.RECLASSIFY, "1:violent_threat", user_id=AGENT, channel_id=QUEUE,
        action_type="static_select",
    )  # fmt: skip
    assert post_signed(desk.url, *payload).status == 200
    wait_until(lambda: case_row(puente).priority == "P1")
    assert case_row(puente).category == "violent_threat"
    wait_until(lambda: any("violent_threat" in line for line in desk.thread(card["ts"])))


def test_a_creator_pressing_a_numbered_suggestion_gets_the_answer(
    service: Service, desk: Desk, slack_api: FakeSlack, puente: Puente
) -> None:
    channel = "D0CHOICE"
    payload = block_actions(
        "creator_choice_1", "no me llegan los regalos", user_id="U0CREATOR", channel_id=channel
    )
    assert post_signed(desk.url, *payload).status == 200
    answer = wait_until(lambda: slack_api.posted(channel))[0]
    article = puente.kb.kb.get("gift-not-received")
    assert article is not None and article.answer("es")[:30] in answer["text"]
