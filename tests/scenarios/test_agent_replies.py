"""An agent's reply, written in Slack, reaches each creator readable on their platform (issue
#16): over real HTTP, from a signed thread message to the Telegram and Slack fakes."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.adapters.slack import blocks
from handlers.api import Puente
from handlers.storage.models import Escalation, EscalationStatus
from tests.adapters.slack import test_slack
from tests.adapters.slack.test_slack import CHAT, SECOND_AGENT, Desk
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import dm_event, event_payload, post_signed
from tests.fakes.telegram_api import FakeTelegram
from tests.serving import Service, wait_until

# the Slack tests' fixtures: a running service with both fakes, and an agent's desk
slack_api, telegram_api = test_slack.slack_api, test_slack.telegram_api
service, desk = test_slack.service, test_slack.desk

AGENT_TEXT = (
    "<!channel> Hola, soy <@U0AGENT1>; lo revisa <@U0AGENT2> con <@U0NOBODY>. "
    "Mira <http://evil.example|click> o <https://ayuda.example/retiros?a=1&amp;b=2>: "
    "5 &lt; 7 &amp;&amp; listo &gt;:)"
)


def taken(puente: Puente, case: int) -> bool:
    with Session(puente.engine) as session:
        row = session.exec(select(Escalation).where(Escalation.id == case)).one()
        return row.status == EscalationStatus.ASSIGNED


def test_a_telegram_creator_reads_names_links_and_characters_not_slack_syntax(
    service: Service, desk: Desk, telegram_api: FakeTelegram, puente: Puente
) -> None:
    telegram_api.user_sends(CHAT, "/agente")
    card = desk.card()
    assert desk.click(blocks.TAKE, 1) == 200
    wait_until(lambda: taken(puente, 1))
    assert desk.reply(AGENT_TEXT, card["ts"]) == 200
    text = wait_until(lambda: [t for t in telegram_api.texts_to(CHAT) if "soy" in t])[0]
    assert text == (
        "Hola, soy lucia; lo revisa tomas con. Mira click (http://evil.example) "
        "o https://ayuda.example/retiros?a=1&b=2: 5 < 7 && listo >:)"
    )
    assert not any(token in text for token in ("<!", "<@", "U0AGENT", "&lt;", "&amp;", "|"))


def test_a_slack_dm_creator_gets_the_reply_escaped_once_without_broadcasts(
    service: Service, desk: Desk, slack_api: FakeSlack, puente: Puente
) -> None:
    dm = "D0CREATOR"
    assert post_signed(desk.url, *event_payload(dm_event("/agente", channel=dm))).status == 200
    card = desk.card()
    assert desk.click(blocks.TAKE, 1, user=SECOND_AGENT) == 200
    wait_until(lambda: taken(puente, 1))
    before = len(slack_api.posted(dm))
    assert desk.reply(AGENT_TEXT, card["ts"], user=SECOND_AGENT) == 200
    replies = wait_until(lambda: [m for m in slack_api.posted(dm)[before:] if "soy" in m["text"]])
    text = replies[0]["text"]
    assert "&amp;lt;" not in text and "&amp;amp;" not in text and "<!channel>" not in text
    assert "5 &lt; 7 &amp;&amp; listo &gt;:)" in text
    assert "<http://evil.example|click>" in text and "<@U0AGENT1|lucia>" in text
