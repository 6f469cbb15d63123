"""The README's test command runs what .ci/run runs: one variable names the PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.conftest import REPO


def test_postgres_runs_without_setting_anything_when_the_server_is_there(
    pg_admin: Engine,
) -> None:
    with pg_admin.connect() as connection:  # the server answers (else this test skips)
        connection.execute(text("SELECT 1"))
    env = {k: v for k, v in os.environ.items() if k not in {"TEST_DATABASE_URL"}}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
         "tests/handlers/kb/test_kb_source.py", "-k", "postgresql"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout


@pytest.mark.parametrize("path", ["tests", ".ci", "README.md"])
def test_no_second_variable_names_the_server(path: str) -> None:
    found = subprocess.run(
        ["grep", "-rl", "PUENTE_TEST_" + "POSTGRES", path], cwd=REPO, capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    assert found.stdout == ""
