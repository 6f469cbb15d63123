"""Fit the learned KB decision and write its shipped artefact (``data/decision.json``).

Run from the repository root: ``python -m handlers.kb.matching.train [--kb FILE] [--corpus
FILE] [--out FILE]``. It reads the labelled past tickets (``corpus/kb.jsonl``: text, locale,
expected article or null, author) against the benchmark KB they were labelled for, plus the
team's own small-talk lines (``data/out_of_scope.txt``) as out-of-scope examples. The features
are KB-independent (scores, ranks, margins, the message's embedding), so the model carries over
to the shipped KB. Thresholds are tuned on out-of-fold probabilities, grouped by author, so they
hold for authors the model never read.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression

from handlers.kb.articles import KnowledgeBase
from handlers.kb.files import read_kb_file
from handlers.kb.matching.decision import (
    SHIPPED_MODEL,
    CalibratedLogistic,
    DecisionModel,
    Prototypes,
    Signals,
    candidate_features,
    judge,
    scope_features,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
OUT_OF_SCOPE = Path(__file__).parent / "data" / "out_of_scope.txt"
SMALL_TALK_AUTHOR = "team"
DROPOUT_SEED = 14
MAX_WRONG = 0.025  # of answerable messages, on held-out authors while tuning
MAX_OUT_OF_SCOPE = 0.035  # of null messages answered
MIN_OFFERED = 0.995  # of answerable messages that at least get buttons


def shared_bench_dir() -> Path:
    """``../shared/bench`` beside the checkout (or a worktree's parent), or $PUENTE_BENCH_DIR."""
    if env := os.environ.get("PUENTE_BENCH_DIR"):
        return Path(env)
    for base in (REPO_ROOT.parent, REPO_ROOT.parent.parent):
        if (base / "shared" / "bench").is_dir():
            return base / "shared" / "bench"
    return REPO_ROOT.parent / "shared" / "bench"


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    locale: str
    expect: str | None
    author: str


def load_corpus(path: Path) -> list[Example]:
    examples = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                r = json.loads(line)
                examples.append(Example(r["text"], r["locale"], r["expect"], r["author"]))
    return examples


def small_talk() -> list[Example]:
    lines = OUT_OF_SCOPE.read_text(encoding="utf-8").splitlines()
    texts = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return [Example(t, "es", None, SMALL_TALK_AUTHOR) for t in texts]


def fit_logistic(rows: np.ndarray, labels: np.ndarray, c: float = 1.0) -> CalibratedLogistic:
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0)
    scale[scale < 1e-9] = 1.0
    calibrated = CalibratedClassifierCV(
        LogisticRegression(C=c, max_iter=2000), method="sigmoid", cv=5
    )
    calibrated.fit((rows - mean) / scale, labels)
    folds = calibrated.calibrated_classifiers_
    return CalibratedLogistic(
        mean,
        scale,
        np.vstack([f.estimator.coef_[0] for f in folds]),
        np.array([f.estimator.intercept_[0] for f in folds]),
        np.array([f.calibrators[0].a_ for f in folds]),
        np.array([f.calibrators[0].b_ for f in folds]),
    )


def prototypes_of(
    signals: Sequence[Signals],
    expects: Sequence[str | None],
    indexes: Sequence[int],
    dropped: frozenset[str] = frozenset(),
) -> Prototypes:
    chosen = [
        i
        for i in indexes
        if expects[i] is not None and expects[i] not in dropped and signals[i].embedding is not None
    ]
    return Prototypes.fit(
        [signals[i].embedding for i in chosen],
        [expects[i] for i in chosen],  # type: ignore[misc]
    )


