"""Which reply answers which update, from the bot's own database and the fake's record of calls.

A turn stores the creator's message and its replies in one transaction, one chat at a time, so
a chat's outbound rows between inbound message k and k+1 are message k's replies. Each outbound
row records the platform message id Telegram gave it, which ties it to one ``sendMessage`` the
fake received. That gives the three counts the benchmarks report:

- answered: at least one of the update's replies reached the fake (latency: the first one);
- duplicated: a ``sendMessage`` beyond the outbox rows with that text in that chat (the same
  outgoing message sent twice), whichever update it answers;
- lost: an update not stored, or stored with replies none of which arrived, or stored without
  replies and no reason to be silent (no case for the chat, not over the flood limit).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine
from sqlmodel import Session, col, select

from handlers.common.text import split_text
from handlers.storage.models import Conversation, Direction, Escalation, Message
from tests.fakes.telegram_api import Call

MAX_TEXT = 4096
FLOOD_MESSAGES = 10  # the conversation policy defaults: over 10 in 10 s is stored, not answered
FLOOD_WINDOW = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class Injected:
    """One creator update as the bench sent it."""

    chat_id: int
    message_id: int
    at: float


@dataclass(slots=True)
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    answered: int = 0
    lost: int = 0
    duplicated: int = 0
    silent: Counter[str] = field(default_factory=Counter)  # deliberate silence, by reason
    reply_texts: list[str] = field(default_factory=list)  # delivered replies' texts


def tally(database: Path, injected: Sequence[Injected], calls: Iterable[Call]) -> Tally:
    sent = [c for c in calls if c.method == "sendMessage" and c.ok]
    by_id = {(_chat(c), int(c.result["message_id"])): c for c in sent}
    engine = create_engine(f"sqlite:///{database}")
    try:
        with Session(engine) as session:
            rows = _messages_by_chat(session, {i.chat_id for i in injected})
            with_case = _chats_with_case(session)
    finally:
        engine.dispose()
    result = Tally(duplicated=_duplicates(sent, rows))
    for update in injected:
        _account(result, update, rows.get(update.chat_id, []), update.chat_id in with_case, by_id)
    return result


def _account(
    result: Tally,
    update: Injected,
    chat_rows: list[Message],
    has_case: bool,
    by_id: dict[tuple[int, int], Call],
) -> None:
    replies, inbound = _replies_to(chat_rows, update.message_id)
    if inbound is None:
        result.lost += 1
        return
    arrived = [
        by_id[(update.chat_id, int(r.platform_message_id))]
        for r in replies
        if r.platform_message_id and (update.chat_id, int(r.platform_message_id)) in by_id
    ]
    if arrived:
        result.answered += 1
        result.latencies_ms.append((min(c.at for c in arrived) - update.at) * 1e3)
        result.reply_texts.extend(str(c.params.get("text") or "") for c in arrived)
    elif replies:
        result.lost += 1  # stored replies that never reached the platform
    elif _flooding(chat_rows, inbound):
        result.silent["flood"] += 1
    elif has_case:
        result.silent["case open"] += 1
    else:
        result.lost += 1


def _messages_by_chat(session: Session, chats: set[int]) -> dict[int, list[Message]]:
    found: dict[int, list[Message]] = defaultdict(list)
    query = (
        select(Conversation.chat_id, Message)
        .join(Conversation, col(Conversation.id) == Message.conversation_id)
        .where(Conversation.platform == "telegram")
        .order_by(col(Message.id))
    )
    for chat_id, message in session.exec(query).all():
        if chat_id.lstrip("-").isdigit() and int(chat_id) in chats:
            found[int(chat_id)].append(message)
    return found


def _chats_with_case(session: Session) -> set[int]:
    query = select(Conversation.chat_id).join(
        Escalation, col(Escalation.conversation_id) == Conversation.id
    )
    return {int(c) for c in session.exec(query).all() if c.lstrip("-").isdigit()}


def _replies_to(rows: list[Message], message_id: int) -> tuple[list[Message], Message | None]:
    """The outbound rows stored after this inbound message and before the chat's next one."""
    for index, row in enumerate(rows):
        if row.direction == Direction.IN and row.platform_message_id == str(message_id):
            replies = []
            for later in rows[index + 1 :]:
                if later.direction == Direction.IN:
                    break
                replies.append(later)
            return replies, row
    return [], None


def _flooding(rows: list[Message], inbound: Message) -> bool:
    since = _at(inbound) - FLOOD_WINDOW
    recent = [r for r in rows if r.direction == Direction.IN and since < _at(r) <= _at(inbound)]
    return len(recent) > FLOOD_MESSAGES


def _at(row: Message) -> datetime:
    return row.created_at.replace(tzinfo=None)


def _duplicates(sent: list[Call], rows: dict[int, list[Message]]) -> int:
    """Calls beyond what the outbox holds, per chat and text (long replies count per piece)."""
    expected: Counter[tuple[int, str]] = Counter()
    for chat, chat_rows in rows.items():
        for row in chat_rows:
            if row.direction == Direction.OUT:
                expected.update((chat, piece or "…") for piece in _pieces(row.text))
    received = Counter((_chat(c), str(c.params.get("text") or "")) for c in sent)
    return sum(max(0, n - expected[key]) for key, n in received.items() if key[0] in rows)


def _chat(call: Call) -> int:
    return int(str(call.chat_id or 0))


def _pieces(text: str, split: Callable[[str, int], list[str]] = split_text) -> list[str]:
    return split(text, MAX_TEXT) if text else [""]
