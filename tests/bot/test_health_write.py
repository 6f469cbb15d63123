"""/healthz says 503 when the database can be read but not written."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine

from handlers.api import Puente
from handlers.kb.source import SHIPPED_KB, KbSource
from handlers.storage.db import make_engine
from tests.serving import Service


def _health(base: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_read_only_sqlite_file_makes_healthz_503(tmp_path: Path) -> None:
    path = tmp_path / "puente.db"
    writable = make_engine(f"sqlite:///{path}")
    puente = Puente(engine=writable, kb=KbSource(path=SHIPPED_KB))
    service = Service(puente).start()
    try:
        status, body = _health(service.base)
        assert (status, body["database"]) == (200, "ok")
        for mode in ("mode=ro", "immutable=1"):
            puente.engine = create_engine(f"sqlite:///file:{path}?{mode}&uri=true")
            status, body = _health(service.base)
            assert (status, body["database"]) == (503, "read_only"), mode
    finally:
        service.stop()
    writable.dispose()
