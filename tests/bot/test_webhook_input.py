"""Malformed webhook requests get a clear 4xx, never a 500 or a wrongly keyed update
(issue #16: a non-numeric Slack timestamp, JSON nested too deep, an ``update_id`` that isn't a
JSON integer)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.adapters.slack import EVENTS_PATH as SLACK_PATH
from bot.adapters.telegram import WEBHOOK_PATH as TELEGRAM_PATH
from bot.adapters.telegram import webhook_secret
from handlers.api import Puente
from handlers.storage.models import InboundUpdate
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import JSON, dm_event, event_callback, signed_headers
from tests.fakes.telegram_api import FakeTelegram
from tests.scenarios.test_hostile import post
from tests.serving import Service, slack_config, telegram_config, wait_until


def stored_keys(puente: Puente) -> list[str]:
    with Session(puente.engine) as session:
        return list(session.exec(select(InboundUpdate.update_key)).all())


@pytest.fixture
def telegram(puente: Puente) -> Iterator[tuple[Service, str]]:
    with FakeTelegram() as fake:
        fake.add_chat(4242, first_name="Vale")
        config = telegram_config(fake, webhook_url="https://puente.example/telegram/webhook")
        service = Service(puente, telegram=config).start()
        yield service, webhook_secret(fake.token, None)
        service.stop()


def telegram_post(service: Service, secret: str, body: bytes) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": JSON}
    return post(service.base + TELEGRAM_PATH, body, headers)[0]


def update(update_id: Any) -> bytes:
    message = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": 4242, "type": "private", "first_name": "Vale"},
        "from": {"id": 4242, "is_bot": False, "first_name": "Vale", "language_code": "es"},
        "text": "hola",
    }
    return json.dumps({"update_id": update_id, "message": message}).encode()


@pytest.mark.parametrize("update_id", [True, 20.7, "5", None, [1], {"a": 1}, 1e3])
def test_an_update_id_that_is_not_a_json_integer_is_refused(
    telegram: tuple[Service, str], puente: Puente, update_id: Any
) -> None:
    service, secret = telegram
    assert telegram_post(service, secret, update(update_id)) == 400
    assert stored_keys(puente) == []
    assert telegram_post(service, secret, update(1)) == 200
    assert wait_until(lambda: stored_keys(puente)) == ["1"]


def test_without_the_secret_a_malformed_update_is_401_first(
    telegram: tuple[Service, str], puente: Puente
) -> None:
    service, _ = telegram
    assert telegram_post(service, "wrong", update(True)) == 401
    assert telegram_post(service, "wrong", b"[" * 5_000) == 401
    assert stored_keys(puente) == []


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_deeply_nested_json_to_the_telegram_webhook_is_400(
    telegram: tuple[Service, str], puente: Puente, depth: int
) -> None:
    service, secret = telegram
    nested = b'{"update_id": 7, "message": ' + b"[" * depth + b"]" * depth + b"}"
    assert telegram_post(service, secret, nested) == 400
    assert telegram_post(service, secret, b"[" * depth + b"]" * depth) == 400
    assert stored_keys(puente) == []


@pytest.fixture
def slack(puente: Puente) -> Iterator[Service]:
    with FakeSlack() as fake:
        fake.add_user("U0CREATOR", "vale_stream", real_name="Vale Stream", locale="es-MX")
        service = Service(puente, slack=slack_config(fake)).start()
        yield service
        service.stop()


FULLWIDTH_DIGITS = "\uff11\uff12".encode().decode("latin-1")  # as raw header bytes


@pytest.mark.parametrize("stamp", ["abc", "", "1.5", "-1", FULLWIDTH_DIGITS, "9" * 400])
def test_a_slack_timestamp_that_is_not_a_number_is_401(slack: Service, stamp: str) -> None:
    body = json.dumps(event_callback(dm_event("hola", channel="D0STAMP"))).encode()
    headers = {**signed_headers(body), "Content-Type": JSON}
    assert post(slack.base + SLACK_PATH, body, headers)[0] == 200
    headers["X-Slack-Request-Timestamp"] = stamp
    assert post(slack.base + SLACK_PATH, body, headers)[0] == 401
