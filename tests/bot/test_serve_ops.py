"""``puente serve`` as operators run it: JSON logs without secrets, health and metrics over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import REPO
from tests.fakes.telegram_api import FakeTelegram


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code), error.read()


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            status, body = _get(url)
        except OSError:
            status, body = 0, b""
        if status == 200:
            return dict(json.loads(body))
        time.sleep(0.2)
    raise AssertionError("puente serve never became healthy")


def test_serve_logs_json_lines_without_secrets_and_serves_health_and_metrics(
    tmp_path: Path,
) -> None:
    with FakeTelegram() as fake:
        port = _free_port()
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "PUENTE_SEMANTIC": "false",
            "PUENTE_LOG_FORMAT": "json",
            "PUENTE_LOG_LEVEL": "DEBUG",  # the libraries' chattiest level: URLs with the token
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_BASE_URL": fake.base_url,
            "TELEGRAM_BASE_FILE_URL": fake.base_file_url,
            "PYTHONPATH": str(REPO),
        }
        log_file = (tmp_path / "serve.log").open("wb")  # a pipe nobody reads fills and blocks it
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"], env=env, cwd=tmp_path, stderr=log_file
        )
        try:
            base = f"http://127.0.0.1:{port}"
            health = _wait_healthy(base + "/healthz", process)
            assert health["database"] == "ok" and health["telegram_sender"] == "running"
            status, page = _get(base + "/metrics")
            assert status == 200 and b"puente_outbox_depth" in page
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            log_file.close()
    err = (tmp_path / "serve.log").read_bytes()
    assert process.returncode == 0
    records = [json.loads(line) for line in err.decode().splitlines() if line.strip()]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    loggers = {r["logger"] for r in records}
    assert "bot.adapters.telegram" in loggers and any(n.startswith("uvicorn") for n in loggers)
    secret = fake.token.split(":", 1)[1]
    assert secret not in err.decode()
