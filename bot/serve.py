"""``puente serve``: one process running the web app and every configured chat adapter."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from typing import Any

import uvicorn

from bot.app import build_puente
from bot.config import Settings, items, pairs
from bot.web import build_web_app
from handlers.api import Puente

log = logging.getLogger("puente.serve")


def telegram_adapter(puente: Puente, settings: Settings, files: dict[str, Any]) -> Any:
    if not settings.telegram_bot_token:
        log.warning("telegram: not started (set TELEGRAM_BOT_TOKEN to start it)")
        return None
    from bot.adapters.telegram import TelegramAdapter, TelegramConfig, check_token

    config = TelegramConfig(
        token=check_token(settings.telegram_bot_token),
        base_url=settings.telegram_base_url,
        base_file_url=settings.telegram_base_file_url,
        webhook_url=settings.telegram_webhook_url,
        webhook_secret=settings.telegram_webhook_secret,
        max_per_second=settings.telegram_max_per_second,
        claim_seconds=settings.claim_seconds,
    )
    return TelegramAdapter(puente, config, files=files)


def slack_adapter(puente: Puente, settings: Settings, wake: Any, files: Any) -> Any:
    if not settings.slack_bot_token:
        log.warning("slack: not started (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET)")
        return None
    if not settings.slack_signing_secret and not settings.slack_app_token:
        raise ValueError("SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN)")
    from bot.adapters.slack import SlackAdapter, SlackConfig

    config = SlackConfig(
        bot_token=settings.slack_bot_token,
        signing_secret=settings.slack_signing_secret or "",
        app_token=settings.slack_app_token,
        api_url=settings.slack_api_url,
        agents=items(settings.slack_agents),
        root_causes=items(settings.root_causes),
        teams=pairs(settings.teams),
        repeat_days=settings.repeat_days,
        locale=settings.slack_locale,
        claim_seconds=settings.claim_seconds,
    )
    return SlackAdapter(puente, config, wake=wake, files=files)


async def serve(settings: Settings) -> int:
    puente = build_puente(settings)
    files: dict[str, Any] = {}
    telegram = telegram_adapter(puente, settings, files)
    adapters: list[Any] = [telegram] if telegram else []

    def wake_all() -> None:
        for adapter in adapters:
            adapter.wake()

    slack = slack_adapter(puente, settings, wake_all, files)
    if telegram is not None:
        files["telegram"] = telegram.download
    if slack is not None:
        files["slack"] = slack.download
        adapters.append(slack)
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
        telegram=telegram,
        slack=slack,
        on_shutdown=stop_adapters,
        max_body=settings.max_body_bytes,
        health_timeout=settings.health_timeout,
    )
    server = _Server(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            log_config=None,  # uvicorn's loggers go through bot/logs.py (format, redaction)
            lifespan="on",
            access_log=False,
        )
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, server.request_exit)
    starting = [asyncio.create_task(adapter.start()) for adapter in adapters]
    log.warning("web: listening on %s:%d", settings.host, settings.port)
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
