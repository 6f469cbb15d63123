"""Load benchmark of the production shape: several ``puente serve`` processes on one PostgreSQL.

Run from the repository root: ``python -m bench.load [--creators 500] [--messages 20]
[--escalate 0.1] [--web 2] [--no-baseline] [--no-semantic]``: 2 web and 2 worker processes.

This process hosts the local Telegram Bot API server and the Slack Web API fake
(``tests/fakes``) and plays the creators and the agents. Puente runs as separate processes,
as deployed (``PROCESSES``), against a fresh PostgreSQL database migrated by ``puente
migrate``. Telegram allows one ``getUpdates`` consumer per bot token, so the web processes
run in webhook mode and the fake pushes updates round-robin to them, like a load balancer in
front of several web processes.

Each creator writes, waits for the bot's reply, reads (``--think`` seconds, so the one-message-
a-second-per-chat pacing isn't what is measured) and writes again. ``--escalate`` of the
creators end by asking for a person: the case card appears in Slack, the simulated agent takes
it and replies in its thread, and that reply must reach the creator on Telegram. Creators ask
the shipped KB's questions; a few of its variants tell of an incident ("me hackearon la
cuenta", "alguien me está acosando en mis lives"), and a creator who sends one is due a case
too (``DISCLOSURE``). Both kinds of case are planned; any other case is unplanned, and the
report prints why each case opened (triage P1/P2 and category, asked for a person, KB misses).

Lost: a creator's message not stored, or a reply stored but never received; duplicated: a reply
received more often than stored (or a case card posted twice). Both must be 0. Latency: the
fake's receive time of the first reply after a creator's message minus the time the message was
queued for pushing, both ``time.monotonic()`` in this process. A baseline with one web process
runs first, with the same load, unless ``--no-baseline``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, func, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from handlers.kb.files import read_kb_file
from handlers.kb.source import SHIPPED_KB
from handlers.storage.db import make_engine, normalise_url
from handlers.storage.models import Conversation, Direction, Escalation, Message
from handlers.triage.reasons import ASKED_FOR_PERSON, NO_KB_ANSWER
from tests.fakes.slack_api import FAKE_BOT_TOKEN, FakeSlack
from tests.fakes.slack_signing import (
    SIGNING_SECRET,
    block_actions,
    event_payload,
    message_event,
    post_signed,
)
from tests.fakes.telegram_api import Call, FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261125
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DATABASE = "puente_load"
QUEUE, AGENT = "C0LOAD", "U0LOADAGENT"
FIRST_CHAT = 720_000_000
ESCALATION_TEXT = "quiero hablar con una persona del equipo, por favor"
AGENT_TEXT = "Hola, soy Lucía del equipo de soporte: ya estoy revisando tu caso."
WEBHOOK_SECRET = "puente-load-webhook-secret"
HUMAN_WORDS = re.compile(r"agente|persona|humano|soporte|agent|person|human|support", re.I)
# The KB's variants in which a creator tells of an incident that happened to them (account
# hacked, stolen or used by someone else, harassment, bullying, a scam): a support lead opens a
# case for each, so the workload plans one. How-to variants ("¿cómo recupero una cuenta
# robada?", "¿cómo denuncio a un usuario?") plan none. Read off the shipped KB, not off triage.
DISCLOSURE = re.compile(
    r"^(?!.*\b(?:c[oó]mo|how)\b).*(?:hacke|robaron|stolen"
    r"|alguien (?:m[aá]s )?(?:entr[oó]|est[aá] usando)|someone (?:else is using|got into)"
    r"|acosando|harassing|bullying|me estaf[oó])",
    re.I,
)
AGENT_DELAY_S = 1.0  # an agent reads the card before acting (and its thread exists by then)
REPLY_TIMEOUT_S = 30.0
CARD_NAME = re.compile(r"Creator (\d+)")
START_TIMEOUT_S = 240.0

# The processes of one run, by role: ``puente <args>``; web processes get a port and a webhook
# (``--web`` sets how many; the workers fire SLA timers, pages and nudges).
PROCESSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("web", ("serve",)),
    ("web", ("serve",)),
    ("worker", ("worker",)),
    ("worker", ("worker",)),
)


@dataclass
class Creator:
    chat: int
    texts: list[str]
    escalates: bool  # asks for a person at the end
    discloses: bool = False  # tells of an incident (see DISCLOSURE): a case is due
    sent: int = 0
    sent_at: float = 0.0
    waiting: bool = False
    latencies: list[float] = field(default_factory=list)
    unanswered: int = 0
    escalated: bool = False  # a case was opened: the creator now waits for the agent
    agent_replied: bool = False

    @property
    def plans_case(self) -> bool:
        return self.escalates or self.discloses


@dataclass
class Outcome:
    web: int
    creators: int
    messages: int
    seconds: float
    latencies: list[float]
    escalations: int
    planned: int
    unplanned: int  # cases of creators who neither asked for a person nor told of an incident
    agent_replies: int
    unanswered: int
    lost: int
    duplicated: int
    out_of_order: int
    why: Counter[str] = field(default_factory=Counter)  # why each case opened

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies, q)) if self.latencies else float("nan")


# -- the database and the processes ------------------------------------------------------------


def fresh_database(admin_url: str) -> str:
    """Drop and create the benchmark's database; its URL."""
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    url = normalise_url(admin_url).rsplit("/", 1)[0] + f"/{DATABASE}"
    subprocess.run([sys.executable, "-m", "bot", "migrate"], env={**os.environ,
                   "DATABASE_URL": url}, cwd=ROOT, check=True, capture_output=True)  # fmt: skip
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def processes(
    roles: Sequence[tuple[str, tuple[str, ...]]],
    env: dict[str, str],
    logs: Path,
) -> Iterator[list[str]]:
    """Start every process; yields the web processes' base URLs; SIGTERM (then KILL) at the end."""
    started: list[subprocess.Popen[bytes]] = []
    bases: list[str] = []
    try:
        for n, (role, args) in enumerate(roles):
            own = dict(env)
            if role == "web":
                port = free_port()
                base = f"http://127.0.0.1:{port}"
                own.update(PORT=str(port), TELEGRAM_WEBHOOK_URL=f"{base}/telegram/webhook")
                bases.append(base)
            with (logs / f"{role}-{n}.log").open("wb") as log:
                command = [sys.executable, "-m", "bot", *args]
                started.append(subprocess.Popen(command, cwd=ROOT, env=own, stdout=log,
                                                stderr=subprocess.STDOUT))  # fmt: skip
        yield bases
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


