"""The ASGI app served by ``puente serve``; chat platforms' webhook routes are mounted here."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from handlers.router import Puente


def build_web_app(puente: Puente) -> Starlette:
    async def healthz(_: Request) -> JSONResponse:
        try:
            with puente.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok", "kb_articles": len(puente.kb.kb)})

    return Starlette(routes=[Route("/healthz", healthz, methods=["GET"])])
