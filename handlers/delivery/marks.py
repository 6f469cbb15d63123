"""Delivery marks an adapter reports for messages it delivered itself (the console prints them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from handlers.storage import store


def mark_delivered(
    engine: Engine,
    clock: Callable[[], datetime],
    message_ids: Sequence[int],
    platform_message_id: str | None = None,
) -> None:
    with Session(engine) as session:
        for message_id in message_ids:
            store.mark_delivered(
                session,
                message_id=message_id,
                when=clock(),
                platform_message_id=platform_message_id,
            )
        session.commit()
