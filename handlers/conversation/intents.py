"""Intents the bot recognises before the KB: commands, small talk and asking for a person.

Patterns live in ``data/intents.json`` so support leads can extend them without code.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from handlers.common.text import fold

INTENTS_FILE = Path(__file__).parent / "data" / "intents.json"


class Intent(StrEnum):
    HUMAN_REQUEST = "human_request"
    GREETING = "greeting"
    THANKS = "thanks"
    GOODBYE = "goodbye"
    LAUGHTER = "laughter"
    START = "start"
    HELP = "help"
    LANGUAGE = "language"
    STATUS = "status"


COMMANDS: dict[str, Intent] = {
    "agente": Intent.HUMAN_REQUEST,
    "human": Intent.HUMAN_REQUEST,
    "humano": Intent.HUMAN_REQUEST,
    "agent": Intent.HUMAN_REQUEST,
    "start": Intent.START,
    "ayuda": Intent.HELP,
    "help": Intent.HELP,
    "idioma": Intent.LANGUAGE,
    "language": Intent.LANGUAGE,
    "estado": Intent.STATUS,
    "status": Intent.STATUS,
}
_WHOLE_MESSAGE = (Intent.GREETING, Intent.THANKS, Intent.GOODBYE, Intent.LAUGHTER)


@lru_cache(maxsize=1)
def _patterns() -> dict[Intent, tuple[re.Pattern[str], ...]]:
    raw = json.loads(INTENTS_FILE.read_text(encoding="utf-8"))
    return {
        Intent(name): tuple(re.compile(p) for p in patterns)
        for name, patterns in raw.items()
        if not name.startswith("_")
    }


def command(text: str) -> tuple[Intent, str] | None:
    """``/agente``, ``/idioma en``, ``/start@PuenteBot`` → (intent, argument)."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return None
    word, _, argument = stripped[1:].partition(" ")
    intent = COMMANDS.get(word.split("@")[0].casefold())
    return (intent, argument.strip()) if intent else None


def detect(text: str) -> Intent | None:
    """The intent of a free-text message, or None when it is a question for the KB."""
    found = command(text)
    if found:
        return found[0]
    folded = fold(text)
    patterns = _patterns()
    if any(p.search(folded) for p in patterns[Intent.HUMAN_REQUEST]):
        return Intent.HUMAN_REQUEST
    for intent in _WHOLE_MESSAGE:
        if any(p.fullmatch(folded) for p in patterns[intent]):
            return intent
    return None
