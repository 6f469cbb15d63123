"""Random and hostile input never crashes the normaliser, the matcher, triage, the handler or
either adapter's webhook: text is stored as it came, malformed HTTP gets a clear 4xx.

Example counts come from the hypothesis profile in ``conftest.py`` (moderate by default;
``--hypothesis-profile=thorough`` for a deeper run)."""

from __future__ import annotations

import http.client
import itertools
import json
import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import inspect
from sqlmodel import Session, col, func, select

from bot.adapters.slack import CREATOR_CHOICE, case_id, kit
from bot.adapters.slack import EVENTS_PATH as SLACK_PATH
from bot.adapters.telegram import WEBHOOK_PATH as TELEGRAM_PATH
from bot.adapters.telegram import webhook_secret
from bot.http_input import MAX_BODY
from handlers.api import Puente
from handlers.common.text import clean, fold, storable
from handlers.kb.matching.normalize import normalizer
from handlers.kb.source import SHIPPED_KB, KbSource
from handlers.storage.models import Conversation, Direction, InboundUpdate, Message
from handlers.triage.learned import shipped
from tests.conftest import Creator
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import (
    FORM,
    JSON,
    SIGNING_SECRET,
    WRONG_SECRET,
    block_actions,
    dm_event,
    event_callback,
    event_payload,
    signed_headers,
    view_submission,
)
from tests.fakes.telegram_api import FakeTelegram
from tests.serving import Service, slack_config, telegram_config, wait_until

ANY_TEXT = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()), min_size=0, max_size=400
)
PIECES = [
    "\u202e\u200b\u2066" * 50,  # bidi overrides and zero-width characters
    "\u200d\u200c\ufeff\u2060",
    "'; DROP TABLE message; --",
    "' OR 1=1 --",
    "Robert'); DELETE FROM conversation;--",
    "<!channel> <@U123> <https://x|y> & <b>",
    "%s%s%s{0}{case}\\x00\\n",
    "\x00" * 20,
    "\x07\x1b[31m\r\x7f\x85",
    "مرحبا بالعالم",
    "שלום עולם",
    "\u202bמה קורה\u202c no me llegan los regalos",
    "🔥" * 500,
    "👩🏽‍💻🏳️‍🌈",
    "a" * 5000,
    "Z\u0351\u0352\u0357\u035b" * 40,
    "\ud800 lone surrogate",
]
HOSTILE = st.sampled_from(PIECES)
MIXED = st.lists(st.one_of(HOSTILE, ANY_TEXT), min_size=1, max_size=4).map("".join)
TEXTS = st.one_of(ANY_TEXT, HOSTILE, MIXED)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)
UPDATE_SHAPES = st.fixed_dictionaries(
    {"update_id": st.one_of(st.integers(), st.text(max_size=5), st.floats(), st.none())},
    optional={
        "message": JSON_VALUES,
        "callback_query": JSON_VALUES,
        "edited_message": JSON_VALUES,
    },
)
MATCHER = KbSource(path=SHIPPED_KB).matcher()
TRIAGER = shipped(None)
counter = itertools.count(1)


