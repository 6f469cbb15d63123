"""A database outage logs one line per interval with a count, not a traceback per update."""

from __future__ import annotations

import json
import logging
import socket

import pytest
from sqlalchemy import create_engine

from bot.outage import REFUSALS
from tests.scenarios.test_hostile import TelegramWebhook, telegram_hook  # noqa: F401 (fixture)


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_refused_updates_are_counted_in_one_line_per_interval(
    telegram_hook: TelegramWebhook,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ticks = Ticks()
    monkeypatch.setattr(REFUSALS, "clock", ticks)
    monkeypatch.setattr(REFUSALS, "_last", None)
    monkeypatch.setattr(REFUSALS, "_count", 0)
    adapter = telegram_hook.service.telegram
    assert adapter is not None
    down = f"postgresql+psycopg://u:p@127.0.0.1:{_closed_port()}/gone"
    adapter.inbox.engine = create_engine(down, connect_args={"connect_timeout": 2})
    caplog.set_level(logging.DEBUG)
    statuses = []
    for n in range(40):
        update = telegram_hook.update(9000 + n, f"mensaje {n}")
        statuses.append(telegram_hook.post(json.dumps(update).encode()))
        if n == 29:
            ticks.now += REFUSALS.interval
    assert set(statuses) == {503}
    lines = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage().split(" in the last")[0] for r in lines] == [
        "telegram: could not store 1 update(s)",
        "telegram: could not store 30 update(s)",
    ]
    assert all(r.exc_info is None for r in lines)
    assert "Traceback" not in caplog.text
