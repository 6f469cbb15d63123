"""The ASGI app served by ``puente serve``: health, metrics, and the chat platforms' webhooks
(each adapter brings its own routes)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.adapters.base import ChatAdapter
from bot.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from bot.metrics import Metrics
from handlers.api import Puente
from handlers.insights import telemetry
from handlers.storage.migrations import VERSION_TABLE

HEALTH_TIMEOUT = 2.0


def build_web_app(
    puente: Puente,
    adapters: Sequence[ChatAdapter] = (),
    *,
    on_shutdown: Callable[[], Awaitable[None]] | None = None,
    health_timeout: float = HEALTH_TIMEOUT,
) -> Starlette:
    """/healthz, /metrics, and every adapter's webhook routes."""
    metrics = Metrics(puente.engine, lambda: puente.clock())

    def rejected(route: str, status: int) -> None:
        metrics.rejected.labels(route, str(status)).inc()

    async def healthz(_: Request) -> JSONResponse:
        """200 when the database answers and accepts a write in time and every adapter's sender
        runs; 503 otherwise. The body names each check, and says whether the timers are fired on
        time (``worker``), which is the worker's health, not this process's: it never makes a
        503."""
        checks = {"database": await _database(puente, health_timeout)}
        for adapter in adapters:
            alive = adapter.sender_alive
            checks[f"{adapter.platform.value}_sender"] = "running" if alive else "stopped"
        healthy = all(value in {"ok", "running"} for value in checks.values())
        body: dict[str, object] = {"status": "ok" if healthy else "error", **checks}
        if healthy:
            body["kb_articles"] = await run_in_threadpool(lambda: len(puente.kb.kb))
            body["worker"] = await run_in_threadpool(_worker_state, puente)
        return JSONResponse(body, status_code=200 if healthy else 503)

    async def metrics_page(_: Request) -> Response:
        content = await run_in_threadpool(metrics.render)
        return Response(content, media_type=METRICS_CONTENT_TYPE)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        """uvicorn runs this on SIGTERM/SIGINT before it exits: adapters stop cleanly."""
        yield
        if on_shutdown is not None:
            await on_shutdown()

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_page, methods=["GET"]),
    ]
    for adapter in adapters:
        routes.extend(adapter.routes(rejected))
    return Starlette(lifespan=lifespan, routes=routes)


def _worker_state(puente: Puente) -> str:
    """Whether the timers fire on time: "late" once a due timer has waited longer than the
    on-call policy's ``worker_late``, else "ok"."""
    with Session(puente.engine) as session:
        late = telemetry.timers_late(session, puente.clock(), puente.oncall.worker_late)
    return "ok" if late is None else "late"


# Takes the write lock without changing a row, so a database that can be read but not
# written (a read-only or immutable SQLite file, a PostgreSQL replica) is caught: every webhook
# would get 503 from it.
_WRITE_PROBE = text(f"UPDATE {VERSION_TABLE} SET version_num = version_num WHERE 1 = 0")


async def _database(puente: Puente, timeout: float) -> str:
    """``SELECT 1`` then a write that changes nothing (rolled back), in a worker thread so a
    hung database can't stall the event loop."""

    def ping() -> str:
        with puente.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            try:
                connection.execute(_WRITE_PROBE)
            except SQLAlchemyError:
                return "read_only"
            finally:
                connection.rollback()
        return "ok"

    try:
        return await asyncio.wait_for(asyncio.to_thread(ping), timeout)
    except TimeoutError:
        return "timeout"
    except (SQLAlchemyError, OSError):
        return "unreachable"
