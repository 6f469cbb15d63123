"""Reading the Cloud API's webhooks: the signature, the subscription handshake, and each
message or status as one storable event."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from handlers.contract.messages import Attachment, IncomingMessage, Platform

SIGNATURE_PREFIX = "sha256="
MEDIA_KINDS = ("image", "audio", "document", "video", "sticker")
ATTACHMENT_KIND = {"image": "photo", "audio": "audio", "document": "document",
                   "video": "video", "sticker": "sticker"}  # fmt: skip


class EventKind(StrEnum):
    MESSAGE = "message"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class Event:
    """One message or status from a webhook body, stored on its own (a body may carry many)."""

    kind: EventKind
    key: str  # the dedupe key: the wamid, or wamid plus status
    payload: dict[str, Any]

    @property
    def chat(self) -> str | None:
        field = "from" if self.kind is EventKind.MESSAGE else "recipient_id"
        value = self.payload.get(field)
        return str(value) if value else None


def valid_signature(secret: str, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256``: HMAC-SHA256 of the raw body with the app secret, compared in
    constant time."""
    if not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[len(SIGNATURE_PREFIX) :].encode(), expected.encode())


def handshake(params: dict[str, str], verify_token: str) -> str | None:
    """The GET subscription check: the challenge to echo, or None (403)."""
    token = params.get("hub.verify_token", "")
    if params.get("hub.mode") != "subscribe" or not verify_token:
        return None
    if not hmac.compare_digest(token.encode(), verify_token.encode()):
        return None
    return params.get("hub.challenge", "")


def events(body: bytes) -> list[Event]:
    """Every message and status in a webhook body; ValueError when it isn't one."""
    document = json.loads(body)
    if not isinstance(document, dict) or not isinstance(document.get("entry"), list):
        raise ValueError("not a WhatsApp webhook")
    found: list[Event] = []
    for entry in document["entry"]:
        for change in _list(entry, "changes"):
            value = change.get("value") if isinstance(change, dict) else None
            if isinstance(value, dict):
                found.extend(_from_value(value))
    json.dumps([e.payload for e in found], ensure_ascii=False).encode()  # no lone surrogates
    return found


def _from_value(value: dict[str, Any]) -> list[Event]:
    names = {
        str(c.get("wa_id")): str((c.get("profile") or {}).get("name") or "")
        for c in _list(value, "contacts")
    }
    found = []
    for message in _list(value, "messages"):
        if message.get("id") and message.get("from"):
            payload = {**message, "_name": names.get(str(message["from"]), "")}
            found.append(Event(EventKind.MESSAGE, str(message["id"]), payload))
    for status in _list(value, "statuses"):
        if status.get("id") and status.get("status"):
            key = f"status:{status['id']}:{status['status']}"
            found.append(Event(EventKind.STATUS, key, status))
    return found


def _list(container: Any, name: str) -> list[dict[str, Any]]:
    items = container.get(name) if isinstance(container, dict) else None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def to_incoming(message: dict[str, Any]) -> IncomingMessage | None:
    """The normalised message, or None for what Puente ignores (reactions, unknown kinds)."""
    kind = str(message.get("type", ""))
    text = _text(kind, message)
    attachments = _attachment(kind, message)
    if text is None and not attachments:
        return None
    sender = str(message["from"])
    return IncomingMessage(
        platform=Platform.WHATSAPP,
        chat_id=sender,
        user_id=sender,
        message_id=str(message["id"]),
        text=text or "",
        display_name=str(message.get("_name") or ""),
        attachments=attachments,
        sent_at=_sent_at(message.get("timestamp")),
    )


def _text(kind: str, message: dict[str, Any]) -> str | None:
    body = message.get(kind)
    body = body if isinstance(body, dict) else {}
    if kind == "text":
        return str(body.get("body", ""))
    if kind == "interactive":
        reply = body.get("button_reply") or body.get("list_reply") or {}
        return str(reply.get("id") or reply.get("title") or "") or None
    if kind == "button":  # a template's quick-reply button
        return str(body.get("payload") or body.get("text") or "") or None
    if kind == "location":
        return _location_line(body)
    if kind == "contacts":
        return "\n".join(_contact_line(c) for c in _list(message, "contacts")) or None
    if kind in MEDIA_KINDS:
        return str(body.get("caption") or "")
    return None


def _location_line(body: dict[str, Any]) -> str:
    place = ", ".join(str(body[k]) for k in ("name", "address") if body.get(k))
    where = f"({body.get('latitude')}, {body.get('longitude')})"
    return f"📍 {place} {where}" if place else f"📍 {where}"


def _contact_line(contact: dict[str, Any]) -> str:
    name = str((contact.get("name") or {}).get("formatted_name") or "")
    phones = ", ".join(str(p.get("phone", "")) for p in _list(contact, "phones"))
    return f"👤 {name} {phones}".strip()


def _attachment(kind: str, message: dict[str, Any]) -> tuple[Attachment, ...]:
    body = message.get(kind)
    if kind not in MEDIA_KINDS or not isinstance(body, dict) or not body.get("id"):
        return ()
    label = "voice" if kind == "audio" and body.get("voice") else ATTACHMENT_KIND[kind]
    name = body.get("filename")
    mime = body.get("mime_type")
    return (Attachment(label, str(body["id"]), str(name) if name else None,
                       str(mime) if mime else None),)  # fmt: skip


def _sent_at(timestamp: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(timestamp), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)
