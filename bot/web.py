"""The ASGI app served by ``puente serve``: health, and the chat platforms' webhooks."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from handlers.router import Puente

if TYPE_CHECKING:
    from bot.adapters.slack import SlackAdapter
    from bot.adapters.telegram import TelegramAdapter

MAX_BODY = 1_000_000
TELEGRAM_PATH = "/telegram/webhook"
SLACK_PATH = "/slack/events"


def build_web_app(
    puente: Puente,
    *,
    telegram: TelegramAdapter | None = None,
    slack: SlackAdapter | None = None,
    on_shutdown: Callable[[], Awaitable[None]] | None = None,
) -> Starlette:
    async def healthz(_: Request) -> JSONResponse:
        try:
            with puente.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        body: dict[str, object] = {
            "status": "ok",
            "database": "ok",
            "kb_articles": len(puente.kb.kb),
        }
        if telegram is not None:
            body["telegram"] = "running" if telegram.running else "stopped"
        return JSONResponse(body)

    async def telegram_webhook(request: Request) -> PlainTextResponse:
        if telegram is None:
            return PlainTextResponse("telegram is not configured", status_code=404)
        body = await _bounded_body(request)
        if body is None:
            return PlainTextResponse("payload too large", status_code=413)
        secret = request.headers.get("x-telegram-bot-api-secret-token")
        status, reason = await telegram.receive_webhook(secret, body)
        return PlainTextResponse(reason, status_code=status)

    async def slack_events(request: Request) -> Response:
        """Bolt verifies the signature and routes; its dispatch is synchronous (it waits for
        listeners to ack), so it runs in a worker thread, never on the event loop."""
        if slack is None:
            return PlainTextResponse("slack is not configured", status_code=404)
        body = await _bounded_body(request)
        if body is None:
            return PlainTextResponse("payload too large", status_code=413)
        headers = dict(request.headers.items())
        status, reply_headers, reply = await run_in_threadpool(
            slack.handle_http, body, request.url.query, headers
        )
        return Response(content=reply, status_code=status, headers=reply_headers)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        """uvicorn runs this on SIGTERM/SIGINT before it exits: adapters stop cleanly."""
        yield
        if on_shutdown is not None:
            await on_shutdown()

    return Starlette(
        lifespan=lifespan,
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route(TELEGRAM_PATH, telegram_webhook, methods=["POST"]),
            Route(SLACK_PATH, slack_events, methods=["POST"]),
        ],
    )


async def _bounded_body(request: Request) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
