"""``puente serve``: one process running the web app and every configured chat adapter."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterator

import uvicorn

from bot.adapters.base import ChatAdapter, FileFetchers
from bot.app import build_puente
from bot.config import Settings
from bot.web import build_web_app
from handlers.api import Puente

log = logging.getLogger("puente.serve")


def telegram_adapter(puente: Puente, settings: Settings, files: FileFetchers) -> ChatAdapter | None:
    if not settings.telegram.token:
        log.warning("telegram: not started (set TELEGRAM_BOT_TOKEN to start it)")
        return None
    from bot.adapters.telegram import TelegramAdapter, TelegramConfig, check_token

    config = TelegramConfig(
        token=check_token(settings.telegram.token),
        base_url=settings.telegram.base_url,
        base_file_url=settings.telegram.base_file_url,
        webhook_url=settings.telegram.webhook_url,
        webhook_secret=settings.telegram.webhook_secret,
        max_per_second=settings.telegram.max_per_second,
        claim_seconds=settings.operations.claim_seconds,
        max_body=settings.operations.max_body_bytes,
    )
    return TelegramAdapter(puente, config, files=files)


def slack_adapter(
    puente: Puente, settings: Settings, wake: Callable[[], None], files: FileFetchers
) -> ChatAdapter | None:
    if not settings.slack.bot_token:
        log.warning("slack: not started (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET)")
        return None
    if not settings.slack.signing_secret and not settings.slack.app_token:
        raise ValueError("SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN)")
    from bot.adapters.slack import SlackAdapter, SlackConfig

    config = SlackConfig(
        bot_token=settings.slack.bot_token,
        signing_secret=settings.slack.signing_secret or "",
        app_token=settings.slack.app_token,
        api_url=settings.slack.api_url,
        agents=settings.slack.agents,
        root_causes=settings.cases.root_causes,
        teams=settings.cases.teams,
        repeat_days=settings.cases.repeat_days,
        locale=settings.slack.locale,
        claim_seconds=settings.operations.claim_seconds,
        max_body=settings.operations.max_body_bytes,
    )
    return SlackAdapter(puente, config, wake=wake, files=files)


def whatsapp_adapter(puente: Puente, settings: Settings, files: FileFetchers) -> ChatAdapter | None:
    """Started by WHATSAPP_ACCESS_TOKEN; refuses to start without WHATSAPP_APP_SECRET."""
    group = settings.whatsapp
    if not group.access_token:
        log.warning("whatsapp: not started (set WHATSAPP_ACCESS_TOKEN to start it)")
        return None
    from bot.adapters.whatsapp import WhatsAppAdapter, WhatsAppConfig

    config = WhatsAppConfig(
        access_token=group.access_token,
        phone_number_id=group.phone_number_id,
        app_secret=group.app_secret,
        verify_token=group.verify_token,
        api_url=group.api_url,
        api_version=group.api_version,
        reply_template=group.reply_template,
        claim_seconds=settings.operations.claim_seconds,
        max_body=settings.operations.max_body_bytes,
    )
    return WhatsAppAdapter(puente, config, files=files)


def build_adapters(puente: Puente, settings: Settings) -> list[ChatAdapter]:
    """Every configured platform's adapter; each can relay files from the others and wake them
    all (an agent's action on one platform stores replies for another)."""
    files: FileFetchers = {}
    adapters: list[ChatAdapter] = []

    def wake_all() -> None:
        for adapter in adapters:
            adapter.wake()

    built = (
        telegram_adapter(puente, settings, files),
        slack_adapter(puente, settings, wake_all, files),
        whatsapp_adapter(puente, settings, files),
    )
    for adapter in built:
        if adapter is not None:
            adapters.append(adapter)
            files[adapter.platform.value] = adapter.download
    return adapters


async def serve(settings: Settings) -> int:
    puente = build_puente(settings)
    adapters = build_adapters(puente, settings)
    embedded = puente.kb.embed_all()  # a new or large KB: embed it all before serving
    if embedded:
        log.warning("kb: embedded %d new questions", embedded)
    matcher = puente.kb.matcher()  # load the KB and the encoder now, not on a creator's message
    if matcher.semantic is not None:
        matcher.semantic.encoder.encode("hola")

    async def stop_adapters() -> None:
        for adapter in adapters:
            await adapter.stop()

    app = build_web_app(
        puente,
        adapters,
        on_shutdown=stop_adapters,
        health_timeout=settings.operations.health_timeout,
    )
    server = _Server(
        uvicorn.Config(
            app,
            host=settings.operations.host,
            port=settings.operations.port,
            log_level=settings.operations.log_level.lower(),
            log_config=None,  # uvicorn's loggers go through bot/logs.py (format, redaction)
            lifespan="on",
            access_log=False,
        )
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, server.request_exit)
    starting = [asyncio.create_task(adapter.start()) for adapter in adapters]
    log.warning("web: listening on %s:%d", settings.operations.host, settings.operations.port)
    try:
        await server.serve()
    finally:
        for task in starting:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    log.warning("stopped")
    return 0


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM after its shutdown, killing the process with code 143; here the
    signal only asks for a graceful exit, so shutdown hooks run and ``puente serve`` returns 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def request_exit(self) -> None:
        self.should_exit = True
