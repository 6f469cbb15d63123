"""Insights benchmark: how long the report, the KB-gap scan and the Home tab take on a week of
synthetic support history, with words-only and words + meaning matching, on one core.

Run from the repository root: ``python -m bench.insights [--conversations 2000] [--json]``.
The history is generated here (seeded): creators ask the shipped KB's own questions, questions
about invented features the KB doesn't cover, or for a person; a fifth of them get a case that
is taken, answered and resolved after random delays. Nothing comes from ``../shared/bench``.
The baseline is the floor: two ``COUNT(*)`` queries over the same window.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

import bench.onecore  # noqa: F401  (one core, before numpy)
from bench.onecore import code_version, pin_to_one_cpu
from handlers.insights import metrics
from handlers.insights.dashboard import dashboard
from handlers.insights.report import build_report
from handlers.kb import gaps
from handlers.kb.matching.semantic import load_encoder
from handlers.kb.source import SHIPPED_KB, KbSource
from handlers.storage.db import make_engine
from handlers.storage.models import (
    Conversation,
    Creator,
    Direction,
    Escalation,
    EscalationStatus,
    Message,
    Sender,
)

SEED = 7
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SUBJECTS = ("mi mascota virtual", "el modo karaoke", "las insignias doradas", "el chat de voz",
            "los stickers animados", "la tienda de marcos", "el concurso semanal")  # fmt: skip
PROBLEMS = ("no funciona", "cómo activo", "desapareció", "no me deja usar", "cuánto cuesta")


def synthesize(engine, conversations: int, rng: random.Random) -> int:  # type: ignore[no-untyped-def]
    """A week of history; returns the number of creator messages."""
    kb = KbSource(path=SHIPPED_KB).kb
    questions = [
        (q, lang) for a in kb.articles.values() for lang, qs in a.questions.items() for q in qs
    ]
    written = 0
    with Session(engine) as session:
        for n in range(conversations):
            locale = "es" if rng.random() < 0.8 else "en"
            creator = Creator(
                platform="telegram", platform_user_id=f"u{n}", display_name=f"C{n}", locale=locale
            )
            session.add(creator)
            session.flush()
            conv = Conversation(creator_id=creator.id or 0, platform="telegram", chat_id=f"c{n}")
            session.add(conv)
            session.flush()
            start = NOW - timedelta(days=7) + timedelta(seconds=rng.uniform(0, 7 * 86400 - 3600))
            for m in range(rng.randint(1, 6)):
                if rng.random() < 0.6:
                    text = rng.choice(questions)[0]
                else:
                    text = f"{rng.choice(PROBLEMS)} {rng.choice(SUBJECTS)}"
                moment = start + timedelta(minutes=3 * m)
                message = Message(conversation_id=conv.id or 0, direction=Direction.IN,
                                  sender=Sender.CREATOR, text=text, created_at=moment)  # fmt: skip
                session.add(message)
                written += 1
            if rng.random() < 0.2:
                opened = start + timedelta(minutes=20)
                taken = opened + timedelta(minutes=rng.expovariate(1 / 90))
                resolved = taken + timedelta(hours=rng.expovariate(1 / 6))
                done = resolved < NOW
                session.add(Escalation(
                    conversation_id=conv.id or 0, priority=rng.choice(["P2", "P3", "P3", "P4"]),
                    category="human_request", summary=text, created_at=opened, assigned_at=taken,
                    status=EscalationStatus.RESOLVED if done else EscalationStatus.ASSIGNED,
                    resolved_at=resolved if done else None, root_cause="otro" if done else None,
                    satisfaction=rng.randint(1, 5) if done else None,
                ))  # fmt: skip
        session.commit()
    return written


def timed(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def measure(engine, source: KbSource, since: datetime, folder: Path) -> dict[str, float]:  # type: ignore[no-untyped-def]
    matcher = source.matcher()

    def count() -> None:
        with Session(engine) as s:
            s.exec(select(func.count(col(Message.id))).where(Message.created_at >= since)).one()
            cases = select(func.count(col(Escalation.id))).where(Escalation.created_at >= since)
            s.exec(cases).one()

    def all_metrics() -> None:
        with Session(engine) as s:
            metrics.metrics(s, since, NOW, matcher=matcher)

    def all_gaps() -> None:
        with Session(engine) as s:
            gaps.kb_gaps(s, since, NOW, matcher)

    def report() -> None:
        with Session(engine) as s:
            found = metrics.metrics(s, since, NOW, matcher=matcher)
            missing = gaps.kb_gaps(s, since, NOW, matcher)
        build_report(found, missing, folder / "report.xlsx", "es")

    return {
        "baseline: 2 COUNT(*)": timed(count),
        "metrics (every table)": timed(all_metrics),
        "KB gaps (whole week)": timed(all_gaps),
        "puente report (all of it)": timed(report),
        "Home tab (dashboard)": timed(lambda: dashboard(engine, source, NOW)),
    }


def run(conversations: int) -> dict[str, object]:
    pin_to_one_cpu()
    folder = Path(tempfile.mkdtemp(prefix="puente-bench-insights-"))
    engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
    messages = synthesize(engine, conversations, random.Random(SEED))
    since = NOW - timedelta(days=7)
    rows: dict[str, dict[str, float]] = {}
    for label, encoder in (("words only", None), ("words + meaning", load_encoder())):
        source = KbSource(path=SHIPPED_KB, engine=engine, encoder=encoder)
        source.matcher()  # built (and embedded) outside the timings
        rows[label] = measure(engine, source, since, folder)
    return {"conversations": conversations, "creator_messages": messages, "seconds": rows,
            "code": code_version()}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.insights", description=__doc__)
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.conversations)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    seconds: dict[str, dict[str, float]] = result["seconds"]  # type: ignore[assignment]
    systems = list(seconds)
    head = f"Insights benchmark — {result['conversations']:,} conversations, "
    print(head + f"{result['creator_messages']:,} creator messages in 7 days; {result['code']}")
    print()
    print("| step | " + " | ".join(f"{s} s" for s in systems) + " |")
    print("|---|" + "---:|" * len(systems))
    for step in seconds[systems[0]]:
        print(f"| {step} | " + " | ".join(f"{seconds[s][step]:.2f}" for s in systems) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
