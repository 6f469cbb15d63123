"""Schema migrations (Alembic), shipped inside the package and configured from code.

PostgreSQL: ``puente migrate`` (the Procfile's ``release:`` line) upgrades to the newest
revision before new processes start. SQLite, the embedded default, needs no step: a new
database gets the tables straight from the models and is stamped at the newest revision; an
existing one is upgraded when the engine is made (see :func:`handlers.storage.db.make_engine`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from handlers.storage import models  # noqa: F401  (registers the tables)

HERE = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version"


def config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(HERE / "versions"))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str | None:
    return ScriptDirectory.from_config(config()).get_current_head()


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        command.upgrade(config(connection), revision)


def ensure_schema(engine: Engine) -> None:
    """Zero-setup databases (SQLite): create a new one from the models, upgrade an old one."""
    tables = set(inspect(engine).get_table_names())
    if not tables:
        with engine.begin() as connection:
            SQLModel.metadata.create_all(connection)
            command.stamp(config(connection), "head")
        return
    if VERSION_TABLE not in tables:  # made by create_all before migrations existed
        known = "head" if not differences(engine) else _base()
        with engine.begin() as connection:
            command.stamp(config(connection), known)
    upgrade(engine)


def differences(engine: Engine) -> list[Any]:
    """What the models have that the database doesn't (and vice versa); [] when in step."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [d for d in compare_metadata(context, SQLModel.metadata) if not _ignored(d)]


def new_revision(message: str) -> str:
    """Autogenerate a revision from the models' changes (against a scratch SQLite at head)."""
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{Path(scratch) / 'scratch.db'}")
        try:
            upgrade(engine)
            with engine.begin() as connection:
                script = command.revision(config(connection), message=message, autogenerate=True)
        finally:
            engine.dispose()
    assert script is not None and not isinstance(script, list)
    return str(script.path)


def _base() -> str:
    bases = ScriptDirectory.from_config(config()).get_bases()
    return bases[0]


def _ignored(diff: Any) -> bool:
    return isinstance(diff, tuple) and diff[0] == "remove_table" and diff[1].name == VERSION_TABLE
