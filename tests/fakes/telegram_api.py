"""A real HTTP server that impersonates the Telegram Bot API, for tests and benchmarks.

Point python-telegram-bot at it and the real, unpatched client talks HTTP to 127.0.0.1::

    with FakeTelegram() as tg:
        bot = Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url)
        tg.user_sends(42, "/start")
        ...  # run the bot
        tg.wait_for_messages(42, count=1)

Only the standard library is used. Requests are accepted the ways the real API accepts them: query
string, ``application/x-www-form-urlencoded`` (what python-telegram-bot sends: every non-string
value JSON-encoded into a string), ``multipart/form-data`` (uploads) and ``application/json``.

Realism the bot can trip over, on purpose: unknown chats are "chat not found" (chats come into
being when a user writes, or via :meth:`FakeTelegram.add_chat`), ``parse_mode="HTML"`` is parsed
into plain text plus entities and malformed HTML is a 400, message ids are per chat and shared
with the user's own messages, ``editMessageText`` without ``reply_markup`` drops the keyboard,
only inline keyboards are echoed back in the returned Message, ``callback_data`` over 64 bytes
is ``BUTTON_DATA_INVALID``, ``getUpdates`` while a webhook is set (or while another
``getUpdates`` is waiting) is a 409. MarkdownV2 is passed through unparsed and unvalidated.
"""

from __future__ import annotations

import contextlib
import copy
import html
import http.client
import itertools
import json
import re
import socket
import sys
import threading
import time
import urllib.request
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, TypedDict, Unpack
from urllib.parse import parse_qsl, unquote, urlsplit

JSON = dict[str, Any]

#: A token in the real format (``<bot id>:<35 characters>``); the bot id is 123456789.
DEFAULT_TOKEN = "123456789:AAF4k3PuenteTestToken-0123456789abc"

#: Update kinds the real API leaves out when ``allowed_updates`` was never given (or is ``[]``).
_NOT_DELIVERED_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

#: Methods whose successful calls put a message in a chat (see :meth:`FakeTelegram.messages_to`).
MESSAGE_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendVoice"})

#: Form fields that stay strings even when they look like JSON (``"text": "123"`` is text).
_STRING_FIELDS = frozenset(
    {
        "action",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "description",
        "document",
        "emoji",
        "file_id",
        "filename",
        "inline_message_id",
        "ip_address",
        "language_code",
        "message_effect_id",
        "name",
        "parse_mode",
        "photo",
        "secret_token",
        "short_description",
        "text",
        "title",
        "url",
        "voice",
    }
)

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

_MAX_TEXT = 4096
_MAX_CAPTION = 1024
_MAX_DOWNLOAD = 20 * 1024 * 1024
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")


class Sender(TypedDict, total=False):
    """Who writes, for the ``user_*`` helpers. Defaults: private chat with Ana, locale ``es``.

    ``user_id`` defaults to the chat id in a private chat (as in Telegram) and to 1001 elsewhere.
    """

    user_id: int
    first_name: str
    last_name: str
    username: str
    language_code: str
    chat_type: str
    chat_title: str


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class StoredFile:
    """A file the fake can serve: registered by a test, sent by a user, or uploaded by the bot."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    kind: str
    file_name: str | None = None
    mime_type: str | None = None

    @property
    def file_size(self) -> int:
        return len(self.data)

    def as_file(self) -> JSON:
        """The Bot API ``File`` object (``file_path`` relative, as the real API returns it)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }


@dataclass(frozen=True)
class Call:
    """One API call as the fake received it.

    ``at`` is ``time.monotonic()`` taken when the fake accepted the call (under its lock, so the
    order of :attr:`FakeTelegram.sent` and of ``at`` agree).
    """

    method: str
    params: JSON
    at: float
    status: int
    response: JSON
    files: dict[str, UploadedFile] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == HTTPStatus.OK

    @property
    def result(self) -> Any:
        return self.response.get("result")

    @property
    def chat_id(self) -> int | str | None:
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        """The text or caption the bot sent, as given (before any HTML parsing)."""
        return self.params.get("text", self.params.get("caption"))


@dataclass(frozen=True)
class Webhook:
    """What the bot last set with ``setWebhook`` (``url == ""`` means no webhook)."""

    url: str = ""
    secret_token: str | None = None
    allowed_updates: list[str] | None = None
    drop_pending_updates: bool = False
    max_connections: int = 40
    ip_address: str | None = None
    has_custom_certificate: bool = False


class ApiError(Exception):
    """Raised by a method implementation; becomes ``{"ok": false, ...}`` with that status."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(detail: str) -> ApiError:
    return ApiError(HTTPStatus.BAD_REQUEST, f"Bad Request: {detail}")


@dataclass
class _Fault:
    method: str | None
    error: ApiError
    remaining: int


# --------------------------------------------------------------------------- request parsing


def _coerce(name: str, value: str) -> Any:
    """Undo python-telegram-bot's form encoding: non-string values arrive JSON-dumped."""
    if name in _STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _header_params(header: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for match in re.finditer(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))', header):
        quoted, bare = match.group(2), match.group(3)
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", quoted) if quoted else bare or ""
    return params


def _parse_multipart(
    body: bytes, boundary: str
) -> tuple[list[tuple[str, str]], dict[str, UploadedFile]]:
    fields: list[tuple[str, str]] = []
    files: dict[str, UploadedFile] = {}
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = _header_params(headers.get("content-disposition", ""))
        name = unquote(disposition.get("name", ""))
        if "filename" in disposition:
            content_type = headers.get("content-type", "application/octet-stream")
            files[name] = UploadedFile(unquote(disposition["filename"]), content_type, data)
        else:
            fields.append((name, data.decode("utf-8", "replace")))
    return fields, files


