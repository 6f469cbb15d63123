"""Turning failures of the command line into one line for a person, with no password in it."""

from __future__ import annotations

import os
import sys
from contextlib import suppress

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from bot.config import Settings
from handlers.storage.db import normalise_url


def shown_url(url: str) -> str:
    """The database URL as it can be printed: the password replaced by ``***``."""
    try:
        return make_url(normalise_url(url)).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(unparsable URL)"


def url_problem(url: str) -> str | None:
    """Why DATABASE_URL can't even be parsed or its driver loaded, checked before any command
    connects, or None."""
    try:
        parsed = make_url(normalise_url(url))
        parsed.get_dialect().import_dbapi()
    except ImportError as exc:
        return f"cannot use DATABASE_URL {shown_url(url)}: no driver installed ({exc.name})"
    except (ArgumentError, ValueError):
        return (
            f"cannot use DATABASE_URL {shown_url(url)}: it is not a database URL like "
            "sqlite:///puente.db or postgresql://user:password@host:5432/name"
        )
    return None


def database_problem(exc: DBAPIError, url: str) -> str:
    """One line on why the database refused: the driver's first line, any password scrubbed."""
    lines = str(exc.orig).strip().splitlines()
    reason = lines[0] if lines else type(exc.orig).__name__
    return f"cannot use DATABASE_URL {shown_url(url)}: {_scrubbed(reason, url)}"


def _scrubbed(text: str, url: str) -> str:
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        password = None
    text = text.replace(url, shown_url(url))
    return text.replace(str(password), "***") if password else text


def quiet_broken_pipe() -> None:
    """After the reader of stdout went away: point stdout at /dev/null so the interpreter's
    last flush doesn't print a second traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def configured_secrets(settings: Settings) -> list[str | None]:
    """Every secret value the settings hold, for the log redaction to replace literally."""
    secrets: list[str | None] = [
        settings.telegram.token,
        settings.telegram.webhook_secret,
        settings.slack.bot_token,
        settings.slack.signing_secret,
        settings.slack.app_token,
    ]
    if settings.telegram.token:
        from bot.adapters.telegram import webhook_secret

        secrets.append(webhook_secret(settings.telegram.token, None))
    with suppress(ArgumentError, ValueError):
        secrets.append(make_url(normalise_url(settings.operations.database_url)).password)
    return secrets
