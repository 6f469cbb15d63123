"""Runs Puente's adapters and web app as ``puente serve`` does, on a loop in a thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine
from typing import Any

import uvicorn

from bot.adapters.slack import SlackAdapter, SlackConfig
from bot.adapters.telegram import TelegramAdapter, TelegramConfig
from bot.adapters.whatsapp import WhatsAppAdapter, WhatsAppConfig
from bot.web import build_web_app
from handlers.api import Puente
from tests.fakes.slack_api import FAKE_BOT_TOKEN, FakeSlack
from tests.fakes.slack_signing import SIGNING_SECRET
from tests.fakes.telegram_api import FakeTelegram


def telegram_config(fake: FakeTelegram, **options: Any) -> TelegramConfig:
    """The Telegram adapter's configuration pointed at a local Bot API fake."""
    return TelegramConfig(
        token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url, **options
    )


def slack_config(fake: FakeSlack, **options: Any) -> SlackConfig:
    """The Slack adapter's configuration pointed at a local Web API fake, signed with the
    tests' secret unless ``signing_secret`` says otherwise."""
    options.setdefault("signing_secret", SIGNING_SECRET)
    return SlackConfig(bot_token=FAKE_BOT_TOKEN, api_url=fake.api_url, **options)


class Service:
    def __init__(
        self,
        puente: Puente,
        *,
        telegram: TelegramConfig | None = None,
        slack: SlackConfig | None = None,
        whatsapp: WhatsAppConfig | None = None,
    ) -> None:
        self.puente = puente
        self.whatsapp: WhatsAppAdapter | None = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.telegram: TelegramAdapter | None = None
        self.slack: SlackAdapter | None = None
        self.run(self._build(telegram, slack, whatsapp))
        self.server: uvicorn.Server | None = None
        self.base = ""

    async def _build(
        self,
        telegram: TelegramConfig | None,
        slack: SlackConfig | None,
        whatsapp: WhatsAppConfig | None = None,
    ) -> None:
        files: dict[str, Any] = {}
        if whatsapp is not None:
            self.whatsapp = WhatsAppAdapter(self.puente, whatsapp, files=files)
            files["whatsapp"] = self.whatsapp.download
        if telegram is not None:
            self.telegram = TelegramAdapter(self.puente, telegram, files=files)
            files["telegram"] = self.telegram.download
        if slack is not None:
            self.slack = SlackAdapter(self.puente, slack, wake=self.wake_all, files=files)
            files["slack"] = self.slack.download

    def wake_all(self) -> None:
        for adapter in (self.telegram, self.slack, self.whatsapp):
            if adapter is not None:
                self.loop.call_soon_threadsafe(adapter.wake)

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def start(self) -> Service:
        for adapter in (self.telegram, self.slack, self.whatsapp):
            if adapter is not None:
                self.run(adapter.start())
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        adapters = [a for a in (self.telegram, self.slack, self.whatsapp) if a is not None]
        app = build_web_app(self.puente, adapters)
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        asyncio.run_coroutine_threadsafe(self.server.serve(sockets=[sock]), self.loop)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
            time.sleep(0.2)
        for adapter in (self.telegram, self.slack, self.whatsapp):
            if adapter is not None:
                self.run(adapter.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def wait_until(condition: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
