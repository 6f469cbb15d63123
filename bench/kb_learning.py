"""Learning from production, measured: does a creator's picked wording help the next creator?

1. The learned decision is fitted on the authors that are neither replayed nor measured
   (``d0``, ``a3``, ``a4`` and the team's small talk by default), so no figure reads its own
   training data.
2. **Before**: author ``a2``'s messages are matched against the KB as shipped.
3. **Replay**: author ``a1``'s messages go through the matcher; whenever the right article is
   among the offered buttons, the creator "picks" it and the production code stores the wording
   as a pending variant (``handlers.kb.variants.learn``, in a scratch SQLite database).
4. **Approve** every pending variant (``variants.review``), load them into the KB as
   :class:`~handlers.kb.source.KbSource` does, and measure ``a2`` again: **after**.

Beside Puente, BM25 (bm25s, thresholds fitted on the same training authors) gets the same
approved variants, so the table shows what the variants are worth to a plain lexical ranker too.

    python -m bench.kb_learning [--replay a1] [--measure a2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sqlmodel import Session

from bench.kb_authors import (
    Outcome,
    Scores,
    bm25_rankings,
    fit_thresholds,
    score,
    threshold_outcome,
)
from handlers.common.utc import utcnow
from handlers.kb import variants
from handlers.kb.articles import KnowledgeBase
from handlers.kb.files import read_kb_file
from handlers.kb.matching.matcher import Action, Matcher
from handlers.kb.matching.semantic import SentenceEncoder
from handlers.kb.matching.train import Example, fit_model, load_corpus, shared_bench_dir, small_talk
from handlers.storage.db import make_engine
from handlers.storage.models import Direction, Message, Sender, VariantSource


def outcomes(matcher: Matcher, examples: Sequence[Example]) -> list[Outcome]:
    found = []
    for example in examples:
        result = matcher.match(example.text, example.locale)
        if result.action is Action.ANSWER:
            found.append(Outcome(result.article_id))
        else:
            found.append(Outcome(None, tuple(result.suggestions)))
    return found


def replay_picks(matcher: Matcher, examples: Sequence[Example], database: Path) -> KnowledgeBase:
    """Simulated picks stored, all approved, and the KB as KbSource would load it after."""
    engine = make_engine(f"sqlite:///{database}")
    with Session(engine) as session:
        for example, outcome in zip(examples, outcomes(matcher, examples), strict=True):
            if example.expect is None or outcome.answered is not None:
                continue
            if example.expect not in outcome.offered:
                continue
            wording = Message(
                conversation_id=0, direction=Direction.IN, sender=Sender.CREATOR, text=example.text
            )
            variants.learn(
                session, wording, article_id=example.expect, locale=example.locale,
                source=VariantSource.PICK, now=utcnow(),
            )  # fmt: skip
        pending = [v.id for v in variants.pending(session) if v.id is not None]
        variants.review(session, pending, approve=True, now=utcnow())
        session.commit()
        learned = variants.approved(session)
    engine.dispose()
    return learned.applied_to(matcher.kb)


def bm25_outcomes(
    kb: KnowledgeBase, train: Sequence[Example], test: Sequence[Example]
) -> list[Outcome]:
    answer_at, offer_at = fit_thresholds(train, bm25_rankings(kb, train))
    return [threshold_outcome(r, answer_at, offer_at) for r in bm25_rankings(kb, test)]


def row(name: str, s: Scores) -> str:
    figures = f"{s.answered_right:>9.1f}{s.one_step:>10.1f}{s.wrong:>8.1f}{s.out_of_scope:>16.1f}"
    return f"{name:<34}{figures}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    bench = shared_bench_dir()
    parser = argparse.ArgumentParser(prog="python -m bench.kb_learning", description=__doc__)
    parser.add_argument("--kb", type=Path, default=bench / "kb.csv")
    parser.add_argument("--corpus", type=Path, default=bench / "corpus" / "kb.jsonl")
    parser.add_argument("--replay", default="a1", help="the author whose picks are learned")
    parser.add_argument("--measure", default="a2", help="the author measured before and after")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    corpus = load_corpus(args.corpus)
    replayed = [e for e in corpus if e.author == args.replay]
    measured = [e for e in corpus if e.author == args.measure]
    train = [e for e in corpus if e.author not in (args.replay, args.measure)] + small_talk()
    kb = KnowledgeBase.from_rows(read_kb_file(args.kb))
    encoder = SentenceEncoder()
    probe = Matcher(kb, encoder=encoder)
    signals = [probe.signals(e.text, e.locale) for e in train]
    model = fit_model(signals, [e.expect for e in train], [e.author for e in train])
    before = Matcher(kb, encoder=encoder, model=model)
    with tempfile.TemporaryDirectory() as scratch:
        learned_kb = replay_picks(before, replayed, Path(scratch) / "learning.db")
    added = sum(len(q) for a in learned_kb.articles.values() for q in a.questions.values()) - sum(
        len(q) for a in kb.articles.values() for q in a.questions.values()
    )
    after = Matcher(learned_kb, encoder=encoder, model=model)
    authors = ", ".join(sorted({e.author for e in train}))
    print(
        f"learning from {args.replay}'s picks ({len(replayed)} messages → {added} approved "
        f"variants), measured on {args.measure} ({len(measured)} messages); decision fitted on "
        f"{authors}"
    )
    print(f"{'system':<34}{'right %':>9}{'1-step %':>10}{'wrong %':>8}{'out-of-scope %':>16}")
    print(row("puente, before", score(measured, outcomes(before, measured))))
    print(row("puente, after approving", score(measured, outcomes(after, measured))))
    print(row("bm25s, before", score(measured, bm25_outcomes(kb, train, measured))))
    print(
        row("bm25s, after approving", score(measured, bm25_outcomes(learned_kb, train, measured)))
    )
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
