"""Telegram deliveries out: one task per chat sends its replies in order, at most one message a
second per private chat (three seconds per group), 30 a second overall, honouring 429
``retry_after`` and backing off on network errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from aiolimiter import AsyncLimiter
from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.adapters.base import FileFetchers
from bot.adapters.telegram.config import PLATFORM
from bot.adapters.telegram.keyboards import keyboard
from bot.adapters.telegram.pool import DatabasePool
from bot.render import for_creator
from handlers.common.text import split_text
from handlers.common.utc import as_utc
from handlers.contract.messages import Attachment
from handlers.delivery.outbox import Outbound, Outbox

log = logging.getLogger("bot.adapters.telegram")

MAX_TEXT = 4096
PRIVATE_SPACING = 1.0
GROUP_SPACING = 3.0
IDLE_CHECK_SECONDS = 1.0
DEFAULT_FILE_NAME = "archivo"
Record = Callable[[], object]


class TelegramSender:
    def __init__(
        self,
        bot: Bot,
        outbox: Outbox,
        database: DatabasePool,
        *,
        clock: Callable[[], datetime],
        files: FileFetchers,
        max_per_second: float,
    ) -> None:
        self.bot = bot
        self.outbox = outbox
        self.database = database
        self.clock = clock
        self.files = files
        self.stopping = False
        self._global = AsyncLimiter(max_per_second, 1)
        self._last_sent: dict[str, float] = {}
        self.chat_tasks: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._expected: dict[str, int] = {}  # chat → outbound messages known to be waiting
        self._hints: dict[str, int] = {}  # chat → how often new messages were announced

    def wake(self) -> None:
        self._wake.set()

    async def deliver_forever(self) -> None:
        while not self.stopping:
            self._wake.clear()  # before looking, so a wake-up during the query isn't lost
            try:
                chats = await self.database.run(self.outbox.chats_waiting, platform=PLATFORM)
            except Exception:
                log.exception("telegram: could not read the outbox; retrying")
                chats = []
            self.chat_tasks = {c: t for c, t in self.chat_tasks.items() if not t.done()}
            for chat_id in chats:
                self.drain_soon(chat_id)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_CHECK_SECONDS)

    def drain_soon(self, chat_id: str | None, new: int = 1) -> None:
        """Deliver one chat's waiting messages now, or tell its running delivery that ``new``
        more are waiting (the periodic scan of the whole outbox catches anything else)."""
        if chat_id is None:
            self._wake.set()
            return
        self._expected[chat_id] = self._expected.get(chat_id, 0) + new
        self._hints[chat_id] = self._hints.get(chat_id, 0) + 1
        task = self.chat_tasks.get(chat_id)
        if task is None or task.done():
            self.chat_tasks[chat_id] = asyncio.create_task(self._drain(chat_id))

    async def _drain(self, chat_id: str) -> None:
        """Send one chat's messages in order, each only after the previous one arrived.

        After a delivery the outbox is read again only while more messages are known to be
        waiting (a turn's second reply, an announcement during the send): the usual turn, one
        reply, costs one read instead of two. A delivery is marked at once
        (:meth:`DatabasePool.mark`).
        """
        item = await self._next(chat_id)
        while item is not None and not self.stopping:
            if item.not_before is not None:
                wait = (as_utc(item.not_before) - self.clock()).total_seconds()
                if wait > 0:
                    await asyncio.sleep(wait)
            record, delivered = await self._send(item)
            if not delivered:
                item = await self._next(chat_id, record)
                continue
            await self.database.mark(record)
            self._expected[chat_id] = max(self._expected.get(chat_id, 0) - 1, 0)
            item = await self._next(chat_id) if self._expected.get(chat_id) else None
            if item is None:
                self._settle(chat_id)

    async def _next(self, chat_id: str, record: Record | None = None) -> Outbound | None:
        """The chat's oldest waiting message (after recording the last attempt, in the same
        trip to the database pool); None settles the chat: nothing is expected any more,
        unless a new message was announced while the outbox was being read."""
        while True:
            hints = self._hints.get(chat_id, 0)
            item = await self.database.run(self._record_then_next, record, chat_id)
            if item is not None:
                return item
            record = None
            if self._hints.get(chat_id, 0) == hints:
                self._settle(chat_id)
                return None

    def _settle(self, chat_id: str) -> None:
        self._expected.pop(chat_id, None)
        self._hints.pop(chat_id, None)

    async def _send(self, item: Outbound) -> tuple[Record, bool]:
        """Deliver one message: what to record about it (to run on the database pool), and
        whether it was delivered."""
        try:
            sent = await self._send_pieces(item)
        except RetryAfter as exc:
            wait = timedelta(seconds=seconds(exc.retry_after))
            return partial(self.outbox.retry_later, item.id, after=wait, error="429"), False
        except (Forbidden, BadRequest) as exc:
            log.warning("telegram: message %s refused: %s", item.id, type(exc).__name__)
            return partial(self.outbox.give_up, item.id, error=str(exc)), False
        except NetworkError as exc:
            error = type(exc).__name__
            return partial(self.outbox.retry_later, item.id, after=None, error=error), False
        sent_as = str(sent.message_id)
        return partial(self.outbox.delivered, item.id, platform_message_id=sent_as), True

    def _record_then_next(self, record: Record | None, chat_id: str) -> Outbound | None:
        """The attempt's outcome and the chat's next message in one trip to the database
        pool (two short transactions: the mark is committed before the next is read)."""
        if record is not None:
            record()
        return self.outbox.next_for(platform=PLATFORM, chat_id=chat_id)

    async def _send_pieces(self, item: Outbound) -> Message:
        """Files first, then the text (long texts as several messages, the keyboard on the
        last one)."""
        sent: Message | None = None
        for attachment in item.attachments:
            sent = await self._send_file(item.chat_id, attachment) or sent
        text = for_creator(item.text, PLATFORM) if item.from_agent else item.text
        pieces = split_text(text, MAX_TEXT) if text or sent is None else []
        for number, piece in enumerate(pieces, start=1):
            await self._pace(item.chat_id)
            markup = keyboard(item) if number == len(pieces) else None
            sent = await self.bot.send_message(
                chat_id=int(item.chat_id), text=piece or "…", reply_markup=markup
            )
        assert sent is not None
        return sent

    async def _send_file(self, chat_id: str, attachment: Attachment) -> Message | None:
        """An agent's file, fetched from the agents' platform and sent as a photo or document."""
        fetch = self.files.get(attachment.source or "")
        data = await fetch(attachment.platform_file_id) if fetch else None
        if not data:
            return None
        await self._pace(chat_id)
        if attachment.kind == "photo":
            return await self.bot.send_photo(chat_id=int(chat_id), photo=data)
        return await self.bot.send_document(
            chat_id=int(chat_id), document=data, filename=attachment.file_name or DEFAULT_FILE_NAME
        )

    async def _pace(self, chat_id: str) -> None:
        spacing = GROUP_SPACING if chat_id.startswith("-") else PRIVATE_SPACING
        last = self._last_sent.get(chat_id)
        if last is not None:
            wait = last + spacing - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        async with self._global:
            self._last_sent[chat_id] = time.monotonic()


def seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
