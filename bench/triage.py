"""Risk triage benchmark, leave-one-author-out: the learned triager beside the keyword baseline
and today's triager (rules and nearest examples), on one core, in the same run.

Run from the repository root: ``python -m bench.triage [--data FILE] [--json]``.
For each author of the labelled corpus (default ``../shared/bench/corpus/triage.jsonl``), the
learned model is fitted on the other authors and on Puente's own examples (thresholds chosen on
those training folds), and scores the held-out author. Baselines do not train. Printed: per
author, mean and worst: P1 recall, false P1 (P2-P4 messages raised to P1), priority accuracy,
category accuracy, messages/s; the priority confusion matrix; every P1 miss.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.onecore import THREAD_VARIABLES, affinity_note, code_version, pin_to_one_cpu
from bench.triage_systems import (
    ACCURACY_TARGET,
    FALSE_P1_TARGET,
    LEVELS,
    P1_RECALL_TARGET,
    TARGETS,
    WARMUP_TEXTS,
    KeywordBaseline,
    Message,
    System,
    SystemResult,
    _check,
    _fmt,
    encoder,
    kb_benign,
    learned_triager,
    load_messages,
    run,
    score,
    today_triager,
)
from handlers.triage.classifier import Triage
from handlers.triage.train import Labelled, default_corpus, our_examples, train

WORST_RECALL_TARGET = 95.0
MISS_CHARS = 110
SYSTEMS = (
    System("keywords", "keyword baseline", KeywordBaseline),
    System("today", "today's triager (rules + nearest examples)", KeywordBaseline),
    System("learned", "learned triager (model + rules)", KeywordBaseline),
)


@dataclass(slots=True)
class Fold:
    author: str
    results: dict[str, SystemResult] = field(default_factory=dict)
    misses: dict[str, list[str]] = field(default_factory=dict)
    possible: int = 0  # held-out messages the learned triager read as possible P1


def fit_without(author: str, corpus: Sequence[Message]):
    """The learned model fitted on every author but ``author``, and on our examples."""
    items = our_examples() + [
        Labelled(m.text, m.category, m.author) for m in corpus if m.author != author
    ]
    return train(items, encoder().encode_many([i.text for i in items]))


def measure_fold(author: str, corpus: Sequence[Message], benign: object) -> Fold:
    held = [m for m in corpus if m.author == author]
    fold = Fold(author)
    _log(f"{author}: fitting on the other authors")
    built = {
        "keywords": KeywordBaseline(),
        "today": today_triager(benign),
        "learned": learned_triager(fit_without(author, corpus), benign),
    }
    for system in SYSTEMS:
        verdicts, rate = run(built[system.key], held)
        result = score(system, held, verdicts)
        result.messages_per_s = rate
        fold.results[system.key] = result
        fold.misses[system.key] = misses(held, verdicts)
        if system.key == "learned":
            fold.possible = sum(v.confidence == "possible" for v in verdicts)
    return fold


def misses(messages: Sequence[Message], verdicts: Sequence[Triage]) -> list[str]:
    """Every expected-P1 message not read as P1, with what it was read as and why."""
    lines = []
    for message, verdict in zip(messages, verdicts, strict=True):
        if message.priority == "P1" and verdict.priority != "P1":
            reason = verdict.texts()[0] if verdict.reasons else "(no reason)"
            text = " ".join(message.text.split())[:MISS_CHARS]
            lines.append(
                f'  - {message.category} → {verdict.category} ({verdict.priority}): "{text}" '
                f"— {reason}"
            )
    return lines


def per_author_table(folds: Sequence[Fold], key: str) -> list[str]:
    name = next(s.name for s in SYSTEMS if s.key == key)
    lines = [
        f"**{name}**",
        "",
        "| author | P1 recall % | false P1 % | priority accuracy % | category accuracy % "
        "| messages/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = [(f.author, f.results[key]) for f in folds]
    for author, r in rows:
        lines.append(
            _row(
                author,
                r.p1_recall,
                r.false_p1,
                r.priority_accuracy,
                r.category_accuracy,
                r.messages_per_s,
            )
        )
    results = [r for _a, r in rows]
    mean = [_mean([getattr(r, a) for r in results]) for a in METRICS]
    worst = [
        min(getattr(r, a) or 0 for r in results)
        if a != "false_p1"
        else max(r.false_p1 or 0 for r in results)
        for a in METRICS
    ]
    lines.append(_row("**mean**", *mean, marks=True))
    lines.append(_row("**worst**", *worst, marks=True, worst=True))
    return lines


METRICS = ("p1_recall", "false_p1", "priority_accuracy", "category_accuracy", "messages_per_s")


def _mean(values: Sequence[float | None]) -> float:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else 0.0


def _row(
    label: str,
    recall,
    false_p1,
    accuracy,
    category,
    rate,
    *,
    marks: bool = False,
    worst: bool = False,
) -> str:
    def mark(value: float, limit: float, at_least: bool) -> str:
        return _fmt(value, target=_check(value, limit, at_least=at_least) if marks else None)

    recall_limit = WORST_RECALL_TARGET if worst else P1_RECALL_TARGET
    false_cell = _fmt(false_p1) if worst else mark(false_p1, FALSE_P1_TARGET, False)
    accuracy_cell = _fmt(accuracy) if worst else mark(accuracy, ACCURACY_TARGET, True)
    return (
        f"| {label} | {mark(recall, recall_limit, True)} | {false_cell} | {accuracy_cell} "
        f"| {_fmt(category)} | {rate:,.0f} |"
    )


def summed_confusion(folds: Sequence[Fold], key: str) -> list[str]:
    name = next(s.name for s in SYSTEMS if s.key == key)
    lines = [
        f"Priority confusion, {name}, all held-out authors (rows: expected, columns: predicted)",
        "",
        "| expected \\ predicted | " + " | ".join(LEVELS) + " |",
        "|---|" + "---:|" * len(LEVELS),
    ]
    for expected in LEVELS:
        counts = [sum(f.results[key].confusion[expected][p] for f in folds) for p in LEVELS]
        lines.append(f"| {expected} | " + " | ".join(map(str, counts)) + " |")
    return lines


def footnotes(corpus: Sequence[Message], folds: Sequence[Fold]) -> list[str]:
    counts = ", ".join(f"{lv} {sum(m.priority == lv for m in corpus)}" for lv in LEVELS)
    possible = ", ".join(f"{f.author} {f.possible}" for f in folds)
    return [
        f"- {TARGETS}; worst author P1 recall ≥ {WORST_RECALL_TARGET:g} % (✓/✗ mark those cells).",
        f"- Corpus: {len(corpus)} messages ({counts}); authors "
        f"{', '.join(f.author for f in folds)}. Each author is scored by a model fitted without "
        "them (on the other authors, on handlers/triage/data/examples.jsonl and on the shipped "
        "KB's how-to questions as none), its P1 "
        "thresholds chosen on those training authors only. The keyword baseline and today's "
        "triager do not train on the corpus.",
        f"- Possible P1s (P1 cases for a person to confirm, no page) among the learned triager's "
        f"P1s per author: {possible}. They count as P1 in recall and in false P1 alike.",
        f"- One core: {', '.join(THREAD_VARIABLES)} = 1{affinity_note()}; single process. "
        f"Python {platform.python_version()}, {platform.machine()}. messages/s: one `classify` "
        f"call per held-out message after {len(WARMUP_TEXTS)} warm-up calls, embedding included "
        "(the message embedding is computed per call, not read from a cache).",
        "- Today's and the learned triager have the shipped KB's question variants as benign "
        "neighbours (the KB may calm a P2 how-to, never a P1 reading), as `puente run` wires it.",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.triage", description=__doc__)
    parser.add_argument("--data", type=Path, default=default_corpus(), help="corpus (.jsonl)")
    parser.add_argument("--json", action="store_true", help="print JSON (scores only)")
    args = parser.parse_args(argv)
    if args.data is None or not args.data.exists():
        raise SystemExit("no corpus: pass --data ../shared/bench/corpus/triage.jsonl")
    pin_to_one_cpu()
    corpus = load_messages(args.data)
    authors = sorted({m.author for m in corpus})
    benign = kb_benign(encoder())
    folds = [measure_fold(author, corpus, benign) for author in authors]
    if args.json:
        report = {
            "code": code_version(),
            "threads": {v: os.environ[v] for v in THREAD_VARIABLES},
            "folds": [
                {
                    "author": f.author,
                    "possible": f.possible,
                    "results": {k: asdict(r) for k, r in f.results.items()},
                }
                for f in folds
            ],
        }
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    print(f"Risk triage, leave-one-author-out — {args.data.name}: {len(corpus)} messages")
    print(f"{code_version()}\n")
    for system in SYSTEMS:
        print("\n".join(per_author_table(folds, system.key)) + "\n")
    for key in ("today", "learned"):
        print("\n".join(summed_confusion(folds, key)) + "\n")
    for system in SYSTEMS[1:]:
        print(f"P1 messages not read as P1, {system.name}:")
        for fold in folds:
            print(f"- {fold.author}: {len(fold.misses[system.key])}")
            print("\n".join(fold.misses[system.key]) or "  (none)")
        print()
    print("\n".join(footnotes(corpus, folds)))
    return 0


def _log(message: str) -> None:
    print(f"[bench.triage] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
