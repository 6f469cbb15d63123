"""Risk triage generalisation on Puente's own labelled examples: k-fold cross-validation.

Run from the repository root: ``python -m bench.triage_folds [--folds 5] [--json]``.
The shipped examples (``handlers/triage/data/examples.jsonl``) are split into k folds by line
number; each fold is classified by a triager that has the shipped rules and idioms and only the
examples of the other folds. This says how the example reader does on phrasings it has not
seen, without touching the dev set. Every fold example counts with the priority of its category.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict

from bench.onecore import code_version, pin_to_one_cpu
from bench.triage_systems import (
    CACHE_DIR,
    Message,
    System,
    kb_benign,
    level_table,
    require_data,
    run,
    score,
    summary_table,
)
from handlers.kb.matching.semantic import SentenceEncoder
from handlers.triage.classifier import (
    PRIORITIES,
    Example,
    Triager,
    load_cues,
    load_examples,
    load_rules,
)


def folds(examples: Sequence[Example], k: int) -> list[tuple[list[Example], list[Example]]]:
    """(training, held out) pairs; example i is held out in fold i mod k."""
    return [
        (
            [e for i, e in enumerate(examples) if i % k != fold],
            [e for i, e in enumerate(examples) if i % k == fold],
        )
        for fold in range(k)
    ]


def cross_validate(k: int, *, kb: bool = False) -> tuple[list[Message], list]:
    """Every example classified once, by the triager of the fold that held it out (with the
    shipped KB's questions as benign neighbours when ``kb``)."""
    require_data()
    encoder = SentenceEncoder(cache_dir=CACHE_DIR / "puente")
    rules, idioms = load_rules()
    cues = load_cues()
    benign = kb_benign(encoder) if kb else None
    messages: list[Message] = []
    verdicts = []
    for training, held_out in folds(load_examples(), k):
        triager = Triager(
            rules, idioms, training, encoder, cues=cues, benign=benign and (lambda: benign)
        )
        fold = [Message(e.text, "", PRIORITIES[e.category], e.category) for e in held_out]
        fold_verdicts, _rate = run(triager, fold)
        messages += fold
        verdicts += fold_verdicts
    return messages, verdicts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.triage_folds", description=__doc__)
    parser.add_argument("--folds", type=int, default=5, help="number of folds (≥ 2)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument(
        "--kb", action="store_true", help="with the shipped KB's questions as benign neighbours"
    )
    args = parser.parse_args(argv)
    if args.folds < 2:
        raise SystemExit("--folds: at least 2")
    pin_to_one_cpu()
    print(f"[bench.triage_folds] {args.folds}-fold cross-validation", file=sys.stderr)
    messages, verdicts = cross_validate(args.folds, kb=args.kb)
    name = f"puente{' + KB questions' if args.kb else ''}, {args.folds}-fold on its own examples"
    system = System("puente-folds", name, Triager)
    result = score(system, messages, verdicts)
    if args.json:
        scores = {"examples": len(messages), "folds": args.folds, "code": code_version()}
        print(json.dumps({**scores, "result": asdict(result)}, indent=2))
        return 0
    print(f"Risk triage, {args.folds}-fold cross-validation: {len(messages)} examples")
    print(f"{code_version()}\n")
    print("\n".join(summary_table([result])))
    print()
    print("\n".join(level_table(result)))
    print("\n- messages/s is not measured here (0): see python -m bench.triage.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
