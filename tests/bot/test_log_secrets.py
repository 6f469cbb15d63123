"""Nothing secret or personal in any log line, even at DEBUG, from Puente or its libraries."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from tests.fakes.slack_api import FAKE_BOT_TOKEN, FakeSlack
from tests.fakes.telegram_api import FakeTelegram
from tests.scenarios.test_faults import ServeProcess, free_port, serve_env
from tests.scenarios.test_hostile import post
from tests.serving import wait_until

WEBHOOK_SECRET = "webhook-secret-Zq81xk"
SIGNING = "signing-secret-Pp27wv"
CREATOR_TEXT = "quiero hablar con una persona, soy Quimbombó"
CREATOR_NAME = "Xiomarita"


@pytest.fixture
def fakes() -> Iterator[tuple[FakeTelegram, FakeSlack]]:
    with FakeTelegram() as telegram, FakeSlack() as slack:
        yield telegram, slack


def test_a_failed_write_does_not_log_its_parameters(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE probe (id INTEGER PRIMARY KEY, note TEXT)"))
    with pytest.raises(IntegrityError) as error, engine.begin() as connection:
        for _ in range(2):
            connection.execute(
                text("INSERT INTO probe (id, note) VALUES (:id, :note)"),
                {"id": 1, "note": CREATOR_TEXT},
            )
    assert CREATOR_TEXT not in str(error.value)


def test_serve_at_debug_logs_no_token_secret_or_creator_text(
    fakes: tuple[FakeTelegram, FakeSlack], tmp_path: Path
) -> None:
    telegram, slack = fakes
    port = free_port()
    env = serve_env(
        f"sqlite:///{tmp_path / 'serve.db'}", telegram, port,
        PUENTE_LOG_LEVEL="DEBUG",
        TELEGRAM_WEBHOOK_URL="https://puente.example/telegram/webhook",
        TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
        SLACK_BOT_TOKEN=FAKE_BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING,
        SLACK_API_URL=slack.api_url, SLACK_ESCALATION_CHANNEL="C0ESC",
    )  # fmt: skip
    service = ServeProcess(env, tmp_path)
    try:
        wait_until(lambda: telegram.webhook.url != "", timeout=60)
        telegram.add_chat(4242, first_name=CREATOR_NAME)
        update = {
            "update_id": 99,
            "message": {
                "message_id": 1, "date": int(time.time()),
                "chat": {"id": 4242, "type": "private", "first_name": CREATOR_NAME},
                "from": {"id": 4242, "is_bot": False, "first_name": CREATOR_NAME},
                "text": CREATOR_TEXT,
            },
        }  # fmt: skip
        status, _ = post(
            f"http://127.0.0.1:{port}/telegram/webhook",
            json.dumps(update).encode(),
            {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
        )
        assert status == 200
        slack.wait_for("chat.postMessage", timeout=60)
        telegram.wait_for_messages(4242, 1, timeout=60)
    finally:
        log = service.stop()
    assert "DEBUG" in log  # the level took effect: the test can see what would leak
    for leaked in (
        telegram.token,
        WEBHOOK_SECRET,
        SIGNING,
        FAKE_BOT_TOKEN,
        "Quimbombó",
        CREATOR_NAME,
    ):
        assert leaked not in log, f"{leaked!r} in the log"
