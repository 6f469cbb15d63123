"""The inbound edge: a platform's raw update is stored before it is acknowledged, and marked
finished in the transaction that answers it, so a crash or an outage loses nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from handlers.common.utc import utcnow
from handlers.storage import store
from handlers.storage.models import InboundUpdate

_ACCEPT = insert(InboundUpdate)


@dataclass(frozen=True, slots=True)
class PendingUpdate:
    id: int
    payload: str


class Inbox:
    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock

    def accept(self, *, platform: str, key: str, payload: str) -> int | None:
        """Store a raw update; its row id, or None when this update was stored before.

        One INSERT on a pooled connection, no ORM unit of work: this runs for every update
        before the platform gets its answer.
        """
        row = {"platform": platform, "update_key": key, "payload": payload}
        try:
            with self.engine.begin() as connection:
                result = connection.execute(_ACCEPT, {**row, "received_at": self.clock()})
        except IntegrityError:
            return None
        return int(result.inserted_primary_key[0])

    def pending(
        self, *, platform: str, limit: int = 100, received_before: datetime | None = None
    ) -> list[PendingUpdate]:
        """Updates stored but never finished (a crash between storing and answering, or a
        database restart mid-way); ``received_before`` leaves out those still in progress."""
        query = select(InboundUpdate).where(
            InboundUpdate.platform == platform, col(InboundUpdate.processed_at).is_(None)
        )
        if received_before is not None:
            query = query.where(InboundUpdate.received_at < received_before)
        with Session(self.engine) as session:
            rows = session.exec(query.order_by(col(InboundUpdate.id)).limit(limit)).all()
            return [PendingUpdate(r.id, r.payload) for r in rows if r.id is not None]

    def finish(self, update_id: int, *, error: str | None = None) -> None:
        with Session(self.engine) as session:
            store.finish_update(session, row=update_id, when=self.clock(), error=error)
            session.commit()
