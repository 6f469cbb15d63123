"""Risk triage with the learned model as its backbone (see ``model.py``).

The model reads every message; rules keep the jobs rules are good at:

- a critical rule ("si no pagas lo publico") raises to a confident P1 whatever the model says;
- an everyday idiom ("me muero de risa", "te mato en el PK") vetoes a critical reading;
- P2/P3 rules name the category of an ordinary message, with the words that matched;
- every decision carries reasons an agent can read: the rule's words, or the model's P1
  probability and the closest labelled example of the category it chose.

A P1 reading is confident (pages) or possible (a P1 case for a person to confirm, no page),
by the model's two thresholds. Long messages are also read window by window, so a goodbye at
the end of a long story counts. The live KB's questions may calm a P2 how-to reading
("¿cómo cambio mi correo?"), never a P1 one. An agent's correction (``learn``) overrides the
model for the same message, or one almost identical, until the model is retrained with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache

import numpy as np

from handlers.contract.priority import Priority
from handlers.kb.matching.semantic import SentenceEncoder
from handlers.triage.classifier import (
    CALMABLE,
    CRITICAL,
    ORDINARY,
    PRIORITIES,
    Benign,
    Example,
    Rule,
    Triage,
    Triager,
    prepare,
    quote,
    windows,
)
from handlers.triage.loading import load_cues, load_examples, load_rules
from handlers.triage.model import Confidence, Reading, TriageModel, load_model
from handlers.triage.reasons import (
    AGENT_LABEL,
    MODEL_READING,
    POSSIBLE_P1,
    Reason,
    raise_for_vip,
)

# A critical rule is a high-precision raise: it pages as before when the model gives it at
# least RULE_CONFIDENT; under RULE_DROP the model is sure the dangerous words are used
# harmlessly ("la coreografía de hoy me mató"); in between, a possible P1 for a person.
RULE_DROP = 0.02
RULE_CONFIDENT = 0.05
SAME_MESSAGE = 0.97  # an agent's label applies to messages at least this similar
# laughter next to a critical rule's words, with no confident model reading: a joke
LAUGHTER = re.compile(r"\b(?:ja(?:ja)+|je(?:je)+|ji(?:ji)+|xd+|lol|lmao)\b|[\U0001F602\U0001F923]")
MAX_CHARS = 2000


class LearnedTriager(Triager):
    def __init__(
        self,
        rules: Sequence[Rule],
        idioms: Sequence[re.Pattern[str]],
        examples: Sequence[Example],
        encoder: SentenceEncoder | None,
        *,
        model: TriageModel,
        cues: Sequence[Rule] = (),
        benign: Callable[[], Benign | None] | None = None,
    ) -> None:
        super().__init__(rules, idioms, examples, encoder, cues=cues, benign=benign)
        self.model = model
        self.shipped_examples = len(self.examples)
        self._rows: tuple[int, dict[str, np.ndarray]] = (-1, {})

    def classify(self, text: str, *, vip: bool = False) -> Triage:
        folded = prepare(text)
        if not folded or self.encoder is None:
            return super().classify(text, vip=vip)
        text = text[:MAX_CHARS]
        vector = self.encoder.message_vector(text)
        verdict = self._labelled(vector) or self._decide_learned(text, folded, vector)
        if vip:
            priority, reasons = raise_for_vip(Priority(verdict.priority), verdict.reasons)
            return Triage(priority, verdict.category, reasons, verdict.confidence)
        return verdict

    def _decide_learned(self, text: str, folded: str, vector: np.ndarray) -> Triage:
        ruled = self._rules(folded)
        reading = self.model.read(folded, vector)
        if not self._idiom(folded):
            reading = self._most_critical(reading, text)
        critical = [(c, r) for c, r in ruled if PRIORITIES[c] is Priority.P1]
        confidence = self.model.confidence(reading)
        if critical and LAUGHTER.search(folded) and confidence is not Confidence.CONFIDENT:
            critical = []  # "voy a matar a mi marido si me desenchufa el router jajaja"
        if critical and reading.critical >= RULE_DROP:
            sure = confidence or reading.critical >= RULE_CONFIDENT
            confidence = Confidence.CONFIDENT if sure else Confidence.POSSIBLE
            return _p1(critical[0][0], tuple(r for _, r in critical), confidence)
        ruled = [(c, r) for c, r in ruled if PRIORITIES[c] is not Priority.P1]
        confidence = None if self._idiom(folded) else self.model.confidence(reading)
        if confidence is not None:
            category = reading.best(CRITICAL)
            reasons = (self._model_reason(reading, category, vector),)
            return _p1(category, reasons, confidence)
        if ruled:
            ranked = sorted(ruled, key=lambda item: PRIORITIES[item[0]])
            return Triage(PRIORITIES[ranked[0][0]], ranked[0][0], tuple(r for _, r in ranked))
        category = self._ordinary(reading, folded, vector)
        if category == "none":
            return Triage(Priority.P4, "none", ())
        return Triage(PRIORITIES[category], category, (self._closest(category, vector),))

    def _most_critical(self, reading: Reading, text: str) -> Reading:
        """The whole message's reading, or a window's when it reads more critical."""
        if reading.critical >= self.model.confident:
            return reading  # nothing a window could add
        parts = windows(text)
        if not parts or self.encoder is None:
            return reading
        vectors = np.stack([self.encoder.encode(part) for part in parts])
        readings = self.model.read_many([prepare(part) for part in parts], vectors)
        return max([reading, *readings], key=lambda r: r.critical)

    def _ordinary(self, reading: Reading, folded: str, vector: np.ndarray) -> str:
        """The model's best non-critical category; a P2 topic a closer how-to KB question
        explains is calmed to none unless the text carries a cue of it."""
        category = reading.best(ORDINARY)
        if category not in CALMABLE or self.benign is None or self.matrix is None:
            return category
        benign = self.benign()
        if benign is None or not len(benign.owners):
            return category
        if any(cued == category for cued, _ in self._matches(self.cues, folded)):
            return category
        quiet = self._quiet(benign, benign.matrix @ vector)
        return "none" if quiet >= self._closest(category, vector).score else category

    def _model_reason(self, reading: Reading, category: str, vector: np.ndarray) -> Reason:
        closest = self._closest(category, vector)
        return Reason(
            MODEL_READING, f"{reading.critical:.2f}", category, closest.score, closest.example
        )

    def _closest(self, category: str, vector: np.ndarray) -> Reason:
        """The closest labelled example of ``category``, as a reason."""
        if self.matrix is None:
            return Reason(category=category)
        mine = self._rows_of(category)
        if not len(mine):
            return Reason(category=category)
        scores = self.matrix[mine] @ vector
        best = int(mine[int(np.argmax(scores))])
        return Reason("", "", category, float(scores.max()), quote(self.examples[best].text))

    def _rows_of(self, category: str) -> np.ndarray:
        """The example rows of ``category`` (recounted when an agent's label was learned)."""
        if self._rows[0] != len(self.examples):
            by: dict[str, list[int]] = {}
            for index, example in enumerate(self.examples):
                by.setdefault(example.category, []).append(index)
            self._rows = (len(self.examples), {c: np.array(r) for c, r in by.items()})
        return self._rows[1].get(category, np.array([], dtype=int))

    def _labelled(self, vector: np.ndarray) -> Triage | None:
        """An agent's label for this very message (or one almost identical), if any."""
        if self.matrix is None or len(self.examples) <= self.shipped_examples:
            return None
        scores = self.matrix[self.shipped_examples :] @ vector
        best = int(np.argmax(scores))
        if scores[best] < SAME_MESSAGE:
            return None
        example = self.examples[self.shipped_examples + best]
        reason = Reason(AGENT_LABEL, quote(example.text), example.category, float(scores[best]))
        return Triage(PRIORITIES[example.category], example.category, (reason,))


def _p1(category: str, reasons: tuple[Reason, ...], confidence: Confidence) -> Triage:
    """A P1 verdict; a possible one says so first among its reasons (stored on the case, so
    on-call is not paged and the card asks a person to confirm)."""
    if confidence is Confidence.POSSIBLE:
        reasons = (Reason(POSSIBLE_P1), *reasons)
    return Triage(Priority.P1, category, reasons, confidence)


@cache
def shipped(encoder: SentenceEncoder | None = None) -> Triager:
    """The triager built from the shipped data files (once per encoder): the learned reader
    when its model loads and an encoder is given, else rules and examples alone."""
    rules, idioms = load_rules()
    model = load_model() if encoder is not None else None
    if model is not None:
        return LearnedTriager(
            rules, idioms, load_examples(), encoder, cues=load_cues(), model=model
        )
    return Triager(rules, idioms, load_examples(), encoder, cues=load_cues())
