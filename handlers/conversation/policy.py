"""How the bot converses: misses before a person steps in, flood control, promised answer times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers.contract.priority import Priority


@dataclass(frozen=True, slots=True)
class ConversationPolicy:
    max_misses: int = 2
    flood_messages: int = 10
    flood_seconds: float = 10.0
    response_minutes: tuple[tuple[Priority, int], ...] = (
        (Priority.P1, 15),
        (Priority.P2, 60),
        (Priority.P3, 8 * 60),
        (Priority.P4, 24 * 60),
    )

    def due(self, priority: str, opened: datetime) -> datetime:
        """By when a person should first answer a case of this priority."""
        minutes = dict(self.response_minutes).get(Priority.of(priority), 24 * 60)
        return opened + timedelta(minutes=minutes)
