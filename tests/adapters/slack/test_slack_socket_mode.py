"""Socket Mode, tested as HTTP mode is: the Slack adapter connects to a local fake of Slack's
Socket Mode WebSocket (``tests/fakes/slack_socket.py``), acknowledges each envelope, stores
and answers a creator's message once, and reconnects when Slack drops the connection."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from sqlmodel import Session, col, select

from bot.adapters.slack import blocks
from handlers.api import Puente
from handlers.storage.models import Conversation, Direction, Message
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import block_actions, dm_event, event_callback
from tests.fakes.slack_socket import FakeSocketMode
from tests.serving import Service, slack_config, wait_until

CREATOR = "U0CREATOR"


def inbound(puente: Puente, channel: str) -> list[str]:
    with Session(puente.engine) as session:
        return list(
            session.exec(
                select(Message.text)
                .join(Conversation, col(Conversation.id) == Message.conversation_id)
                .where(Conversation.chat_id == channel, Message.direction == Direction.IN)
            ).all()
        )


@pytest.fixture
def socket_mode(puente: Puente) -> Iterator[tuple[FakeSlack, FakeSocketMode, Service]]:
    with FakeSlack() as slack, FakeSocketMode(slack) as socket_mode:
        slack.add_user(CREATOR, "vale_stream", real_name="Vale Stream", locale="es-MX")
        config = slack_config(slack, app_token=socket_mode.app_token)
        service = Service(puente, slack=config).start()
        socket_mode.wait_connected()
        yield slack, socket_mode, service
        service.stop()


def test_a_dm_over_socket_mode_is_acknowledged_stored_and_answered(
    puente: Puente, socket_mode: tuple[FakeSlack, FakeSocketMode, Service]
) -> None:
    slack, socket, _ = socket_mode
    envelope = socket.push(event_callback(dm_event("hola, ¿cómo retiro?", channel="D0SOCKET")))
    socket.wait_ack(envelope)
    assert wait_until(lambda: inbound(puente, "D0SOCKET")) == ["hola, ¿cómo retiro?"]
    replies = wait_until(lambda: slack.posted("D0SOCKET"))
    assert replies and all(m["user"] == slack.bot_user_id for m in replies)
    assert slack.calls_to("apps.connections.open")


def test_a_redelivered_envelope_is_acknowledged_and_stored_once(
    puente: Puente, socket_mode: tuple[FakeSlack, FakeSocketMode, Service]
) -> None:
    slack, socket, _ = socket_mode
    payload = event_callback(dm_event("no me llegan los regalos", channel="D0RETRY"))
    socket.wait_ack(socket.push(payload))
    wait_until(lambda: slack.posted("D0RETRY"))
    again = socket.push(payload, retry_attempt=1)
    socket.wait_ack(again)
    answered = len(slack.posted("D0RETRY"))
    assert inbound(puente, "D0RETRY") == ["no me llegan los regalos"]
    with pytest.raises(AssertionError):  # nothing more is posted for the retry
        wait_until(lambda: len(slack.posted("D0RETRY")) > answered, timeout=1.5)


def test_the_adapter_reconnects_when_slack_drops_the_connection(
    puente: Puente, socket_mode: tuple[FakeSlack, FakeSocketMode, Service]
) -> None:
    slack, socket, _ = socket_mode
    opened = len(slack.calls_to("apps.connections.open"))
    socket.drop_connections()
    socket.wait_connected(2, timeout=30)
    assert len(slack.calls_to("apps.connections.open")) > opened
    wait_until(lambda: socket.connections >= 1)
    socket.wait_ack(socket.push(event_callback(dm_event("sigo aquí", channel="D0AGAIN"))))
    assert wait_until(lambda: inbound(puente, "D0AGAIN")) == ["sigo aquí"]
    assert wait_until(lambda: slack.posted("D0AGAIN"))


def test_a_button_press_over_socket_mode_is_acknowledged_and_handled(
    socket_mode: tuple[FakeSlack, FakeSocketMode, Service],
) -> None:
    slack, socket, _ = socket_mode
    form = block_actions(blocks.TAKE, "1", user_id=CREATOR, channel_id="C0ESC")
    payload = json.loads(parse_qs(form.body)["payload"][0])
    socket.wait_ack(socket.push(payload, "interactive"))
    hints = wait_until(lambda: slack.ephemerals)  # only agents may act on a case
    assert hints[0]["user"] == CREATOR
