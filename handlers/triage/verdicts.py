"""What triage decides and reads: categories and their priorities, verdicts, rules, examples
and the known-benign questions of the KB."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from handlers.common.i18n import translator
from handlers.contract.priority import Priority
from handlers.triage.model import Confidence
from handlers.triage.reasons import Reason

PRIORITIES: dict[str, Priority] = {
    "self_harm": Priority.P1,
    "child_safety": Priority.P1,
    "violent_threat": Priority.P1,
    "sextortion": Priority.P1,
    "account_compromise": Priority.P2,
    "payment_fraud": Priority.P2,
    "harassment": Priority.P2,
    "legal": Priority.P2,
    "vip_incident": Priority.P2,
    "human_request": Priority.P3,
    "complaint": Priority.P3,
    "none": Priority.P4,
}
CRITICAL = tuple(c for c, p in PRIORITIES.items() if p is Priority.P1)
ORDINARY = tuple(c for c, p in PRIORITIES.items() if p is not Priority.P1)


@dataclass(frozen=True, slots=True)
class Triage:
    priority: Priority
    category: str
    reasons: tuple[Reason, ...]
    # a possible P1 is a P1 case for a person to confirm, without paging
    confidence: Confidence = Confidence.CONFIDENT

    def __post_init__(self) -> None:
        object.__setattr__(self, "priority", Priority(self.priority))  # "P1" from a data file

    def texts(self, locale: str = "en") -> list[str]:
        """The reasons in words (English by default: ``puente triage``'s machine interface)."""
        t = translator(locale)
        return [reason.render(t) for reason in self.reasons]

    def as_json(self, locale: str = "en") -> dict[str, object]:
        return {
            "priority": self.priority,
            "category": self.category,
            "reasons": self.texts(locale),
            "confidence": self.confidence.value,
        }


@dataclass(frozen=True, slots=True)
class Rule:
    category: str
    reason: str  # a catalog key (triage_reasons.RULE_KEYS); plain text renders as itself
    patterns: tuple[re.Pattern[str], ...]


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    category: str


@dataclass(frozen=True, slots=True)
class Benign:
    """Known-benign texts (the live KB's question variants): unit vectors and their articles."""

    matrix: np.ndarray  # one unit vector per question
    owners: tuple[str, ...]  # the article of each question
    texts: tuple[str, ...] = ()  # the questions themselves (to tell incident articles)

    def without(self, owner: str) -> Benign:
        """The same questions but ``owner``'s (leave-one-article-out measuring)."""
        keep = [i for i, o in enumerate(self.owners) if o != owner]
        texts = tuple(self.texts[i] for i in keep) if self.texts else ()
        return Benign(self.matrix[keep], tuple(self.owners[i] for i in keep), texts)

    def questions(self, owner: str) -> list[str]:
        return [t for o, t in zip(self.owners, self.texts, strict=True) if o == owner]
