"""``/whatsapp/webhook`` on ``PORT``: GET is Meta's subscription handshake, POST its events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route

from bot.adapters.base import RejectionCounter
from bot.adapters.whatsapp.config import WEBHOOK_PATH, WhatsAppConfig
from bot.adapters.whatsapp.webhook import handshake
from bot.http_input import JSON, Rejection, read_body

Receiver = Callable[[str | None, bytes], Awaitable[tuple[int, str]]]


def webhook_routes(
    config: WhatsAppConfig, receive_webhook: Receiver, rejected: RejectionCounter
) -> Sequence[BaseRoute]:
    async def verify(request: Request) -> PlainTextResponse:
        challenge = handshake(dict(request.query_params), config.verify_token)
        if challenge is None:
            rejected(WEBHOOK_PATH, 403)
            return PlainTextResponse("verification failed", status_code=403)
        return PlainTextResponse(challenge)

    async def receive(request: Request) -> PlainTextResponse:
        try:
            body = await read_body(request, config.max_body, frozenset({JSON}))
        except Rejection as problem:
            status, reason = problem.status, problem.reason
        else:
            status, reason = await receive_webhook(request.headers.get("x-hub-signature-256"), body)
        if status >= 400:
            rejected(WEBHOOK_PATH, status)
        return PlainTextResponse(reason, status_code=status)

    return [
        Route(WEBHOOK_PATH, verify, methods=["GET"]),
        Route(WEBHOOK_PATH, receive, methods=["POST"]),
    ]