def environment(
    url: str, telegram: FakeTelegram, slack: FakeSlack, *, semantic: bool, triage: bool
) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "HOST": "127.0.0.1",
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_BASE_URL": telegram.base_url,
        "TELEGRAM_BASE_FILE_URL": telegram.base_file_url,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        # Telegram's own ~30 messages/s per bot isn't modelled by the fake; this measures Puente
        "TELEGRAM_MAX_PER_SECOND": "1000",
        "SLACK_BOT_TOKEN": FAKE_BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "SLACK_ESCALATION_CHANNEL": QUEUE,
        "SLACK_AGENTS": AGENT,
        "PUENTE_SEMANTIC": "true" if semantic else "false",
        "PUENTE_TRIAGE": "true" if triage else "false",
        "PUENTE_LOG_LEVEL": "WARNING",
    }


# -- the creators and the agent -----------------------------------------------------------------


def questions() -> list[str]:
    """What creators ask: the shipped KB's own question variants (Spanish and English), less
    those asking for a person (only the planned share of creators escalates)."""
    return [
        q for row in read_kb_file(SHIPPED_KB) for q in row.questions if not HUMAN_WORDS.search(q)
    ]


def make_creators(count: int, per_creator: int, escalate: float, seed: int) -> list[Creator]:
    rng = random.Random(seed)
    pool = questions()
    escalating = set(rng.sample(range(count), round(count * escalate)))
    creators = []
    for n in range(count):
        texts = [rng.choice(pool) for _ in range(per_creator)]
        if n in escalating:
            texts[-1] = ESCALATION_TEXT
        discloses = any(DISCLOSURE.search(text) for text in texts)
        creators.append(Creator(FIRST_CHAT + n, texts, n in escalating, discloses))
    return creators


