"""Text hygiene shared by every handler: cleaning what creators send, folding it for matching."""

from __future__ import annotations

import re
import unicodedata

MAX_MATCH_CHARS = 2000

_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[^\W_]+")


def _accent_table() -> dict[int, str]:
    """Latin letters with diacritics → their base letter; ñ keeps its tilde (año ≠ ano)."""
    table: dict[int, str] = {}
    for code in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00)):
        char = chr(code)
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        if base and base != char and char not in "ñÑ":
            table[code] = base
    return table


_STRIP_ACCENTS = _accent_table()


def storable(text: str) -> str:
    """The text as received, except what no database column takes: NUL and lone surrogates
    (from broken decoders) become U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text)


def clean(text: str) -> str:
    """Make untrusted text safe to store and show: NFC, no control or invisible characters.

    Newlines and tabs survive.
    """
    text = unicodedata.normalize("NFC", storable(text))
    text = _INVISIBLE.sub("", text)
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C").strip()


def has_words(text: str) -> bool:
    """True when the text carries at least one letter or digit (not just emoji or punctuation)."""
    return any(ch.isalnum() for ch in text)


def fold(text: str) -> str:
    """Casefold, strip accents (keeping ñ), turn punctuation and emoji into spaces."""
    return " ".join(fold_words(text))


def fold_words(text: str) -> list[str]:
    """The words of :func:`fold`, without joining them again."""
    text = text[:MAX_MATCH_CHARS].casefold()
    if not text.isascii():
        text = _INVISIBLE.sub("", text)
        text = unicodedata.normalize("NFKC", text).casefold().translate(_STRIP_ACCENTS)
    return _WORD.findall(text)


_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])\s+|\n+")


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at sentence ends, else at spaces, else hard."""
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_BREAK.split(text):
        candidate = f"{current} {sentence}".strip() if current else sentence
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while len(sentence) > limit:
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            pieces.append(sentence[:cut].rstrip())
            sentence = sentence[cut:].lstrip()
        current = sentence
    if current:
        pieces.append(current)
    return pieces or [""]
