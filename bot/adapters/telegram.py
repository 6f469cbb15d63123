"""Telegram adapter on python-telegram-bot 22: the only module that imports ``telegram``.

In: every update is stored in the inbox before it is acknowledged (webhook: before the 200;
polling: before the next ``getUpdates`` confirms it), then turned into one
:class:`~handlers.contract.messages.IncomingMessage` and handed to the handler layer.
Out: replies wait in the outbox; one task per chat sends them in order, at most one message a
second per private chat (three seconds per group), 30 a second overall, honouring 429
``retry_after`` and backing off on network errors.
Database work runs on its own small thread pool; a creator message costs four trips there:
store the update, handle it (one transaction), read the chat's next reply, mark it delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import re
import time
import warnings
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, timedelta
from functools import partial
from typing import Any, TypeVar

os.environ.setdefault("PTB_TIMEDELTA", "1")  # retry_after as a timedelta, without warnings

from aiolimiter import AsyncLimiter
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter
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

from handlers.api import Puente
from handlers.common.i18n import N_, translator
from handlers.common.text import split_text
from handlers.common.utc import as_utc
from handlers.contract.messages import Attachment, IncomingMessage, Platform
from handlers.delivery.inbox import Inbox
from handlers.delivery.outbox import Outbound, Outbox
from handlers.storage.db import retrying

log = logging.getLogger(__name__)
T = TypeVar("T")
# _poll asks for raw updates on purpose (see its docstring); the library suggests get_updates.
warnings.filterwarnings("ignore", message="Please use 'Bot.getUpdates'", category=PTBUserWarning)

PLATFORM = Platform.TELEGRAM.value
MAX_TEXT = 4096
MAX_FILE_BYTES = 20 * 1024 * 1024
CALLBACK_BYTES = 64
TOKEN_PATTERN = re.compile(r"^\d{3,15}:[A-Za-z0-9_-]{30,64}$")
ALLOWED_UPDATES = ["message", "callback_query"]
PRIVATE_SPACING = 1.0
GROUP_SPACING = 3.0
POLL_TIMEOUT = 25
IDLE_CHECK_SECONDS = 1.0
# stored updates left unfinished (the database went away mid-way) are taken up again after this
RECOVER_SECONDS = 10.0
COMMANDS = {
    "es": (("start", N_("cmd_start")), ("idioma", N_("cmd_language")),
           ("agente", N_("cmd_human")), ("estado", N_("cmd_status")), ("ayuda", N_("cmd_help"))),
    "en": (("start", N_("cmd_start")), ("language", N_("cmd_language")),
           ("human", N_("cmd_human")), ("status", N_("cmd_status")), ("help", N_("cmd_help"))),
}  # fmt: skip


class MalformedToken(ValueError):
    """The token can't be a Telegram bot token; the message never contains the token."""


def check_token(token: str) -> str:
    if not TOKEN_PATTERN.match(token.strip()):
        raise MalformedToken(
            "TELEGRAM_BOT_TOKEN is malformed: expected '<digits>:<30+ letters, digits, - or _>' "
            "as given by @BotFather"
        )
    return token.strip()


def webhook_secret(token: str, configured: str | None) -> str:
    """The secret Telegram echoes in ``X-Telegram-Bot-Api-Secret-Token``; derived from the
    token when not configured, so every web process agrees on it."""
    if configured:
        return configured
    return hmac.new(token.encode(), b"puente-telegram-webhook", "sha256").hexdigest()[:64]


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    token: str
    base_url: str | None = None
    base_file_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    max_per_second: float = 30.0
    claim_seconds: float = 60.0  # outbox lease (handlers.delivery.leases)


def to_incoming(message: Message, *, bot_id: int, bot_username: str) -> IncomingMessage | None:
    """The normalised message, or None for what Puente ignores (groups not addressing it)."""
    chat, user = message.chat, message.from_user
    if user is None or user.is_bot:
        return None
    text = message.text or message.caption or ""
    if chat.type != "private":
        if not _addresses_bot(message, bot_id, bot_username):
            return None
        if bot_username:  # "@puente_bot ayuda" in a group; private text is kept verbatim
            text = text.replace(f"@{bot_username}", "").strip()
    return IncomingMessage(
        platform=Platform.TELEGRAM,
        chat_id=str(chat.id),
        user_id=str(user.id),
        message_id=str(message.message_id),
        text=text,
        display_name=user.full_name,
        locale_hint=user.language_code,
        attachments=_attachments(message),
        sent_at=message.date.astimezone(UTC),
    )


