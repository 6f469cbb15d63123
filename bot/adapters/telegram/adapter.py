"""Telegram adapter on python-telegram-bot 22: with its package, the only code that imports
``telegram``.

In: every update is stored in the inbox before it is acknowledged (webhook: before the 200;
polling: before the next ``getUpdates`` confirms it), then turned into one
:class:`~handlers.contract.messages.IncomingMessage` and handed to the core with its inbox row.
Out: :mod:`.sender` delivers the outbox. Database work runs on the adapter's own small thread
pool; a creator message costs four trips there: store the update, handle it (one transaction),
read the chat's next reply, mark it delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

os.environ.setdefault("PTB_TIMEDELTA", "1")  # retry_after as a timedelta, without warnings

from starlette.routing import BaseRoute
from telegram import Bot, Message, Update
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.adapters.base import FileFetchers, RejectionCounter, hand_over
from bot.adapters.telegram.config import PLATFORM, TelegramConfig, webhook_secret
from bot.adapters.telegram.inbound import chat_of, pressed, to_incoming
from bot.adapters.telegram.keyboards import COMMANDS, DEFAULT_LOCALE, command_menu
from bot.adapters.telegram.pool import DatabasePool
from bot.adapters.telegram.sender import TelegramSender, seconds
from bot.adapters.telegram.webhook import webhook_routes
from bot.http_input import Rejection, telegram_update_problem
from bot.outage import REFUSALS
from handlers.api import Puente
from handlers.contract.messages import IncomingMessage, Platform
from handlers.delivery.inbox import Inbox
from handlers.delivery.outbox import Outbox

log = logging.getLogger("bot.adapters.telegram")
# _poll asks for raw updates on purpose (see its docstring); the library suggests get_updates.
warnings.filterwarnings("ignore", message="Please use 'Bot.getUpdates'", category=PTBUserWarning)

MAX_FILE_BYTES = 20 * 1024 * 1024
ALLOWED_UPDATES = ["message", "callback_query"]
POLL_TIMEOUT = 25
MAX_POLL_BACKOFF = 60
# stored updates left unfinished (the database went away mid-way) are taken up again after this
RECOVER_SECONDS = 10.0


class TelegramAdapter:
    """The :class:`~bot.adapters.base.ChatAdapter` for Telegram (webhook or long polling)."""

    platform = Platform.TELEGRAM

    def __init__(
        self,
        puente: Puente,
        config: TelegramConfig,
        *,
        files: FileFetchers | None = None,
    ) -> None:
        self.puente = puente
        self.config = config
        self.inbox = Inbox(puente.engine, puente.clock)
        self.secret = webhook_secret(config.token, config.webhook_secret)
        self.app = self._build_application()
        self._database = DatabasePool(puente.engine.dialect.name)
        outbox = Outbox(puente.engine, puente.clock, lease=timedelta(seconds=config.claim_seconds))
        self.sender = TelegramSender(
            self.app.bot, outbox, self._database,
            clock=puente.clock, files=files if files is not None else {},
            max_per_second=config.max_per_second,
        )  # fmt: skip
        self.sender_task: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._failures: dict[int, str] = {}
        self._inbox_rows: dict[int, int] = {}  # update_id → its stored row, while it's handled
        self._handled: dict[int, int] = {}  # update_id → replies stored, once handled
        self._chat_locks: dict[str, asyncio.Lock] = {}
        self._stopping = False

    def _build_application(self) -> Application:
        builder = ApplicationBuilder().token(self.config.token).updater(None)
        if self.config.base_url:
            builder = builder.base_url(self.config.base_url)
        if self.config.base_file_url:
            builder = builder.base_file_url(self.config.base_file_url)
        app = builder.build()
        app.add_handler(MessageHandler(filters.UpdateType.MESSAGE, self._on_message))
        app.add_handler(CallbackQueryHandler(self._on_callback))
        app.add_handler(TypeHandler(Update, self._on_other))
        app.add_error_handler(self._on_error)
        return app

    @property
    def bot(self) -> Bot:
        return self.app.bot

    def routes(self, rejected: RejectionCounter) -> Sequence[BaseRoute]:
        return webhook_routes(self.receive_webhook, self.config.max_body, rejected)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (retrying while Telegram is unreachable), register commands, start tasks."""
        await _retrying("connect to Telegram", self.app.initialize)
        await _retrying("register commands", self._register_commands)
        if self.config.webhook_url:
            await _retrying("register the webhook", self._register_webhook)
        else:
            await _retrying("switch to polling", self.bot.delete_webhook)
            self._tasks.append(asyncio.create_task(self._poll(), name="telegram-poll"))
        self.sender_task = asyncio.create_task(self.sender.deliver_forever(), name="telegram-send")
        self._tasks.append(self.sender_task)
        self._tasks.append(asyncio.create_task(self._recover(), name="telegram-recover"))
        mode = "webhook" if self.config.webhook_url else "long polling"
        log.warning("telegram: started as @%s (%s)", self.bot.username, mode)

    @property
    def running(self) -> bool:
        return self.app.running or (bool(self._tasks) and not self._stopping)

    @property
    def sender_alive(self) -> bool:
        """Liveness for ``GET /healthz``: the outbox sender task started and has not ended."""
        return self.sender_task is not None and not self.sender_task.done()

    async def stop(self) -> None:
        self._stopping = True
        self.sender.stopping = True
        tasks = [*self._tasks, *self.sender.chat_tasks.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.app.shutdown()
        self._database.shutdown()
        log.warning("telegram: stopped")

    def wake(self) -> None:
        """Deliver now: new outbound messages were stored (e.g. by an agent's action)."""
        self.sender.wake()

    async def download(self, file_id: str) -> bytes | None:
        """A file the creator sent, for copying into the agents' thread (None if too big)."""
        telegram_file = await self.bot.get_file(file_id)
        if telegram_file.file_size and telegram_file.file_size > MAX_FILE_BYTES:
            return None
        return bytes(await telegram_file.download_as_bytearray())

    async def _register_commands(self) -> None:
        for lang in COMMANDS:
            await self.bot.set_my_commands(command_menu(lang), language_code=lang)
        await self.bot.set_my_commands(command_menu(DEFAULT_LOCALE))

    async def _register_webhook(self) -> None:
        await self.bot.set_webhook(
            url=self.config.webhook_url or "",
            secret_token=self.secret,
            allowed_updates=ALLOWED_UPDATES,
        )

    # -- in: store, then process -------------------------------------------------------

    async def receive_webhook(self, secret: str | None, body: bytes) -> tuple[int, str]:
        """The webhook route's whole job: (HTTP status, short reason)."""
        if secret is None or not hmac.compare_digest(secret.encode(), self.secret.encode()):
            return 401, "bad secret token"
        try:
            telegram_update_problem(body)  # an update_id that is a JSON integer, sane nesting
            payload = json.loads(body)
            update_id = int(payload["update_id"])
            json.dumps(payload, ensure_ascii=False).encode()  # no lone surrogates (\ud800)
        except Rejection as problem:
            return problem.status, problem.reason
        except (ValueError, KeyError, TypeError, OverflowError):
            return 400, "not a Telegram update"
        try:
            row = await self._store(update_id, payload)
        except Exception as exc:
            REFUSALS.refused("telegram", exc)
            return 503, "storage unavailable"
        if row is not None:
            self._spawn(self._process(row, payload))
        return 200, "ok"

    async def _store(self, update_id: int, payload: dict[str, object]) -> int | None:
        text = json.dumps(payload, ensure_ascii=False)
        return await self._database.run(
            self.inbox.accept, platform=PLATFORM, key=str(update_id), payload=text
        )

    async def _poll(self) -> None:
        """Long polling that stores each raw update before the next call confirms it.

        Raw JSON, not parsed updates: one update the library can't read must not block the
        rest (it is stored, marked unreadable, and confirmed like any other).
        """
        offset: int | None = None
        failures = 0
        while not self._stopping:
            try:
                updates = await self.bot.do_api_request(
                    "getUpdates",
                    api_kwargs={
                        "offset": offset,
                        "timeout": POLL_TIMEOUT,
                        "allowed_updates": ALLOWED_UPDATES,
                    },
                    read_timeout=POLL_TIMEOUT + 10,
                )
                failures = 0
            except RetryAfter as exc:
                await asyncio.sleep(seconds(exc.retry_after))
                continue
            except NetworkError as exc:
                failures += 1
                log.warning("telegram: polling failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(min(2**failures, MAX_POLL_BACKOFF))
                continue
            offset = await self._store_polled(updates, offset)

    async def _store_polled(self, updates: object, offset: int | None) -> int | None:
        """Store a batch of polled updates in order; the offset that confirms those stored."""
        for payload in updates if isinstance(updates, list) else []:
            update_id = int(payload["update_id"])
            try:
                row = await self._store(update_id, payload)
            except Exception as exc:  # the database is away: not confirmed, so fetched again
                REFUSALS.refused("telegram", exc)
                await asyncio.sleep(1)
                break
            offset = update_id + 1
            if row is not None:
                self._spawn(self._process(row, payload))
        return offset

    async def _recover(self) -> None:
        """Finish updates stored before a crash or restart, then, now and then, those left
        unfinished since (acknowledged to Telegram, so nobody else will send them again)."""
        before = None
        while not self._stopping:
            try:
                pending = await self._database.run(
                    self.inbox.pending, platform=PLATFORM, received_before=before
                )
                for item in pending:
                    await self._process(item.id, json.loads(item.payload))
            except Exception:
                log.exception("telegram: could not finish stored updates; retrying")
            await asyncio.sleep(RECOVER_SECONDS)
            before = self.puente.clock() - timedelta(seconds=RECOVER_SECONDS)

    async def _process(self, row: int, payload: dict[str, object]) -> None:
        """One chat's updates are handled one at a time, in the order they arrived."""
        async with self._chat_lock(payload):
            try:
                update = Update.de_json(payload, self.bot)
            except Exception as exc:  # hostile or future payloads: any shape the library rejects
                log.warning("telegram: stored an update that can't be read (%s)", exc)
                await self._database.run(self.inbox.finish, row, error=f"unreadable: {exc}")
                return
            self._failures.pop(update.update_id, None)
            self._inbox_rows[update.update_id] = row
            try:
                await self.app.process_update(update)
            finally:
                self._inbox_rows.pop(update.update_id, None)
            error = self._failures.pop(update.update_id, None)
            replies = self._handled.pop(update.update_id, None)
            if replies is None:  # ignored, or the handler failed: nothing new to send
                await self._database.run(self.inbox.finish, row, error=error)
        if replies:
            self.sender.drain_soon(chat_of(payload), replies)

    def _chat_lock(self, payload: dict[str, Any]) -> asyncio.Lock:
        return self._chat_locks.setdefault(chat_of(payload) or "other", asyncio.Lock())

    async def _on_message(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is None:
            return
        incoming = to_incoming(message, bot_id=self.bot.id, bot_username=self.bot.username or "")
        if incoming is None:
            log.debug("telegram: ignored a message not addressed to the bot")
            return
        await self._hand_over(update, incoming)

    async def _on_callback(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        with contextlib.suppress(BadRequest, NetworkError):
            await query.answer()
        message = query.message
        incoming = pressed(query, message) if isinstance(message, Message) else None
        if incoming is not None:
            await self._hand_over(update, incoming)

    async def _hand_over(self, update: Update, incoming: IncomingMessage) -> None:
        """The core stores the message, its replies and the update's "processed" mark in one
        transaction."""
        row = self._inbox_rows.get(update.update_id)
        try:
            result = await self._database.run(hand_over, self.puente, incoming, row)
        except Exception as exc:
            self._failures[update.update_id] = type(exc).__name__
            raise
        self._handled[update.update_id] = len(result.outbox_ids)

    async def _on_other(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        log.debug("telegram: ignored update %s of an unhandled kind", update.update_id)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram: handling update %s failed", update_id, exc_info=error)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.append(task)  # type: ignore[arg-type]
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):
            self._tasks.remove(task)  # type: ignore[arg-type]
        if not task.cancelled() and task.exception() is not None:
            log.error("telegram: background task failed: %s", type(task.exception()).__name__)


async def _retrying(what: str, action: Callable[[], Awaitable[object]]) -> None:
    """Keep trying while Telegram is unreachable; a bad token is final."""
    delay = 1.0
    while True:
        try:
            await action()
            return
        except InvalidToken:
            raise
        except RetryAfter as exc:
            await asyncio.sleep(seconds(exc.retry_after))
        except NetworkError as exc:
            log.warning("telegram: could not %s (%s); retrying in %.0f s", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)
