"""Logs as operators read them: text or JSON lines, never a token or a creator's contact data."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bot.config import Settings
from bot.logs import configure, redact

TELEGRAM_TOKEN = "7364519283:AAF3kq9ZzYbX1w2V3u4T5s6R7q8P9o0N1mL"
SLACK_TOKEN = "xoxb-2648-9931-Zq81mPa0LkQw"
EMAIL = "vale.stream+lives@correo.example.mx"
PHONE = "+52 1 55 4821 9930"
LOCAL_PHONE = "(33) 3615-2201"
CARD = "4539 1488 0343 6467"  # Luhn-valid test number


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


class _Creator:
    def __init__(self, email: str) -> None:
        self.email = email

    def __str__(self) -> str:
        return f"Creator({self.email})"


def _records(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line]


def _secret_values() -> tuple[str, ...]:
    return (TELEGRAM_TOKEN, SLACK_TOKEN, EMAIL, PHONE, LOCAL_PHONE, CARD, "4821 9930", "0343")


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_carry_fields_and_redact_personal_data(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure("INFO", "json")
    log = logging.getLogger("puente.test")
    log.warning(
        "creator %s wrote from %s, card %s",
        EMAIL,
        PHONE,
        CARD,
        extra={
            "chat": "5551001",
            "contact": {"phone": LOCAL_PHONE},
            "token": SLACK_TOKEN,
            "attempts": 3,
            "creator": _Creator(EMAIL),
        },
    )
    try:
        raise RuntimeError(f"https://api.telegram.org/bot{TELEGRAM_TOKEN}/sendMessage failed")
    except RuntimeError:
        log.exception("send failed for %s", EMAIL)
    lines = _records(capsys)
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "WARNING" and first["logger"] == "puente.test"
    assert first["time"].startswith("20") and "T" in first["time"]
    assert first["chat"] == "5551001" and first["attempts"] == 3
    assert first["creator"] == "Creator(<email>)"
    assert "<email>" in first["message"] and "<phone>" in first["message"]
    assert first["message"].endswith("•••• •••• •••• 6467")
    assert first["contact"] == {"phone": "<phone>"} and first["token"] == "<slack-token>"
    assert "RuntimeError" in second["exc_info"] and "<telegram-token>" in second["exc_info"]
    for secret in _secret_values():
        assert all(secret not in line for line in lines), secret


@pytest.mark.usefixtures("restore_logging")
def test_text_lines_redact_message_and_traceback_but_keep_the_time(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure("INFO", "text")
    log = logging.getLogger("puente.test")
    log.info("token %s, mail %s, phone %s", TELEGRAM_TOKEN, EMAIL, LOCAL_PHONE)
    try:
        raise ValueError(f"bad header Authorization: Bearer {SLACK_TOKEN}")
    except ValueError:
        log.exception("oops")
    output = "\n".join(_records(capsys))
    assert "INFO puente.test: token <telegram-token>, mail <email>, phone <phone>" in output
    assert output[:4].isdigit() and output[4] == "-"  # asctime survives redaction
    assert "ValueError" in output
    for secret in _secret_values():
        assert secret not in output, secret


@pytest.mark.parametrize(
    "kept",
    [
        "2026-11-25 17:48:26,123",
        "update 123456789 failed",
        "message ts 1732550906.000100",
        "chat -1001234567890",
        "gané 1,234,567 diamantes",
        "de 12:30 a 13:45",
        "código de país 52",
    ],
)
def test_ordinary_numbers_stay_readable(kept: str) -> None:
    assert redact(kept) == kept


def test_the_log_format_is_a_checked_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUENTE_LOG_FORMAT", "json")
    assert Settings().operations.log_format == "json"
    monkeypatch.setenv("PUENTE_LOG_FORMAT", "xml")
    with pytest.raises(ValueError):
        Settings()
