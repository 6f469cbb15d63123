"""The language of each message (Spanish or English), and when a conversation switches to it.

A Spanish message from a creator whose platform says English is matched and answered in
Spanish, and vice versa; after ``SWITCH_AFTER`` messages in a row in the other language, the
creator's language changes. A language chosen with ``/idioma`` (``/language``) always wins.
"""

from __future__ import annotations

import threading
from functools import lru_cache

MIN_LETTERS = 8  # shorter texts ("ok", "live?") say too little about their language
MIN_CONFIDENCE = 0.75
SWITCH_AFTER = 2


@lru_cache(maxsize=1)
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    detector = LanguageDetectorBuilder.from_languages(Language.SPANISH, Language.ENGLISH).build()
    return detector, {Language.SPANISH: "es", Language.ENGLISH: "en"}


def detect(text: str) -> str | None:
    """``es`` or ``en`` when the message clearly is in one of them, else None."""
    if sum(c.isalpha() for c in text) < MIN_LETTERS:
        return None
    detector, codes = _detector()
    best = detector.compute_language_confidence_values(text)[0]
    return codes[best.language] if best.value >= MIN_CONFIDENCE else None


class LanguageStreaks:
    """Per creator, how many messages in a row came in a language other than theirs."""

    def __init__(self) -> None:
        self._streaks: dict[int, tuple[str, int]] = {}
        self._lock = threading.Lock()

    def observe(self, creator_id: int, current: str, detected: str | None) -> bool:
        """Record a message; True when the creator's language should now switch."""
        with self._lock:
            if detected is None or detected == current:
                self._streaks.pop(creator_id, None)
                return False
            language, count = self._streaks.get(creator_id, (detected, 0))
            count = count + 1 if language == detected else 1
            self._streaks[creator_id] = (detected, count)
            if count >= SWITCH_AFTER:
                del self._streaks[creator_id]
                return True
            return False


def message_locale(
    streaks: LanguageStreaks, creator_id: int, current: str, chosen: bool, text: str
) -> tuple[str, bool]:
    """The locale to match and answer this message in, and whether the creator's language
    switches to it for good."""
    stripped = text.strip()
    if chosen or stripped.startswith("/") or (":" in stripped and " " not in stripped):
        return current, False
    detected = detect(text)
    switch = streaks.observe(creator_id, current, detected)
    return (detected or current), switch
