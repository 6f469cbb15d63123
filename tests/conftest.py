from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from handlers.api import Puente
from handlers.contract.messages import IncomingMessage, Platform
from handlers.kb.source import SHIPPED_KB, KbSource
from handlers.storage import migrations
from handlers.storage.db import make_engine, normalise_url

REPO = Path(__file__).resolve().parent.parent
SHARED_BENCH = REPO.parent / "shared" / "bench"

# Property tests: a moderate number of examples by default so the suite stays fast in CI;
# ``pytest --hypothesis-profile=thorough`` digs deeper before a release.
_HYPOTHESIS = {
    "deadline": None,
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
}
settings.register_profile("puente", max_examples=40, **_HYPOTHESIS)  # type: ignore[arg-type]
settings.register_profile("thorough", max_examples=1000, **_HYPOTHESIS)  # type: ignore[arg-type]
settings.load_profile("puente")


@pytest.fixture(scope="session", autouse=True)
def embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One embedding cache for the whole run, away from the developer's own cache."""
    path = tmp_path_factory.mktemp("embeddings")
    previous = os.environ.get("PUENTE_CACHE_DIR")
    os.environ["PUENTE_CACHE_DIR"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("PUENTE_CACHE_DIR", None)
    else:
        os.environ["PUENTE_CACHE_DIR"] = previous


class FakeClock:
    """An injectable clock: tests move time instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


# The PostgreSQL the suite also runs on, named by ONE variable: TEST_DATABASE_URL, by default
# the machine's server (what .ci/run uses too). Every test using ``engine`` runs on SQLite and,
# when that server answers, on PostgreSQL; tests for PostgreSQL alone (``pg_url``) use it as
# well. Unreachable → those runs skip, saying why; TEST_DATABASE_URL="" turns them off.
DEFAULT_TEST_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)
PG_URL = normalise_url(TEST_DATABASE_URL)
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """One connection pool to the test server, for making and dropping per-test schemas."""
    if not PG_URL:
        pytest.skip("PostgreSQL runs are off: TEST_DATABASE_URL is empty")
    admin = make_engine(PG_URL, check_schema=False)
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc.orig}")
    yield admin
    admin.dispose()


@pytest.fixture
def pg_url(pg_admin: Engine) -> Iterator[str]:
    """A URL to a fresh, empty schema of its own (so processes the test starts see it too)."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with pg_admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    with pg_admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """PostgreSQL at the newest migration, in a schema of its own."""
    engine = make_engine(pg_url, check_schema=False)
    migrations.ensure_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The database of a test: SQLite always, PostgreSQL too when TEST_DATABASE_URL is set."""
    if request.param == "postgresql":
        yield request.getfixturevalue("pg_engine")
        return
    engine = make_engine(f"sqlite:///{tmp_path / 'puente.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def puente(engine: Engine, clock: FakeClock) -> Puente:
    return Puente(engine=engine, kb=KbSource(path=SHIPPED_KB, engine=engine), clock=clock)


class Creator:
    """Sends messages as one creator, with fresh message ids."""

    def __init__(self, puente: Puente, *, locale: str = "es", chat_id: str = "chat-1") -> None:
        self.puente = puente
        self.locale = locale
        self.chat_id = chat_id
        self.sent = 0

    def message(self, text: str, **overrides: object) -> IncomingMessage:
        self.sent += 1
        fields: dict[str, object] = {
            "platform": Platform.CONSOLE,
            "chat_id": self.chat_id,
            "user_id": "user-" + self.chat_id,
            "message_id": f"m{self.sent}",
            "text": text,
            "display_name": "Vale Stream",
            "locale_hint": self.locale,
        }
        fields.update(overrides)
        return IncomingMessage(**fields)  # type: ignore[arg-type]

    def says(self, text: str, **overrides: object):  # type: ignore[no-untyped-def]
        return self.puente.handle_message(self.message(text, **overrides))


@pytest.fixture
def creator(puente: Puente) -> Creator:
    return Creator(puente)