def _addresses_bot(message: Message, bot_id: int, bot_username: str) -> bool:
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return True
    text = message.text or message.caption or ""
    return bool(bot_username) and f"@{bot_username}".casefold() in text.casefold()


def _attachments(message: Message) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    if message.photo:
        best = message.photo[-1]
        found.append(Attachment("photo", best.file_id, None, "image/jpeg", best.file_size))
    for kind in ("document", "voice", "audio", "video", "video_note", "animation"):
        item = getattr(message, kind, None)
        if item is not None:
            found.append(
                Attachment(
                    kind,
                    item.file_id,
                    getattr(item, "file_name", None),
                    getattr(item, "mime_type", None),
                    item.file_size,
                )
            )
    if message.sticker is not None:
        sticker = message.sticker
        found.append(Attachment("sticker", sticker.file_id, sticker.emoji, None, sticker.file_size))
    return tuple(found)


def keyboard(outbound: Outbound) -> InlineKeyboardMarkup | None:
    """Suggestions as one button per row; payloads that can't fit in callback data are dropped."""
    rows = [
        [InlineKeyboardButton(s.label[:64], callback_data=s.payload)]
        for s in outbound.suggestions
        if 0 < len(s.payload.encode("utf-8")) <= CALLBACK_BYTES
    ]
    return InlineKeyboardMarkup(rows) if rows else None