def has_surrogates(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


def inbound_texts(puente: Puente, platform: str, chat_id: str) -> list[str]:
    with Session(puente.engine) as session:
        rows = session.exec(
            select(Message.text)
            .join(Conversation, col(Conversation.id) == Message.conversation_id)
            .where(
                Conversation.platform == platform,
                Conversation.chat_id == chat_id,
                Message.direction == Direction.IN,
            )
            .order_by(col(Message.id))
        ).all()
    return list(rows)


# -- the core: text helpers, normaliser, matcher, triage, handler ---------------------------


@given(TEXTS)
def test_text_helpers_and_matching_never_crash(text: str) -> None:
    assert isinstance(fold(text), str)
    assert "\x00" not in storable(text)
    assert "\u202e" not in clean(text)
    for locale in ("es", "en", "pt"):
        assert all(isinstance(t, str) and t for t in normalizer(locale).tokens(text))
    result = MATCHER.match(text, "es")
    assert result.action in {"answer", "clarify", "escalate"}
    verdict = TRIAGER.classify(text)
    assert verdict.priority in {"P1", "P2", "P3", "P4"}


@given(TEXTS)
def test_the_handler_stores_verbatim_and_answers_anything(puente: Puente, text: str) -> None:
    chat = f"chat-{next(counter)}"
    result = Creator(puente, chat_id=chat).says(text)
    assert result.replies and all(r.text for r in result.replies)
    assert inbound_texts(puente, "console", chat) == [storable(text)]


def test_a_megabyte_message_is_stored_verbatim_and_answered(puente: Puente) -> None:
    text = ("".join(PIECES) * 200)[:1_000_000]
    result = Creator(puente, chat_id="big").says(text)
    assert result.replies
    (stored,) = inbound_texts(puente, "console", "big")
    assert len(stored) == 1_000_000 and stored == storable(text)


def test_sql_looking_text_stays_text(puente: Puente) -> None:
    attacks = [p for p in PIECES if "--" in p] + ["1; UPDATE creator SET is_vip = 1"]
    creator = Creator(puente, chat_id="sql")
    for attack in attacks:
        creator.says(attack)
    assert inbound_texts(puente, "console", "sql") == attacks
    tables = set(inspect(puente.engine).get_table_names())
    assert {"message", "conversation", "creator"} <= tables
    with Session(puente.engine) as session:
        assert session.exec(select(func.count(col(Message.id)))).one() > len(attacks)


# -- HTTP plumbing ------------------------------------------------------------------------


def post(
    url: str, body: bytes, headers: dict[str, str], *, chunked: bool = False
) -> tuple[int, bytes]:
    """A raw POST (http.client, so nothing is added or checked on the way)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=20)
    try:
        if chunked:
            connection.request("POST", parts.path, body=iter([body]), headers=headers)
        else:
            connection.request("POST", parts.path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# -- Telegram webhook ---------------------------------------------------------------------


class TelegramWebhook:
    def __init__(self, puente: Puente, fake: FakeTelegram) -> None:
        config = telegram_config(fake, webhook_url="https://puente.example/telegram/webhook")
        self.puente = puente
        self.fake = fake
        self.service = Service(puente, telegram=config).start()
        self.url = self.service.base + TELEGRAM_PATH
        self.secret = webhook_secret(fake.token, None)

    def post(self, body: bytes, content_type: str | None = JSON, **kwargs: Any) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret}
        if content_type is not None:
            headers["Content-Type"] = content_type
        return post(self.url, body, headers, **kwargs)[0]

    def update(self, chat: int, text: str) -> dict[str, Any]:
        self.fake.add_chat(chat, first_name="Vale")
        number = next(counter)
        return {
            "update_id": 700_000 + number,
            "message": {
                "message_id": number,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private", "first_name": "Vale"},
                "from": {"id": chat, "is_bot": False, "first_name": "Vale", "language_code": "es"},
                "text": text,
            },
        }

    def callback(self, chat: int, data: str) -> dict[str, Any]:
        """A press on one of the bot's buttons carrying ``data``."""
        self.fake.add_chat(chat, first_name="Vale")
        number = next(counter)
        user = {"id": chat, "is_bot": False, "first_name": "Vale", "language_code": "es"}
        return {
            "update_id": 700_000 + number,
            "callback_query": {
                "id": str(number),
                "from": user,
                "chat_instance": "1",
                "data": data,
                "message": {
                    "message_id": number,
                    "date": int(time.time()),
                    "chat": {"id": chat, "type": "private", "first_name": "Vale"},
                    "from": {"id": 1, "is_bot": True, "first_name": "Puente"},
                    "text": "¿Te refieres a…?",
                },
            },
        }

    def errors(self) -> list[str]:
        """Errors recorded on handled updates."""
        with Session(self.puente.engine) as session:
            failed = select(InboundUpdate.error).where(col(InboundUpdate.error).is_not(None))
            return [str(error) for error in session.exec(failed).all()]

    def all_finished(self) -> bool:
        with Session(self.puente.engine) as session:
            waiting = select(InboundUpdate).where(col(InboundUpdate.processed_at).is_(None))
            return not session.exec(waiting).all()


@pytest.fixture
def telegram_hook(puente: Puente) -> Iterator[TelegramWebhook]:
    with FakeTelegram() as fake:
        hook = TelegramWebhook(puente, fake)
        yield hook
        hook.service.stop()


@given(TEXTS.filter(bool).map(lambda t: t[:4096]))
def test_telegram_webhook_stores_any_text_verbatim(
    telegram_hook: TelegramWebhook, text: str
) -> None:
    chat = 8_000_000 + next(counter)
    body = json.dumps(telegram_hook.update(chat, text)).encode()
    status = telegram_hook.post(body)
    if has_surrogates(text):  # invalid Unicode: Telegram never sends it; refused, not stored
        assert status == 400
        return
    assert status == 200
    stored = wait_until(lambda: inbound_texts(telegram_hook.puente, "telegram", str(chat)))
    assert stored == [storable(text)]
    wait_until(telegram_hook.all_finished)
    assert telegram_hook.errors() == []


@given(TEXTS.filter(bool).map(lambda t: t[:64]).filter(lambda t: not has_surrogates(t)))
def test_telegram_button_presses_carry_any_data_verbatim(
    telegram_hook: TelegramWebhook, data: str
) -> None:
    chat = 8_100_000 + next(counter)
    assert telegram_hook.post(json.dumps(telegram_hook.callback(chat, data)).encode()) == 200
    stored = wait_until(lambda: inbound_texts(telegram_hook.puente, "telegram", str(chat)))
    assert stored == [storable(data)]
    wait_until(telegram_hook.all_finished)
    assert telegram_hook.errors() == []


@given(
    st.one_of(
        st.binary(max_size=300),
        JSON_VALUES.map(lambda v: json.dumps(v).encode()),
        UPDATE_SHAPES.map(lambda v: json.dumps(v).encode()),
    )
)
def test_telegram_webhook_answers_malformed_bodies_with_4xx(
    telegram_hook: TelegramWebhook, body: bytes
) -> None:
    assert telegram_hook.post(body) in {200, 400}


def test_telegram_webhook_survives_malformed_updates_and_finishes_them(
    telegram_hook: TelegramWebhook,
) -> None:
    odd = [
        {"update_id": 1, "message": "not an object"},
        {"update_id": 2, "message": {"chat": "x", "text": 5}},
        {"update_id": 3, "callback_query": [1, 2]},
        {"update_id": 4, "message": {"message_id": 1, "date": "soon", "chat": {"id": None}}},
        {"update_id": 6, "edited_message": None},
    ]
    for update in odd:
        assert telegram_hook.post(json.dumps(update).encode()) == 200
    for body in (b"{not json", b"[]", b'"text"', b'{"update_id": 1e999}', b"\xff\xfe"):
        assert telegram_hook.post(body) == 400
    assert telegram_hook.post(b'{"message": {}}') == 400  # no update_id
    for not_an_integer in (b'{"update_id": "5"}', b'{"update_id": 6.0}', b'{"update_id": true}'):
        assert telegram_hook.post(not_an_integer) == 400
    wait_until(telegram_hook.all_finished)
    chat = 8_500_000
    assert telegram_hook.post(json.dumps(telegram_hook.update(chat, "hola")).encode()) == 200
    assert telegram_hook.fake.wait_for_messages(chat, 1)  # still answering


def test_telegram_webhook_http_limits(telegram_hook: TelegramWebhook) -> None:
    update = json.dumps(telegram_hook.update(8_600_000, "hola")).encode()
    assert telegram_hook.post(update, content_type="text/plain") == 415
    assert telegram_hook.post(update, content_type=None) == 415
    assert telegram_hook.post(update, content_type="application/json; charset=utf-8") == 200
    huge = json.dumps(telegram_hook.update(8_600_001, "ñ" * MAX_BODY)).encode()
    assert telegram_hook.post(huge) == 413
    assert telegram_hook.post(huge, chunked=True) == 413  # no Content-Length to trust
    chat = 8_600_002
    big_text = ("no me llegan los regalos 🔥\u200b مرحبا " * 20_000)[:400_000]
    assert telegram_hook.post(json.dumps(telegram_hook.update(chat, big_text)).encode()) == 200
    stored = wait_until(lambda: inbound_texts(telegram_hook.puente, "telegram", str(chat)))
    assert stored == [big_text]


# -- Slack events -------------------------------------------------------------------------


class SlackEvents:
    def __init__(self, puente: Puente, fake: FakeSlack) -> None:
        config = slack_config(fake, agents=(AGENT,))
        self.puente = puente
        self.service = Service(puente, slack=config).start()
        self.url = self.service.base + SLACK_PATH

    def post(
        self,
        body: bytes,
        content_type: str | None = JSON,
        secret: str = SIGNING_SECRET,
        **kwargs: Any,
    ) -> int:
        headers = signed_headers(body, secret)
        if content_type is not None:
            headers["Content-Type"] = content_type
        return post(self.url, body, headers, **kwargs)[0]


@pytest.fixture
def slack_events(puente: Puente) -> Iterator[SlackEvents]:
    with FakeSlack() as fake:
        fake.add_user("U0CREATOR", "vale_stream", real_name="Vale Stream", locale="es-MX")
        fake.add_user(AGENT, "lucia", real_name="Lucía Agente")
        events = SlackEvents(puente, fake)
        yield events
        events.service.stop()


@given(TEXTS.filter(bool))
def test_slack_dm_stores_any_text_verbatim(slack_events: SlackEvents, text: str) -> None:
    channel = f"D{next(counter):08d}"
    body, content_type = event_payload(dm_event(text, channel=channel))
    assert slack_events.post(body.encode("utf-8", "surrogatepass"), content_type) == 200
    stored = wait_until(lambda: inbound_texts(slack_events.puente, "slack", channel))
    assert stored == [storable(text)]


# the fields Slack's SDK reads ids and routing from, as it builds a request
BOLT_KEYS = st.sampled_from(
    [
        "type", "team", "team_id", "enterprise", "enterprise_id", "user", "user_id", "channel",
        "channel_id", "event", "authorizations", "is_enterprise_install", "api_app_id", "view",
        "actions", "container", "message", "event_id", "callback_id", "command", "trigger_id",
    ]
)  # fmt: skip
BOLT_SHAPES = st.dictionaries(BOLT_KEYS, JSON_VALUES, max_size=6)


@example((b'{"team": true}', JSON))
@example((b'{"view": null}', JSON))
@example((b'{"type": "event_callback", "event_id": "Ev2", "event": null}', JSON))
@example((b'{"type": "event_callback", "event_id": "Ev1", "event": 5}', JSON))
@given(
    st.one_of(
        BOLT_SHAPES.map(lambda v: (json.dumps(v).encode(), JSON)),
        BOLT_SHAPES.map(lambda v: (urlencode({"payload": json.dumps(v)}).encode(), FORM)),
        st.binary(max_size=300).map(lambda b: (b, JSON)),
        JSON_VALUES.map(lambda v: (json.dumps(v).encode(), JSON)),
        JSON_VALUES.map(lambda v: (urlencode({"payload": json.dumps(v)}).encode(), FORM)),
        st.binary(max_size=300).map(lambda b: (b, FORM)),
        st.dictionaries(ANY_TEXT, JSON_VALUES, max_size=4).map(
            lambda e: (json.dumps(event_callback(e)).encode(), JSON)
        ),
    )
)
def test_slack_events_answer_malformed_signed_bodies_with_4xx(
    slack_events: SlackEvents, request_body: tuple[bytes, str]
) -> None:
    body, content_type = request_body
    status = slack_events.post(body, content_type)
    assert status < 500 and status != 401, status


def test_slack_events_http_limits_and_missing_fields(slack_events: SlackEvents) -> None:
    body = json.dumps(event_callback(dm_event("hola", channel="D0LIMITS"))).encode()
    assert slack_events.post(body, secret=WRONG_SECRET) == 401
    assert slack_events.post(body, content_type="text/plain") == 415
    assert slack_events.post(body, content_type=None) == 415
    assert slack_events.post(b"{not json", JSON) == 400
    assert slack_events.post(b"[1, 2]", JSON) == 400
    assert slack_events.post(b"payload=%7Bbroken", FORM) == 400
    no_id = event_callback(dm_event("hola"))
    del no_id["event_id"]
    assert slack_events.post(json.dumps(no_id).encode()) == 400
    huge = json.dumps(event_callback(dm_event("ñ" * MAX_BODY))).encode()
    assert slack_events.post(huge) == 413
    assert slack_events.post(huge, chunked=True) == 413
    assert slack_events.post(body) == 200
    assert wait_until(lambda: inbound_texts(slack_events.puente, "slack", "D0LIMITS")) == ["hola"]


AGENT = "U0AGENT1"
BUTTONS = [
    kit.TAKE,
    kit.RETURN,
    kit.RESOLVE,
    kit.TRANSFER,
    kit.SAVE_KB,
    kit.RECLASSIFY,
    f"{CREATOR_CHOICE}_0",
]
CASE_VALUES = st.one_of(
    ANY_TEXT,
    st.sampled_from(["1", "²", "١٢", "99999999999999999999999", "-1", "1:", "1:self_harm", "0"]),
)


def listener_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_slack_buttons_with_hostile_values_never_fail(
    slack_events: SlackEvents, caplog: pytest.LogCaptureFixture
) -> None:
    @given(st.sampled_from(BUTTONS), CASE_VALUES, st.sampled_from([AGENT, "U0CREATOR"]))
    def click(action_id: str, value: str, user: str) -> None:
        body, content_type = block_actions(action_id, value, user_id=user, channel_id="C0ESC")
        assert slack_events.post(body.encode("utf-8", "surrogatepass"), content_type) == 200

    click()
    assert listener_errors(caplog) == []


def test_slack_modal_submissions_with_hostile_fields_never_fail(
    slack_events: SlackEvents, caplog: pytest.LogCaptureFixture
) -> None:
    @given(
        st.sampled_from([kit.RESOLVE_VIEW, kit.TRANSFER_VIEW, kit.SAVE_KB_VIEW]),
        CASE_VALUES,
        ANY_TEXT,
    )
    def submit(callback_id: str, case: str, text: str) -> None:
        values = {
            kit.SUMMARY: {kit.SUMMARY: text},
            kit.ANSWER: {kit.ANSWER: text},
            kit.QUESTION: {kit.QUESTION: text},
        }
        body, content_type = view_submission(
            callback_id, values, user_id=AGENT, private_metadata=case
        )
        assert slack_events.post(body.encode("utf-8", "surrogatepass"), content_type) == 200

    submit()
    assert listener_errors(caplog) == []


def test_case_ids_are_plain_bounded_numbers() -> None:
    assert case_id("42") == 42 and case_id("0") == 0
    for value in ("", "²", "١٢", "-1", "4 2", "1e3", "9" * 19, "42\n"):
        assert case_id(value) is None, value
