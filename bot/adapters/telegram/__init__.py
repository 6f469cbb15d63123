"""The Telegram adapter as a package: configuration and token checks, updates in (stored before
they are acknowledged), keyboards and command menus, deliveries out."""

from bot.adapters.telegram.adapter import TelegramAdapter
from bot.adapters.telegram.config import (
    PLATFORM,
    MalformedToken,
    TelegramConfig,
    check_token,
    webhook_secret,
)
from bot.adapters.telegram.inbound import to_incoming
from bot.adapters.telegram.keyboards import keyboard
from bot.adapters.telegram.webhook import WEBHOOK_PATH

__all__ = [
    "PLATFORM",
    "WEBHOOK_PATH",
    "MalformedToken",
    "TelegramAdapter",
    "TelegramConfig",
    "check_token",
    "keyboard",
    "to_incoming",
    "webhook_secret",
]
