"""Telegram messages and button presses as the core's :class:`IncomingMessage` (pure: no I/O)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from telegram import CallbackQuery, Message

from handlers.contract.messages import Attachment, IncomingMessage, Platform

FILE_KINDS = ("document", "voice", "audio", "video", "video_note", "animation")


def to_incoming(message: Message, *, bot_id: int, bot_username: str) -> IncomingMessage | None:
    """The normalised message, or None for what Puente ignores (groups not addressing it)."""
    chat, user = message.chat, message.from_user
    if user is None or user.is_bot:
        return None
    text = message.text or message.caption or ""
    if chat.type != "private":
        if not _addresses_bot(message, bot_id, bot_username):
            return None
        if bot_username:  # "@puente_bot ayuda" in a group; private text is kept verbatim
            text = text.replace(f"@{bot_username}", "").strip()
    return IncomingMessage(
        platform=Platform.TELEGRAM,
        chat_id=str(chat.id),
        user_id=str(user.id),
        message_id=str(message.message_id),
        text=text,
        display_name=user.full_name,
        locale_hint=user.language_code,
        attachments=_attachments(message),
        sent_at=message.date.astimezone(UTC),
    )


def pressed(query: CallbackQuery, message: Message) -> IncomingMessage | None:
    """A suggestion button pressed: its payload, as if the creator had typed it."""
    if query.data is None:
        return None
    user = query.from_user
    return IncomingMessage(
        platform=Platform.TELEGRAM,
        chat_id=str(message.chat.id),
        user_id=str(user.id),
        message_id=f"cb:{query.id}",
        text=query.data,
        display_name=user.full_name,
        locale_hint=user.language_code,
    )


def chat_of(payload: dict[str, Any]) -> str | None:
    """The chat an update belongs to, whatever shape the payload has (None if it has none)."""
    source = payload.get("message")
    if not source:
        query = payload.get("callback_query")
        source = query.get("message") if isinstance(query, dict) else None
    chat = source.get("chat") if isinstance(source, dict) else None
    chat_id = chat.get("id") if isinstance(chat, dict) else None
    return None if chat_id is None else str(chat_id)


def _addresses_bot(message: Message, bot_id: int, bot_username: str) -> bool:
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return True
    text = message.text or message.caption or ""
    return bool(bot_username) and f"@{bot_username}".casefold() in text.casefold()


def _attachments(message: Message) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    if message.photo:
        best = message.photo[-1]
        found.append(Attachment("photo", best.file_id, None, "image/jpeg", best.file_size))
    for kind in FILE_KINDS:
        item = getattr(message, kind, None)
        if item is not None:
            found.append(
                Attachment(
                    kind,
                    item.file_id,
                    getattr(item, "file_name", None),
                    getattr(item, "mime_type", None),
                    item.file_size,
                )
            )
    if message.sticker is not None:
        sticker = message.sticker
        found.append(Attachment("sticker", sticker.file_id, sticker.emoji, None, sticker.file_size))
    return tuple(found)