def parse_request(
    content_type: str, body: bytes, query: str
) -> tuple[JSON, dict[str, UploadedFile]]:
    """Parameters and uploaded files of one API request, in any encoding the real API accepts."""
    fields = parse_qsl(query, keep_blank_values=True)
    files: dict[str, UploadedFile] = {}
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type == "application/json" and body.strip():
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise ValueError("JSON body must be an object")
        params = {k: v for k, v in fields} | decoded
        return {k: _coerce(k, v) if isinstance(v, str) else v for k, v in params.items()}, files
    if media_type == "multipart/form-data":
        boundary = _header_params(content_type).get("boundary")
        if not boundary:
            raise ValueError("multipart body without boundary")
        parts, files = _parse_multipart(body, boundary)
        fields += parts
    elif body:
        fields += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: _coerce(name, value) for name, value in fields}, files


# --------------------------------------------------------------------------- text and entities


def utf16_len(text: str) -> int:
    """Entity offsets and lengths count UTF-16 code units, as in the real API."""
    return len(text.encode("utf-16-le")) // 2


_AUTO_ENTITY_RE = re.compile(
    r"(?P<bot_command>(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/]))"
    r"|(?P<url>\bhttps?://[^\s<>\"]+[^\s<>\".,;:!?)\]'])"
    r"|(?P<mention>(?<![\w@])@[A-Za-z0-9_]{5,32}\b)"
)


def detect_entities(text: str) -> list[JSON]:
    """The entities Telegram adds to what a user types: commands, links, @mentions."""
    return [
        {
            "offset": utf16_len(text[: match.start()]),
            "length": utf16_len(match.group()),
            "type": match.lastgroup,
        }
        for match in _AUTO_ENTITY_RE.finditer(text)
    ]


