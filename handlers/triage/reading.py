"""Reading a message as triage does: folded text for rules, windows of a long message, quotes
for agents."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from handlers.common.text import fold
from handlers.kb.matching.normalize import squeeze

WINDOW_CHARS = 160  # longer messages are also read sentence by sentence, and in pairs this long
MAX_SENTENCES = 24  # sentences of a long message read on their own (throughput)
QUOTE_CHARS = 80
SENTENCE_END = re.compile(r"(?<=[.!?…\n])\s+")


def prepare(text: str) -> str:
    """Folded text with squeezed repeats: what rules are written against."""
    return " ".join(squeeze(word) for word in fold(text).split())


def windows(text: str) -> list[str]:
    """Each sentence of a long text, and each pair of consecutive sentences that fits a window
    (none for a short text): a few words of farewell are read apart from the rest."""
    if len(text) <= WINDOW_CHARS:
        return []
    sentences = [s.strip() for s in SENTENCE_END.split(text) if s.strip()][:MAX_SENTENCES]
    if len(sentences) < 2:
        return []
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(sentences) if len(a) + len(b) < WINDOW_CHARS]
    return list(dict.fromkeys([*sentences, *pairs]))


def inside(span: tuple[int, int], spans: Sequence[tuple[int, int]]) -> bool:
    return any(start <= span[0] and span[1] <= end for start, end in spans)


def quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"
