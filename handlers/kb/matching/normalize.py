"""Spanish-first normalisation for matching: the same pipeline runs over KB questions and messages.

folded words → texting forms and misspellings expanded → Snowball stem → phonetic fold
(ll/y, b/v, s/c/z, silent h, qu/k) → concept phrases collapsed to one token → stopwords dropped.

Word lists live in ``data/lexicon/<locale>.toml`` so KB authors extend them without code.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TypeVar

import Stemmer

from handlers.common.text import fold, fold_words

T = TypeVar("T")

LEXICON_DIR = Path(__file__).parent / "data" / "lexicon"
STEMMERS = {"es": "spanish", "en": "english"}
CONCEPT_PREFIX = "#"
STOP = "~"
WORD_CACHE_SIZE = 200_000
_LONG_RUNS = re.compile(r"(\w)\1{2,}")
_DOUBLED_VOWELS = re.compile(r"([aiu])\1")
_SENTENCE_END = re.compile(r"(?<=[.!?¿¡;\n])\s*|\s+(?:pero|but|y|and|entonces|so)\s+")
_PHONETIC = (
    (re.compile(r"^h"), ""),
    (re.compile(r"ll"), "y"),
    (re.compile(r"v"), "b"),
    (re.compile(r"z"), "s"),
    (re.compile(r"c(?=[ei])"), "s"),
    (re.compile(r"qu(?=[ei])"), "k"),
    (re.compile(r"c(?=[aou]|$)"), "k"),
    (re.compile(r"([^c])h"), r"\1"),
)


def squeeze(word: str) -> str:
    """``holaaaa`` → ``hola``, ``siii`` → ``si``; double letters like ll, rr, ee, oo stay."""
    return _DOUBLED_VOWELS.sub(r"\1", _LONG_RUNS.sub(r"\1", word))


def phonetic(word: str) -> str:
    """Collapse spellings that sound alike in Spanish, so ``yegan``/``llegan`` and
    ``haser``/``hacer`` meet; applied before stemming, so the stemmer sees one spelling."""
    for pattern, replacement in _PHONETIC:
        word = pattern.sub(replacement, word)
    return word


@dataclass(slots=True)
class Lexicon:
    stopwords: frozenset[str] = frozenset()
    texting: dict[str, str] = field(default_factory=dict)
    misspellings: dict[str, str] = field(default_factory=dict)
    concepts: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return cls(
            stopwords=frozenset(fold(w) for w in data.get("stopwords", [])),
            texting={fold(k): fold(v) for k, v in data.get("texting", {}).items()},
            misspellings={fold(k): fold(v) for k, v in data.get("misspellings", {}).items()},
            concepts={k: tuple(v) for k, v in data.get("concepts", {}).items()},
        )


class PhraseTable:
    """Concept phrases as token tuples, replaced longest-first in a token stream."""

    def __init__(self, phrases: dict[tuple[str, ...], str]) -> None:
        self.phrases = phrases
        self.longest_from: dict[str, int] = {}
        for key in phrases:
            self.longest_from[key[0]] = max(self.longest_from.get(key[0], 0), len(key))
        self.openings = {key[:2] for key in phrases}

    def collapse(self, items: list[T], stems: list[str], make: Callable[[str], T]) -> list[T]:
        """``items`` with every phrase (found by ``stems``) replaced by ``make(concept)``."""
        openings = self.openings
        starts = [j for j, pair in enumerate(itertools.pairwise(stems)) if pair in openings]
        if not starts:
            return items
        out: list[T] = []
        done = 0
        for j in starts:
            if j < done:
                continue
            for size in range(min(self.longest_from[stems[j]], len(stems) - j), 1, -1):
                concept = self.phrases.get(tuple(stems[j : j + size]))
                if concept:
                    out.extend(items[done:j])
                    out.append(make(concept))
                    done = j + size
                    break
        out.extend(items[done:])
        return out


class Normalizer:
    """Turns text into matching tokens for one locale; messages and KB questions alike.

    Concept phrases are found twice: as written (stopwords included, which keeps "se cae" from
    matching every "cae"), then again without stopwords, so "no me llegan" also meets
    "no le llegó". Inside, a stopword's stem carries a leading ``~`` until it is dropped.
    """

    def __init__(self, locale: str, lexicon: Lexicon) -> None:
        self.locale = locale
        self.lexicon = lexicon
        self._stemmer = Stemmer.Stemmer(STEMMERS.get(locale, "spanish"))
        self._word_cache: dict[str, tuple[str, ...]] = {}
        written: dict[tuple[str, ...], str] = {}
        content: dict[tuple[str, ...], str] = {}
        for concept, phrases in lexicon.concepts.items():
            for phrase in phrases:
                key = tuple(stem for raw in fold_words(phrase) for stem in self._plain(raw))
                if key:
                    written.setdefault(key, CONCEPT_PREFIX + concept)
                without_stops = tuple(stem for stem in key if stem[0] != STOP)
                if len(without_stops) > 1:
                    content.setdefault(without_stops, CONCEPT_PREFIX + concept)
        self._written = PhraseTable({k: v for k, v in written.items() if len(k) > 1})
        self._content = PhraseTable(content)
        in_phrases = {stem for key in [*written, *content] if len(key) > 1 for stem in key}
        self._single = {k[0]: v for k, v in written.items() if len(k) == 1}
        self._deferred = {stem: c for stem, c in self._single.items() if stem in in_phrases}

    def tokens(self, text: str) -> list[str]:
        cache = self._word_cache
        stems: list[str] = []
        for raw in fold_words(text):
            stems += cache.get(raw) or self._word(raw)
        stems = self._written.collapse(stems, stems, str)
        tokens = [stem for stem in stems if stem[0] != STOP]
        tokens = self._content.collapse(tokens, tokens, str)
        if self._deferred.keys().isdisjoint(tokens):
            return tokens
        return [self._deferred.get(token, token) for token in tokens]

    def sentences(self, text: str) -> list[str]:
        return [s for s in _SENTENCE_END.split(text) if s and s.strip()]

    def _word(self, raw: str) -> tuple[str, ...]:
        """The stems of one folded word (texting forms may expand it); a one-word concept is
        replaced here unless the word is also part of a longer phrase."""
        cached = self._word_cache.get(raw)
        if cached is None:
            cached = tuple(
                stem if stem[0] == STOP or stem in self._deferred else self._single.get(stem, stem)
                for stem in self._plain(raw)
            )
            if len(self._word_cache) < WORD_CACHE_SIZE:
                self._word_cache[raw] = cached
        return cached

    def _plain(self, raw: str) -> list[str]:
        """Stems folded by sound of the words ``raw`` stands for; stopwords marked with ``~``."""
        word = squeeze(raw)
        word = self.lexicon.texting.get(word, word)
        word = self.lexicon.misspellings.get(word, word)
        parts = word.split()
        stops = self.lexicon.stopwords
        stems = self._stemmer.stemWords([phonetic(part) for part in parts])
        return [
            STOP + stem if part in stops else stem
            for stem, part in zip(stems, parts, strict=True)
            if stem
        ]


@cache
def normalizer(locale: str) -> Normalizer:
    """The shared normaliser for a locale; unknown locales use Spanish rules."""
    lang = locale if locale in STEMMERS else "es"
    path = LEXICON_DIR / f"{lang}.toml"
    return Normalizer(lang, Lexicon.load(path) if path.exists() else Lexicon())
