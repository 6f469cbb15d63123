"""Buttons before "say it differently": after two offers in a row without a pick, the next
offer puts a person first."""

from __future__ import annotations

import threading

PERSON_FIRST_AFTER = 2


class OfferStreaks:
    """Per conversation, how many article offers in a row went without a pick (in memory: a
    restart only resets the order of the buttons)."""

    def __init__(self) -> None:
        self._streaks: dict[int, int] = {}
        self._lock = threading.Lock()

    def offered(self, conversation_id: int) -> bool:
        """Record an offer; True when a person should now be offered first."""
        with self._lock:
            count = self._streaks.get(conversation_id, 0) + 1
            self._streaks[conversation_id] = count
            return count >= PERSON_FIRST_AFTER

    def settled(self, conversation_id: int) -> None:
        """An answer or a pick ends the streak."""
        with self._lock:
            self._streaks.pop(conversation_id, None)