class Crowd:
    """Creators taking turns: each writes once its previous message was answered (or timed
    out) and its think time passed; driven by the fake's call listener and one timer thread."""

    def __init__(self, telegram: FakeTelegram, creators: list[Creator], think: float) -> None:
        self.telegram = telegram
        self.by_chat = {c.chat: c for c in creators}
        self.think = think
        self.rng = random.Random(SEED)
        self.lock = threading.Lock()
        self.due: list[tuple[float, int]] = [(time.monotonic(), c.chat) for c in creators]
        self.done = threading.Event()

    def on_call(self, call: Call) -> None:
        if call.method != "sendMessage" or not call.ok or not isinstance(call.chat_id, int):
            return
        creator = self.by_chat.get(call.chat_id)
        if creator is None:
            return
        with self.lock:
            if AGENT_TEXT in (call.text or ""):
                creator.agent_replied = True
            elif creator.waiting:
                creator.waiting = False
                creator.latencies.append(call.at - creator.sent_at)
                self._schedule(creator)

    def case_opened(self, chat: int) -> None:
        """A card for this creator reached Slack: from now on the agent answers, not the bot
        (triage or two misses may open cases besides the planned ones)."""
        creator = self.by_chat.get(chat)
        if creator is None:
            return
        with self.lock:
            creator.escalated, creator.waiting = True, False
            creator.texts = creator.texts[: creator.sent]

    def _schedule(self, creator: Creator) -> None:
        if creator.sent < len(creator.texts) and not creator.escalated:
            pause = self.think * (0.5 + self.rng.random())
            self.due.append((time.monotonic() + pause, creator.chat))

    def run(self) -> None:
        while not self.done.is_set():
            now = time.monotonic()
            with self.lock:
                ready = [chat for at, chat in self.due if at <= now]
                self.due = [(at, chat) for at, chat in self.due if at > now]
                for creator in self.by_chat.values():
                    if creator.waiting and now - creator.sent_at > REPLY_TIMEOUT_S:
                        creator.waiting, creator.unanswered = False, creator.unanswered + 1
                        self._schedule(creator)
            for chat in ready:
                self._send(self.by_chat[chat])
            time.sleep(0.01)

    def _send(self, creator: Creator) -> None:
        with self.lock:
            if creator.sent >= len(creator.texts):  # its case opened since it was scheduled
                return
            creator.waiting, creator.sent_at = True, time.monotonic()
            text = creator.texts[creator.sent]
            creator.sent += 1
        self.telegram.user_sends(creator.chat, text, first_name=f"Creator {creator.chat}")

    def finished(self) -> bool:
        with self.lock:
            return all(
                (c.sent == len(c.texts) or c.escalated) and not c.waiting
                for c in self.by_chat.values()
            )


def agent_desk(slack: FakeSlack, bases: list[str], crowd: Crowd, stop: threading.Event) -> None:
    """The simulated agent: a second after a case card appears it takes the case, a second
    later it replies in the card's thread (as people do: never within the same millisecond)."""
    plans: dict[str, tuple[float, str, str]] = {}  # card ts → (when, next step, case id)
    turn = itertools.count()
    while not stop.is_set():
        for card in slack.posted(QUEUE):
            ts = card["ts"]
            if card.get("thread_ts") not in (None, ts) or ts in plans:
                continue
            if name := CARD_NAME.search(card.get("text", "")):
                crowd.case_opened(int(name.group(1)))
            case = next(
                (e["value"] for b in card.get("blocks", []) for e in b.get("elements", [])
                 if e.get("action_id") == "case_take"), None,
            )  # fmt: skip
            if case is not None:
                plans[ts] = (time.monotonic() + AGENT_DELAY_S, "take", case)
        for ts, (when, step, case) in list(plans.items()):
            if step == "done" or when > time.monotonic():
                continue
            url = f"{bases[next(turn) % len(bases)]}/slack/events"
            with contextlib.suppress(OSError):  # a process stopping at the end of the run
                if step == "take":
                    post_signed(url, *block_actions("case_take", case, user_id=AGENT,
                                                    channel_id=QUEUE, message_ts=ts))  # fmt: skip
                else:
                    event = message_event(AGENT_TEXT, user=AGENT, channel=QUEUE, thread_ts=ts)
                    post_signed(url, *event_payload(event))
            following = "reply" if step == "take" else "done"
            plans[ts] = (time.monotonic() + AGENT_DELAY_S, following, case)
        stop.wait(0.2)