_HTML_TAG_RE = re.compile(r"<(/?)([A-Za-z][\w-]*)([^<>]*)>")
_HTML_ATTR_RE = re.compile(r"""([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_HTML_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


def _entity_error(detail: str) -> ApiError:
    return _bad_request(f"can't parse entities: {detail}")


def _html_attributes(raw: str) -> dict[str, str]:
    attributes = {
        m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or m.group(4) or "")
        for m in _HTML_ATTR_RE.finditer(raw)
    }
    if re.search(r"(?:^|\s)expandable(?:\s|$)", raw):
        attributes["expandable"] = ""
    return attributes


def _html_entity(tag: str, start: int, end: int, attributes: dict[str, str]) -> JSON | None:
    kind = _HTML_ENTITY_TYPES[tag]
    entity: JSON = {"offset": start, "length": end - start, "type": kind}
    if kind == "text_link":
        if "href" not in attributes:
            return None
        entity["url"] = attributes["href"]
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = attributes.get("emoji-id", "")
    elif kind == "pre" and "language" in attributes:
        entity["language"] = attributes["language"]
    elif kind == "blockquote" and "expandable" in attributes:
        entity["type"] = "expandable_blockquote"
    return entity if end > start else None


def parse_html(source: str) -> tuple[str, list[JSON]]:
    """``parse_mode="HTML"`` as Telegram does it: plain text plus entities, or a 400."""
    pieces: list[str] = []
    length = 0
    stack: list[tuple[str, int, dict[str, str]]] = []
    entities: list[JSON] = []
    pos = 0
    while pos < len(source):
        lt = source.find("<", pos)
        piece = html.unescape(source[pos : lt if lt >= 0 else len(source)])
        pieces.append(piece)
        length += utf16_len(piece)
        if lt < 0:
            break
        where = f"at byte offset {len(source[:lt].encode())}"
        match = _HTML_TAG_RE.match(source, lt)
        if match is None:
            raise _entity_error(f"Unexpected character '<' {where}")
        closing, tag, raw_attributes = match.group(1) == "/", match.group(2).lower(), match.group(3)
        attributes = _html_attributes(raw_attributes)
        if tag not in _HTML_ENTITY_TYPES or (
            tag == "span" and not closing and attributes.get("class") != "tg-spoiler"
        ):
            raise _entity_error(f'Unsupported start tag "{tag}" {where}')
        if not closing:
            stack.append((tag, length, attributes))
        elif not stack or stack[-1][0] != tag:
            raise _entity_error(f'Unexpected end tag "{tag}" {where}')
        else:
            open_tag, start, open_attributes = stack.pop()
            language = open_attributes.get("class", "").removeprefix("language-")
            if open_tag == "code" and stack and stack[-1][0] == "pre" and language:
                stack[-1][2]["language"] = language  # <pre><code class="language-x"> is one entity
            elif entity := _html_entity(open_tag, start, length, open_attributes):
                entities.append(entity)
        pos = match.end()
    if stack:
        raise _entity_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(pieces), sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def strip_text(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram trims surrounding whitespace from texts and moves entities accordingly."""
    stripped = text.strip()
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    limit = utf16_len(stripped)
    kept: list[JSON] = []
    for entity in entities:
        start = min(max(entity["offset"] - shift, 0), limit)
        end = min(max(entity["offset"] + entity["length"] - shift, 0), limit)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


# --------------------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    """Joins its handler threads on close; :meth:`close_connections` unblocks keep-alive reads."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def track(self, connection: socket.socket, *, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError)) and error is not None:
            self.fake._note_error(error)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like api.telegram.org
    timeout = 60  # an idle keep-alive connection is dropped after this
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, open_=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, open_=False)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log lines."""

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks: list[bytes] = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline().strip():  # trailers
            pass
        return b"".join(chunks)

    def _serve(self) -> None:
        fake = self.server.fake
        fake._track_request(+1)
        try:
            body = self._read_body()
            content_type = self.headers.get("Content-Type", "")
            status, media_type, payload = fake._handle_http(self.path, content_type, body)
            self.send_response(status)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (ConnectionError, OSError):
            self.close_connection = True  # the client gave up (e.g. a cancelled long poll)
        finally:
            fake._track_request(-1)


def _json_bytes(body: JSON) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


# --------------------------------------------------------------------------- the fake


class FakeTelegram:
    """The Bot API on 127.0.0.1, with helpers to play the users and inspect what the bot did.

    Thread-safe: the HTTP handler threads and the test thread share one ``Condition``.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "puente_test_bot",
        bot_first_name: str = "Puente",
        first_update_id: int = 1,
    ) -> None:
        self.token = token
        bot_id = token.partition(":")[0]
        self.bot_id = int(bot_id) if bot_id.isdigit() else 123456789
        self.bot_user: JSON = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self._cond = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._stopped = False
        self._in_flight = 0
        self._errors: list[BaseException] = []
        # updates
        self._updates: deque[JSON] = deque()
        self._next_update_id = first_update_id
        self._delivered_update_id = first_update_id - 1
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0
        # chats, messages, files, callbacks
        self._chats: dict[int, JSON] = {}
        self._blocked: set[int] = set()
        self._last_message_id: Counter[int] = Counter()
        self._messages: dict[tuple[int, int], JSON] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._callback_counter = itertools.count(4_000_000_000_000_001)
        self._open_callbacks: set[str] = set()
        # bot-side state and records
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._webhook = Webhook()
        self._sent: list[Call] = []
        self._counts: Counter[str] = Counter()
        self._faults: list[_Fault] = []
        self._fail_until = 0.0
        self._fail_error: ApiError | None = None
        # held calls (a send in flight that hasn't reached Telegram yet), listeners, pushing
        self._held_methods: set[str] = set()
        self._held_after_accept: set[str] = set()
        self._holding = 0
        self._hold_generation = 0
        self._hold_accept = True
        self._listeners: list[Callable[[Call], None]] = []
        self._pushers: list[threading.Thread] = []
        self._push_targets: list[str] = []
        self._push_turn = itertools.count()
        self._methods: dict[str, tuple[str, Callable[[JSON, dict[str, UploadedFile]], Any]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendChatAction": self._send_chat_action,
                "getFile": self._get_file,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
                "sendVoice": self._send_voice,
                "close": self._true,
                "logOut": self._true,
            }.items()
        }

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Bind an ephemeral port on 127.0.0.1 and serve in a background thread."""
        if self._server is not None:
            raise RuntimeError("FakeTelegram already started")
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-telegram",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: wake long polls, close keep-alive connections, join every thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None or self._stopped:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            # Let woken long polls write their (empty) answers before connections are cut.
            self._cond.wait_for(lambda: self._in_flight == 0, timeout=2)
        self._stopped = True
        server.shutdown()
        server.close_connections()
        server.server_close()  # joins the handler threads
        thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        if self._server is None:
            raise RuntimeError("start() the fake first: the port is chosen when it binds")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """For ``Bot(base_url=...)``: the library appends the token, then ``/<method>``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``Bot(base_file_url=...)``: the library appends the token, then ``/<file_path>``."""
        return f"{self.url}/file/bot"

    @property
    def errors(self) -> list[BaseException]:
        """Unexpected exceptions inside the fake (a bug in the fake, not in the bot)."""
        with self._cond:
            return list(self._errors)

    def _track_request(self, delta: int) -> None:
        with self._cond:
            self._in_flight += delta
            self._cond.notify_all()

    def _note_error(self, error: BaseException) -> None:
        with self._cond:
            self._errors.append(error)

    # ------------------------------------------------------------------ playing the users

    def add_chat(
        self,
        chat_id: int,
        *,
        chat_type: str = "private",
        first_name: str = "Ana",
        last_name: str | None = None,
        username: str | None = None,
        title: str | None = None,
    ) -> JSON:
        """Make a chat known (the bot may write to it) without any user message."""
        chat: JSON = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name
            if last_name:
                chat["last_name"] = last_name
        else:
            chat["title"] = title or f"Chat {chat_id}"
        if username:
            chat["username"] = username
        with self._cond:
            self._chats[chat_id] = chat
            self._blocked.discard(chat_id)
        return chat

    def user_blocks_bot(self, chat_id: int) -> None:
        """From now on, sending to this chat is ``403 Forbidden: bot was blocked by the user``."""
        with self._cond:
            self._blocked.add(chat_id)

    def user_sends(
        self,
        chat_id: int,
        text: str,
        *,
        entities: list[JSON] | None = None,
        reply_to_message_id: int | None = None,
        **sender: Unpack[Sender],
    ) -> JSON:
        """Enqueue a ``message`` update with ``text``; commands, links and @mentions get entities.

        Returns the update (``update["message"]["message_id"]`` is what the bot will see).
        """
        content: JSON = {"text": text}
        found = detect_entities(text) if entities is None else entities
        if found:
            content["entities"] = found
        return self._user_message(chat_id, content, sender, reply_to_message_id)

    def user_sends_photo(
        self,
        chat_id: int,
        data: bytes = b"\xff\xd8\xff\xe0fake-jpeg",
        *,
        caption: str | None = None,
        **sender: Unpack[Sender],
    ) -> JSON:
        """Enqueue a photo message; its file id is registered, so ``getFile`` works."""
        stored = self.register_file(data, kind="photo", mime_type="image/jpeg")
        return self._user_message(chat_id, self._media_content(stored, caption), sender)

    def user_sends_document(
        self,
        chat_id: int,
        data: bytes = b"%PDF-1.4 fake",
        *,
        file_name: str = "documento.pdf",
        mime_type: str = "application/pdf",
        caption: str | None = None,
        **sender: Unpack[Sender],
    ) -> JSON:
        """Enqueue a document message (file registered for ``getFile``)."""
        stored = self.register_file(data, kind="document", file_name=file_name, mime_type=mime_type)
        return self._user_message(chat_id, self._media_content(stored, caption), sender)

    def user_sends_voice(
        self,
        chat_id: int,
        data: bytes = b"OggS fake voice",
        *,
        duration: int = 3,
        **sender: Unpack[Sender],
    ) -> JSON:
        """Enqueue a voice message (file registered for ``getFile``)."""
        stored = self.register_file(data, kind="voice", mime_type="audio/ogg")
        content = self._media_content(stored, None, duration=duration)
        return self._user_message(chat_id, content, sender)

    def user_sends_sticker(
        self,
        chat_id: int,
        *,
        emoji: str = "👍",
        data: bytes = b"RIFF fake webp",
        **sender: Unpack[Sender],
    ) -> JSON:
        """Enqueue a sticker message (file registered for ``getFile``)."""
        stored = self.register_file(data, kind="sticker", mime_type="image/webp")
        content = self._media_content(stored, None, emoji=emoji)
        return self._user_message(chat_id, content, sender)

    def user_presses(
        self, chat_id: int, message_id: int, data: str, **sender: Unpack[Sender]
    ) -> JSON:
        """Enqueue a ``callback_query`` for an inline button under message ``message_id``.

        The query id is ``update["callback_query"]["id"]``; ``answerCallbackQuery`` accepts it
        once, like Telegram.
        """
        with self._cond:
            user, chat = self._sender(chat_id, sender)
            message = self._messages.get((chat_id, message_id)) or {
                "message_id": message_id,
                "date": 0,  # an InaccessibleMessage, as Telegram sends for unknown/old messages
                "chat": chat,
            }
            query_id = str(next(self._callback_counter))
            self._open_callbacks.add(query_id)
            query = {
                "id": query_id,
                "from": user,
                "message": message,
                "chat_instance": str(-abs(hash((self.bot_id, chat_id)))),
                "data": data,
            }
            return self._enqueue({"callback_query": query})

    def raw_update(self, update: JSON) -> JSON:
        """Enqueue any update as given; ``update_id`` is assigned when missing."""
        with self._cond:
            return self._enqueue(copy.deepcopy(update))

    def register_file(
        self,
        data: bytes,
        *,
        kind: str = "document",
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        """Make ``data`` downloadable: ``getFile(file_id)`` then GET under ``base_file_url``."""
        number = next(self._file_counter)
        folder = {"photo": "photos", "voice": "voice", "sticker": "stickers"}.get(kind, kind + "s")
        suffix = {"photo": ".jpg", "voice": ".oga", "sticker": ".webp"}.get(kind, "")
        if file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=f"fake-{kind}-{number:06d}",
            file_unique_id=f"uniq{number:06d}",
            file_path=f"{folder}/file_{number}{suffix}",
            data=bytes(data),
            kind=kind,
            file_name=file_name,
            mime_type=mime_type,
        )
        with self._cond:
            self._files[stored.file_id] = stored
            self._files_by_path[stored.file_path] = stored
        return stored

    def _sender(self, chat_id: int, sender: Sender) -> tuple[JSON, JSON]:
        """The ``from`` user and the ``chat`` of a user's message; remembers the chat."""
        chat_type = sender.get("chat_type", "private")
        user_id = sender.get("user_id", chat_id if chat_type == "private" else 1001)
        user: JSON = {"id": user_id, "is_bot": False, "first_name": sender.get("first_name", "Ana")}
        for key in ("last_name", "username"):
            if key in sender:
                user[key] = sender[key]  # type: ignore[literal-required]
        user["language_code"] = sender.get("language_code", "es")
        if chat_type == "private":
            chat = {k: v for k, v in user.items() if k in ("first_name", "last_name", "username")}
            chat = {"id": chat_id, "type": "private", **chat}
        else:
            title = sender.get("chat_title", f"Chat {chat_id}")
            chat = {"id": chat_id, "type": chat_type, "title": title}
        with self._cond:
            self._chats[chat_id] = chat
        return user, chat

    def _user_message(
        self,
        chat_id: int,
        content: JSON,
        sender: Sender,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        with self._cond:
            user, chat = self._sender(chat_id, sender)
            message = self._new_message(chat, user, content, reply_to_message_id)
            return self._enqueue({"message": message})

    def _media_content(
        self,
        stored: StoredFile,
        caption: str | None,
        *,
        duration: int = 1,
        emoji: str = "👍",
    ) -> JSON:
        base = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
        }
        content: JSON
        if stored.kind == "photo":
            content = {"photo": [{**base, "width": 800, "height": 600}]}
        elif stored.kind == "voice":
            content = {"voice": {**base, "duration": duration, "mime_type": "audio/ogg"}}
        elif stored.kind == "sticker":
            sticker = {"width": 512, "height": 512, "is_animated": False, "is_video": False}
            content = {"sticker": {**base, **sticker, "type": "regular", "emoji": emoji}}
        else:
            document = {**base, "file_name": stored.file_name or "file"}
            document["mime_type"] = stored.mime_type or "application/octet-stream"
            content = {"document": document}
        if caption:
            content["caption"] = caption
        return content

    def _new_message(
        self, chat: JSON, sender: JSON, content: JSON, reply_to_message_id: int | None = None
    ) -> JSON:
        """Store a message in ``chat``; ids are per chat, shared by users and the bot."""
        self._last_message_id[chat["id"]] += 1
        message: JSON = {
            "message_id": self._last_message_id[chat["id"]],
            "from": sender,
            "chat": chat,
            "date": int(time.time()),
            **content,
        }
        if reply_to_message_id is not None:
            replied = self._messages.get((chat["id"], reply_to_message_id))
            if replied is not None:
                message["reply_to_message"] = {
                    k: v for k, v in replied.items() if k != "reply_to_message"
                }
        self._messages[(chat["id"], message["message_id"])] = message
        return message

    def _enqueue(self, update: JSON) -> JSON:
        """Queue an update, unless the bot's ``allowed_updates`` excludes its kind (as Telegram
        does: the filter applies when the update is created)."""
        if "update_id" not in update:
            update = {"update_id": self._next_update_id, **update}
        self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
        kind = next((key for key in update if key != "update_id"), "")
        if self._update_allowed(kind):
            self._updates.append(update)
            self._cond.notify_all()
        return update

    def _update_allowed(self, kind: str) -> bool:
        if not self._allowed_updates:
            return kind not in _NOT_DELIVERED_BY_DEFAULT
        return kind in self._allowed_updates

    # ------------------------------------------------------------------ inspecting the bot

    @property
    def sent(self) -> list[Call]:
        """Every call the bot made except ``getUpdates``, in the order the fake accepted them
        (failed ones included; see :attr:`Call.ok`)."""
        with self._cond:
            return list(self._sent)

    def calls(self, method: str) -> list[Call]:
        """Recorded calls of one method (canonical name, e.g. ``"sendMessage"``)."""
        with self._cond:
            return [call for call in self._sent if call.method == method]

    @property
    def call_counts(self) -> dict[str, int]:
        """Calls received per method, ``getUpdates`` and failed calls included."""
        with self._cond:
            return dict(self._counts)

    def call_count(self, method: str) -> int:
        with self._cond:
            return self._counts[method]

    def messages_to(self, chat_id: int | str) -> list[Call]:
        """Successful send* calls to ``chat_id``, in acceptance order."""
        with self._cond:
            return self._messages_to(chat_id)

    def _messages_to(self, chat_id: int | str) -> list[Call]:
        return [
            call
            for call in self._sent
            if call.ok and call.method in MESSAGE_METHODS and call.chat_id == chat_id
        ]

    def texts_to(self, chat_id: int | str) -> list[str]:
        """The text (or caption) of every message sent to ``chat_id``, as the bot gave it."""
        return [call.text or "" for call in self.messages_to(chat_id)]

    def wait_for_messages(
        self, chat_id: int | str, count: int = 1, timeout: float = 5.0
    ) -> list[Call]:
        """Block until ``count`` messages reached ``chat_id``; raise ``TimeoutError`` if not."""
        with self._cond:
            if self._cond.wait_for(lambda: len(self._messages_to(chat_id)) >= count, timeout):
                return self._messages_to(chat_id)
            texts = [call.text for call in self._messages_to(chat_id)]
        raise TimeoutError(f"{count} message(s) to {chat_id} expected in {timeout}s, got {texts}")

    def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until ``count`` calls of ``method`` were recorded; raise ``TimeoutError``."""

        def matching() -> list[Call]:
            return [call for call in self._sent if call.method == method]

        with self._cond:
            if self._cond.wait_for(lambda: len(matching()) >= count, timeout):
                return matching()
            got = len(matching())
        raise TimeoutError(f"{count} {method} call(s) expected in {timeout}s, got {got}")

    def wait_until_delivered(self, timeout: float = 5.0) -> None:
        """Block until ``getUpdates`` has handed out every update queued so far."""
        with self._cond:
            last = self._next_update_id - 1
            if not self._cond.wait_for(lambda: self._delivered_update_id >= last, timeout):
                raise TimeoutError(f"updates up to {last} not fetched within {timeout}s")

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates queued and not yet confirmed by an ``offset``."""
        with self._cond:
            return list(self._updates)

    def commands(self, language_code: str = "", scope: JSON | None = None) -> list[JSON]:
        """The command list the bot set for this language and scope (default scope if None)."""
        with self._cond:
            return list(self._commands.get(self._commands_key(language_code, scope), []))

    @property
    def webhook(self) -> Webhook:
        with self._cond:
            return self._webhook

    @property
    def allowed_updates(self) -> list[str] | None:
        """The bot's last ``allowed_updates`` (None: never given, the API default applies)."""
        with self._cond:
            return None if self._allowed_updates is None else list(self._allowed_updates)

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str | None = None,
        *,
        status: int = 429,
        retry_after: int = 2,
        times: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (None: any method) fail with ``status``.

        429 carries ``parameters.retry_after`` like Telegram's flood control; other statuses get
        the real API's usual description unless one is given (e.g. ``status=403,
        description="Forbidden: bot was blocked by the user"``).
        """
        error = self._fault_error(status, retry_after, description)
        with self._cond:
            self._faults.append(_Fault(method.lower() if method else None, error, times))

    def fail_for(
        self,
        seconds: float,
        status: int = 500,
        *,
        retry_after: int = 2,
        description: str | None = None,
    ) -> None:
        """Make every API call fail with ``status`` for the next ``seconds``."""
        error = self._fault_error(status, retry_after, description)
        with self._cond:
            self._fail_until = time.monotonic() + seconds
            self._fail_error = error

    def hold(self, method: str, *, after_accept: bool = False) -> None:
        """Keep calls of ``method`` waiting, neither answered nor accepted, until
        :meth:`release_held` (a request in flight when its sender dies). ``after_accept``:
        the call is accepted (the message is sent) and only its answer waits, as when the
        sender dies between Telegram taking a message and recording it."""
        with self._cond:
            target = self._held_after_accept if after_accept else self._held_methods
            target.add(method.lower())

    @property
    def holding(self) -> int:
        """How many calls are waiting in :meth:`hold` right now."""
        with self._cond:
            return self._holding

    def release_held(self, *, accept: bool) -> None:
        """Stop holding; waiting calls go on (``accept``) or are answered 502 without ever
        having been accepted (the connection broke before Telegram took the message)."""
        with self._cond:
            self._held_methods.clear()
            self._held_after_accept.clear()
            self._hold_accept = accept
            self._hold_generation += 1
            self._cond.notify_all()

    def on_call(self, listener: Callable[[Call], None]) -> None:
        """Call ``listener`` (from a server thread) with every recorded call, as it happens:
        cheaper than waiting on the whole record when thousands of chats are watched."""
        with self._cond:
            self._listeners.append(listener)

    def push_updates(self, targets: list[str] | None = None, *, connections: int = 8) -> None:
        """Deliver queued updates by POSTing them, as Telegram does once a webhook is set: to
        the registered webhook, or round-robin to ``targets`` (a load balancer in front of
        several web processes). Refused or unreachable targets get the update again later."""
        with self._cond:
            self._push_targets = list(targets or [])
        for n in range(connections):
            thread = threading.Thread(target=self._push_forever, name=f"push-{n}", daemon=True)
            self._pushers.append(thread)
            thread.start()

    def _push_forever(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._updates or self._stopping)
                if self._stopping:
                    return
                update = self._updates.popleft()
                targets = self._push_targets or [self._webhook.url]
                secret = self._webhook.secret_token
            url = targets[next(self._push_turn) % len(targets)]
            if not _post_update(url, update, secret):
                time.sleep(0.2)  # the real API waits longer; a test has no time to lose
                with self._cond:
                    self._updates.appendleft(update)
                    self._cond.notify_all()

    def _wait_if_held(self, method: str) -> bool:
        """True when this call was held and then dropped (never accepted)."""
        with self._cond:
            if method.lower() not in self._held_methods:
                return False
        return self._wait_held()

    def _wait_held(self) -> bool:
        with self._cond:
            generation = self._hold_generation
            self._holding += 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._hold_generation != generation or self._stopping)
            self._holding -= 1
            return not self._hold_accept or self._stopping

    def clear_faults(self) -> None:
        with self._cond:
            self._faults.clear()
            self._fail_until = 0.0

    @staticmethod
    def _fault_error(status: int, retry_after: int, description: str | None) -> ApiError:
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            text = description or f"Too Many Requests: retry after {retry_after}"
            return ApiError(status, text, {"retry_after": retry_after})
        try:
            default = HTTPStatus(status).phrase
        except ValueError:
            default = "Unknown Error"
        return ApiError(status, description or default)

    def _take_fault(self, method: str, now: float) -> ApiError | None:
        if now < self._fail_until and self._fail_error is not None:
            return self._fail_error
        for fault in self._faults:
            if fault.method in (None, method.lower()):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault.error
        return None

    # ------------------------------------------------------------------ request dispatch

    def _handle_http(self, raw_path: str, content_type: str, body: bytes) -> tuple[int, str, bytes]:
        """Route one HTTP request; returns status, media type and body."""
        parts = urlsplit(raw_path)
        path = unquote(parts.path)
        try:
            if path.startswith("/file/bot"):
                token, _, file_path = path.removeprefix("/file/bot").partition("/")
                return self._download(token, file_path)
            if path.startswith("/bot"):
                token, _, method = path.removeprefix("/bot").partition("/")
                try:
                    params, files = parse_request(content_type, body, parts.query)
                except ValueError as error:
                    raise _bad_request(f"can't parse request: {error}") from error
                status, response = self._dispatch(token, method, params, files)
                return status, "application/json", _json_bytes(response)
            raise ApiError(HTTPStatus.NOT_FOUND, "Not Found")
        except ApiError as error:
            return error.status, "application/json", _json_bytes(error.body())
        except Exception as error:  # a bug in the fake: answer like a broken server, keep it
            self._note_error(error)
            failure = ApiError(HTTPStatus.INTERNAL_SERVER_ERROR, f"Internal Server Error: {error}")
            return failure.status, "application/json", _json_bytes(failure.body())

    def _download(self, token: str, file_path: str) -> tuple[int, str, bytes]:
        if token != self.token:
            raise ApiError(HTTPStatus.UNAUTHORIZED, "Unauthorized")
        with self._cond:
            stored = self._files_by_path.get(file_path)
        if stored is None:
            raise ApiError(HTTPStatus.NOT_FOUND, "Not Found")
        return HTTPStatus.OK, stored.mime_type or "application/octet-stream", stored.data

    def _dispatch(
        self, token: str, method: str, params: JSON, files: dict[str, UploadedFile]
    ) -> tuple[int, JSON]:
        if token != self.token:
            raise ApiError(HTTPStatus.UNAUTHORIZED, "Unauthorized")
        known = self._methods.get(method.lower())
        if self._wait_if_held(method):
            return HTTPStatus.BAD_GATEWAY, ApiError(HTTPStatus.BAD_GATEWAY, "Bad Gateway").body()
        with self._cond:
            at = time.monotonic()
            name = known[0] if known else method
            self._counts[name] += 1
            try:
                if known is None:
                    raise ApiError(HTTPStatus.NOT_FOUND, "Not Found")
                fault = self._take_fault(name, at)
                if fault is not None:
                    raise fault
                status, response = HTTPStatus.OK, {"ok": True, "result": known[1](params, files)}
            except ApiError as error:
                status, response = error.status, error.body()
            if name != "getUpdates":
                call = Call(name, params, at, status, response, files)
                self._sent.append(call)
                self._cond.notify_all()
                for listener in self._listeners:
                    listener(call)
            held_answer = name.lower() in self._held_after_accept
        if held_answer:
            self._wait_held()
        return status, response

    # ------------------------------------------------------------------ parameter helpers

    @staticmethod
    def _required(params: JSON, name: str) -> Any:
        value = params.get(name)
        if value is None or value == "":
            raise _bad_request(f"{name} is empty")
        return value

    @classmethod
    def _int(cls, params: JSON, name: str) -> int:
        value = cls._required(params, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad_request(f'field "{name}" must be of type Integer')
        return value

    def _chat(self, params: JSON) -> JSON:
        """The chat named by ``chat_id`` (an id or ``@username``), as Telegram would resolve it."""
        chat_id = self._required(params, "chat_id")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            chat = next((c for c in self._chats.values() if c.get("username") == chat_id[1:]), None)
        else:
            chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise _bad_request("chat not found")
        if chat["id"] in self._blocked:
            raise ApiError(HTTPStatus.FORBIDDEN, "Forbidden: bot was blocked by the user")
        return chat

    def _rich_text(
        self, params: JSON, key: str, entities_key: str, limit: int
    ) -> tuple[str, list[JSON]]:
        """Text after parse_mode/entities handling and trimming, as the real API stores it."""
        text = params.get(key)
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        entities = params.get(entities_key)
        if isinstance(entities, list):
            found = entities
        elif str(params.get("parse_mode", "")).lower() == "html":
            text, found = parse_html(text)
        else:
            found = []
        text, found = strip_text(text, found)
        if utf16_len(text) > limit:
            what = "message" if key == "text" else "message caption"
            raise _bad_request(f"{what} is too long")
        return text, found

    def _text_content(self, params: JSON) -> JSON:
        text, entities = self._rich_text(params, "text", "entities", _MAX_TEXT)
        if not text:
            raise _bad_request("message text is empty")
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        return content

    def _caption_content(self, params: JSON) -> JSON:
        caption, entities = self._rich_text(params, "caption", "caption_entities", _MAX_CAPTION)
        content: JSON = {}
        if caption:
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        return content

    @staticmethod
    def _inline_markup(params: JSON) -> JSON | None:
        """The reply_markup Telegram echoes in the Message: inline keyboards only, validated."""
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            return None
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad_request("text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise _bad_request("BUTTON_DATA_INVALID")
        return markup

    def _reply_to(self, params: JSON, chat: JSON) -> int | None:
        """The message being replied to; a 400 if it doesn't exist and that isn't allowed."""
        reply = params.get("reply_parameters")
        message_id = reply.get("message_id") if isinstance(reply, dict) else None
        message_id = message_id or params.get("reply_to_message_id")
        if message_id is None:
            return None
        allow_missing = params.get("allow_sending_without_reply") or (
            isinstance(reply, dict) and reply.get("allow_sending_without_reply")
        )
        if (chat["id"], message_id) not in self._messages and not allow_missing:
            raise _bad_request("message to be replied not found")
        return int(message_id)

    def _bot_message(self, params: JSON, content: JSON) -> JSON:
        chat = self._chat(params)
        reply_to = self._reply_to(params, chat)
        markup = self._inline_markup(params)
        if markup is not None:
            content = {**content, "reply_markup": markup}
        return self._new_message(chat, self.bot_user, content, reply_to)

    def _input_file(
        self, params: JSON, files: dict[str, UploadedFile], field_name: str, kind: str
    ) -> StoredFile:
        """The file a send* call refers to: an upload, ``attach://``, a file_id or a URL."""
        upload = files.get(field_name)
        value = params.get(field_name)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
        if upload is not None:
            return self.register_file(
                upload.data, kind=kind, file_name=upload.filename, mime_type=upload.content_type
            )
        if not value:
            raise _bad_request(f"there is no {field_name} in the request")
        if value in self._files:
            return self._files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self.register_file(b"", kind=kind, file_name=value.rsplit("/", 1)[-1])
        raise _bad_request("wrong file identifier/HTTP URL specified")

    def _send_media(self, params: JSON, files: dict[str, UploadedFile], kind: str) -> JSON:
        self._chat(params)  # "chat not found" before the upload is stored
        stored = self._input_file(params, files, kind, kind)
        duration = params.get("duration")
        content = self._media_content(
            stored, None, duration=duration if isinstance(duration, int) else 1
        )
        return self._bot_message(params, {**content, **self._caption_content(params)})

    def _stored_bot_message(self, params: JSON) -> JSON:
        chat_id, message_id = self._required(params, "chat_id"), self._int(params, "message_id")
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise _bad_request("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise _bad_request("message can't be edited")
        return message

    def _replace_message(self, old: JSON, new: JSON) -> JSON:
        if {k: v for k, v in old.items() if k != "edit_date"} == new:
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        new = {**new, "edit_date": int(time.time())}
        self._messages[(new["chat"]["id"], new["message_id"])] = new
        return new

    @staticmethod
    def _commands_key(language_code: str, scope: JSON | None) -> tuple[str, str]:
        return language_code or "", json.dumps(scope or {"type": "default"}, sort_keys=True)

    # ------------------------------------------------------------------ the API methods

    def _true(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        return True

    def _get_me(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return self.bot_user

    def _get_updates(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        """Long polling: answer as soon as there is an update, else after ``timeout`` seconds.

        A newer ``getUpdates`` ends a waiting one with 409, as Telegram does, which also frees the
        server thread of a poll the client abandoned.
        """
        if self._webhook.url:
            raise ApiError(
                HTTPStatus.CONFLICT,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = list(params["allowed_updates"])
        self._confirm(params.get("offset"))
        limit = params.get("limit")
        limit = min(max(limit, 1), 100) if isinstance(limit, int) else 100
        timeout = params.get("timeout")
        timeout = float(timeout) if isinstance(timeout, int | float) else 0.0
        self._poll_generation += 1
        generation = self._poll_generation
        deadline = time.monotonic() + timeout
        while not self._updates and not self._stopping:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._cond.wait(remaining)
            if generation != self._poll_generation:
                raise ApiError(
                    HTTPStatus.CONFLICT,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
        batch = list(itertools.islice(self._updates, limit))
        if batch:
            self._delivered_update_id = max(self._delivered_update_id, batch[-1]["update_id"])
            self._cond.notify_all()
        return batch

    def _confirm(self, offset: Any) -> None:
        """``offset`` forgets earlier updates; a negative one keeps only the last ``-offset``."""
        if not isinstance(offset, int) or isinstance(offset, bool) or offset == 0:
            return
        if offset > 0:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
        else:
            while len(self._updates) > -offset:
                self._updates.popleft()

    def _send_message(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        self._chat(params)  # "chat not found" comes before "message text is empty"
        return self._bot_message(params, self._text_content(params))

    def _edit_message_text(self, params: JSON, files: dict[str, UploadedFile]) -> JSON | bool:
        content = self._text_content(params)
        if params.get("inline_message_id"):
            return True
        old = self._stored_bot_message(params)
        new = {k: v for k, v in old.items() if k not in ("text", "entities", "reply_markup")}
        new.update(content)
        markup = self._inline_markup(params)  # no reply_markup: Telegram drops the keyboard
        if markup is not None:
            new["reply_markup"] = markup
        return self._replace_message(old, new)

    def _edit_message_reply_markup(
        self, params: JSON, files: dict[str, UploadedFile]
    ) -> JSON | bool:
        if params.get("inline_message_id"):
            return True
        old = self._stored_bot_message(params)
        new = {k: v for k, v in old.items() if k != "reply_markup"}
        markup = self._inline_markup(params)
        if markup is not None:
            new["reply_markup"] = markup
        return self._replace_message(old, new)

    def _delete_message(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        key = (self._required(params, "chat_id"), self._int(params, "message_id"))
        if self._messages.pop(key, None) is None:
            raise _bad_request("message to delete not found")
        return True

    def _answer_callback_query(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        query_id = str(self._required(params, "callback_query_id"))
        if query_id not in self._open_callbacks:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self._open_callbacks.discard(query_id)
        if len(str(params.get("text", ""))) > 200:
            raise _bad_request("MESSAGE_TOO_LONG")
        return True

    def _set_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad_request("can't parse commands JSON object")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            description = command.get("description", "") if isinstance(command, dict) else ""
            if not _COMMAND_RE.fullmatch(str(name)) or not 1 <= len(str(description)) <= 256:
                raise _bad_request("BOT_COMMAND_INVALID")
        key = self._commands_key(str(params.get("language_code", "")), params.get("scope"))
        self._commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _get_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        key = self._commands_key(str(params.get("language_code", "")), params.get("scope"))
        return self._commands.get(key, [])

    def _delete_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        key = self._commands_key(str(params.get("language_code", "")), params.get("scope"))
        self._commands.pop(key, None)
        return True

    def _send_chat_action(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self._chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    def _get_file(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        stored = self._files.get(str(self._required(params, "file_id")))
        if stored is None:
            raise _bad_request("invalid file_id")
        if stored.file_size > _MAX_DOWNLOAD:
            raise _bad_request("file is too big")
        return stored.as_file()

    def _set_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        url = str(params.get("url", ""))
        if not url:
            return self._delete_webhook(params, files)
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(str(secret)):
            raise _bad_request("secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = list(allowed)
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        max_connections = params.get("max_connections")
        self._webhook = Webhook(
            url=url,
            secret_token=None if secret is None else str(secret),
            allowed_updates=list(allowed) if isinstance(allowed, list) else None,
            drop_pending_updates=params.get("drop_pending_updates") is True,
            max_connections=max_connections if isinstance(max_connections, int) else 40,
            ip_address=params.get("ip_address"),
            has_custom_certificate="certificate" in files,
        )
        return True

    def _delete_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        self._webhook = Webhook()
        return True

    def _get_webhook_info(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        info: JSON = {
            "url": self._webhook.url,
            "has_custom_certificate": self._webhook.has_custom_certificate,
            "pending_update_count": len(self._updates),
        }
        if self._webhook.url:
            info["max_connections"] = self._webhook.max_connections
            info["ip_address"] = self._webhook.ip_address or "127.0.0.1"
            if self._allowed_updates:
                info["allowed_updates"] = list(self._allowed_updates)
        return info

    def _send_photo(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return self._send_media(params, files, "photo")

    def _send_document(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return self._send_media(params, files, "document")

    def _send_voice(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return self._send_media(params, files, "voice")


def _post_update(url: str, update: JSON, secret: str | None) -> bool:
    """One webhook delivery; True when the bot answered 2xx."""
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(url, data=_json_bytes(update), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return 200 <= response.status < 300
    except (OSError, http.client.HTTPException):  # refused, reset, 4xx/5xx, cut short
        return False
