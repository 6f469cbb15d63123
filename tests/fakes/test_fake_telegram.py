"""The fake Telegram Bot API, driven by the real, unpatched python-telegram-bot client."""

from __future__ import annotations

import asyncio
import datetime as dtm
import io
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import MessageEntityType
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter

from tests.fakes.telegram_api import FakeTelegram

# Every response must parse without python-telegram-bot complaining (its warnings only: a
# ResourceWarning from another module's garbage, collected while these tests run, is not theirs).
pytestmark = pytest.mark.filterwarnings("error::telegram.warnings.PTBUserWarning")

T = TypeVar("T")
CHAT = 4242


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake
    assert fake.errors == []


def run_with_bot(tg: FakeTelegram, scenario: Callable[[Bot], Awaitable[T]], token: str = "") -> T:
    """Run ``scenario`` with an initialized real ``Bot`` pointed at the fake."""

    async def main() -> T:
        bot = Bot(token or tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url)
        async with bot:
            return await scenario(bot)

    return asyncio.run(main())


def raw_call(tg: FakeTelegram, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """POST JSON (or GET) straight at the fake, bypassing the library."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{tg.url}{path}", data=data)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_get_me(tg: FakeTelegram) -> None:
    me = run_with_bot(tg, lambda bot: bot.get_me())
    assert me.is_bot
    assert me.id == tg.bot_id
    assert me.username == "puente_test_bot"
    assert me.can_join_groups is True
    assert tg.call_count("getMe") == 2  # Bot.initialize() calls it too


def test_long_poll_returns_injected_message_as_soon_as_it_arrives(tg: FakeTelegram) -> None:
    async def scenario(bot: Bot) -> tuple[tuple[Update, ...], float]:
        asyncio.get_running_loop().call_later(
            0.1, lambda: tg.user_sends(CHAT, "/start", first_name="Lucía", language_code="es")
        )
        started = time.monotonic()
        updates = await bot.get_updates(timeout=5)
        return updates, time.monotonic() - started

    updates, elapsed = run_with_bot(tg, scenario)
    assert 0.05 < elapsed < 2
    assert len(updates) == 1
    message = updates[0].message
    assert isinstance(message, Message)
    assert message.text == "/start"
    assert message.chat.id == CHAT
    assert message.chat.type == "private"
    assert message.from_user is not None
    assert (message.from_user.id, message.from_user.first_name) == (CHAT, "Lucía")
    assert message.from_user.language_code == "es"
    assert message.entities[0].type == MessageEntityType.BOT_COMMAND
    assert (message.entities[0].offset, message.entities[0].length) == (0, 6)
    assert abs(message.date.timestamp() - time.time()) < 5


def test_long_poll_waits_for_the_timeout_when_there_is_nothing(tg: FakeTelegram) -> None:
    # The library sends whole seconds; the fake also takes fractions, which keeps this test quick.
    started = time.monotonic()
    status, body = raw_call(tg, f"/bot{tg.token}/getUpdates?timeout=0.3")
    assert (status, body) == (200, {"ok": True, "result": []})
    assert 0.25 < time.monotonic() - started < 1


def test_offset_confirms_updates_and_limit_caps_the_batch(tg: FakeTelegram) -> None:
    for text in ("uno", "dos", "tres"):
        tg.user_sends(CHAT, text)

    async def scenario(bot: Bot) -> list[list[str]]:
        batches = []
        first = await bot.get_updates(limit=2)
        batches.append([u.message.text for u in first])
        again = await bot.get_updates()  # nothing confirmed yet: all three again
        batches.append([u.message.text for u in again])
        rest = await bot.get_updates(offset=first[-1].update_id + 1)
        batches.append([u.message.text for u in rest])
        tg.user_sends(CHAT, "cuatro")
        new = await bot.get_updates(offset=rest[-1].update_id + 1)
        batches.append([u.message.text for u in new])
        return batches

    assert run_with_bot(tg, scenario) == [
        ["uno", "dos"],
        ["uno", "dos", "tres"],
        ["tres"],
        ["cuatro"],
    ]
    assert [u["message"]["text"] for u in tg.pending_updates] == ["cuatro"]


def test_send_message_returns_a_message_and_is_recorded_in_order(tg: FakeTelegram) -> None:
    incoming = tg.user_sends(CHAT, "hola")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Sí", callback_data="yes")]])

    async def scenario(bot: Bot) -> list[Message]:
        first = await bot.send_message(CHAT, "¿Te refieres a retiros?", reply_markup=keyboard)
        second = await bot.send_message(CHAT, "<b>Hola</b> &lt;3", parse_mode="HTML")
        return [first, second]

    first, second = run_with_bot(tg, scenario)
    assert first.message_id == incoming["message"]["message_id"] + 1  # ids are per chat
    assert second.message_id == first.message_id + 1
    assert first.text == "¿Te refieres a retiros?"
    assert first.chat.id == CHAT
    assert first.from_user is not None and first.from_user.id == tg.bot_id
    assert first.reply_markup == keyboard
    assert second.text == "Hola <3"
    assert second.entities[0].type == MessageEntityType.BOLD
    calls = tg.wait_for_messages(CHAT, count=2, timeout=1)
    assert [call.text for call in calls] == ["¿Te refieres a retiros?", "<b>Hola</b> &lt;3"]
    assert calls[0].at <= calls[1].at
    assert calls[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "yes"
    with pytest.raises(TimeoutError):
        tg.wait_for_messages(CHAT, count=3, timeout=0.05)


def test_send_message_errors_like_telegram(tg: FakeTelegram) -> None:
    tg.add_chat(CHAT)

    async def expect(bot: Bot, error: type[Exception], **kwargs: Any) -> str:
        with pytest.raises(error) as caught:
            await bot.send_message(**{"chat_id": CHAT, "text": "hola", **kwargs})
        return str(caught.value)

    async def scenario(bot: Bot) -> list[str]:
        unknown = await expect(bot, BadRequest, chat_id=999)
        html = await expect(bot, BadRequest, text="línea<br>otra", parse_mode="HTML")
        tg.user_blocks_bot(CHAT)
        blocked = await expect(bot, Forbidden)
        return [unknown, html, blocked]

    unknown, html, blocked = run_with_bot(tg, scenario)
    assert unknown == "Chat not found"
    assert 'unsupported start tag "br"' in html.lower()
    assert blocked == "Forbidden: bot was blocked by the user"


def test_callback_query_round_trip(tg: FakeTelegram) -> None:
    tg.add_chat(CHAT)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Sí", callback_data="yes")]])

    async def scenario(bot: Bot) -> None:
        sent = await bot.send_message(CHAT, "¿Seguro?", reply_markup=keyboard)
        tg.user_presses(CHAT, sent.message_id, "yes")
        (update,) = await bot.get_updates(timeout=1)
        query = update.callback_query
        assert query is not None and query.data == "yes"
        assert query.message is not None and query.message.message_id == sent.message_id
        assert await query.answer("¡Listo!") is True
        with pytest.raises(BadRequest):
            await query.answer()  # a query is answered once
        edited = await bot.edit_message_text("Hecho", chat_id=CHAT, message_id=sent.message_id)
        assert isinstance(edited, Message)
        assert (edited.text, edited.reply_markup) == ("Hecho", None)

    run_with_bot(tg, scenario)
    assert tg.calls("answerCallbackQuery")[0].params["text"] == "¡Listo!"


def test_set_my_commands_is_recorded_per_language_and_scope(tg: FakeTelegram) -> None:
    es = [BotCommand("start", "Empezar"), BotCommand("agente", "Hablar con una persona")]

    async def scenario(bot: Bot) -> tuple[BotCommand, ...]:
        assert await bot.set_my_commands(es, language_code="es")
        await bot.set_my_commands(
            [BotCommand("help", "Help")], scope=BotCommandScopeAllPrivateChats()
        )
        return await bot.get_my_commands(language_code="es")

    assert run_with_bot(tg, scenario) == tuple(es)
    assert tg.commands("es") == [c.to_dict() for c in es]
    assert tg.commands("") == []
    assert tg.commands(scope={"type": "all_private_chats"})[0]["command"] == "help"
    assert tg.calls("setMyCommands")[0].params["language_code"] == "es"


def test_get_file_downloads_the_registered_bytes(tg: FakeTelegram) -> None:
    photo = b"\x89PNG\r\n\x1a\n\x00\xff\r\n--boundary-lookalike\r\n"
    tg.user_sends_photo(CHAT, photo, caption="mi captura")

    async def scenario(bot: Bot) -> tuple[bytes, Message]:
        (update,) = await bot.get_updates()
        assert update.message is not None and update.message.caption == "mi captura"
        file = await bot.get_file(update.message.photo[-1].file_id)
        buffer = io.BytesIO()
        await file.download_to_memory(buffer)
        sent = await bot.send_photo(CHAT, photo, caption="de vuelta")
        return buffer.getvalue(), sent

    downloaded, sent = run_with_bot(tg, scenario)
    assert downloaded == photo
    assert sent.caption == "de vuelta" and sent.photo
    assert tg.messages_to(CHAT)[0].files["photo"].data == photo  # multipart upload, byte-exact


def test_429_surfaces_as_retry_after(tg: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without it python-telegram-bot 22 warns (deprecation) when it builds any RetryAfter.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    tg.add_chat(CHAT)
    tg.fail_next("sendMessage", status=429, retry_after=3)

    async def scenario(bot: Bot) -> RetryAfter:
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(CHAT, "uno")
        await bot.send_message(CHAT, "dos")  # only the next call failed
        return caught.value

    error = run_with_bot(tg, scenario)
    assert error.retry_after == dtm.timedelta(seconds=3)
    assert [(c.status, c.text) for c in tg.calls("sendMessage")] == [(429, "uno"), (200, "dos")]
    assert tg.texts_to(CHAT) == ["dos"]


def test_500_surfaces_as_network_error_and_fail_for_expires(tg: FakeTelegram) -> None:
    tg.add_chat(CHAT)
    tg.fail_next("sendMessage", status=500, times=2)

    async def scenario(bot: Bot) -> list[str]:
        errors = []
        for _ in range(2):
            with pytest.raises(NetworkError) as caught:
                await bot.send_message(CHAT, "hola")
            assert caught.type is NetworkError
            errors.append(str(caught.value))
        await bot.send_message(CHAT, "hola")
        tg.fail_for(0.1, 502)
        with pytest.raises(NetworkError):
            await bot.send_chat_action(CHAT, "typing")
        await asyncio.sleep(0.15)
        assert await bot.send_chat_action(CHAT, "typing")
        return errors

    assert run_with_bot(tg, scenario) == ["Internal Server Error"] * 2
    assert tg.call_count("sendMessage") == 3


def test_wrong_token_is_invalid_token(tg: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        run_with_bot(
            tg, lambda bot: bot.get_me(), token="987654321:AAWrongWrongWrongWrongWrongWrong123"
        )
    assert raw_call(tg, "/bot987654321:nope/getMe") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )


def test_set_webhook_is_recorded_and_blocks_polling(tg: FakeTelegram) -> None:
    tg.user_sends(CHAT, "viejo")

    async def scenario(bot: Bot) -> None:
        assert await bot.set_webhook(
            "https://puente.example/telegram",
            secret_token="s3cret_token-1",
            allowed_updates=["message", "callback_query"],
            drop_pending_updates=True,
        )
        info = await bot.get_webhook_info()
        assert info.url == "https://puente.example/telegram"
        assert info.pending_update_count == 0  # dropped
        with pytest.raises(Conflict):
            await bot.get_updates()
        assert await bot.delete_webhook()
        assert await bot.get_updates() == ()

    run_with_bot(tg, scenario)
    webhook = tg.webhook
    assert webhook.url == ""  # deleted afterwards
    (set_call,) = tg.calls("setWebhook")
    assert set_call.params["secret_token"] == "s3cret_token-1"
    assert set_call.params["allowed_updates"] == ["message", "callback_query"]
    assert set_call.params["drop_pending_updates"] is True
    assert tg.allowed_updates == ["message", "callback_query"]


def test_raw_protocol_json_body_unknown_method_and_error_shape(tg: FakeTelegram) -> None:
    tg.add_chat(CHAT)
    base = f"/bot{tg.token}"
    status, body = raw_call(tg, f"{base}/sendMessage", {"chat_id": CHAT, "text": "123"})
    assert status == 200 and body["result"]["text"] == "123"
    assert isinstance(body["result"]["date"], int)
    assert raw_call(tg, f"{base}/noSuchMethod", {}) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    tg.fail_next(status=429, retry_after=7)
    assert raw_call(tg, f"{base}/getMe") == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        },
    )


def test_stop_interrupts_a_long_poll_and_leaves_no_threads() -> None:
    before = set(threading.enumerate())
    fake = FakeTelegram().start()
    results: list[Any] = []
    poller = threading.Thread(
        target=lambda: results.append(raw_call(fake, f"/bot{fake.token}/getUpdates?timeout=30"))
    )
    poller.start()
    deadline = time.monotonic() + 2
    while fake.call_count("getUpdates") == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    fake.stop()
    poller.join(timeout=2)
    assert time.monotonic() - started < 1
    assert results == [(200, {"ok": True, "result": []})]
    assert set(threading.enumerate()) - before == set()
