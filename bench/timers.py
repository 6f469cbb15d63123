"""Timer benchmark: how fast ``puente worker`` ticks, and that two workers never fire twice.

Run from the repository root: ``python -m bench.timers [--cases N] [--database URL]``. N open
P3 cases are opened in a fresh SQLite database (or the given one, whose tables are emptied),
time moves 6 h so each case's 75 % reminder is due, and the reminders are fired by one worker,
then (on a fresh copy) by two workers ticking at once on their own engines. Also: an idle tick
(nothing due) with N open cases, which is what a worker pays every few seconds.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, SQLModel, select

from handlers.api import Puente
from handlers.kb.source import KbSource
from handlers.storage.db import make_engine
from handlers.storage.models import AgentPost, Conversation, Creator, Escalation

START = datetime(2026, 11, 25, 12, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def open_cases(url: str, count: int, clock: Clock) -> None:
    engine = make_engine(url)
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    puente = Puente(engine=engine, kb=KbSource(path=None), clock=clock)
    with Session(engine) as session:
        for n in range(count):
            creator = Creator(platform="bench", platform_user_id=str(n))
            session.add(creator)
            session.flush()
            conversation = Conversation(
                creator_id=creator.id or 0, platform="bench", chat_id=str(n), state="escalated"
            )
            session.add(conversation)
            session.flush()
            case = Escalation(conversation_id=conversation.id or 0, created_at=START)
            session.add(case)
            session.flush()
            puente.timekeeper.case_opened(session, case, START)
        session.commit()
    engine.dispose()


def reminders(url: str) -> int:
    engine = make_engine(url)
    with Session(engine) as session:
        payloads = session.exec(select(AgentPost.payload)).all()
    engine.dispose()
    return sum('"sla_reminder"' in p for p in payloads)


def worker(url: str, clock: Clock) -> Puente:
    return Puente(engine=make_engine(url), kb=KbSource(path=None), clock=clock)


def drain(puente: Puente) -> int:
    fired = 0
    while True:
        done = puente.handle_tick()
        fired += done
        if not done:
            return fired


def run(url: str, cases: int, workers: int) -> dict[str, float]:
    clock = Clock()
    open_cases(url, cases, clock)
    pool = [worker(url, clock) for _ in range(workers)]
    started = time.perf_counter()
    pool[0].handle_tick()
    idle = time.perf_counter() - started
    clock.now = START + timedelta(hours=6)
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as executor:
        fired = sum(executor.map(drain, pool))
    elapsed = time.perf_counter() - started
    for puente in pool:
        puente.engine.dispose()
    return {
        "idle_ms": idle * 1000,
        "fired": fired,
        "per_s": fired / elapsed,
        "posted": reminders(url),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: temp SQLite)")
    args = parser.parse_args()
    print("| workers | open cases | idle tick ms | timers fired | fired/s | reminders posted |")
    print("|---:|---:|---:|---:|---:|---:|")
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as folder:
            url = args.database or f"sqlite:///{Path(folder) / 'timers.db'}"
            row = run(url, args.cases, workers)
        print(
            f"| {workers} | {args.cases:,} | {row['idle_ms']:.1f} | {row['fired']:,.0f} | "
            f"{row['per_s']:,.0f} | {row['posted']:,.0f} |"
        )


if __name__ == "__main__":
    main()
