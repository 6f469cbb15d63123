"""The nearest-example vote: how the closest labelled examples (and the live KB's questions)
read a message, category by category. See :mod:`handlers.triage.classifier` for the why."""

from __future__ import annotations

from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass

import numpy as np

from handlers.triage.reading import quote
from handlers.triage.reasons import Reason
from handlers.triage.verdicts import CRITICAL, ORDINARY

# P2 readings a closer how-to KB question can calm: topics the KB explains ("¿cómo cambio mi
# correo?" near "cambiaron mi correo"); legal and VIP incidents are about the stakes, not the topic
CALMABLE = ("account_compromise", "payment_fraud", "harassment")
KB_QUESTION = "kb_question"  # the label of known-benign neighbours (not a category)
NEIGHBOURS = 10  # examples that vote
SHARPNESS = 0.07  # a neighbour this much less similar than the closest one weighs 1/e as much
CRITICAL_SHARE = 0.5  # at least this share of the vote on critical categories ...
CRITICAL_SIMILARITY = 0.46  # ... and the closest critical example this close: P1
UNANIMOUS_SHARE = 0.8  # a neighbourhood this critical ...
UNANIMOUS_SIMILARITY = 0.41  # ... may be this far away
CUED_SHARE = 0.2  # with a cue of the category in the text, this critical share is enough
SIMILARITY = 0.45  # below this the nearest non-critical example says nothing


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    """How the closest labelled examples vote: weight and closest example per category."""

    votes: dict[str, float]
    closest: dict[str, tuple[float, str]]  # category -> (similarity, example text)
    # the same vote with known-benign questions among the neighbours, for P1 decisions only
    calm: Neighbourhood | None = None
    # how close the closest KB question is, when its article reports no incident (P2 decisions)
    quiet: float = -1.0

    def share(self, categories: Sequence[str]) -> float:
        total = sum(self.votes.values())
        return sum(self.votes.get(c, 0.0) for c in categories) / total if total else 0.0

    def leader(self, categories: Sequence[str]) -> str | None:
        """The category with the most weight among ``categories``, if any voted."""
        present = [c for c in categories if c in self.votes]
        return max(present, key=self.votes.__getitem__) if present else None

    def reason(self, category: str, seen: Reason | None = None) -> Reason:
        """The closest example of ``category``, after what was ``seen`` in the text, if any."""
        similarity, example = self.closest[category]
        key, words = (seen.key, seen.quote) if seen else ("", "")
        return Reason(key, words, category, similarity, quote(example))


def vote(scores: np.ndarray, describe: Callable[[int], tuple[str, str]]) -> Neighbourhood:
    """The ``NEIGHBOURS`` highest-scoring texts' weighted votes for their labels;
    ``describe(index)`` is the (label, text) of a scored row."""
    top = np.argsort(scores)[::-1][:NEIGHBOURS]
    weights = np.exp((scores[top] - scores[top[0]]) / SHARPNESS)
    votes: dict[str, float] = {}
    closest: dict[str, tuple[float, str]] = {}
    for index, weight in zip(top, weights, strict=True):
        label, text = describe(int(index))
        votes[label] = votes.get(label, 0.0) + float(weight)
        closest.setdefault(label, (float(scores[index]), text))
    return Neighbourhood(votes, closest)


def ordinary_vote(nearest: Neighbourhood) -> str:
    """The non-critical category the closest examples read ("none" when none is close enough);
    a P2 reading gives way to a closer question of a KB article about no incident."""
    category = nearest.leader(ORDINARY)
    if category is None or nearest.closest[category][0] < SIMILARITY:
        return "none"
    if category in CALMABLE and nearest.quiet >= nearest.closest[category][0]:
        return "none"
    return category


def calmable(nearest: Neighbourhood, cued: Set[str]) -> bool:
    """Whether the examples read a P2 category a how-to KB question may calm: not when the
    text carries a cue of it ("nunca compré", "me hackearon")."""
    category = nearest.leader(ORDINARY)
    return category in CALMABLE and category not in cued


def critical_vote(nearest: Neighbourhood) -> str | None:
    """The critical category the examples read, if it is critical and close enough, and still
    is with the known-benign questions among the neighbours."""
    category = example_vote(nearest)
    if category is None or nearest.calm is None:
        return category
    closest_critical = max(nearest.closest[c][0] for c in CRITICAL if c in nearest.closest)
    if nearest.calm.closest.get(KB_QUESTION, (-1.0, ""))[0] >= closest_critical:
        return None
    return category if example_vote(nearest.calm) is not None else None


def example_vote(nearest: Neighbourhood) -> str | None:
    """The critical category the neighbourhood reads, if it is critical and close enough."""
    category = nearest.leader(CRITICAL)
    if category is None:
        return None
    share = nearest.share(CRITICAL)
    similarity = max(nearest.closest[c][0] for c in CRITICAL if c in nearest.closest)
    if share >= CRITICAL_SHARE and similarity >= CRITICAL_SIMILARITY:
        return category
    if share >= UNANIMOUS_SHARE and similarity >= UNANIMOUS_SIMILARITY:
        return category
    return None


def cued_vote(nearest: Neighbourhood, cues: list[tuple[str, Reason]]) -> tuple[str, Reason] | None:
    """A critical category both cued in the text and close in meaning, as a (category, reason)."""
    if nearest.share(CRITICAL) < CUED_SHARE:
        return None
    similarity = max(nearest.closest[c][0] for c in CRITICAL if c in nearest.closest)
    if similarity < CRITICAL_SIMILARITY:
        return None
    close = [(c, reason) for c, reason in cues if c in CRITICAL and c in nearest.closest]
    if not close:
        return None
    category, reason = max(close, key=lambda item: nearest.votes[item[0]])
    return category, nearest.reason(category, seen=reason)
