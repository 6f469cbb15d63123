"""Leases: a row held by one process until a moment, taken with a compare-and-set UPDATE.

Outbox rows (``claimed_by``/``claimed_until``) and timers (``claimed_by``/``lease_until``) are
claimed the same way, so two processes on one database never both send a message or fire a
timer, and a row held by a process killed mid-way is taken by another once its lease runs out.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, update
from sqlmodel import Session, col, select


def process_name() -> str:
    """Who holds a claim: this host and process, plus a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def takeable(holder: Any, until: Any, *, owner: str, now: datetime) -> ColumnElement[bool]:
    """Free, expired, or already ``owner``'s."""
    return or_(col(holder).is_(None), col(until) < now, col(holder) == owner)


def take(
    session: Session,
    table: type[Any],
    row_id: int,
    *conditions: ColumnElement[bool],
    owner: str,
    now: datetime,
    until: datetime,
    until_column: str,
) -> bool:
    """Take one row for ``owner`` until ``until`` unless another process holds it; commits.

    PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` first, so a row another process is claiming
    right now is passed over at once instead of waited for. Both backends: the lease itself is a
    compare-and-set ``UPDATE`` (free, expired or already ours), so two processes can't both win.
    """
    row = getattr(table, "id")  # noqa: B009  (sqlmodel tables declare it; mixins don't)
    holder, expiry = getattr(table, "claimed_by"), getattr(table, until_column)  # noqa: B009
    session.rollback()  # end the reading transaction: SQLite can't turn a stale read into a write
    if session.get_bind().dialect.name == "postgresql":
        locked = session.exec(
            select(row).where(row == row_id).with_for_update(skip_locked=True)
        ).first()
        if locked is None:
            session.rollback()
            return False
    taken = session.exec(  # type: ignore[call-overload]
        update(table)
        .where(row == row_id, *conditions, takeable(holder, expiry, owner=owner, now=now))
        .values({"claimed_by": owner, until_column: until})
    )
    session.commit()
    return bool(taken.rowcount)
