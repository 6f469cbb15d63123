"""Checks on webhook requests before any adapter sees them: a clear 4xx for anything malformed.

413 for a body over the limit (declared or streamed), 415 for a content type the route doesn't
take, 400 for a body that isn't what its content type says (JSON that doesn't parse or isn't an
object, a form whose ``payload`` field isn't a JSON object).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from starlette.requests import Request

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
SLACK_TYPES = frozenset({JSON, FORM})  # Events API; interactivity and slash commands


class Rejection(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


async def read_body(request: Request, limit: int, accepted: frozenset[str] | set[str]) -> bytes:
    """The raw body, read at most ``limit`` bytes far."""
    if media_type(request.headers.get("content-type", "")) not in accepted:
        raise Rejection(415, "unsupported content type; expected " + " or ".join(sorted(accepted)))
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Rejection(400, "bad content-length")
        if int(declared) > limit:
            raise Rejection(413, "payload too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Rejection(413, "payload too large")
        chunks.append(chunk)
    return b"".join(chunks)


def slack_body_problem(body: bytes, content_type: str) -> None:
    """Raise :class:`Rejection` unless the body parses as its content type says."""
    try:
        text = body.decode("utf-8")
        if media_type(content_type) == JSON:
            _json_object(text)
            return
        fields = parse_qs(text, keep_blank_values=True)
        if "payload" in fields:
            _json_object(fields["payload"][0])
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Rejection(400, "malformed body") from exc


def _json_object(text: str) -> None:
    if not isinstance(json.loads(text), dict):
        raise ValueError("not a JSON object")
