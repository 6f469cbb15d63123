"""Engine creation: SQLite by default (WAL, synchronous=NORMAL), PostgreSQL in production."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import create_engine

from handlers.storage import migrations  # (imports the models, which registers the tables)

DEFAULT_DATABASE_URL = "sqlite:///puente.db"
T = TypeVar("T")
log = logging.getLogger("puente.db")


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class SchemaOutOfDate(RuntimeError):
    """The database isn't at the newest migration: run ``puente migrate`` first."""


def normalise_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` (as hosting platforms hand them out) → psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def make_engine(url: str = DEFAULT_DATABASE_URL, *, check_schema: bool = True) -> Engine:
    """Create the engine and make sure the schema is usable.

    SQLite (embedded, zero setup) is created or upgraded right here. Other databases are
    shared by several processes, so only ``puente migrate`` (the Procfile's release step)
    changes them; here a database behind the newest migration raises :class:`SchemaOutOfDate`.
    """
    url = normalise_url(url)
    # hide_parameters: a failed statement's message (logged, or shown) never carries the
    # creator's text, name or platform id.
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        if check_schema:
            migrations.ensure_schema(engine)
        return engine
    engine = create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=10, hide_parameters=True
    )
    if check_schema and migrations.current(engine) != migrations.head():
        engine.dispose()
        raise SchemaOutOfDate(f"the database is not at migration {migrations.head()}")
    return engine


def migrate(engine: Engine) -> str | None:
    """Bring the database to the newest migration; the revision it is at afterwards."""
    if engine.dialect.name == "sqlite":
        migrations.ensure_schema(engine)
    else:
        migrations.upgrade(engine)
    return migrations.current(engine)


def transient(exc: BaseException) -> bool:
    """A failure that a moment later may not happen again: the server restarting, a
    connection cut, SQLite busy. Constraint violations and bugs are not transient."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError)


def retrying(
    action: Callable[[], T],
    *,
    attempts: int = 10,
    first_wait: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``action`` (one transaction), again after a transient database failure, waiting
    0.25 s, 0.5 s, 1 s … (about a minute in all): long enough for PostgreSQL to restart."""
    wait = first_wait
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except Exception as exc:
            if attempt == attempts or not transient(exc):
                raise
            log.warning("database unavailable (%s); retrying in %.2f s", type(exc).__name__, wait)
            sleep(wait)
            wait = min(wait * 2, 10.0)
    raise AssertionError("unreachable")
