"""The one normalised message model every adapter produces and consumes.

Adapters translate platform payloads into :class:`IncomingMessage` and render
:class:`OutgoingMessage`; the handler layer never sees a platform SDK type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


class Platform(StrEnum):
    CONSOLE = "console"
    TELEGRAM = "telegram"
    SLACK = "slack"
    WHATSAPP = "whatsapp"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file the creator sent or an agent wants delivered; content stays on the platform."""

    kind: str  # photo, document, voice, sticker, video, audio
    platform_file_id: str
    file_name: str | None = None
    mime_type: str | None = None
    size: int | None = None
    source: str | None = None  # the platform holding the file, when it isn't the chat's own


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    platform: Platform
    chat_id: str
    user_id: str
    message_id: str
    text: str
    display_name: str = ""
    locale_hint: str | None = None
    attachments: tuple[Attachment, ...] = ()
    sent_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A quick reply: ``payload`` is what the adapter feeds back when it is chosen."""

    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    text: str
    suggestions: tuple[Suggestion, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    article_id: str | None = None  # the KB article this answer came from, for the agents
