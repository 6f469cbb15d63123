"""Risk triage: a priority and a category for every creator message, with reasons an agent
can read.

Two readers agree or overrule each other: precise rules (``data/rules.toml``), whose
matches are vetoed by everyday idioms ("me muero de risa"), and a nearest-example classifier
over a multilingual sentence encoder with labelled examples written for Puente
(``data/examples.jsonl``). Critical categories are raised on either reader's word.

The example reader is a k-nearest-neighbour vote: each of the closest examples votes for its
category with a weight that falls off with its distance from the closest one, so one very close
example outweighs several loose ones. A message is critical when most of that weight sits on
critical categories and the closest critical example is close enough; a unanimous
neighbourhood may be a little further away. Long messages are also read in overlapping windows
of a few sentences, each voting on its own, so a goodbye note at the end of a long story about
payments is not outvoted by the rest.

Everyday support questions can sit near a cry for help ("se corta la imagen en mis lives" and
"cortarme", "lives" and "life"). The live KB's question variants are known-benign: when the
examples alone read a message as critical, the KB's questions join the vote as neighbours of
no category, and the message pages only if it is still critical and closer to a critical example
than to any KB question. They only weaken example-only evidence: critical rules and cued votes
page as before.

The same holds one level down: "olvidé mi contraseña, no puedo entrar" sits near "me
hackearon la cuenta, no puedo entrar". An example-only reading of a hacked account, a fraud or
harassment gives way to a closer KB question, so the KB answers instead of a case opening;
unless the text carries a cue of that category ("nunca compré", "me hackearon") or the KB
question's own article is about an incident (one of its questions matches a P1/P2 rule: its
questions are legitimately P2 and calm nothing).

Its data types live in :mod:`handlers.triage.verdicts`, its data files are read by
:mod:`handlers.triage.loading`, the text is cut and folded by :mod:`handlers.triage.reading`
and the neighbours vote in :mod:`handlers.triage.vote`; all are importable from here as before.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence, Set

import numpy as np

from handlers.contract.priority import Priority
from handlers.kb.matching.semantic import SentenceEncoder
from handlers.triage.loading import load_cues, load_examples, load_rules
from handlers.triage.reading import (
    WINDOW_CHARS,
    inside,
    prepare,
    quote,
    windows,
)
from handlers.triage.reasons import Reason, raise_for_vip
from handlers.triage.verdicts import (
    CRITICAL,
    ORDINARY,
    PRIORITIES,
    Benign,
    Example,
    Rule,
    Triage,
)
from handlers.triage.vote import (
    CALMABLE,
    CRITICAL_SIMILARITY,
    CUED_SHARE,
    KB_QUESTION,
    UNANIMOUS_SIMILARITY,
    Neighbourhood,
    calmable,
    critical_vote,
    cued_vote,
    ordinary_vote,
    vote,
)

# importable from here as before the split (bench, tests and the learned triager do)
__all__ = [
    "CALMABLE",
    "CRITICAL",
    "CRITICAL_SIMILARITY",
    "CUED_SHARE",
    "KB_QUESTION",
    "ORDINARY",
    "PRIORITIES",
    "UNANIMOUS_SIMILARITY",
    "WINDOW_CHARS",
    "Benign",
    "Example",
    "Neighbourhood",
    "Rule",
    "Triage",
    "Triager",
    "critical_vote",
    "cued_vote",
    "load_cues",
    "load_examples",
    "load_rules",
    "prepare",
    "quote",
    "windows",
]

log = logging.getLogger(__name__)


class Triager:
    def __init__(
        self,
        rules: Sequence[Rule],
        idioms: Sequence[re.Pattern[str]],
        examples: Sequence[Example],
        encoder: SentenceEncoder | None = None,
        cues: Sequence[Rule] = (),
        benign: Callable[[], Benign | None] | None = None,
    ) -> None:
        self.rules = tuple(rules)
        # the live KB's questions (read per message: the KB reloads), see ``Benign``
        self.benign = benign
        self.idioms = tuple(idioms)
        self.cues = tuple(cues)
        self.examples = tuple(examples)
        self.encoder = encoder
        self.matrix = (
            encoder.encode_many([e.text for e in self.examples])
            if encoder is not None and self.examples
            else None
        )
        # which articles of the current KB are about an incident (see _incident)
        self._incidents: tuple[Benign | None, dict[str, bool]] = (None, {})

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
            return Triage(Priority.P4, "none", ())
        ruled = self._rules(folded)
        cues = self._matches(self.cues, folded) if self.matrix is not None else []
        hoods = self._neighbourhoods(text, cued={category for category, _ in cues})
        # "me muero de risa" is close in meaning to a cry for help, and isn't
        idiom = self._idiom(folded)
        if hoods and not idiom:
            cued = next(filter(None, (cued_vote(hood, cues) for hood in hoods)), None)
            if cued is not None:
                ruled.append(cued)
        category, reasons = self._decide(ruled, hoods, idiom=idiom, cues=cues)
        priority = PRIORITIES[category]
        if vip:
            priority, reasons = raise_for_vip(priority, reasons)
        return Triage(priority, category, reasons)

    def _idiom(self, folded: str) -> bool:
        return any(pattern.search(folded) for pattern in self.idioms)

    def _rules(self, folded: str) -> list[tuple[str, Reason]]:
        """(category, reason) for every rule that matched outside an everyday idiom."""
        return self._matches(self.rules, folded)

    def _matches(self, rules: Sequence[Rule], folded: str) -> list[tuple[str, Reason]]:
        idiom_spans = [m.span() for p in self.idioms for m in p.finditer(folded)]
        found: list[tuple[str, Reason]] = []
        for rule in rules:
            for pattern in rule.patterns:
                match = pattern.search(folded)
                if match and not inside(match.span(), idiom_spans):
                    found.append((rule.category, Reason(rule.reason, quote(match.group(0)))))
                    break
        return found

    def _neighbourhoods(self, text: str, cued: Set[str] = frozenset()) -> list[Neighbourhood]:
        """The whole message's neighbourhood, then each window's for a long message."""
        if self.encoder is None or self.matrix is None:
            return []
        text = text[:2000]
        benign = self.benign() if self.benign is not None else None
        parts = (text, *windows(text))
        vectors = [self.encoder.message_vector(text), *map(self.encoder.encode, parts[1:])]
        return [self._nearest(vector, benign, cued) for vector in vectors]

    def _nearest(
        self, vector: np.ndarray, benign: Benign | None = None, cued: Set[str] = frozenset()
    ) -> Neighbourhood:
        """The closest labelled examples' weighted votes; when they read critical, also the
        vote with the known-benign questions among the neighbours; when they read a P2
        category the text has no cue of, how close the closest how-to KB question is."""
        assert self.matrix is not None
        scores = self.matrix @ vector
        hood = vote(scores, self._example)
        if benign is None or not len(benign.owners):
            return hood
        may_calm, critical = calmable(hood, cued), critical_vote(hood) is not None
        if not (may_calm or critical):
            return hood  # most messages: no product with the KB's questions at all
        kb_scores = benign.matrix @ vector
        if may_calm:
            hood = Neighbourhood(hood.votes, hood.closest, quiet=self._quiet(benign, kb_scores))
        if not critical:
            return hood
        count = len(scores)

        def either(index: int) -> tuple[str, str]:
            # KB questions vote for no category: they dilute the critical share
            if index < count:
                return self._example(index)
            return KB_QUESTION, benign.owners[index - count]

        calm = vote(np.concatenate([scores, kb_scores]), either)
        return Neighbourhood(hood.votes, hood.closest, calm, hood.quiet)

    def _quiet(self, benign: Benign, kb_scores: np.ndarray) -> float:
        """The similarity of the closest KB question, unless its article is about an incident
        (then -1: nothing to calm)."""
        best = int(np.argmax(kb_scores))
        if not benign.texts or self._incident(benign.owners[best], benign):
            return -1.0
        return float(kb_scores[best])

    def _incident(self, owner: str, benign: Benign) -> bool:
        """Whether a KB article is about an incident: one of its questions matches a P1 or P2
        rule ("me hackearon la cuenta"). Such an article's questions calm no P2 reading; a
        how-to article's ("olvidé mi contraseña") do."""
        if self._incidents[0] is not benign:
            self._incidents = (benign, {})
        known = self._incidents[1]
        if owner not in known:
            known[owner] = any(
                PRIORITIES[category].urgent
                for text in benign.questions(owner)
                for category, _ in self._rules(prepare(text))
            )
        return known[owner]

    def _example(self, index: int) -> tuple[str, str]:
        """(category, text) of the ``index``-th labelled example."""
        example = self.examples[index]
        return example.category, example.text

    @staticmethod
    def _decide(
        ruled: list[tuple[str, Reason]],
        hoods: Sequence[Neighbourhood],
        *,
        idiom: bool = False,
        cues: Sequence[tuple[str, Reason]] = (),
    ) -> tuple[str, tuple[Reason, ...]]:
        """Critical rules, then a critical reading of the message or one of its windows, then
        ordinary rules, then the whole message's nearest ordinary examples."""
        critical = [(c, r) for c, r in ruled if PRIORITIES[c] is Priority.P1]
        if critical:
            return critical[0][0], tuple(r for _, r in critical)
        for hood in () if idiom else hoods:
            category = critical_vote(hood)
            if category is not None:
                return category, (hood.reason(category),)
        if ruled:
            ranked = sorted(ruled, key=lambda item: -PRIORITIES[item[0]].severity)
            return ranked[0][0], tuple(r for _, r in ranked)
        if hoods:
            nearest = hoods[0]
            category = ordinary_vote(nearest)
            if category != "none":
                seen = next((reason for cued, reason in cues if cued == category), None)
                return category, (nearest.reason(category, seen=seen),)
        return "none", ()
