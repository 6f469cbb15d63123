from starlette.testclient import TestClient

from bot.web import build_web_app
from handlers.router import Puente


def test_healthz_reports_database_and_kb(puente: Puente) -> None:
    response = TestClient(build_web_app(puente)).get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["kb_articles"] >= 30


def test_healthz_fails_when_the_database_is_gone(puente: Puente, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from handlers.db import make_engine

    broken = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    (tmp_path / "x.db").unlink()
    (tmp_path / "x.db").mkdir()
    broken.dispose()
    puente.engine = broken
    assert TestClient(build_web_app(puente)).get("/healthz").status_code == 503
