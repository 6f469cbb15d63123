"""Outbound rows as Cloud API message bodies: text split at 4,096 characters, suggestions as
reply buttons (at most 3, titles up to 20 characters) or a list (at most 10 rows)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers.common.text import split_text
from handlers.contract.messages import Suggestion

MAX_TEXT = 4096
MAX_BODY = 1024  # an interactive message's body
MAX_BUTTONS = 3
BUTTON_TITLE = 20
MAX_ROWS = 10
ROW_TITLE = 24
ROW_DESCRIPTION = 72
MAX_ID = 200

Body = tuple[str, dict[str, Any]]


def bodies(text: str, suggestions: Sequence[Suggestion], list_button: str) -> list[Body]:
    """The messages one outbound row becomes, in sending order."""
    choices = [s for s in suggestions if s.payload and len(s.payload) <= MAX_ID][:MAX_ROWS]
    pieces = split_text(text, MAX_TEXT) if text else []
    if not choices:
        return [("text", {"body": piece, "preview_url": False}) for piece in pieces or ["…"]]
    last = pieces.pop() if pieces else ""
    tail = split_text(last, MAX_BODY) if last else ["…"]
    pieces += [" ".join(tail[:-1])] if len(tail) > 1 else []
    texts: list[Body] = [("text", {"body": p, "preview_url": False}) for p in pieces if p]
    return [*texts, ("interactive", interactive(tail[-1], choices, list_button))]


def interactive(body: str, choices: Sequence[Suggestion], list_button: str) -> dict[str, Any]:
    if fits_buttons(choices):
        buttons = [{"type": "reply", "reply": {"id": s.payload, "title": s.label}} for s in choices]
        return {"type": "button", "body": {"text": body}, "action": {"buttons": buttons}}
    rows = [_row(s) for s in choices]
    action = {"button": list_button[:BUTTON_TITLE], "sections": [{"rows": rows}]}
    return {"type": "list", "body": {"text": body}, "action": action}


def fits_buttons(choices: Sequence[Suggestion]) -> bool:
    return len(choices) <= MAX_BUTTONS and all(0 < len(s.label) <= BUTTON_TITLE for s in choices)


def _row(choice: Suggestion) -> dict[str, str]:
    """A row's title holds 24 characters; the rest of a longer label goes in the description."""
    label = choice.label or choice.payload
    row = {"id": choice.payload, "title": label[:ROW_TITLE]}
    if len(label) > ROW_TITLE:
        row["description"] = label[ROW_TITLE : ROW_TITLE + ROW_DESCRIPTION]
    return row


def template(name: str, language: str) -> Body:
    return ("template", {"name": name, "language": {"code": language}})


def media(kind: str, media_id: str, file_name: str | None) -> Body:
    """An agent's file: photos as images, everything else as a document."""
    if kind == "photo":
        return ("image", {"id": media_id})
    return ("document", {"id": media_id, "filename": file_name or "archivo"})
