"""End-to-end WhatsApp benchmark: simulated creators write to ``puente serve`` through signed
webhooks, and it answers through a local fake of the Graph API.

Run from the repository root: ``python -m bench.whatsapp [--creators N] [--messages M]
[--rate R] [--no-semantic] [--no-telegram]``.

Puente runs as a separate process, as deployed (``python -m bot serve``, a fresh SQLite file).
Webhooks are posted open-loop at a fixed total rate (a small pool of posting threads, so a slow
answer never delays the next message), creators taking turns. Rows, each a fresh bot process:

- ``whatsapp``: every webhook delivered once, the Graph API always accepting;
- ``whatsapp, hostile``: every webhook delivered twice (Meta retries), and one send in ten
  answered 429 with Graph code 130429 and ``Retry-After: 0.5``;
- ``telegram`` (baseline, same creators, texts and rate): ``bench.telegram``'s run.

Latency is the fake's receive time of the reply minus the time this process posted the
creator's message (both ``time.monotonic()`` here); replies in a chat arrive in order, so the
k-th reply of a number answers its k-th message. "ack p95" is the webhook's own answer time:
the event is stored before the 200. "dup" counts a reply sent twice (checked against the bot's
delivered rows); "extra" counts replies beyond one per message, which the core writes for a few
texts (bench.telegram reports those as its "duplicated").
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlmodel import Session, col, select

from bench import telegram as tg
from bot.adapters.whatsapp.render import bodies
from handlers.contract.messages import Suggestion
from handlers.storage.db import make_engine
from handlers.storage.models import Conversation, Direction, Message
from tests.fakes.whatsapp_api import (
    APP_SECRET,
    VERIFY_TOKEN,
    FakeWhatsApp,
    Fault,
    envelope,
    post_webhook,
    text_message,
)

FIRST_NUMBER = 5215500000000
WARMUP_NUMBERS = ("5215599999901", "5215599999902")
POSTERS = 16


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    messages: int
    latencies_ms: list[float]
    ack_ms: list[float]
    lost: int
    duplicated: int  # the same reply sent twice
    extra: int  # replies beyond one per message (a second reply the core wrote)
    refused_sends: int

    def p(self, values: Sequence[float], q: float) -> str:
        return f"{np.percentile(values, q):.0f}" if values else "-"


def schedule(
    creators: int, per_creator: int, rate: float, seed: int
) -> list[tuple[float, str, str]]:
    """(due second, number, text), round-robin over creators, the same texts as bench.telegram."""
    rng = random.Random(seed)
    people = tg.make_creators(creators, rng)
    planned = []
    for _ in range(per_creator):
        for n, creator in enumerate(people):
            pool = tg.ENGLISH if creator.language_code == "en" else tg.SPANISH
            planned.append((len(planned) / rate, str(FIRST_NUMBER + n), rng.choice(pool)))
    return planned


def environment(fake: FakeWhatsApp, database: Path, *, semantic: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TELEGRAM_BOT_TOKEN="",
        SLACK_BOT_TOKEN="",
        WHATSAPP_ACCESS_TOKEN=fake.token,
        WHATSAPP_PHONE_NUMBER_ID=fake.phone_number_id,
        WHATSAPP_APP_SECRET=APP_SECRET,
        WHATSAPP_VERIFY_TOKEN=VERIFY_TOKEN,
        WHATSAPP_API_URL=fake.api_url,
        DATABASE_URL=f"sqlite:///{database}",
        HOST="127.0.0.1",
        PORT=str(tg.free_port()),
        PUENTE_LOG_LEVEL="WARNING",
        PUENTE_SEMANTIC="true" if semantic else "false",
    )
    return env


def wait_until_up(base: str, process: object, log: Path) -> None:
    deadline = time.monotonic() + tg.START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:  # type: ignore[attr-defined]
            raise RuntimeError(f"the bot exited:\n{tg.tail(log)}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as answer:
                if json.load(answer).get("whatsapp_sender") == "running":
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the bot did not start:\n{tg.tail(log)}")


def post(url: str, number: str, text: str, wamid: str, times: int) -> float:
    """Post one creator message (``times`` deliveries of the same webhook); ms to the first 200."""
    body = envelope(messages=[text_message(number, text, wamid)])
    started = time.monotonic()
    post_webhook(url, body)
    took = (time.monotonic() - started) * 1e3
    for _ in range(times - 1):
        post_webhook(url, body)
    return took


def inject(
    url: str, planned: Sequence[tuple[float, str, str]], times: int
) -> tuple[list[float], list[float]]:
    sent_at: list[float] = []
    futures = []
    start = time.monotonic()
    with ThreadPoolExecutor(POSTERS) as pool:
        for n, (due, number, text) in enumerate(planned):
            wait = start + due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            sent_at.append(time.monotonic())
            futures.append(pool.submit(post, url, number, text, f"wamid.BENCH{n:07d}", times))
    return sent_at, [f.result() for f in futures]


def drain(fake: FakeWhatsApp, numbers: set[str], expected: int) -> None:
    deadline = time.monotonic() + tg.DRAIN_CAP_S
    seen, progress_at = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = sum(1 for s in fake.sends if s.to in numbers)
        if count >= expected:
            time.sleep(tg.DUPLICATE_GRACE_S)
            return
        if count != seen:
            seen, progress_at = count, time.monotonic()
        elif time.monotonic() - progress_at > tg.STALL_TIMEOUT_S:
            return
        time.sleep(0.1)


def run(name: str, planned: list[tuple[float, str, str]], *, semantic: bool, hostile: bool) -> Row:
    numbers = {number for _, number, _ in planned}
    with tempfile.TemporaryDirectory(prefix="puente-bench-wa-") as folder, FakeWhatsApp() as fake:
        log_path = Path(folder) / "bot.log"
        env = environment(fake, Path(folder) / "bench.db", semantic=semantic)
        base = f"http://127.0.0.1:{env['PORT']}"
        url = base + "/whatsapp/webhook"
        with log_path.open("wb") as log, tg.bot_process(env, log) as process:
            wait_until_up(base, process, log_path)
            for number, (text, _) in zip(WARMUP_NUMBERS, tg.WARMUP, strict=True):
                post(url, number, text, f"wamid.WARM{number}", 1)
            for number in WARMUP_NUMBERS:
                fake.wait_for_sends(number, 1, timeout=tg.START_TIMEOUT_S)
            if hostile:
                fake.fail_every(10, Fault(429, 130429, retry_after=0.5))
            sent_at, acks = inject(url, planned, 2 if hostile else 1)
            drain(fake, numbers, len(planned))
            tg.stop_process(process)
        lead_pieces, final = delivered_rows(Path(folder) / "bench.db", numbers)
    latencies: list[float] = []
    lost = extra = 0
    for number in numbers:
        times = [at for (_, n, _), at in zip(planned, sent_at, strict=True) if n == number]
        replies = sorted(s.at for s in fake.sends if s.to == number and s.wamid in final)
        latencies.extend((r - t) * 1e3 for t, r in zip(times, replies, strict=False))
        lost += max(0, len(times) - len(replies))
        extra += max(0, len(replies) - len(times))
    ours = [s for s in fake.sends if s.to in numbers]
    duplicated = len(ours) - sum(1 for s in ours if s.wamid in final) - lead_pieces
    return Row(name, len(planned), latencies, acks, lost, duplicated, extra, fake.refused)


def delivered_rows(database: Path, numbers: set[str]) -> tuple[int, set[str]]:
    """From the bot's database: how many leading pieces its delivered replies took (texts
    split before an interactive body), and the wamids of their last pieces. A send that is
    neither was a duplicate."""
    engine = make_engine(f"sqlite:///{database}", check_schema=False)
    with Session(engine) as session:
        rows = session.exec(
            select(Message)
            .join(Conversation, col(Conversation.id) == Message.conversation_id)
            .where(
                Message.direction == Direction.OUT,
                col(Message.delivered_at).is_not(None),
                col(Conversation.chat_id).in_(numbers),
            )
        ).all()
    engine.dispose()
    pieces = 0
    for row in rows:
        suggestions = [Suggestion(**s) for s in json.loads(row.suggestions)]
        pieces += len(bodies(row.text, suggestions, "x")) - 1
    return pieces, {str(r.platform_message_id) for r in rows}


def telegram_row(args: argparse.Namespace) -> Row:
    outcome = tg.run(args.creators, args.messages, args.rate, semantic=args.semantic, seed=tg.SEED)
    # bench.telegram counts every reply beyond one per message as duplicated
    return Row("telegram (baseline)", outcome.messages, outcome.latencies_ms, [],
               outcome.lost, 0, outcome.duplicated, outcome.failed_calls)  # fmt: skip


def table(rows: Sequence[Row], rate: float) -> list[str]:
    lines = [
        f"{'run':<22} {'msgs':>5} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} "
        f"{'ack p95':>8} {'lost':>5} {'dup':>4} {'extra':>6} {'refused':>8}",
    ]
    for row in rows:
        lat = row.latencies_ms
        lines.append(
            f"{row.name:<22} {row.messages:>5} {row.p(lat, 50):>7} {row.p(lat, 95):>7} "
            f"{(f'{max(lat):.0f}' if lat else '-'):>7} {row.p(row.ack_ms, 95):>8} "
            f"{row.lost:>5} {row.duplicated:>4} {row.extra:>6} {row.refused_sends:>8}"
        )
    lines.append(f"offered rate {rate:g} messages/s; target p95 ≤ {tg.TARGET_P95_MS:.0f} ms, "
                 "lost = duplicated = 0")  # fmt: skip
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.whatsapp")
    parser.add_argument("--creators", type=int, default=50)
    parser.add_argument("--messages", type=int, default=6, help="messages per creator")
    parser.add_argument("--rate", type=float, default=tg.TARGET_RATE)
    parser.add_argument("--no-semantic", dest="semantic", action="store_false")
    parser.add_argument("--no-telegram", dest="telegram", action="store_false")
    args = parser.parse_args(argv)
    planned = schedule(args.creators, args.messages, args.rate, tg.SEED)
    rows = [
        run("whatsapp", planned, semantic=args.semantic, hostile=False),
        run("whatsapp, hostile", planned, semantic=args.semantic, hostile=True),
    ]
    if args.telegram:
        rows.append(telegram_row(args))
    print("\n".join(table(rows, args.rate)))
    return 0 if all(r.lost == r.duplicated == 0 for r in rows[:2]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
