"""The ASGI app served by ``puente serve``: health, metrics, and the chat platforms' webhooks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.http_input import JSON, SLACK_TYPES, Rejection, read_body, slack_body_problem
from bot.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from bot.metrics import Metrics
from handlers.api import Puente
from handlers.insights import telemetry

if TYPE_CHECKING:
    from bot.adapters.slack import SlackAdapter
    from bot.adapters.telegram import TelegramAdapter

MAX_BODY = 1_048_576
HEALTH_TIMEOUT = 2.0
TELEGRAM_PATH = "/telegram/webhook"
SLACK_PATH = "/slack/events"


class _Sender(Protocol):
    @property
    def sender_alive(self) -> bool: ...


def build_web_app(
    puente: Puente,
    *,
    telegram: TelegramAdapter | None = None,
    slack: SlackAdapter | None = None,
    on_shutdown: Callable[[], Awaitable[None]] | None = None,
    max_body: int = MAX_BODY,
    health_timeout: float = HEALTH_TIMEOUT,
) -> Starlette:
    metrics = Metrics(puente.engine, lambda: puente.clock())

    def rejected(route: str, status: int, reason: str) -> PlainTextResponse:
        metrics.rejected.labels(route, str(status)).inc()
        return PlainTextResponse(reason, status_code=status)

    async def healthz(_: Request) -> JSONResponse:
        """200 when the database answers ``SELECT 1`` in time and every configured sender runs;
        503 otherwise. The body names each check, and says whether the timers are fired on time
        (``worker``), which is the worker's health, not this process's: it never makes a 503."""
        checks = {"database": await _database(puente, health_timeout)}
        senders: dict[str, _Sender | None] = {"telegram": telegram, "slack": slack}
        for name, adapter in senders.items():
            if adapter is not None:
                checks[f"{name}_sender"] = "running" if adapter.sender_alive else "stopped"
        healthy = all(value in {"ok", "running"} for value in checks.values())
        body: dict[str, object] = {"status": "ok" if healthy else "error", **checks}
        if healthy:
            body["kb_articles"] = await run_in_threadpool(lambda: len(puente.kb.kb))
            body["worker"] = await run_in_threadpool(_worker_state, puente)
        return JSONResponse(body, status_code=200 if healthy else 503)

    async def metrics_page(_: Request) -> Response:
        content = await run_in_threadpool(metrics.render)
        return Response(content, media_type=METRICS_CONTENT_TYPE)

    async def telegram_webhook(request: Request) -> PlainTextResponse:
        if telegram is None:
            return rejected(TELEGRAM_PATH, 404, "telegram is not configured")
        try:
            body = await read_body(request, max_body, frozenset({JSON}))
        except Rejection as problem:
            return rejected(TELEGRAM_PATH, problem.status, problem.reason)
        secret = request.headers.get("x-telegram-bot-api-secret-token")
        status, reason = await telegram.receive_webhook(secret, body)
        if status >= 400:
            return rejected(TELEGRAM_PATH, status, reason)
        return PlainTextResponse(reason, status_code=status)

    async def slack_events(request: Request) -> Response:
        """Bolt verifies the signature and routes; its dispatch is synchronous (it waits for
        listeners to ack), so it runs in a worker thread, never on the event loop."""
        if slack is None:
            return rejected(SLACK_PATH, 404, "slack is not configured")
        try:
            body = await read_body(request, max_body, SLACK_TYPES)
            slack_body_problem(body, request.headers.get("content-type", ""))
        except Rejection as problem:
            return rejected(SLACK_PATH, problem.status, problem.reason)
        headers = dict(request.headers.items())
        status, reply_headers, reply = await run_in_threadpool(
            slack.handle_http, body, request.url.query, headers
        )
        if status >= 400:
            metrics.rejected.labels(SLACK_PATH, str(status)).inc()
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
            Route("/metrics", metrics_page, methods=["GET"]),
            Route(TELEGRAM_PATH, telegram_webhook, methods=["POST"]),
            Route(SLACK_PATH, slack_events, methods=["POST"]),
        ],
    )


def _worker_state(puente: Puente) -> str:
    """Whether the timers fire on time: "late" once a due timer has waited longer than the
    on-call policy's ``worker_late``, else "ok"."""
    with Session(puente.engine) as session:
        late = telemetry.timers_late(session, puente.clock(), puente.oncall.worker_late)
    return "ok" if late is None else "late"


async def _database(puente: Puente, timeout: float) -> str:
    """``SELECT 1`` in a worker thread, so a hung database can't stall the event loop."""

    def ping() -> None:
        with puente.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(asyncio.to_thread(ping), timeout)
    except TimeoutError:
        return "timeout"
    except (SQLAlchemyError, OSError):
        return "unreachable"
    return "ok"
