"""Train the learned triage reader and write its artefact (``data/model.npz``).

Run from the repository root: ``python -m handlers.triage.train [--corpus FILE ...]``.
It fits on Puente's own labelled examples (``data/examples.jsonl``) and on labelled past
tickets (``{"text", "category", "author"}`` lines; by default the shared corpus, when present),
plus any agent confirmations and corrections exported as the same lines (``--corpus`` again).

The P1 thresholds are chosen on out-of-fold readings, one fold per author (our examples are
one more author), so they are set on phrasings the model did not see: ``possible`` is the
highest threshold that keeps P1 recall at ``RECALL`` or more; ``confident`` the lowest that
raises at most ``CONFIDENT_FALSE_P1`` of the other messages to P1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from handlers.triage.classifier import CRITICAL, PRIORITIES, load_examples, prepare
from handlers.triage.model import ARTEFACT, TriageModel, features

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS_CANDIDATES = (
    REPO_ROOT / "../shared/bench/corpus/triage.jsonl",
    REPO_ROOT / "../../shared/bench/corpus/triage.jsonl",
)
OURS = "puente"  # the author of data/examples.jsonl
KB = "kb"  # the shipped KB's questions of articles about no incident: known-benign (none)
ALWAYS = (OURS, KB)  # what the shipped model always has: never held out when choosing thresholds
REGULARISATION = 30.0  # LogisticRegression's C
RECALL = 0.98
CONFIDENT_FALSE_P1 = 0.005
POSSIBLE_MARGIN = 1.0  # the possible threshold may sit this much below the fold optimum


@dataclass(frozen=True, slots=True)
class Labelled:
    text: str
    category: str
    author: str


def default_corpus() -> Path | None:
    return next((p.resolve() for p in CORPUS_CANDIDATES if p.exists()), None)


def read_labelled(path: Path) -> list[Labelled]:
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            if record.get("category") in PRIORITIES and str(record.get("text", "")).strip():
                items.append(
                    Labelled(record["text"], record["category"], record.get("author", path.stem))
                )
    return items


def our_examples() -> list[Labelled]:
    """Our labelled examples and the shipped KB's how-to questions (as none)."""
    return [Labelled(e.text, e.category, OURS) for e in load_examples()] + kb_questions()


def kb_questions() -> list[Labelled]:
    """The shipped KB's question variants, labelled none, for articles none of whose questions
    a P1/P2 rule matches (an article about a hacked account is legitimately P2)."""
    from handlers.kb.files import read_kb_file
    from handlers.kb.source import SHIPPED_KB
    from handlers.triage.classifier import load_rules

    rules, _idioms = load_rules()

    def incident(question: str) -> bool:
        folded = prepare(question)
        return any(
            PRIORITIES[r.category] in ("P1", "P2") and any(p.search(folded) for p in r.patterns)
            for r in rules
        )

    return [
        Labelled(question, "none", KB)
        for row in read_kb_file(SHIPPED_KB)
        if not any(incident(q) for q in row.questions)
        for question in row.questions
    ]


def fit_weights(items: Sequence[Labelled], vectors: np.ndarray) -> Any:
    """A fitted LogisticRegression on ``items`` (with their sentence ``vectors``)."""
    from sklearn.linear_model import LogisticRegression

    matrix = features([prepare(i.text) for i in items], vectors)
    labels = [i.category for i in items]
    return LogisticRegression(C=REGULARISATION, max_iter=3000, class_weight="balanced").fit(
        matrix, labels
    )


def _as_model(fitted: Any, possible: float, confident: float) -> TriageModel:
    return TriageModel(
        fitted.coef_, fitted.intercept_, fitted.classes_.tolist(), CRITICAL, possible, confident
    )


def out_of_fold_critical(
    items: Sequence[Labelled], vectors: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(P1 probability, is P1) of every item not ours, from a model fitted without its author
    (our own examples and KB questions always train: the shipped model always has them)."""
    critical: list[float] = []
    is_p1: list[bool] = []
    for author in sorted({i.author for i in items} - set(ALWAYS)):
        held = np.array([i.author == author for i in items])
        rest = [i for i, h in zip(items, held, strict=True) if not h]
        model = _as_model(fit_weights(rest, vectors[~held]), 1.0, 1.0)
        scored = [i for i, h in zip(items, held, strict=True) if h]
        readings = model.read_many([prepare(i.text) for i in scored], vectors[held])
        critical += [r.critical for r in readings]
        is_p1 += [PRIORITIES[i.category] == "P1" for i in scored]
    return np.array(critical), np.array(is_p1, dtype=bool)


def thresholds(critical: np.ndarray, is_p1: np.ndarray) -> tuple[float, float]:
    """(possible, confident) from out-of-fold P1 probabilities, recall first."""
    p1 = np.sort(critical[is_p1])
    possible = float(p1[int(np.floor((1 - RECALL) * len(p1)))]) * POSSIBLE_MARGIN
    others = np.sort(critical[~is_p1])[::-1]
    allowed = int(np.floor(CONFIDENT_FALSE_P1 * len(others)))
    confident = float(others[allowed]) + 1e-6 if len(others) else 0.5
    return possible, max(possible, confident)


def train(items: Sequence[Labelled], vectors: np.ndarray) -> TriageModel:
    critical, is_p1 = out_of_fold_critical(items, vectors)
    possible, confident = thresholds(critical, is_p1) if is_p1.any() else (0.5, 0.5)
    return _as_model(fit_weights(items, vectors), possible, confident)


def main(argv: Sequence[str] | None = None) -> int:
    from handlers.kb.matching.semantic import SentenceEncoder

    parser = argparse.ArgumentParser(prog="python -m handlers.triage.train", description=__doc__)
    parser.add_argument("--corpus", type=Path, action="append", help="labelled .jsonl lines")
    parser.add_argument("--out", type=Path, default=ARTEFACT)
    args = parser.parse_args(argv)
    corpora = args.corpus or [p for p in [default_corpus()] if p]
    items = our_examples() + [item for path in corpora for item in read_labelled(path)]
    print(
        f"training on {len(items)} messages ({', '.join(map(str, corpora)) or 'ours only'})",
        file=sys.stderr,
    )
    encoder = SentenceEncoder()
    model = train(items, encoder.encode_many([i.text for i in items]))
    model.save(args.out)
    print(
        f"wrote {args.out}: P1 possible ≥ {model.possible:.3f}, confident ≥ {model.confident:.3f}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
