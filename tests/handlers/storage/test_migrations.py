"""The shipped migrations build exactly the models' schema, on both backends.

When a model changes, ``test_migrations_match_the_models`` fails until a new revision is
written: ``puente migrate --new "what changed"`` (docs/development.md, "Database migrations").
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from handlers.storage import migrations
from handlers.storage.db import SchemaOutOfDate, make_engine, migrate
from tests.conftest import REPO


def _sqlite(path: Path) -> Engine:
    return make_engine(f"sqlite:///{path}", check_schema=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "postgresql":
        engine = make_engine(request.getfixturevalue("pg_url"), check_schema=False)
    else:
        engine = _sqlite(tmp_path / "empty.db")
    yield engine
    engine.dispose()


def test_migrations_match_the_models(empty: Engine) -> None:
    migrations.upgrade(empty)
    assert migrations.current(empty) == migrations.head()
    assert migrations.differences(empty) == []
    empty.dispose()


def test_a_model_change_without_a_migration_is_noticed(tmp_path: Path) -> None:
    engine = _sqlite(tmp_path / "old.db")
    migrations.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE message DROP COLUMN claimed_until"))
    found = migrations.differences(engine)
    changes = [(d[0], d[2], d[3].name) for d in found if isinstance(d, tuple)]
    assert changes == [("add_column", "message", "claimed_until")]


def test_downgrade_to_nothing_and_back(empty: Engine) -> None:
    migrations.upgrade(empty)
    migrations.upgrade(empty, "head")
    from alembic import command

    with empty.begin() as connection:
        command.downgrade(migrations.config(connection), "base")
    assert set(inspect(empty).get_table_names()) <= {migrations.VERSION_TABLE}
    migrations.upgrade(empty)
    assert migrations.differences(empty) == []
    empty.dispose()


def test_a_database_made_before_migrations_is_adopted(tmp_path: Path) -> None:
    """A SQLite file from create_all (no version table) is stamped and upgraded in place."""
    engine = _sqlite(tmp_path / "legacy.db")
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    adopted = make_engine(f"sqlite:///{tmp_path / 'legacy.db'}")
    assert migrations.current(adopted) == migrations.head()
    adopted.dispose()


def test_a_database_from_the_first_revision_is_upgraded(tmp_path: Path) -> None:
    engine = _sqlite(tmp_path / "old.db")
    migrations.upgrade(engine, migrations._base())
    engine.dispose()
    upgraded = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    assert migrations.current(upgraded) == migrations.head()
    assert migrations.differences(upgraded) == []
    upgraded.dispose()


def test_postgres_must_be_migrated_before_use(pg_url: str) -> None:
    with pytest.raises(SchemaOutOfDate):
        make_engine(pg_url)
    engine = make_engine(pg_url, check_schema=False)
    assert migrate(engine) == migrations.head()
    engine.dispose()
    make_engine(pg_url).dispose()


def test_puente_migrate_is_the_release_step(pg_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": pg_url, "PYTHONPATH": str(REPO)}

    def puente(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip

    refused = puente("tickets")
    assert refused.returncode == 2 and "puente migrate" in refused.stderr
    done = puente("migrate")
    assert done.returncode == 0 and migrations.head() in done.stdout
    assert puente("tickets").returncode == 0
    assert "release: puente migrate" in (REPO / "Procfile").read_text().splitlines()
