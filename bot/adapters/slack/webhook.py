"""The Slack Events API / interactivity HTTP route, served by ``bot/web.py`` beside /healthz
(Socket Mode needs none, but the route stays for HTTP deliveries)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.adapters.base import RejectionCounter
from bot.http_input import SLACK_TYPES, Rejection, read_body, slack_body_problem

EVENTS_PATH = "/slack/events"
Dispatcher = Callable[[bytes, str, dict[str, str]], tuple[int, dict[str, str], str]]


def events_routes(
    dispatch: Dispatcher, max_body: int, rejected: RejectionCounter
) -> list[BaseRoute]:
    """POST /slack/events: Bolt verifies the signature and routes; its dispatch is synchronous
    (it waits for listeners to ack), so it runs in a worker thread, never on the event loop."""

    async def slack_events(request: Request) -> Response:
        try:
            body = await read_body(request, max_body, SLACK_TYPES)
            slack_body_problem(body, request.headers.get("content-type", ""))
        except Rejection as problem:
            rejected(EVENTS_PATH, problem.status)
            return PlainTextResponse(problem.reason, status_code=problem.status)
        headers = dict(request.headers.items())
        status, reply_headers, reply = await run_in_threadpool(
            dispatch, body, request.url.query, headers
        )
        if status >= 400:
            rejected(EVENTS_PATH, status)
        return Response(content=reply, status_code=status, headers=reply_headers)

    return [Route(EVENTS_PATH, slack_events, methods=["POST"])]
