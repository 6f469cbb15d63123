"""Numbered options: "2" picks the second button of the bot's last message.

The offer is read from the stored conversation (the outgoing message keeps its suggestions),
not from a client's memory, so it holds across processes, restarts and terminal sessions,
and on platforms where a creator types the number instead of tapping.
"""

from __future__ import annotations

import json

from sqlmodel import Session, col, select

from handlers.contract.ids import parse_id
from handlers.storage.models import Direction, Message

_LOOK_BACK = 10  # the replies of one turn; an offer expires once the creator wrote after it


def picked(session: Session, inbound: Message, text: str) -> str | None:
    """The payload the number ``text`` (of the stored ``inbound``) picks from the last offer,
    or None."""
    choice = text.strip()
    number = parse_id(choice) if len(choice) <= 3 else None
    if number is None or inbound.id is None:
        return None
    recent = session.exec(
        select(Message)
        .where(Message.conversation_id == inbound.conversation_id, col(Message.id) < inbound.id)
        .order_by(col(Message.id).desc())
        .limit(_LOOK_BACK)
    ).all()
    for message in recent:
        if message.direction == Direction.IN:
            return None
        options = _options(message.suggestions)
        if options:
            return options[number - 1] if 1 <= number <= len(options) else None
    return None


def _options(stored: str) -> list[str]:
    try:
        suggestions = json.loads(stored or "[]")
    except ValueError:
        return []
    return [str(s.get("payload", "")) for s in suggestions if isinstance(s, dict)]