class TelegramAdapter:
    def __init__(
        self,
        puente: Puente,
        config: TelegramConfig,
        *,
        files: dict[str, Callable[[str], Awaitable[bytes | None]]] | None = None,
    ) -> None:
        self.puente = puente
        self.files = files if files is not None else {}
        self.config = config
        self.inbox = Inbox(puente.engine, puente.clock)
        self.outbox = Outbox(
            puente.engine, puente.clock, lease=timedelta(seconds=config.claim_seconds)
        )
        self.secret = webhook_secret(config.token, config.webhook_secret)
        self.app = self._build_application()
        self._database = _database_executor(puente.engine.dialect.name)
        self._global = AsyncLimiter(config.max_per_second, 1)
        self._last_sent: dict[str, float] = {}
        self._chat_tasks: dict[str, asyncio.Task[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._sender: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._failures: dict[int, str] = {}
        self._inbox_rows: dict[int, int] = {}  # update_id → its stored row, while it's handled
        self._handled: dict[int, int] = {}  # update_id → replies stored, once handled
        self._expected: dict[str, int] = {}  # chat → outbound messages known to be waiting
        self._hints: dict[str, int] = {}  # chat → how often new messages were announced
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
        self._sender = asyncio.create_task(self._deliver_forever(), name="telegram-send")
        self._tasks.append(self._sender)
        self._tasks.append(asyncio.create_task(self._recover(), name="telegram-recover"))
        mode = "webhook" if self.config.webhook_url else "long polling"
        log.warning("telegram: started as @%s (%s)", self.bot.username, mode)

    @property
    def running(self) -> bool:
        return self.app.running or (bool(self._tasks) and not self._stopping)

    @property
    def sender_alive(self) -> bool:
        """Liveness for ``GET /healthz``: the outbox sender task started and has not ended."""
        return self._sender is not None and not self._sender.done()

    async def stop(self) -> None:
        self._stopping = True
        for task in [*self._tasks, *self._chat_tasks.values()]:
            task.cancel()
        for task in [*self._tasks, *self._chat_tasks.values()]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.app.shutdown()
        self._database.shutdown(wait=False)
        log.warning("telegram: stopped")

    async def _register_commands(self) -> None:
        for lang, commands in COMMANDS.items():
            t = translator(lang)
            bot_commands = [BotCommand(name, t.gettext(key)) for name, key in commands]
            await self.bot.set_my_commands(bot_commands, language_code=lang)
        t = translator("es")
        await self.bot.set_my_commands([BotCommand(n, t.gettext(k)) for n, k in COMMANDS["es"]])

    async def _register_webhook(self) -> None:
        await self.bot.set_webhook(
            url=self.config.webhook_url or "",
            secret_token=self.secret,
            allowed_updates=ALLOWED_UPDATES,
        )

    # -- in ------------------------------------------------------------------------------

    async def receive_webhook(self, secret: str | None, body: bytes) -> tuple[int, str]:
        """The webhook route's whole job: (HTTP status, short reason)."""
        if secret is None or not hmac.compare_digest(secret.encode(), self.secret.encode()):
            return 401, "bad secret token"
        try:
            payload = json.loads(body)
            update_id = int(payload["update_id"])
            json.dumps(payload, ensure_ascii=False).encode()  # no lone surrogates (\ud800)
        except (ValueError, KeyError, TypeError, OverflowError):
            return 400, "not a Telegram update"
        try:
            row = await self._store(update_id, payload)
        except Exception:
            log.exception("telegram: could not store update %s; Telegram will retry", update_id)
            return 503, "storage unavailable"
        if row is not None:
            self._spawn(self._process(row, payload))
        return 200, "ok"

    async def _store(self, update_id: int, payload: dict[str, object]) -> int | None:
        text = json.dumps(payload, ensure_ascii=False)
        return await self._db(
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
                await asyncio.sleep(_seconds(exc.retry_after))
                continue
            except NetworkError as exc:
                failures += 1
                log.warning("telegram: polling failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(min(2**failures, 60))
                continue
            for payload in updates if isinstance(updates, list) else []:
                update_id = int(payload["update_id"])
                try:
                    row = await self._store(update_id, payload)
                except Exception:  # the database is away: not confirmed, so fetched again
                    log.exception("telegram: could not store update %s; retrying", update_id)
                    await asyncio.sleep(1)
                    break
                offset = update_id + 1
                if row is not None:
                    self._spawn(self._process(row, payload))

    async def _recover(self) -> None:
        """Finish updates stored before a crash or restart, then, now and then, those left
        unfinished since (acknowledged to Telegram, so nobody else will send them again)."""
        before = None
        while not self._stopping:
            try:
                pending = await self._db(
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
                await self._db(self.inbox.finish, row, error=f"unreadable: {exc}")
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
                await self._db(self.inbox.finish, row, error=error)
        if replies:
            self._drain_soon(_chat_of(payload), replies)

    def _chat_lock(self, payload: dict[str, Any]) -> asyncio.Lock:
        return self._chat_locks.setdefault(_chat_of(payload) or "other", asyncio.Lock())

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
        if query.data is None or not isinstance(message, Message):
            return
        user = query.from_user
        incoming = IncomingMessage(
            platform=Platform.TELEGRAM,
            chat_id=str(message.chat.id),
            user_id=str(user.id),
            message_id=f"cb:{query.id}",
            text=query.data,
            display_name=user.full_name,
            locale_hint=user.language_code,
        )
        await self._hand_over(update, incoming)

    async def _hand_over(self, update: Update, incoming: IncomingMessage) -> None:
        """The handler stores the message, its replies and the update's "processed" mark in one
        transaction."""
        row = self._inbox_rows.get(update.update_id)
        try:
            # a database restart mid-message: the transaction rolled back, so run it again
            result = await self._db(
                retrying, lambda: self.puente.handle_message(incoming, inbox_row=row)
            )
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

    # -- out -----------------------------------------------------------------------------

    async def _deliver_forever(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before looking, so a wake-up during the query isn't lost
            try:
                chats = await self._db(self.outbox.chats_waiting, platform=PLATFORM)
            except Exception:
                log.exception("telegram: could not read the outbox; retrying")
                chats = []
            self._chat_tasks = {c: t for c, t in self._chat_tasks.items() if not t.done()}
            for chat_id in chats:
                self._drain_soon(chat_id)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_CHECK_SECONDS)

    def _drain_soon(self, chat_id: str | None, new: int = 1) -> None:
        """Deliver one chat's waiting messages now, or tell its running delivery that ``new``
        more are waiting (the periodic scan of the whole outbox catches anything else)."""
        if chat_id is None:
            self._wake.set()
            return
        self._expected[chat_id] = self._expected.get(chat_id, 0) + new
        self._hints[chat_id] = self._hints.get(chat_id, 0) + 1
        task = self._chat_tasks.get(chat_id)
        if task is None or task.done():
            self._chat_tasks[chat_id] = asyncio.create_task(self._drain(chat_id))

    async def _drain(self, chat_id: str) -> None:
        """Send one chat's messages in order, each only after the previous one arrived.

        After a delivery the outbox is read again only while more messages are known to be
        waiting (a turn's second reply, an announcement during the send): the usual turn, one
        reply, costs one read instead of two.
        """
        item = await self._next(chat_id)
        while item is not None and not self._stopping:
            if item.not_before is not None:
                wait = (as_utc(item.not_before) - self.puente.clock()).total_seconds()
                if wait > 0:
                    await asyncio.sleep(wait)
            record, delivered = await self._send(item)
            if delivered:
                self._expected[chat_id] = max(self._expected.get(chat_id, 0) - 1, 0)
            if delivered and not self._expected.get(chat_id):
                await self._db(record)
                item = await self._next(chat_id) if self._expected.get(chat_id) else None
                if item is None:
                    self._settle(chat_id)
            else:
                item = await self._next(chat_id, record)

    async def _next(
        self, chat_id: str, record: Callable[[], object] | None = None
    ) -> Outbound | None:
        """The chat's oldest waiting message (after recording the last attempt, in the same
        trip to the database pool); None settles the chat: nothing is expected any more,
        unless a new message was announced while the outbox was being read."""
        while True:
            hints = self._hints.get(chat_id, 0)
            item = await self._db(self._record_then_next, record, chat_id)
            if item is not None:
                return item
            record = None
            if self._hints.get(chat_id, 0) == hints:
                self._settle(chat_id)
                return None

    def _settle(self, chat_id: str) -> None:
        self._expected.pop(chat_id, None)
        self._hints.pop(chat_id, None)

    async def _send(self, item: Outbound) -> tuple[Callable[[], object], bool]:
        """Deliver one message: what to record about it (to run on the database pool), and
        whether it was delivered."""
        try:
            sent = await self._send_pieces(item)
        except RetryAfter as exc:
            wait = timedelta(seconds=_seconds(exc.retry_after))
            return partial(self.outbox.retry_later, item.id, after=wait, error="429"), False
        except (Forbidden, BadRequest) as exc:
            log.warning("telegram: message %s refused: %s", item.id, type(exc).__name__)
            return partial(self.outbox.give_up, item.id, error=str(exc)), False
        except NetworkError as exc:
            error = type(exc).__name__
            return partial(self.outbox.retry_later, item.id, after=None, error=error), False
        sent_as = str(sent.message_id)
        return partial(self.outbox.delivered, item.id, platform_message_id=sent_as), True

    def _record_then_next(
        self, record: Callable[[], object] | None, chat_id: str
    ) -> Outbound | None:
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
        pieces = split_text(item.text, MAX_TEXT) if item.text or sent is None else []
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
            chat_id=int(chat_id), document=data, filename=attachment.file_name or "archivo"
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

    async def download(self, file_id: str) -> bytes | None:
        """A file the creator sent, for copying into the agents' thread (None if too big)."""
        telegram_file = await self.bot.get_file(file_id)
        if telegram_file.file_size and telegram_file.file_size > MAX_FILE_BYTES:
            return None
        return bytes(await telegram_file.download_as_bytearray())

    def wake(self) -> None:
        """Deliver now: new outbound messages were stored (e.g. by an agent's action)."""
        self._wake.set()

    async def _db(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run blocking database work off the event loop, on the database executor."""
        loop = asyncio.get_running_loop()
        call = partial(function, *args, **kwargs)
        return await loop.run_in_executor(self._database, call)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.append(task)  # type: ignore[arg-type]
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):
            self._tasks.remove(task)  # type: ignore[arg-type]
        if not task.cancelled() and task.exception() is not None:
            log.error("telegram: background task failed: %s", type(task.exception()).__name__)


def _database_executor(dialect: str) -> ThreadPoolExecutor:
    """A few threads with SQLite (one writer at a time anyway; with a single thread one slow
    turn held up every store, read and mark behind it, and on a busy machine one thread got
    too little CPU: p50 0.5 to 0.9 s against 10 to 15 ms with four), more for a server database."""
    workers = 4 if dialect == "sqlite" else 8
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="telegram-db")


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
            await asyncio.sleep(_seconds(exc.retry_after))
        except NetworkError as exc:
            log.warning("telegram: could not %s (%s); retrying in %.0f s", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)


def _chat_of(payload: dict[str, Any]) -> str | None:
    """The chat an update belongs to, whatever shape the payload has (None if it has none)."""
    source = payload.get("message")
    if not source:
        query = payload.get("callback_query")
        source = query.get("message") if isinstance(query, dict) else None
    chat = source.get("chat") if isinstance(source, dict) else None
    chat_id = chat.get("id") if isinstance(chat, dict) else None
    return None if chat_id is None else str(chat_id)


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
