"""What the Telegram adapter is configured with, and the checks on its secrets (which never
appear in an error message)."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

from bot.http_input import MAX_BODY
from handlers.contract.messages import Platform

PLATFORM = Platform.TELEGRAM.value
TOKEN_PATTERN = re.compile(r"^\d{3,15}:[A-Za-z0-9_-]{30,64}$")


class MalformedToken(ValueError):
    """The token can't be a Telegram bot token; the message never contains the token."""


def check_token(token: str) -> str:
    if not TOKEN_PATTERN.match(token.strip()):
        raise MalformedToken(
            "TELEGRAM_BOT_TOKEN is malformed: expected '<digits>:<30+ letters, digits, - or _>' "
            "as given by @BotFather"
        )
    return token.strip()


def webhook_secret(token: str, configured: str | None) -> str:
    """The secret Telegram echoes in ``X-Telegram-Bot-Api-Secret-Token``; derived from the
    token when not configured, so every web process agrees on it."""
    if configured:
        return configured
    return hmac.new(token.encode(), b"puente-telegram-webhook", "sha256").hexdigest()[:64]


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    token: str
    base_url: str | None = None
    base_file_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    max_per_second: float = 30.0
    claim_seconds: float = 60.0  # outbox lease (handlers.delivery.outbox.claim)
    max_body: int = MAX_BODY  # webhook requests over this are refused (413)
