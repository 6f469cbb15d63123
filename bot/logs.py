"""Logging set-up: text lines or JSON lines (``PUENTE_LOG_FORMAT``), with personal data and
secrets redacted from every message, extra field and traceback, whichever library logged them."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from handlers.common.privacy import mask

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_JSON_FIELDS = "{levelname}{name}{message}"
_JSON_RENAMES = {"levelname": "level", "name": "logger"}

# Order matters: tokens hold digit runs a phone pattern would half-eat, and card numbers are
# handed to handlers.common.privacy.mask (Luhn-checked, last four kept) before phones are
# looked for.
_TOKENS = (
    (re.compile(r"\d{3,15}:[A-Za-z0-9_-]{30,64}"), "<telegram-token>"),
    (re.compile(r"xox[abposre]-[A-Za-z0-9-]+"), "<slack-token>"),
    (re.compile(r"xapp-[A-Za-z0-9-]+"), "<slack-app-token>"),
    (re.compile(r"(?i)\bbearer\s+[\w.~+/=-]+"), "Bearer <token>"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
)
# A phone number: "+" and 8-15 digits, or 9-15 digits in groups ("55 1234 5678", "(55)
# 1234-5678"). Dates and times (2026-11-25 17:48) and bare ids (update 123456789) are left alone.
_PHONE = re.compile(
    r"(?<![\w:/.-])(?:\+\d(?:[ ().-]{0,2}\d){7,14}"
    r"|\(?\d{1,4}\)?(?=[ -]|\)\d)(?:[ ().-]{0,2}\d){4,14})(?![\w:/])"
)
_MIN_GROUPED_DIGITS = 9
# Libraries whose DEBUG lines carry whole requests and responses (the webhook secret in
# setWebhook's parameters, creator text in chat.postMessage bodies, SQL parameters): they log
# at INFO at most, whatever PUENTE_LOG_LEVEL says. Patterns can't recognise free text.
PAYLOAD_LOGGERS = (
    "telegram",
    "slack_sdk",
    "slack_bolt",
    "httpx",
    "httpcore",
    "hpack",
    "urllib3",
    "aiohttp",
    "websockets",
    "sqlalchemy",
    "asyncio",
)
_MIN_SECRET_CHARS = 8
_secrets: tuple[str, ...] = ()


def redact(text: str) -> str:
    """The text without the configured secrets, tokens, emails, card numbers, one-time codes,
    passwords or phones."""
    for secret in _secrets:
        text = text.replace(secret, "<secret>")
    for pattern, replacement in _TOKENS:
        text = pattern.sub(replacement, text)
    return _PHONE.sub(_phone, mask(text))


def _phone(match: re.Match[str]) -> str:
    number = match[0]
    digits = sum(ch.isdigit() for ch in number)
    return "<phone>" if number.startswith("+") or digits >= _MIN_GROUPED_DIGITS else number


class RedactingTextFormatter(logging.Formatter):
    """One line per record; message and traceback redacted, the timestamp left as it is."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = redact(record.message)
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact(super().formatStack(stack_info))


class RedactingJsonFormatter(JsonFormatter):
    """One JSON object per record: ``time`` (ISO 8601, UTC), ``level``, ``logger``,
    ``message``, the record's extra fields, and ``exc_info`` when there is a traceback."""

    def __init__(self) -> None:
        super().__init__(
            _JSON_FIELDS,
            style="{",
            rename_fields=_JSON_RENAMES,
            timestamp="time",
            json_ensure_ascii=False,
        )

    def process_log_record(self, log_record: dict[str, Any]) -> dict[str, Any]:
        return {
            key: value if key == "time" else _redacted(value) for key, value in log_record.items()
        }


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_redacted(item) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))  # any other object is written as its str(): redact that


def formatter(log_format: str) -> logging.Formatter:
    return RedactingJsonFormatter() if log_format == "json" else RedactingTextFormatter(FORMAT)


def configure(level: str, log_format: str = "text", secrets: Iterable[str | None] = ()) -> None:
    """Log to stderr; ``secrets`` (tokens, signing secrets, passwords) never appear in a line."""
    global _secrets
    _secrets = tuple(sorted({s for s in secrets if s and len(s) >= _MIN_SECRET_CHARS}, key=len))[
        ::-1
    ]
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    root = logging.getLogger().level
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, root))
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root))