def fit_parts(
    signals: Sequence[Signals],
    expects: Sequence[str | None],
    authors: Sequence[str],
    dimensions: int,
) -> tuple[CalibratedLogistic, CalibratedLogistic, Prototypes]:
    """Each training row sees prototypes fitted without its own author, as a new author's
    message will at run time; a quarter of the rows also miss a third of the articles'
    prototypes, as articles added to the KB after training will."""
    article_blocks, article_labels, scope_blocks, in_scope = [], [], [], []
    rng = random.Random(DROPOUT_SEED)
    labelled = sorted({e for e in expects if e is not None})
    for author in sorted(set(authors)):
        mine = [i for i, a in enumerate(authors) if a == author]
        rest = [i for i, a in enumerate(authors) if a != author]
        full = prototypes_of(signals, expects, rest)
        dropped = frozenset(rng.sample(labelled, len(labelled) // 3))
        partial = prototypes_of(signals, expects, rest, dropped)
        for n, i in enumerate(mine):
            others = partial if n % 4 == 0 else full
            articles, rows = candidate_features(signals[i], others)
            article_blocks.append(rows)
            article_labels.extend(a == expects[i] for a in articles)
            scope_blocks.append(scope_features(signals[i], dimensions, others))
            in_scope.append(int(expects[i] is not None))
    article = fit_logistic(np.vstack(article_blocks), np.array(article_labels, dtype=int))
    scope = fit_logistic(np.vstack(scope_blocks), np.array(in_scope), c=0.1)
    return article, scope, prototypes_of(signals, expects, range(len(signals)))


def tune(judgements: Sequence, expects: Sequence[str | None]) -> tuple[float, float]:
    """The lowest answer threshold keeping wrong answers and answered nulls under their caps,
    and the highest offer threshold still offering buttons to ``MIN_OFFERED`` of answerable
    messages."""
    answerable = [(j, e) for j, e in zip(judgements, expects, strict=True) if e is not None]
    nulls = [j for j, e in zip(judgements, expects, strict=True) if e is None]
    top = [(j.ranked[0][0] if j.ranked else None, j.confidence) for j, _ in answerable]
    answer_at = 0.99
    for t in np.arange(0.99, 0.2, -0.01):
        wrong = sum(p >= t and a != e for (a, p), (_, e) in zip(top, answerable, strict=True))
        null_answered = sum(j.confidence >= t for j in nulls)
        if wrong > MAX_WRONG * len(answerable) or null_answered > MAX_OUT_OF_SCOPE * len(nulls):
            break
        answer_at = float(t)
    scopes = sorted(j.in_scope for j, _ in answerable)
    offer_at = scopes[int((1 - MIN_OFFERED) * len(scopes))] if scopes else 0.5
    return answer_at, float(offer_at)


def fit_model(
    signals: Sequence[Signals], expects: Sequence[str | None], authors: Sequence[str]
) -> DecisionModel:
    """Fit on everything; tune thresholds on each author's messages with the model fitted on the
    other authors (small talk always stays in training)."""
    dimensions = next((len(s.embedding) for s in signals if s.embedding is not None), 512)
    held_judgements, held_expects = [], []
    for author in sorted(set(authors) - {SMALL_TALK_AUTHOR}):
        train = [i for i, a in enumerate(authors) if a != author]
        test = [i for i, a in enumerate(authors) if a == author]
        parts = fit_parts(
            [signals[i] for i in train],
            [expects[i] for i in train],
            [authors[i] for i in train],
            dimensions,
        )
        model = DecisionModel(*parts, 1.0, 0.0)
        held_judgements.extend(judge(model, signals[i]) for i in test)
        held_expects.extend(expects[i] for i in test)
    answer_at, offer_at = tune(held_judgements, held_expects)
    return DecisionModel(*fit_parts(signals, expects, authors, dimensions), answer_at, offer_at)


def collect(matcher, examples: Sequence[Example]) -> list[Signals]:
    return [matcher.signals(e.text, e.locale) for e in examples]


def bench_matcher(kb_path: Path):
    from handlers.kb.matching.matcher import Matcher
    from handlers.kb.matching.semantic import SentenceEncoder

    kb = KnowledgeBase.from_rows(read_kb_file(kb_path))
    return Matcher(kb, encoder=SentenceEncoder())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m handlers.kb.matching.train", description=__doc__
    )
    bench = shared_bench_dir()
    parser.add_argument("--kb", type=Path, default=bench / "kb.csv")
    parser.add_argument("--corpus", type=Path, default=bench / "corpus" / "kb.jsonl")
    parser.add_argument("--out", type=Path, default=SHIPPED_MODEL)
    args = parser.parse_args(argv)
    examples = load_corpus(args.corpus) + small_talk()
    signals = collect(bench_matcher(args.kb), examples)
    model = fit_model(signals, [e.expect for e in examples], [e.author for e in examples])
    model.save(args.out)
    print(
        f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB) from {len(examples)} messages: "
        f"answer at p ≥ {model.answer_threshold:.2f}, buttons at in-scope p ≥ "
        f"{model.offer_threshold:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
