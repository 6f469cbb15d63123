# ruff: noqa: F811  (pytest fixtures imported from test_slack)
"""Insights in Slack, end to end: agent assist on the card, the repeat-complaint flag, and the
Home tab's dashboard with KB drafts reviewed from it."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from bot.adapters.slack import blocks, home, kit
from bot.adapters.slack import oncall as slack_oncall
from handlers.api import Puente
from handlers.common.i18n import translator
from handlers.common.utc import utcnow
from handlers.contract.case_view import CaseView
from handlers.contract.rich import RichReply
from handlers.insights import metrics, report
from handlers.kb.source import SHIPPED_KB, KbSource
from handlers.storage.models import KbArticle, KbGapDismissal
from tests.adapters.slack.test_slack import (  # noqa: F401  (fixtures)
    AGENT,
    CHAT,
    OUTSIDER,
    QUEUE,
    Desk,
    desk,
    service,
    slack_api,
    telegram_api,
)
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import (
    block_actions,
    event_payload,
    interactive,
    new_trigger_id,
    post_signed,
    view_submission,
)
from tests.fakes.telegram_api import FakeTelegram
from tests.serving import Service, wait_until

WITHDRAW = KbSource(path=SHIPPED_KB).kb.get("withdraw-rewards")


def send_buttons(card_blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        b["accessory"]
        for b in card_blocks
        if b.get("accessory", {}).get("action_id", "").startswith(kit.SEND_ARTICLE)
    ]


def latest_card(slack_api: FakeSlack) -> list[dict[str, Any]]:
    updates = slack_api.calls_to("chat.update")
    if updates:
        return updates[-1].params["blocks"]
    return [c for c in slack_api.calls_to("chat.postMessage") if c.params.get("blocks")][-1].params[
        "blocks"
    ]


def test_the_card_offers_kb_answers_that_one_click_sends_as_the_agent(
    service: Service, desk: Desk, slack_api: FakeSlack, telegram_api: FakeTelegram
) -> None:
    assert WITHDRAW is not None
    telegram_api.user_sends(CHAT, "how do I withdraw my earnings?", language_code="en")
    telegram_api.user_sends(CHAT, "/agent", language_code="en")
    card = desk.card()
    buttons = wait_until(lambda: send_buttons(latest_card(slack_api)))
    assert 1 <= len(buttons) <= 3 and buttons[0]["value"] == "1:withdraw-rewards"
    assert len({b["action_id"] for b in buttons}) == len(buttons)  # Slack wants them unique

    click = block_actions(
        buttons[0]["action_id"], buttons[0]["value"], user_id=AGENT, channel_id=QUEUE
    )
    assert post_signed(desk.url, *click).status == 200
    assert wait_until(
        lambda: [e for e in slack_api.ephemerals if e.get("user") == AGENT]
    )  # take first

    desk.click(kit.TAKE, 1)
    wait_until(lambda: any("joined" in t for t in telegram_api.texts_to(CHAT)))
    answer = WITHDRAW.answer("en")
    # the bot already answered it once; the refused click sent nothing more
    assert telegram_api.texts_to(CHAT).count(answer) == 1
    assert post_signed(desk.url, *click).status == 200
    # sent again, now as the agent, in the creator's language (not the agents')
    assert wait_until(lambda: telegram_api.texts_to(CHAT).count(answer) == 2)
    assert wait_until(lambda: any("withdraw-rewards" in t for t in desk.thread(card["ts"])))


def test_outsiders_cannot_send_suggestions(
    service: Service, desk: Desk, slack_api: FakeSlack, telegram_api: FakeTelegram
) -> None:
    telegram_api.user_sends(CHAT, "¿cómo retiro mis diamantes?")
    telegram_api.user_sends(CHAT, "/agente")
    desk.card()
    count = len(telegram_api.wait_for_messages(CHAT, 2))
    click = block_actions(
        f"{kit.SEND_ARTICLE}_0", "1:withdraw-rewards", user_id=OUTSIDER, channel_id=QUEUE
    )
    assert post_signed(desk.url, *click).status == 200
    wait_until(lambda: [e for e in slack_api.ephemerals if e.get("user") == OUTSIDER])
    assert len(telegram_api.texts_to(CHAT)) == count


def test_a_second_contact_about_the_same_topic_is_flagged_on_the_card(
    service: Service, desk: Desk, slack_api: FakeSlack, telegram_api: FakeTelegram
) -> None:
    telegram_api.user_sends(CHAT, "mi retiro no llega")
    telegram_api.user_sends(CHAT, "/agente")
    desk.card()
    assert "Queja repetida" not in str(latest_card(slack_api))
    desk.click(kit.TAKE, 1)
    wait_until(lambda: slack_api.calls_to("chat.update"))  # taken, before it is handed back
    desk.click(kit.RETURN, 1)
    wait_until(lambda: len(slack_api.calls_to("chat.update")) >= 2)
    telegram_api.user_sends(CHAT, "sigo sin recibir mi retiro")
    telegram_api.user_sends(CHAT, "/agente")
    wait_until(lambda: len(slack_api.posted(QUEUE)) >= 4)
    second = wait_until(
        lambda: [
            c for c in slack_api.calls_to("chat.postMessage") if "#2" in c.params.get("text", "")
        ]
    )
    assert "Queja repetida: 2 contactos en 10 días sobre payouts" in str(
        second[-1].params["blocks"]
    )


def test_card_blocks_escape_suggestions_and_skip_them_on_closed_cases() -> None:
    case = CaseView(
        escalation_id=4, creator_name="Ana", platform="telegram", locale="es", vip=False,
        priority="P3", category="human_request", status="open", assignee=None, summary="",
        tried=(), reason="", opened_at=utcnow(), waited_seconds=0,
        suggestions=(("a1", "<!channel> title", "answer & <@U1>"),), repeat=(3, 10, "payouts"),
    )  # fmt: skip
    _, card = blocks.case_card(case, "en")
    text = str(card)
    assert "Repeat complaint: 3 contacts in 10 days about payouts" in text
    assert "&lt;!channel&gt;" in text and "&lt;@U1&gt;" in text and "<!channel>" not in text
    assert send_buttons(card)[0]["value"] == "4:a1"
    _, closed = blocks.case_card(CaseView(**{**case.__dict__, "status": "resolved"}), "en")
    assert not send_buttons(closed)


def home_click(action_id: str, value: str, user: str = AGENT) -> Any:
    """A button pressed on the Home tab: Slack sends a ``view`` container, not a message."""
    return interactive(
        {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": "T0PUENTE"},
            "api_app_id": "A0PUENTE",
            "token": "deprecated-verification-token",
            "container": {"type": "view", "view_id": "V0HOME"},
            "trigger_id": new_trigger_id(),
            "team": {"id": "T0PUENTE", "domain": "puente-fake"},
            "view": {"id": "V0HOME", "type": "home"},
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b",
                         "value": value, "action_ts": "1.0"}],
        }
    )  # fmt: skip


def home_event(user: str) -> Any:
    return event_payload(
        {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"}
    )


def test_home_tab_dashboard_and_draft_review(
    service: Service, desk: Desk, slack_api: FakeSlack, telegram_api: FakeTelegram, puente: Puente
) -> None:
    telegram_api.user_sends(CHAT, "¿cómo retiro mis diamantes?")
    telegram_api.user_sends(CHAT, "mi gato virtual no cambia de color")
    telegram_api.user_sends(CHAT, "/agente")
    desk.card()
    with Session(puente.engine) as session:
        draft = KbArticle(
            article_id="draft-case-1",
            locale="es",
            questions="¿Cómo pinto al gato?",
            answer="Perfil > Gato > Color.",
            published=False,
            source_case=1,
        )
        session.add(draft)
        session.commit()

    assert post_signed(desk.url, *home_event(AGENT)).status == 200
    view = wait_until(lambda: slack_api.calls_to("views.publish"))[-1].params
    assert view["user_id"] == AGENT and view["view"]["type"] == "home"
    text = str(view["view"]["blocks"])
    assert "*Conversaciones*\\n1" in text and "*Casos*\\n1" in text
    assert "P3: 1" in text  # open cases now
    # one creator's question is their case, not a missing KB topic (issue 15)
    assert "mi gato virtual no cambia de color" not in text
    assert "Borradores de la KB por revisar: 1" in text
    approve = next(
        e for b in view["view"]["blocks"] if b["type"] == "actions" for e in b["elements"]
        if e["action_id"] == home.APPROVE_DRAFT
    )  # fmt: skip

    click = home_click(home.APPROVE_DRAFT, approve["value"])
    assert post_signed(desk.url, *click).status == 200
    wait_until(lambda: len(slack_api.calls_to("views.publish")) >= 2)
    with Session(puente.engine) as session:
        article = session.exec(select(KbArticle).where(KbArticle.article_id == "case-1")).one()
    assert article.published
    assert "No hay borradores pendientes." in str(slack_api.calls_to("views.publish")[-1].params)

    assert post_signed(desk.url, *home_event(OUTSIDER)).status == 200
    outsider = wait_until(
        lambda: [c for c in slack_api.calls_to("views.publish") if c.params["user_id"] == OUTSIDER]
    )
    assert "para el equipo de soporte" in str(outsider[0].params["view"])


def test_missing_topics_are_written_up_or_dismissed_from_the_home_tab(
    service: Service, desk: Desk, slack_api: FakeSlack, telegram_api: FakeTelegram, puente: Puente
) -> None:
    # a missing topic takes two creators (issue 15)
    for chat in (CHAT, CHAT + 1):
        telegram_api.user_sends(chat, "mi gato virtual no cambia de color")
        telegram_api.user_sends(chat, "quiero un sombrero para mi avatar")
        telegram_api.wait_for_messages(chat, 2)
    assert post_signed(desk.url, *home_event(AGENT)).status == 200
    view = wait_until(lambda: slack_api.calls_to("views.publish"))[-1].params["view"]
    buttons = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    write = [b for b in buttons if b["action_id"] == home.WRITE_GAP]
    dismiss = [b for b in buttons if b["action_id"] == home.DISMISS_GAP]
    assert len(write) == len(dismiss) == 2

    click = home_click(home.WRITE_GAP, write[0]["value"])
    assert post_signed(desk.url, *click).status == 200
    modal = wait_until(lambda: slack_api.calls_to("views.open"))[-1].params["view"]
    assert modal["callback_id"] == home.GAP_VIEW and modal["private_metadata"] == write[0]["value"]
    assert "gato virtual" in str(modal["blocks"])
    empty = {kit.QUESTION: "gato virtual color", kit.ANSWER: " "}
    assert desk.submit(home.GAP_VIEW, 0, empty) == 200  # refused: no answer
    answer = "Toca tu gato virtual y elige «Color»."
    values = {kit.QUESTION: "mi gato virtual no cambia de color | color del gato virtual",
              kit.ANSWER: answer, kit.CATEGORY: "features"}  # fmt: skip
    submit = view_submission(
        home.GAP_VIEW, {f"b{n}": {k: {"type": "plain_text_input", "value": v}}
                        for n, (k, v) in enumerate(values.items())},
        user_id=AGENT, private_metadata=write[0]["value"],
    )  # fmt: skip
    assert post_signed(desk.url, *submit).status == 200
    with Session(puente.engine) as session:
        article = wait_until(
            lambda: session.exec(select(KbArticle).where(KbArticle.answer == answer)).first()
        )
    assert article.published and "color del gato virtual" in article.questions

    click = home_click(home.DISMISS_GAP, dismiss[1]["value"])
    assert post_signed(desk.url, *click).status == 200
    published = wait_until(lambda: slack_api.calls_to("views.publish")[2:])
    last = published[-1].params["view"]
    assert "Ninguno" in str(last["blocks"])  # one written up, one dismissed
    with Session(puente.engine) as session:
        assert session.get(KbGapDismissal, dismiss[1]["value"]) is not None


def test_the_cards_suggestions_follow_the_creators_newest_question(
    service: Service, desk: Desk, slack_api: FakeSlack, telegram_api: FakeTelegram
) -> None:
    telegram_api.user_sends(CHAT, "/agente")
    desk.card()
    telegram_api.user_sends(CHAT, "¿cómo retiro mis diamantes?")
    buttons = wait_until(lambda: send_buttons(latest_card(slack_api)))
    assert buttons[0]["value"] == "1:withdraw-rewards"


def test_oncall_stats_headline_text() -> None:
    figures = metrics.Figures(
        conversations=5, deflected=1, escalated=2, escalations=3, sla_met=1, sla_counted=3
    )
    text = slack_oncall.reply_text(
        RichReply((), tuple(report.headline_lines(figures, translator("es")))), translator("es")
    )
    assert "*Conversaciones:* 5" in text and "*Cumplimiento del SLA:* 33,3" in text
    assert text.count("\n") == len(report.headline_lines(figures, translator("es"))) - 1


def test_a_saved_draft_is_reviewed_from_its_thread_message(
    service: Service, desk: Desk, slack_api: FakeSlack, telegram_api: FakeTelegram, puente: Puente
) -> None:
    telegram_api.user_sends(CHAT, "/agente")
    card = desk.card()
    desk.click(kit.TAKE, 1)
    values = {
        kit.QUESTION: "¿Puedo pintar de azul a mi gato virtual?",
        kit.ANSWER: "Sí: Perfil > Gato > Color > Azul.",
        kit.CATEGORY: "features",
    }
    assert desk.submit(kit.SAVE_KB_VIEW, 1, values) == 200

    def draft_buttons() -> list[tuple[dict[str, Any], dict[str, Any]]]:
        return [
            (m, e)
            for m in slack_api.posted(QUEUE, thread_ts=card["ts"])
            if m["ts"] != card["ts"]
            for b in m.get("blocks") or []
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == home.APPROVE_DRAFT
        ]

    saved, approve = wait_until(draft_buttons)[-1]
    click = block_actions(
        home.APPROVE_DRAFT, approve["value"], user_id=AGENT, channel_id=QUEUE,
        message_ts=saved["ts"],
    )  # fmt: skip
    assert post_signed(desk.url, *click).status == 200
    update = wait_until(
        lambda: [c for c in slack_api.calls_to("chat.update") if c.params.get("ts") == saved["ts"]]
    )[-1]
    assert "case-1" in update.params["text"] and not update.params.get("blocks")
    with Session(puente.engine) as session:
        article = session.exec(select(KbArticle).where(KbArticle.article_id == "case-1")).one()
    assert article.published and article.answer == "Sí: Perfil > Gato > Color > Azul."
