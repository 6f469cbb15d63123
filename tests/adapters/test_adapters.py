"""The ``ChatAdapter`` contract: console, Telegram and Slack keep it, and the web app is composed
from whatever adapters it is given (a new platform plugs in without editing ``bot/web.py``)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Sequence

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route
from starlette.testclient import TestClient

from bot.adapters.base import ChatAdapter, RejectionCounter
from bot.adapters.console import ConsoleChat
from bot.adapters.slack import EVENTS_PATH, SlackAdapter, SlackConfig
from bot.adapters.telegram import WEBHOOK_PATH, TelegramAdapter, TelegramConfig
from bot.web import build_web_app
from handlers.api import Puente
from handlers.contract.messages import Platform
from handlers.storage.models import InboundUpdate
from tests.conftest import REPO
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import dm_event, event_callback
from tests.fakes.telegram_api import DEFAULT_TOKEN
from tests.serving import Service, slack_config, wait_until


def console(puente: Puente, lines: str = "") -> ConsoleChat:
    stdin = io.BytesIO(lines.encode())
    return ConsoleChat(puente, locale="es", user="ana", stdin=stdin, stdout=io.StringIO())


def test_console_telegram_and_slack_keep_the_contract(puente: Puente) -> None:
    adapters = [
        console(puente),
        TelegramAdapter(puente, TelegramConfig(token=DEFAULT_TOKEN)),
        SlackAdapter(puente, SlackConfig(bot_token="xoxb-test", signing_secret="s")),
    ]
    for adapter in adapters:
        assert isinstance(adapter, ChatAdapter), adapter
    assert [a.platform for a in adapters] == [Platform.CONSOLE, Platform.TELEGRAM, Platform.SLACK]
    routes = [a.routes(lambda path, status: None) for a in adapters]
    paths = [[r.path for r in found if isinstance(r, Route)] for found in routes]
    assert paths == [[], [WEBHOOK_PATH], [EVENTS_PATH]]


class Pigeon:
    """A platform the web app has never heard of: one webhook that refuses everything."""

    platform = Platform.WHATSAPP

    def __init__(self) -> None:
        self.alive = True

    def routes(self, rejected: RejectionCounter) -> Sequence[BaseRoute]:
        async def hook(_: Request) -> PlainTextResponse:
            rejected("/pigeon", 403)
            return PlainTextResponse("no", status_code=403)

        return [Route("/pigeon", hook, methods=["POST"])]

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def wake(self) -> None: ...

    async def download(self, file_id: str) -> bytes | None:
        return None

    @property
    def sender_alive(self) -> bool:
        return self.alive


def test_a_new_platform_plugs_into_the_web_app(puente: Puente) -> None:
    pigeon = Pigeon()
    assert isinstance(pigeon, ChatAdapter)
    client = TestClient(build_web_app(puente, [pigeon]))
    assert client.post("/pigeon", content=b"{}").status_code == 403
    metrics = client.get("/metrics").text
    assert 'route="/pigeon",status="403"' in metrics
    assert client.get("/healthz").json()["whatsapp_sender"] == "running"
    pigeon.alive = False
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json()["whatsapp_sender"] == "stopped"
    assert client.post(WEBHOOK_PATH, content=b"{}").status_code == 404  # not configured


def test_a_slack_dm_marks_its_stored_event_processed(puente: Puente) -> None:
    with FakeSlack() as fake:
        service = Service(puente, slack=slack_config(fake)).start()
        try:
            assert service.slack is not None
            envelope = event_callback(dm_event("no me llegan los regalos", user="U0CREATOR"))
            service.run(_handle(service.slack, envelope))
            with Session(puente.engine) as session:
                rows = session.exec(select(InboundUpdate)).all()
            assert len(rows) == 1 and rows[0].processed_at is not None and not rows[0].error
            assert wait_until(lambda: fake.posted(envelope["event"]["channel"]))
        finally:
            service.stop()


async def _handle(adapter: SlackAdapter, envelope: dict[str, object]) -> None:
    row = adapter.inbox.accept(platform="slack", key=str(envelope["event_id"]),
                               payload=json.dumps(envelope))  # fmt: skip
    assert row is not None
    event = envelope["event"]
    assert isinstance(event, dict)
    await asyncio.to_thread(adapter.inbound.handle_event, event, row)


def test_a_console_creator_typing_a_superscript_digit_gets_a_reply(puente: Puente) -> None:
    chat = console(puente)
    chat.send("hola")
    result = chat.send("²")
    assert result.replies


def test_no_module_in_bot_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(REPO)): lines
        for path in (REPO / "bot").rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long == {}
