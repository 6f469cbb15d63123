"""The Telegram webhook's HTTP route, served by ``bot/web.py`` beside /healthz."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route

from bot.adapters.base import RejectionCounter
from bot.http_input import JSON, Rejection, read_body

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "x-telegram-bot-api-secret-token"
Receiver = Callable[[str | None, bytes], Awaitable[tuple[int, str]]]


def webhook_routes(receive: Receiver, max_body: int, rejected: RejectionCounter) -> list[BaseRoute]:
    """POST /telegram/webhook: a malformed request is turned away (and counted) before the
    adapter's ``receive`` checks the secret and stores the update."""

    async def telegram_webhook(request: Request) -> PlainTextResponse:
        try:
            body = await read_body(request, max_body, frozenset({JSON}))
        except Rejection as problem:
            status, reason = problem.status, problem.reason
        else:
            status, reason = await receive(request.headers.get(SECRET_HEADER), body)
        if status >= 400:
            rejected(WEBHOOK_PATH, status)
        return PlainTextResponse(reason, status_code=status)

    return [Route(WEBHOOK_PATH, telegram_webhook, methods=["POST"])]
