"""Risk triage: a priority and a category for every creator message, with reasons an agent
can read.

Two readers agree or overrule each other: precise rules (``data/triage/rules.toml``), whose
matches are vetoed by everyday idioms ("me muero de risa"), and a nearest-example classifier
over a multilingual sentence encoder with labelled examples written for Puente
(``data/triage/examples.jsonl``). Critical categories are raised on either reader's word.
"""

from __future__ import annotations

import json
import logging
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from handlers.normalize import squeeze
from handlers.semantic import SentenceEncoder
from handlers.text import fold

log = logging.getLogger(__name__)

DATA = Path(__file__).parent / "data" / "triage"
PRIORITIES = {
    "self_harm": "P1",
    "child_safety": "P1",
    "violent_threat": "P1",
    "sextortion": "P1",
    "account_compromise": "P2",
    "payment_fraud": "P2",
    "harassment": "P2",
    "legal": "P2",
    "vip_incident": "P2",
    "human_request": "P3",
    "complaint": "P3",
    "none": "P4",
}
CRITICAL_SIMILARITY = 0.5  # closest examples agreeing on a P1 category, this close: P1
SIMILARITY = 0.52  # below this the nearest example says nothing
NEIGHBOURS = 5
QUOTE_CHARS = 80


@dataclass(frozen=True, slots=True)
class Triage:
    priority: str
    category: str
    reasons: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {"priority": self.priority, "category": self.category, "reasons": list(self.reasons)}


@dataclass(frozen=True, slots=True)
class Rule:
    category: str
    reason: str
    patterns: tuple[re.Pattern[str], ...]


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    category: str


def prepare(text: str) -> str:
    """Folded text with squeezed repeats: what rules are written against."""
    return " ".join(squeeze(word) for word in fold(text).split())


class Triager:
    def __init__(
        self,
        rules: Sequence[Rule],
        idioms: Sequence[re.Pattern[str]],
        examples: Sequence[Example],
        encoder: SentenceEncoder | None = None,
    ) -> None:
        self.rules = tuple(rules)
        self.idioms = tuple(idioms)
        self.examples = tuple(examples)
        self.encoder = encoder
        self.matrix = (
            encoder.encode_many([e.text for e in self.examples])
            if encoder is not None and self.examples
            else None
        )

    def learn(self, text: str, category: str) -> None:
        """Add a labelled example (an agent's correction) to what the triager compares with."""
        if category not in PRIORITIES or not text.strip():
            return
        self.examples = (*self.examples, Example(text, category))
        if self.encoder is not None:
            vector = self.encoder.encode_many([text])
            self.matrix = vector if self.matrix is None else np.vstack([self.matrix, vector])

    def classify(self, text: str, *, vip: bool = False) -> Triage:
        folded = prepare(text)
        if not folded:
            return Triage("P4", "none", ())
        ruled = self._rules(folded)
        nearest = self._nearest(text)
        if nearest is not None and PRIORITIES[nearest[0]] == "P1" and self._idiom(folded):
            nearest = None  # "me muero de risa" is close in meaning to a cry for help, and isn't
        category, reasons = self._decide(ruled, nearest)
        priority = PRIORITIES[category]
        if vip and priority == "P3":
            priority = "P2"
            reasons = (*reasons, "VIP creator: P3 raised to P2")
        return Triage(priority, category, reasons)

    def _idiom(self, folded: str) -> bool:
        return any(pattern.search(folded) for pattern in self.idioms)

    def _rules(self, folded: str) -> list[tuple[str, str]]:
        """(category, reason) for every rule that matched outside an everyday idiom."""
        idiom_spans = [m.span() for p in self.idioms for m in p.finditer(folded)]
        found: list[tuple[str, str]] = []
        for rule in self.rules:
            for pattern in rule.patterns:
                match = pattern.search(folded)
                if match and not _inside(match.span(), idiom_spans):
                    found.append((rule.category, f"{rule.reason}: '{_quote(match.group(0))}'"))
                    break
        return found

    def _nearest(self, text: str) -> tuple[str, float, str] | None:
        """The category the closest labelled examples agree on, its similarity, an example."""
        if self.encoder is None or self.matrix is None:
            return None
        scores = self.matrix @ self.encoder.encode(text[:2000])
        top = np.argsort(scores)[::-1][:NEIGHBOURS]
        votes: dict[str, float] = {}
        for index in top:
            category = self.examples[index].category
            votes[category] = votes.get(category, 0.0) + float(scores[index])
        category = max(votes, key=votes.__getitem__)
        best = next(i for i in top if self.examples[i].category == category)
        return category, float(scores[best]), self.examples[best].text

    @staticmethod
    def _decide(
        ruled: list[tuple[str, str]], nearest: tuple[str, float, str] | None
    ) -> tuple[str, tuple[str, ...]]:
        critical = [(c, r) for c, r in ruled if PRIORITIES[c] == "P1"]
        if critical:
            return critical[0][0], tuple(r for _, r in critical)
        if nearest is not None:
            category, similarity, example = nearest
            reason = (
                f"close to a labelled {category} example ({similarity:.2f}): '{_quote(example)}'"
            )
            if PRIORITIES[category] == "P1" and similarity >= CRITICAL_SIMILARITY:
                return category, (reason,)
        if ruled:
            ranked = sorted(ruled, key=lambda item: PRIORITIES[item[0]])
            return ranked[0][0], tuple(r for _, r in ranked)
        if nearest is not None and nearest[1] >= SIMILARITY and PRIORITIES[nearest[0]] != "P1":
            return nearest[0], (reason,)
        return "none", ()


def _inside(span: tuple[int, int], spans: Sequence[tuple[int, int]]) -> bool:
    return any(start <= span[0] and span[1] <= end for start, end in spans)


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


def load_rules(path: Path = DATA / "rules.toml") -> tuple[list[Rule], list[re.Pattern[str]]]:
    if not path.exists():
        log.warning("triage rules %s are missing: triage reads examples only", path)
        return [], []
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    rules = [
        Rule(r["category"], r["reason"], tuple(re.compile(p) for p in r["patterns"]))
        for r in data.get("rule", [])
        if r["category"] in PRIORITIES
    ]
    idioms = [re.compile(p) for block in data.get("idiom", []) for p in block["patterns"]]
    return rules, idioms


def load_examples(path: Path = DATA / "examples.jsonl") -> list[Example]:
    if not path.exists():
        log.warning("triage examples %s are missing: triage reads rules only", path)
        return []
    examples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            if item.get("category") in PRIORITIES:
                examples.append(Example(item["text"], item["category"]))
    return examples


@cache
def shipped(encoder: SentenceEncoder | None = None) -> Triager:
    """The triager built from the shipped data files (once per encoder)."""
    rules, idioms = load_rules()
    return Triager(rules, idioms, load_examples(), encoder)
