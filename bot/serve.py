"""``puente serve``: one process running the web app and every configured chat adapter."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import uvicorn

from bot.app import build_puente
from bot.config import Settings
from bot.web import build_web_app

log = logging.getLogger("puente.serve")


async def serve(settings: Settings) -> int:
    puente = build_puente(settings)
    telegram = None
    if settings.telegram_bot_token:
        from bot.adapters.telegram import TelegramAdapter, TelegramConfig, check_token

        config = TelegramConfig(
            token=check_token(settings.telegram_bot_token),
            base_url=settings.telegram_base_url,
            base_file_url=settings.telegram_base_file_url,
            webhook_url=settings.telegram_webhook_url,
            webhook_secret=settings.telegram_webhook_secret,
        )
        telegram = TelegramAdapter(puente, config)
    else:
        log.warning("telegram: not started (set TELEGRAM_BOT_TOKEN to start it)")
    app = build_web_app(puente, telegram=telegram)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            lifespan="off",
            access_log=False,
        )
    )
    starting = asyncio.create_task(telegram.start()) if telegram else None
    log.warning("web: listening on %s:%d", settings.host, settings.port)
    try:
        await server.serve()
    finally:
        if starting is not None and not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
        if telegram is not None:
            await telegram.stop()
    return 0