# -- one run --------------------------------------------------------------------------------------


def wait_up(telegram: FakeTelegram, webs: int, logs: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while telegram.call_count("setWebhook") < webs:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the web processes did not start; see {logs}")
        time.sleep(0.1)


def run(args: argparse.Namespace, web: int) -> Outcome:
    creators = make_creators(args.creators, args.messages, args.escalate, SEED)
    url = fresh_database(args.database_url)
    roles = [r for r in PROCESSES if r[0] != "web"] + [("web", ("serve",))] * web
    with tempfile.TemporaryDirectory(prefix="puente-load-") as folder, FakeTelegram() as telegram, \
            FakeSlack() as slack:  # fmt: skip
        slack.add_user(AGENT, "lucia", real_name="Lucía Agente")
        env = environment(url, telegram, slack, semantic=args.semantic, triage=args.triage)
        with processes(roles, env, Path(folder)) as bases:
            wait_up(telegram, web, Path(folder))
            crowd = Crowd(telegram, creators, args.think)
            telegram.on_call(crowd.on_call)
            telegram.push_updates([f"{b}/telegram/webhook" for b in bases], connections=16)
            stop = threading.Event()
            desk = threading.Thread(
                target=agent_desk, args=(slack, bases, crowd, stop), daemon=True
            )
            desk.start()
            started = time.monotonic()
            driver = threading.Thread(target=crowd.run, daemon=True)
            driver.start()
            while not crowd.finished():
                time.sleep(0.2)
            deadline = time.monotonic() + REPLY_TIMEOUT_S
            while time.monotonic() < deadline and not all(
                c.agent_replied for c in creators if c.escalated
            ):
                time.sleep(0.2)
            seconds = time.monotonic() - started
            crowd.done.set()
            settle(url)
            stop.set()
        engine = make_engine(url)
        try:
            return account(engine, telegram, slack, creators, web, seconds)
        finally:
            engine.dispose()


def settle(url: str, timeout: float = 30.0) -> None:
    """Give the senders time to empty the outboxes before the processes stop."""
    engine = make_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with Session(engine) as session:
                waiting = session.exec(
                    select(func.count(col(Message.id))).where(
                        Message.direction == Direction.OUT,
                        col(Message.delivered_at).is_(None),
                        col(Message.failed_at).is_(None),
                    )
                ).one()
            if not waiting:
                return
            time.sleep(0.2)
    finally:
        engine.dispose()


def account(
    engine: Engine,
    telegram: FakeTelegram,
    slack: FakeSlack,
    creators: list[Creator],
    web: int,
    seconds: float,
) -> Outcome:
    stored_in: Counter[str] = Counter()
    stored_out: dict[str, list[str]] = defaultdict(list)
    with Session(engine) as session:
        rows = session.exec(
            select(Conversation.chat_id, Message.direction, Message.text)
            .join(Conversation, col(Conversation.id) == Message.conversation_id)
            .order_by(col(Message.id))
        ).all()
        escalations = session.exec(select(func.count(col(Escalation.id)))).one()
        cases = session.exec(
            select(
                Conversation.chat_id, Escalation.priority, Escalation.category, Escalation.reason
            ).join(Conversation, col(Conversation.id) == Escalation.conversation_id)
        ).all()
    planning = {str(c.chat): c.plans_case for c in creators}
    why = Counter(
        f"{'planned' if planning.get(chat) else 'UNPLANNED'}: {why_opened(*case)}"
        for chat, *case in cases
    )
    for chat, direction, body in rows:
        if direction == Direction.IN:
            stored_in[chat] += 1
        else:
            stored_out[chat].append(body)
    lost = duplicated = out_of_order = 0
    for creator in creators:
        chat = str(creator.chat)
        lost += max(0, creator.sent - stored_in[chat])
        got = telegram.texts_to(creator.chat)
        expected = stored_out[chat]
        lost += sum((Counter(expected) - Counter(got)).values())
        duplicated += sum((Counter(got) - Counter(expected)).values())
        out_of_order += got != expected and Counter(got) == Counter(expected)
    cards = [m for m in slack.posted(QUEUE) if m.get("thread_ts") in (None, m["ts"])]
    duplicated += max(0, len(cards) - int(escalations))
    lost += max(0, int(escalations) - len(cards))
    return Outcome(
        web=web,
        creators=len(creators),
        messages=sum(c.sent for c in creators),
        seconds=seconds,
        latencies=[x * 1e3 for c in creators for x in c.latencies],
        escalations=int(escalations),
        agent_replies=sum(c.agent_replied for c in creators),
        planned=sum(c.plans_case for c in creators),
        unplanned=sum(not planning.get(chat) for chat, *_ in cases),
        unanswered=sum(c.unanswered for c in creators),
        lost=lost,
        duplicated=duplicated,
        out_of_order=out_of_order,
        why=why,
    )


def why_opened(priority: str, category: str, reason: str) -> str:
    """Why a case opened: triage (P1/P2 and its category), a request for a person, KB misses."""
    if ASKED_FOR_PERSON in reason or category == "human_request":
        return "asked for a person"
    if NO_KB_ANSWER in reason:
        return "KB misses"
    if priority in ("P1", "P2"):
        return f"triage {priority} {category}"
    return f"other {priority} {category}"


def why_table(results: Sequence[Outcome]) -> list[str]:
    lines = []
    for r in results:
        share = 100.0 * r.unplanned / r.planned if r.planned else 0.0
        lines.append(
            f"cases with {r.web} web: {r.escalations}, planned {r.planned} (asked for a person "
            f"or told of an incident), unplanned {r.unplanned} ({share:.0f} % of planned; "
            f"target < 10 %)"
        )
        lines += [f"  {count:>4}  {cause}" for cause, count in r.why.most_common()]
    return lines


# -- the report -----------------------------------------------------------------------------------


def table(results: Sequence[Outcome]) -> list[str]:
    header = (
        f"{'web':>3} {'creators':>8} {'messages':>8} {'seconds':>8} {'msg/s':>7} "
        f"{'p50 ms':>8} {'p95 ms':>8} {'cases (planned)':>15} {'agent→creator':>13} "
        f"{'unanswered':>10} {'lost':>4} {'dup':>4} {'order':>5}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r.web:>3} {r.creators:>8} {r.messages:>8} {r.seconds:>8.1f} "
            f"{r.messages / r.seconds:>7.1f} {r.percentile(50):>8.0f} {r.percentile(95):>8.0f} "
            f"{f'{r.escalations} ({r.planned})':>15} {r.agent_replies:>13} {r.unanswered:>10} "
            f"{r.lost:>4} {r.duplicated:>4} {r.out_of_order:>5}"
        )
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--creators", type=int, default=500)
    parser.add_argument("--messages", type=int, default=20, help="messages per creator")
    parser.add_argument("--escalate", type=float, default=0.1, help="share of creators")
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds between turns")
    parser.add_argument("--web", type=int, default=2, help="web processes")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false",
                        help="skip the one-web-process run")  # fmt: skip
    parser.add_argument("--no-semantic", dest="semantic", action="store_false")
    parser.add_argument("--no-triage", dest="triage", action="store_false",
                        help="only the planned share of creators opens cases")  # fmt: skip
    parser.add_argument("--database-url", default=ADMIN_URL,
                        help=f"PostgreSQL server (database {DATABASE} is recreated)")  # fmt: skip
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    runs = ([1] if args.baseline and args.web != 1 else []) + [args.web]
    results = [run(args, web) for web in runs]
    load = os.getloadavg()[0]
    print(f"bench.load: {args.creators} creators x {args.messages} messages, "
          f"{args.escalate:.0%} escalating, triage {'on' if args.triage else 'off'}, "
          f"{sum(r == 'worker' for r, _ in PROCESSES)} workers; PostgreSQL; "
          f"{os.cpu_count()} cores, "
          f"load average {load:.1f} at the end")  # fmt: skip
    print("\n".join(table(results)))
    print("\n".join(why_table(results)))
    clean = all(r.lost == 0 and r.duplicated == 0 for r in results)
    print(f"lost = duplicated = 0: {'yes' if clean else 'NO'}")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
