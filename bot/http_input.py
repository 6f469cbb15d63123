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
MAX_BODY = 1_048_576  # PUENTE_MAX_BODY_BYTES's default


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


# Envelope fields Slack's SDK reads ids and routing from: Slack sends ids as a string or an
# object ({"id": …}), and these containers as objects; anything else crashes the SDK (500).
_ID_FIELDS = ("team", "enterprise", "user", "channel")
_OBJECT_FIELDS = ("event", "view", "container", "message", "previous_message", "item")
_NEVER_NULL = ("event", "view")  # the SDK reads into these even when they are null
_LIST_OF_OBJECTS = ("authorizations", "actions")


def slack_body_problem(body: bytes, content_type: str) -> None:
    """Raise :class:`Rejection` unless the body parses as its content type says, with an
    envelope shaped as Slack sends it."""
    try:
        text = body.decode("utf-8")
        if media_type(content_type) == JSON:
            _slack_shaped(_json_object(text))
            return
        fields = parse_qs(text, keep_blank_values=True)
        if "payload" in fields:
            _slack_shaped(_json_object(fields["payload"][0]))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Rejection(400, "malformed body") from exc


def _json_object(text: str) -> dict[str, object]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _slack_shaped(payload: dict[str, object], depth: int = 0) -> None:
    for name in _ID_FIELDS:
        if not isinstance(payload.get(name), str | dict | None):
            raise ValueError(f"{name} is neither an id nor an object")
    for name in _OBJECT_FIELDS:
        value = payload.get(name)
        present = value is not None or (name in _NEVER_NULL and name in payload)
        if present and not isinstance(value, dict):
            raise ValueError(f"{name} is not an object")
    for name in _LIST_OF_OBJECTS:
        items = payload.get(name)
        if items is not None and not (
            isinstance(items, list) and all(isinstance(item, dict) for item in items)
        ):
            raise ValueError(f"{name} is not a list of objects")
    if depth < 2:
        nested = [payload.get(name) for name in _OBJECT_FIELDS]
        nested += list(payload.get("authorizations") or [])[:1]  # type: ignore[call-overload]
        for inner in nested:
            if isinstance(inner, dict):
                _slack_shaped(inner, depth + 1)
