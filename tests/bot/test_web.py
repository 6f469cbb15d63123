"""The operations endpoints: ``GET /healthz`` and ``GET /metrics``."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine
from sqlmodel import Session, select
from starlette.testclient import TestClient

from bot.web import build_web_app
from handlers.api import Puente
from handlers.delivery.outbox import Outbox
from handlers.storage.db import make_engine
from handlers.storage.models import Direction, Message
from tests.conftest import Creator, FakeClock
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram
from tests.serving import Service, slack_config, telegram_config, wait_until

CHAT = 5552002


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``GET /metrics`` by (name, sorted labels)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return _samples(response.text)


def _samples(page: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return float(samples.get((name, tuple(sorted(labels.items()))), 0.0))


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code), error.read().decode()


# -- /healthz -----------------------------------------------------------------------------


def test_healthz_reports_database_and_kb(puente: Puente) -> None:
    response = TestClient(build_web_app(puente)).get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["kb_articles"] >= 30


def test_healthz_and_metrics_say_when_no_worker_fires_the_timers(
    puente: Puente, creator: Creator, clock: FakeClock
) -> None:
    client = TestClient(build_web_app(puente))  # late after the policy's 2 minutes
    creator.says("quiero hablar con una persona")  # a case, with its SLA timers
    assert client.get("/healthz").json()["worker"] == "ok"
    clock.advance(hours=8, minutes=5)  # every timer of the case is due, none fired
    late = client.get("/healthz")
    assert late.status_code == 200 and late.json()["worker"] == "late"  # the worker's fault
    assert value(scrape(client), "puente_timers_overdue_seconds") > 120
    while puente.handle_tick():
        pass
    assert client.get("/healthz").json()["worker"] == "ok"
    assert value(scrape(client), "puente_timers_overdue_seconds") == 0


def test_healthz_fails_when_the_database_is_gone(puente: Puente, tmp_path: Path) -> None:
    broken = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    (tmp_path / "x.db").unlink()
    (tmp_path / "x.db").mkdir()
    broken.dispose()
    puente.engine = broken
    response = TestClient(build_web_app(puente)).get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unreachable"}


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never says a word (a hung database)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    for connection in accepted:
        connection.close()
    listener.close()


def test_healthz_times_out_on_a_database_that_does_not_answer(
    puente: Puente, silent_server: int
) -> None:
    # psycopg gives up after 2 s, so the check's abandoned thread ends soon after the test
    url = f"postgresql+psycopg://u:p@127.0.0.1:{silent_server}/puente"
    puente.engine = create_engine(url, connect_args={"connect_timeout": 2})
    client = TestClient(build_web_app(puente, health_timeout=0.3))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "timeout"


def test_healthz_checks_that_the_senders_run(puente: Puente) -> None:
    with FakeTelegram() as fake:
        config = telegram_config(fake)
        service = Service(puente, telegram=config)
        adapter = service.telegram
        assert adapter is not None
        client = TestClient(build_web_app(puente, [adapter]))
        before = client.get("/healthz")
        assert before.status_code == 503 and before.json()["telegram_sender"] == "stopped"
        service.start()
        try:
            running = client.get("/healthz")
            assert running.status_code == 200 and running.json()["telegram_sender"] == "running"
            sender = adapter.sender_task
            assert sender is not None
            service.loop.call_soon_threadsafe(sender.cancel)  # the sender dies
            wait_until(sender.done)
            crashed = client.get("/healthz")
            assert crashed.status_code == 503
            assert crashed.json() == {
                "status": "error",
                "database": "ok",
                "telegram_sender": "stopped",
            }
        finally:
            service.stop()


# -- /metrics -----------------------------------------------------------------------------


def _outbound(puente: Puente) -> list[Message]:
    with Session(puente.engine) as session:
        query = select(Message).where(Message.direction == Direction.OUT).order_by(Message.id)
        return list(session.exec(query).all())


def test_metrics_count_from_the_database(puente: Puente, creator: Creator) -> None:
    client = TestClient(build_web_app(puente))
    empty = scrape(client)
    assert value(empty, "puente_database_up") == 1
    assert value(empty, "puente_messages_received_total", platform="console") == 0

    answered = creator.says("no me llegan los regalos")
    asked = creator.says("quiero hablar con una persona")
    replies = len(answered.replies) + len(asked.replies)
    samples = scrape(client)
    assert value(samples, "puente_messages_received_total", platform="console") == 2
    assert value(samples, "puente_deflections_total", platform="console") == 1
    assert sum(v for (name, _), v in samples.items() if name == "puente_escalations_total") == 1
    assert value(samples, "puente_cases_open", status="open") == 1
    creators = {"outbox": "creators", "platform": "console"}
    assert value(samples, "puente_outbox_depth", **creators) == replies
    assert value(samples, "puente_outbox_depth", outbox="agents", platform="slack") >= 1

    first, second, *_ = _outbound(puente)
    outbox = Outbox(puente.engine, puente.clock)
    outbox.retry_later(first.id or 0, after=None, error="500")
    outbox.retry_later(first.id or 0, after=None, error="500")
    outbox.delivered(first.id or 0, platform_message_id="1")
    outbox.give_up(second.id or 0, error="403")
    samples = scrape(client)
    assert value(samples, "puente_messages_sent_total", platform="console") == 1
    assert value(samples, "puente_send_failures_total", **creators) == 3  # 2 retries + 1 refusal
    assert value(samples, "puente_undeliverable_total", **creators) == 1
    assert value(samples, "puente_outbox_depth", **creators) == replies - 2


def test_metrics_say_when_the_database_is_down(puente: Puente, tmp_path: Path) -> None:
    broken = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    (tmp_path / "x.db").unlink()
    (tmp_path / "x.db").mkdir()
    broken.dispose()
    puente.engine = broken
    samples = scrape(TestClient(build_web_app(puente)))
    assert value(samples, "puente_database_up") == 0


def test_metrics_over_http_count_telegram_traffic_and_send_failures(puente: Puente) -> None:
    with FakeTelegram() as fake:
        config = telegram_config(fake)
        service = Service(puente, telegram=config).start()
        try:
            fake.fail_next("sendMessage", status=502, times=2)
            fake.user_sends(CHAT, "no me llegan los regalos")
            fake.wait_for_messages(CHAT, 1, timeout=15)
            wait_until(lambda: _outbound(puente)[0].delivered_at is not None)
            status, page = _get(service.base + "/metrics")
            assert status == 200
            samples = _samples(page)
            telegram = {"outbox": "creators", "platform": "telegram"}
            assert value(samples, "puente_messages_received_total", platform="telegram") == 1
            assert value(samples, "puente_messages_sent_total", platform="telegram") == 1
            assert value(samples, "puente_deflections_total", platform="telegram") == 1
            assert value(samples, "puente_send_failures_total", **telegram) == 2
            assert value(samples, "puente_outbox_depth", **telegram) == 0
            status, health = _get(service.base + "/healthz")
            assert status == 200 and json.loads(health)["telegram_sender"] == "running"
        finally:
            service.stop()


def test_rejected_webhook_requests_are_counted(puente: Puente) -> None:
    with FakeTelegram() as fake:
        config = telegram_config(fake)
        service = Service(puente, telegram=config)
        try:
            client = TestClient(build_web_app(puente, [service.telegram]))
            post = client.post("/telegram/webhook", content=b"{}", headers={"X-A": "1"})
            assert post.status_code == 415
            unsigned = client.post("/telegram/webhook", json={"update_id": 1}, headers={"X-A": "1"})
            assert unsigned.status_code == 401
            samples = scrape(client)
            route = "/telegram/webhook"
            assert value(samples, "puente_http_rejected_total", route=route, status="415") == 1
            assert value(samples, "puente_http_rejected_total", route=route, status="401") == 1
        finally:
            service.stop()


def test_healthz_checks_the_slack_sender_too(puente: Puente) -> None:
    with FakeSlack() as fake:
        config = slack_config(fake)
        service = Service(puente, slack=config).start()
        try:
            status, body = _get(service.base + "/healthz")
            assert status == 200 and json.loads(body)["slack_sender"] == "running"
            assert service.slack is not None and service.slack.sender_task is not None
            service.loop.call_soon_threadsafe(service.slack.sender_task.cancel)
            wait_until(service.slack.sender_task.done)
            status, body = _get(service.base + "/healthz")
            assert status == 503 and json.loads(body)["slack_sender"] == "stopped"
        finally:
            service.stop()
