"""WhatsApp Cloud API adapter: webhooks in, Graph API calls out, through the same inbox and
outbox as the other platforms.

In: each message or status of a signed webhook is stored in the inbox (its wamid is the dedupe
key) before the 200; then handed to the core as one normalised message, and marked read.
Out: one task per number sends its rows in order, paced per number and overall, retrying 429s
(Graph code 130429) and 5xx with backoff; outside the 24-hour window rows are parked
(:mod:`.window`) and an agent's reply goes out as the approved template.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import httpx
from aiolimiter import AsyncLimiter
from starlette.routing import BaseRoute

from bot.adapters.base import RejectionCounter
from bot.adapters.whatsapp import render, window
from bot.adapters.whatsapp.config import WhatsAppConfig
from bot.adapters.whatsapp.graph import GraphClient, GraphError, GraphTarget
from bot.adapters.whatsapp.routes import webhook_routes
from bot.adapters.whatsapp.webhook import (
    Event,
    EventKind,
    events,
    to_incoming,
    valid_signature,
)
from bot.outage import REFUSALS
from handlers.api import Puente
from handlers.common.i18n import translator
from handlers.common.utc import as_utc
from handlers.contract.messages import Attachment, Platform
from handlers.delivery.inbox import Inbox
from handlers.delivery.outbox import Outbound, Outbox
from handlers.storage.db import retrying

log = logging.getLogger(__name__)
T = TypeVar("T")
PLATFORM = Platform.WHATSAPP.value
IDLE_CHECK_SECONDS = 1.0
RECOVER_SECONDS = 10.0
PARKED_AFTER = timedelta(hours=1)  # a retry time further ahead than this is a parked row
FileFetcher = Callable[[str], Awaitable[bytes | None]]


class WhatsAppAdapter:
    platform = Platform.WHATSAPP

    def __init__(
        self,
        puente: Puente,
        config: WhatsAppConfig,
        *,
        files: dict[str, FileFetcher] | None = None,
    ) -> None:
        self.puente = puente
        self.config = config
        self.files = files if files is not None else {}
        self.inbox = Inbox(puente.engine, puente.clock)
        lease = timedelta(seconds=config.claim_seconds)
        self.outbox = Outbox(puente.engine, puente.clock, lease=lease)
        target = GraphTarget(
            config.api_url, config.version, config.phone_number_id, config.access_token
        )
        self.graph = GraphClient(target)
        workers = 4 if puente.engine.dialect.name == "sqlite" else 8
        self._database = ThreadPoolExecutor(workers, thread_name_prefix="whatsapp-db")
        # storing a webhook's events never queues behind handling (Meta waits for the 200)
        self._intake = ThreadPoolExecutor(2, thread_name_prefix="whatsapp-intake")
        self._global = AsyncLimiter(config.max_per_second, 1)
        self._last_sent: dict[str, float] = {}
        self._last_in: dict[str, datetime] = {}
        self._parked: set[str] = set()
        self._seen: set[str] = set()
        self._again: set[str] = set()  # chats whose running delivery must read once more
        self._chat_locks: dict[str, asyncio.Lock] = {}
        self._chat_tasks: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Future[None]] = set()
        self._sender: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False

    # -- lifecycle ---------------------------------------------------------------------

    def routes(self, rejected: RejectionCounter) -> Sequence[BaseRoute]:
        return webhook_routes(self.config, self.receive_webhook, rejected)

    async def start(self) -> None:
        self._sender = asyncio.create_task(self._deliver_forever(), name="whatsapp-send")
        self._tasks.add(self._sender)
        self._tasks.add(asyncio.create_task(self._recover(), name="whatsapp-recover"))
        log.warning("whatsapp: started for phone number id %s", self.config.phone_number_id)

    async def stop(self) -> None:
        self._stopping = True
        tasks = [*self._tasks, *self._chat_tasks.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.graph.close()
        self._database.shutdown(wait=False)
        self._intake.shutdown(wait=False)
        log.warning("whatsapp: stopped")

    @property
    def sender_alive(self) -> bool:
        return self._sender is not None and not self._sender.done()

    def wake(self) -> None:
        self._wake.set()

    async def download(self, file_id: str) -> bytes | None:
        """A creator's file (its media id), for copying into the agents' thread."""
        return await self.graph.download(file_id)

    # -- in ------------------------------------------------------------------------------

    async def receive_webhook(self, signature: str | None, body: bytes) -> tuple[int, str]:
        """(HTTP status, short reason): 401 and nothing stored unless Meta signed the body."""
        if not valid_signature(self.config.app_secret, body, signature):
            return 401, "bad signature"
        try:
            found = events(body)
        except (ValueError, TypeError, UnicodeError):
            return 400, "not a WhatsApp webhook"
        for event in found:
            try:
                row = await self._db_on(
                    self._intake,
                    self.inbox.accept,
                    platform=PLATFORM,
                    key=event.key,
                    payload=json.dumps({"kind": event.kind, **event.payload}, ensure_ascii=False),
                )
            except Exception as exc:
                REFUSALS.refused(PLATFORM, exc)
                return 503, "storage unavailable"
            if row is not None:
                self._spawn(self._process(row, event))
        return 200, "ok"

    async def _recover(self) -> None:
        """Finish events stored but left unfinished (a crash, a database restart)."""
        before = None
        while not self._stopping:
            try:
                pending = await self._db(
                    self.inbox.pending, platform=PLATFORM, received_before=before
                )
                for item in pending:
                    await self._process(item.id, _stored_event(item.payload))
            except Exception:
                log.exception("whatsapp: could not finish stored events; retrying")
            await asyncio.sleep(RECOVER_SECONDS)
            before = self.puente.clock() - timedelta(seconds=RECOVER_SECONDS)

    async def _process(self, row: int, event: Event) -> None:
        chat = event.chat or "other"
        async with self._chat_lock(chat):
            if event.kind is EventKind.STATUS:
                await self._on_status(row, event)
                return
            try:
                incoming = to_incoming(event.payload)
            except (AttributeError, TypeError, ValueError, KeyError) as exc:  # hostile shapes
                log.warning(
                    "whatsapp: stored a message that can't be read (%s)", type(exc).__name__
                )
                await self._db(self.inbox.finish, row, error=f"unreadable: {type(exc).__name__}")
                return
            if incoming is None:  # a reaction or a kind Puente doesn't read: no answer
                await self._db(self.inbox.finish, row)
                return
            self._last_in[chat] = self.puente.clock()
            if chat in self._parked or chat not in self._seen:  # rows parked before a restart
                await self._db(window.unpark, self.puente.engine, chat)
                self._parked.discard(chat)
                self._seen.add(chat)
            try:
                call = partial(self.puente.handle_message, incoming, inbox_row=row)
                await self._db(retrying, call)
            except Exception as exc:
                log.exception("whatsapp: handling a message failed")
                await self._db(self.inbox.finish, row, error=type(exc).__name__)
                return
        self._spawn(self._mark_read(incoming.message_id))
        self._drain_soon(chat)

    async def _on_status(self, row: int, event: Event) -> None:
        if event.payload.get("status") == "failed":
            errors = event.payload.get("errors") or [{}]
            first = errors[0] if isinstance(errors, list) and errors else {}
            error = str(first.get("title") or first.get("code") or "failed")[:200]
            wamid = str(event.payload.get("id"))
            await self._db(window.failed_after_sending, self.puente.engine, wamid, error)
        await self._db(self.inbox.finish, row)

    async def _mark_read(self, message_id: str) -> None:
        with contextlib.suppress(GraphError, httpx.HTTPError):
            await self.graph.mark_read(message_id)

    def _chat_lock(self, chat: str) -> asyncio.Lock:
        return self._chat_locks.setdefault(chat, asyncio.Lock())

    # -- out -----------------------------------------------------------------------------

    async def _deliver_forever(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                chats = await self._db(self.outbox.chats_waiting, platform=PLATFORM)
            except Exception:
                log.exception("whatsapp: could not read the outbox; retrying")
                chats = []
            for chat in chats:
                self._drain_soon(chat)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_CHECK_SECONDS)

    def _drain_soon(self, chat: str) -> None:
        task = self._chat_tasks.get(chat)
        if task is None or task.done():
            self._chat_tasks[chat] = asyncio.create_task(self._drain(chat))
        else:  # its last read may have missed the new row: it reads once more before ending
            self._again.add(chat)

    async def _drain(self, chat: str) -> None:
        """One number's rows in order, each after the previous one was accepted."""
        record: Callable[[], object] | None = None
        while not self._stopping:
            self._again.discard(chat)
            item = await self._db(self._record_then_next, record, chat)
            record = None
            if item is None:
                if chat in self._again:
                    continue
                return
            if item.not_before is not None:
                wait = as_utc(item.not_before) - self.puente.clock()
                if wait > PARKED_AFTER:  # held for the window; park rows added since
                    await self._db(await self._outside_window(chat))
                    return
                if wait.total_seconds() > 0:
                    await asyncio.sleep(wait.total_seconds())
            record = await self._send(item)
        if record is not None:
            await self._db(record)

    def _record_then_next(self, record: Callable[[], object] | None, chat: str) -> Outbound | None:
        """The last attempt's outcome and the chat's next row in one trip to the database pool
        (two short transactions: the mark is committed before the next row is read)."""
        if record is not None:
            record()
        return self.outbox.next_for(platform=PLATFORM, chat_id=chat)

    async def _send(self, item: Outbound) -> Callable[[], object]:
        """Deliver one row; what to record about it (run on the database pool)."""
        if not await self._window_open(item.chat_id):
            return await self._outside_window(item.chat_id)
        try:
            sent_as = await self._send_pieces(item)
        except GraphError as exc:
            if exc.window_closed:
                return await self._outside_window(item.chat_id)
            if exc.retryable:
                after = timedelta(seconds=exc.retry_after) if exc.retry_after else None
                return partial(self.outbox.retry_later, item.id, after=after, error=str(exc))
            log.warning("whatsapp: message %s refused: %s", item.id, exc)
            return partial(self.outbox.give_up, item.id, error=str(exc))
        except httpx.HTTPError as exc:
            error = type(exc).__name__
            return partial(self.outbox.retry_later, item.id, after=None, error=error)
        return partial(self.outbox.delivered, item.id, platform_message_id=sent_as)

    async def _window_open(self, chat: str) -> bool:
        """Open by what this process saw, else by the database (another process may have
        handled the creator's latest message)."""
        now = self.puente.clock()
        last = self._last_in.get(chat)
        if last is None or now - last >= window.WINDOW:
            state = await self._db(window.chat_state, self.puente.engine, chat)
            last = state.last_inbound
            if last is not None:
                self._last_in[chat] = last
        return last is not None and now - last < window.WINDOW

    async def _outside_window(self, chat: str) -> Callable[[], object]:
        """Park the chat's waiting rows; agents' replies among them are announced to the
        creator with the approved template (once per batch) and noted in the thread."""
        self._parked.add(chat)
        rows = await self._db(window.waiting_unparked, self.puente.engine, chat)
        template = self.config.template
        sent = False
        if template is not None and any(relayed for _, relayed in rows):
            try:
                await self._pace(chat)
                await self.graph.send(chat, *render.template(*template))
                sent = True
            except (GraphError, httpx.HTTPError) as exc:
                log.warning("whatsapp: the reply template was refused: %s", exc)
        ids, now = [row_id for row_id, _ in rows], self.puente.clock()
        return partial(window.park, self.puente.engine, ids, now, template_sent=sent)

    async def _send_pieces(self, item: Outbound) -> str:
        """Files first, then the text (suggestions on its last piece); the last wamid."""
        sent: str | None = None
        for attachment in item.attachments:
            sent = await self._send_file(item.chat_id, attachment) or sent
        if item.text or item.suggestions or sent is None:
            button = await self._list_button(item)
            for kind, body in render.bodies(item.text, item.suggestions, button):
                await self._pace(item.chat_id)
                sent = await self.graph.send(item.chat_id, kind, body)
        assert sent is not None
        return sent

    async def _list_button(self, item: Outbound) -> str:
        if not item.suggestions or render.fits_buttons(item.suggestions):
            return ""
        state = await self._db(window.chat_state, self.puente.engine, item.chat_id)
        return translator(state.locale).gettext("whatsapp_list_button")

    async def _send_file(self, chat: str, attachment: Attachment) -> str | None:
        """An agent's file, fetched from the agents' platform, uploaded, then sent."""
        fetch = self.files.get(attachment.source or "")
        data = await fetch(attachment.platform_file_id) if fetch else None
        if not data:
            return None
        mime = attachment.mime_type or "application/octet-stream"
        name = attachment.file_name or "archivo"
        media_id = await self.graph.upload(data, mime=mime, name=name)
        await self._pace(chat)
        return await self.graph.send(chat, *render.media(attachment.kind, media_id, name))

    async def _pace(self, chat: str) -> None:
        last = self._last_sent.get(chat)
        if last is not None:
            wait = last + self.config.per_number_spacing - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        async with self._global:
            self._last_sent[chat] = time.monotonic()

    # -- plumbing ------------------------------------------------------------------------

    async def _db(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return await self._db_on(self._database, function, *args, **kwargs)

    @staticmethod
    async def _db_on(
        pool: ThreadPoolExecutor, function: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool, partial(function, *args, **kwargs))

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("whatsapp: background task failed: %s", type(task.exception()).__name__)


def _stored_event(payload: str) -> Event:
    document = json.loads(payload)
    kind = EventKind(document.pop("kind", EventKind.MESSAGE))
    key = str(document.get("id", ""))
    return Event(kind, key, document)
