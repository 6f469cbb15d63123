"""A real HTTP server that fakes the Slack Web API, for tests and benchmarks.

Point the real, unpatched ``slack_sdk`` at it::

    with FakeSlack() as fake:
        client = WebClient(token=FAKE_BOT_TOKEN, base_url=fake.api_url)
        client.chat_postMessage(channel="C0SUPPORT", text="hola")
        assert fake.posted("C0SUPPORT")[0]["text"] == "hola"

How slack_sdk talks to Slack (3.48), and therefore what this server accepts:

* every method is ``POST urljoin(base_url, "chat.postMessage")`` -- ``base_url`` must end in ``/``;
* the token travels as ``Authorization: Bearer xoxb-...`` (a ``token`` form field also works);
* the body is ``application/x-www-form-urlencoded`` (``params=``/``data=``), JSON (``json=``),
  or ``multipart/form-data`` when a file is attached (legacy ``files.upload``); structured fields
  such as ``blocks`` or ``view`` arrive as JSON *strings* in form bodies;
* AsyncWebClient (aiohttp) sends ``params`` in the query string, so query parameters count too;
* ``files_upload_v2`` calls ``files.getUploadURLExternal``, POSTs the raw bytes to the returned
  ``upload_url`` (no auth header), then calls ``files.completeUploadExternal``; the upload URL
  handed out here points back at this server.

Slack answers method-level errors with HTTP 200 and ``{"ok": false, "error": ...}``; only
injected faults (rate limits, 5xx) use other statuses.
"""

from __future__ import annotations

import contextlib
import copy
import email.parser
import email.policy
import itertools
import json
import mimetypes
import threading
import time
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, Self
from urllib.parse import parse_qsl, urlsplit

from slack_sdk import WebClient

FAKE_BOT_TOKEN = "xoxb-puente-fake"
TEAM_ID = "T0PUENTE"
TEAM_DOMAIN = "puente-fake"
BOT_USER_ID = "U0PUENTEBOT"
BOT_ID = "B0PUENTEBOT"
APP_ID = "A0PUENTE"

#: Parameters that slack_sdk serialises to a JSON string in form bodies; recorded decoded.
JSON_FIELDS = frozenset(
    {"attachments", "blocks", "files", "metadata", "view", "unfurls", "user_auth_blocks"}
)

Handler = Callable[[dict[str, Any]], dict[str, Any]]
Matcher = Any  # a value compared with ==, or a predicate called with the parameter's value


class Call(NamedTuple):
    """One API request that reached a method (including method-level ``ok: false`` answers)."""

    method: str
    params: dict[str, Any]
    at: float  # time.monotonic()


class Rejected(NamedTuple):
    """A request refused before reaching a method: injected fault, bad token, unknown method."""

    method: str
    status: int
    error: str
    at: float


class Reaction(NamedTuple):
    name: str
    channel: str
    timestamp: str


class ResponseUrlPost(NamedTuple):
    """A JSON body POSTed to a ``response_url`` handed out by :meth:`FakeSlack.response_url`."""

    url: str
    payload: dict[str, Any]
    at: float


@dataclass
class FakeUser:
    id: str
    name: str
    real_name: str = ""
    tz: str = "America/Mexico_City"
    locale: str = "es-MX"
    is_bot: bool = False
    email: str | None = None

    def to_api(self, team_id: str, *, include_locale: bool) -> dict[str, Any]:
        """The ``user`` object of users.info; like Slack, ``locale`` only on request."""
        real_name = self.real_name or self.name
        user: dict[str, Any] = {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "deleted": False,
            "real_name": real_name,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": _tz_offset(self.tz),
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": {
                "real_name": real_name,
                "display_name": self.name,
                "team": team_id,
                **({"email": self.email} if self.email else {}),
            },
        }
        if include_locale:
            user["locale"] = self.locale
        return user


@dataclass
class _Fault:
    status: int
    retry_after: int | None
    remaining: int = 1


@dataclass
class _Stored:
    """A message in the fake workspace; ``by_bot`` separates what the app posted."""

    channel: str
    message: dict[str, Any]
    by_bot: bool


@dataclass
class _File:
    obj: dict[str, Any]
    content: bytes | None = None
    shares: list[dict[str, Any]] = field(default_factory=list)


class _ApiError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class FakeSlack:
    """A threaded HTTP server on 127.0.0.1 (ephemeral port) that behaves like the Web API.

    All state is guarded by one condition variable, so tests may read it and wait on it
    from any thread while the app under test calls the server from others.
    """

    def __init__(
        self,
        *,
        tokens: Iterable[str] = (FAKE_BOT_TOKEN,),
        users: Iterable[FakeUser] = (),
        usergroups: Mapping[str, Iterable[str]] | None = None,
        team_id: str = TEAM_ID,
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
    ) -> None:
        self.tokens = set(tokens)
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self._cond = threading.Condition(threading.RLock())
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._users: dict[str, FakeUser] = {}
        self._usergroups: dict[str, dict[str, Any]] = {}
        self.add_user(bot_user_id, "puente", real_name="Puente", is_bot=True)
        for user in users:
            self._users[user.id] = user
        for group_id, members in (usergroups or {}).items():
            self.add_usergroup(group_id, members)
        self.socket_mode_url: str | None = None  # set by tests.fakes.slack_socket
        self._methods: dict[str, Handler] = {
            "apps.connections.open": self._apps_connections_open,
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "users.info": self._users_info,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users_list,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.upload": self._files_upload,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "files.info": self._files_info,
        }
        self._ids = itertools.count(1)
        self._ts_base = int(time.time())
        self._ts_seq = itertools.count(1)
        self.reset()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        server = _Server(("127.0.0.1", 0), _RequestHandler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """Pass as ``base_url`` to WebClient/AsyncWebClient (the trailing slash matters)."""
        return f"{self.base_url}/api/"

    def web_client(self, token: str = FAKE_BOT_TOKEN, **kwargs: Any) -> WebClient:
        """A real slack_sdk WebClient aimed at this fake."""
        return WebClient(token=token, base_url=self.api_url, **kwargs)

    def reset(self) -> None:
        """Forget everything recorded and all pending faults; keep users, groups and tokens."""
        with self._cond:
            self._calls: list[Call] = []
            self._rejected: list[Rejected] = []
            self._messages: list[_Stored] = []
            self._ephemerals: list[dict[str, Any]] = []
            self._reactions: list[Reaction] = []
            self._views: dict[str, dict[str, Any]] = {}
            self._files: dict[str, _File] = {}
            self._responses: list[ResponseUrlPost] = []
            self._faults: dict[str, list[_Fault]] = {}
            self._failing_until = 0.0
            self._failing_fault = _Fault(500, None)
            self._failing_clock: Callable[[], datetime] | None = None
            self._failing_clock_until: datetime | None = None
            self._latency: dict[str | None, float] = {}
            self._held: dict[str, bool] = {}  # method → held after it was accepted
            self._holding = 0
            self._hold_generation = 0
            self._hold_accept = True
            self._cond.notify_all()

    # ------------------------------------------------------------------ configuration

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str = "",
        tz: str = "America/Mexico_City",
        locale: str = "es-MX",
        is_bot: bool = False,
        email: str | None = None,
    ) -> FakeUser:
        user = FakeUser(user_id, name, real_name, tz, locale, is_bot, email)
        with self._cond:
            self._users[user_id] = user
        return user

    def add_usergroup(
        self, group_id: str, user_ids: Iterable[str], *, handle: str | None = None
    ) -> None:
        with self._cond:
            self._usergroups[group_id] = {
                "id": group_id,
                "team_id": self.team_id,
                "handle": handle or group_id.lower(),
                "name": handle or group_id,
                "is_usergroup": True,
                "users": list(user_ids),
            }

    def add_message(
        self,
        channel: str,
        text: str,
        *,
        user: str,
        ts: str | None = None,
        thread_ts: str | None = None,
    ) -> dict[str, Any]:
        """Seed a message written by a human, so history/replies include it."""
        message: dict[str, Any] = {"type": "message", "user": user, "text": text}
        message["ts"] = ts or self._next_ts()
        message["team"] = self.team_id
        if thread_ts:
            message["thread_ts"] = thread_ts
        with self._cond:
            self._store(_Stored(channel, message, by_bot=False))
        return copy.deepcopy(message)

    def dm_channel(self, user_id: str) -> str:
        """The DM channel id conversations.open returns for ``user_id`` (deterministic)."""
        return "D" + user_id[1:]

    def response_url(self, name: str | None = None) -> str:
        """A URL on this server that records what is POSTed to it (for slash commands etc.)."""
        return f"{self.base_url}/commands/{self.team_id}/{name or next(self._ids)}"

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self, method: str, status: int = 429, retry_after: int | None = 3, times: int = 1
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``status``.

        429 answers carry ``Retry-After: retry_after`` (whole seconds: slack_sdk parses it with
        ``int()`` and sleeps that plus up to one random second).
        """
        with self._cond:
            self._faults.setdefault(method, []).append(_Fault(status, retry_after, times))

    def fail_for(
        self,
        seconds: float,
        status: int = 500,
        retry_after: int | None = 1,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Make every API call fail with ``status`` for the next ``seconds``: wall-clock
        seconds, or seconds of ``clock`` (a test's fake clock, so a long outage takes no time)."""
        with self._cond:
            self._failing_fault = _Fault(status, retry_after)
            if clock is None:
                self._failing_until = time.monotonic() + seconds
                return
            self._failing_clock = clock
            self._failing_clock_until = clock() + timedelta(seconds=seconds)

    def hold(self, method: str, *, after_accept: bool = False) -> None:
        """Keep calls of ``method`` waiting until :meth:`release_held`: before Slack took them
        (a request in flight when its sender dies) or, ``after_accept``, with only the answer
        waiting (the sender dies between Slack posting and it recording the post)."""
        with self._cond:
            self._held[method] = after_accept

    @property
    def holding(self) -> int:
        with self._cond:
            return self._holding

    def release_held(self, *, accept: bool = True) -> None:
        """Stop holding; calls held before acceptance go on (``accept``) or fail unposted."""
        with self._cond:
            self._held.clear()
            self._hold_accept = accept
            self._hold_generation += 1
            self._cond.notify_all()

    def _wait_held(self) -> bool:
        """Wait for :meth:`release_held`; True when the held call is to go on."""
        with self._cond:
            generation = self._hold_generation
            self._holding += 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._hold_generation != generation)
            self._holding -= 1
            return self._hold_accept

    def set_latency(self, seconds: float, method: str | None = None) -> None:
        """Delay answers to ``method`` (or to every method when None) by ``seconds``."""
        with self._cond:
            self._latency[method] = seconds

    # ------------------------------------------------------------------ recording

    @property
    def calls(self) -> list[Call]:
        with self._cond:
            return list(self._calls)

    @property
    def rejected(self) -> list[Rejected]:
        with self._cond:
            return list(self._rejected)

    @property
    def reactions(self) -> list[Reaction]:
        with self._cond:
            return list(self._reactions)

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """Current state of every view opened/pushed/published, by view id."""
        with self._cond:
            return copy.deepcopy(self._views)

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        with self._cond:
            return copy.deepcopy(self._ephemerals)

    @property
    def responses(self) -> list[ResponseUrlPost]:
        with self._cond:
            return list(self._responses)

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        with self._cond:
            return {fid: copy.deepcopy(f.obj) for fid, f in self._files.items()}

    def file_content(self, file_id: str) -> bytes | None:
        with self._cond:
            stored = self._files.get(file_id)
            return stored.content if stored else None

    def posted(self, channel: str | None = None, thread_ts: str | None = None) -> list[dict]:
        """Messages the app posted (current state, after chat.update), oldest first.

        Each is the message object plus ``channel``. A DM posted to a user id is filed
        under the DM channel id, as Slack does. As in conversations.replies, a message that
        got replies carries ``thread_ts`` itself, so ``thread_ts=`` also returns the parent
        when the app posted it.
        """
        with self._cond:
            return [
                {**copy.deepcopy(s.message), "channel": s.channel}
                for s in self._messages
                if s.by_bot
                and (channel is None or s.channel == channel)
                and (thread_ts is None or s.message.get("thread_ts") == thread_ts)
            ]

    def calls_to(self, method: str, **match: Matcher) -> list[Call]:
        with self._cond:
            return [c for c in self._calls if c.method == method and _matches(c.params, match)]

    def wait_for(
        self, method: str, count: int = 1, timeout: float = 5.0, **match: Matcher
    ) -> list[Call]:
        """Block until ``count`` calls of ``method`` whose params match ``match`` were made.

        A match value is compared with ``==`` or, if callable, called with the parameter's
        value. Returns the matching calls; raises AssertionError on timeout.
        """
        with self._cond:
            found = self._cond.wait_for(
                lambda: len(self.calls_to(method, **match)) >= count, timeout
            )
            if not found:
                seen = [(c.method, c.params) for c in self._calls]
                raise AssertionError(
                    f"waited {timeout}s for {count} x {method} {match}; calls were: {seen}"
                )
            return self.calls_to(method, **match)

    def wait_for_response(self, count: int = 1, timeout: float = 5.0) -> list[ResponseUrlPost]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._responses) >= count, timeout):
                raise AssertionError(f"waited {timeout}s for {count} response_url posts")
            return list(self._responses)

    # ------------------------------------------------------------------ request entry points

    def handle_api(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Answer one Web API call: (HTTP status, JSON payload, extra headers)."""
        self._sleep_latency(method)
        with self._cond:
            after_accept = self._held.get(method)
        if after_accept is False and not self._wait_held():
            return 500, {"ok": False, "error": "fatal_error"}, {}
        status, payload, headers = self._answer(method, params, token)
        if after_accept:
            self._wait_held()
        return status, payload, headers

    def _answer(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._cond:
            now = time.monotonic()
            fault = self._take_fault(method, now)
            if fault is not None:
                return self._reject_with_fault(method, fault, now)
            error = self._precheck(method, token)
            if error is not None:
                self._rejected.append(Rejected(method, 200, error, now))
                self._cond.notify_all()
                return 200, {"ok": False, "error": error}, {}
            try:
                payload = {"ok": True, **self._methods[method](params)}
            except _ApiError as err:
                payload = {"ok": False, "error": err.error}
            self._calls.append(Call(method, params, now))
            self._cond.notify_all()
            return 200, payload, {}

    def handle_upload(self, file_id: str, data: bytes) -> bool:
        with self._cond:
            stored = self._files.get(file_id)
            if stored is None:
                return False
            stored.content = data
            stored.obj["size"] = len(data)
            self._cond.notify_all()
            return True

    def handle_download(self, file_id: str, token: str | None) -> bytes | None:
        with self._cond:
            stored = self._files.get(file_id)
            if token not in self.tokens or stored is None:
                return None
            return stored.content

    def handle_response_url(self, url: str, payload: dict[str, Any]) -> None:
        with self._cond:
            self._responses.append(ResponseUrlPost(url, payload, time.monotonic()))
            self._cond.notify_all()

    # ------------------------------------------------------------------ internals

    def _sleep_latency(self, method: str) -> None:
        with self._cond:
            delay = self._latency.get(method, self._latency.get(None, 0.0))
        if delay > 0:
            time.sleep(delay)

    def _take_fault(self, method: str, now: float) -> _Fault | None:
        if now < self._failing_until:
            return self._failing_fault
        until, clock = self._failing_clock_until, self._failing_clock
        if until is not None and clock is not None and clock() < until:
            return self._failing_fault
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.pop(0)
        return fault

    def _reject_with_fault(
        self, method: str, fault: _Fault, now: float
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        error = _FAULT_ERRORS.get(fault.status, "fatal_error")
        self._rejected.append(Rejected(method, fault.status, error, now))
        self._cond.notify_all()
        headers = {}
        if fault.retry_after is not None and fault.status in (429, 503):
            headers["Retry-After"] = str(fault.retry_after)
        return fault.status, {"ok": False, "error": error}, headers

    def _precheck(self, method: str, token: str | None) -> str | None:
        if method not in self._methods:
            return "unknown_method"
        if not token:
            return "not_authed"
        if token not in self.tokens:
            return "invalid_auth"
        return None

    def _next_ts(self) -> str:
        """Unique, increasing, Slack-shaped timestamps such as ``1732550000.000100``."""
        n = next(self._ts_seq)
        return f"{self._ts_base + n // 10_000}.{(n % 10_000) * 100:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}0{next(self._ids):08X}"

    def _channel_id(self, channel: Any) -> str:
        """Resolve a ``channel`` argument; a user id means that user's DM, as in Slack."""
        if not channel or not isinstance(channel, str):
            raise _ApiError("channel_not_found")
        if channel[0] in "UW":
            return self.dm_channel(channel)
        return channel

    def _store(self, stored: _Stored) -> None:
        self._messages.append(stored)
        thread_ts = stored.message.get("thread_ts")
        parent = self._find(stored.channel, thread_ts) if thread_ts else None
        if parent is not None and parent is not stored:
            parent.message["thread_ts"] = thread_ts
            parent.message["reply_count"] = parent.message.get("reply_count", 0) + 1
            users = parent.message.setdefault("reply_users", [])
            author = stored.message.get("user")
            if author and author not in users:
                users.append(author)
            parent.message["latest_reply"] = stored.message["ts"]

    def _find(self, channel: str, ts: str | None) -> _Stored | None:
        for stored in self._messages:
            if stored.channel == channel and stored.message["ts"] == ts:
                return stored
        return None

    def _bot_message(self, params: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": APP_ID,
            "text": params.get("text", ""),
            "ts": ts,
            "team": self.team_id,
        }
        for key in ("blocks", "attachments", "metadata", "thread_ts"):
            if params.get(key):
                message[key] = params[key]
        return message

    # ------------------------------------------------------------------ methods: auth, chat

    def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.socket_mode_url is None:
            raise _ApiError("not_allowed_token_type")
        return {"url": self.socket_mode_url}

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Puente Fake",
            "user": "puente",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_id(params.get("channel"))
        _check_content(params)
        ts = self._next_ts()
        message = self._bot_message(params, ts)
        self._store(_Stored(channel, message, by_bot=True))
        return {"channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_id(params.get("channel"))
        stored = self._find(channel, params.get("ts"))
        if stored is None:
            raise _ApiError("message_not_found")
        if not stored.by_bot:
            raise _ApiError("cant_update_message")
        _check_content(params)
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in params:
                stored.message[key] = params[key]
        stored.message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        message = copy.deepcopy(stored.message)
        return {
            "channel": channel,
            "ts": message["ts"],
            "text": message["text"],
            "message": message,
        }

    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_id(params.get("channel"))
        stored = self._find(channel, params.get("ts"))
        if stored is None:
            raise _ApiError("message_not_found")
        if not stored.by_bot:
            raise _ApiError("cant_delete_message")
        self._messages.remove(stored)
        return {"channel": channel, "ts": params["ts"]}

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_id(params.get("channel"))
        if not params.get("user"):
            raise _ApiError("user_not_in_channel")
        _check_content(params)
        ts = self._next_ts()
        self._ephemerals.append({**params, "channel": channel, "message_ts": ts})
        return {"message_ts": ts}

    def _chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_id(params.get("channel"))
        ts = params.get("message_ts")
        if not ts:
            raise _ApiError("message_not_found")
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        stored = self._find(channel, ts)
        thread_ts = stored.message.get("thread_ts") if stored else None
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel}"
        return {"channel": channel, "permalink": link}

    # ------------------------------------------------------------------ methods: reactions

    def _reaction(self, params: dict[str, Any]) -> Reaction:
        name = params.get("name") or ""
        if not name or name.startswith(":") or name.endswith(":"):
            raise _ApiError("invalid_name")
        if not params.get("timestamp"):
            raise _ApiError("no_item_specified")
        return Reaction(name, self._channel_id(params.get("channel")), params["timestamp"])

    def _reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        reaction = self._reaction(params)
        if reaction in self._reactions:
            raise _ApiError("already_reacted")
        self._reactions.append(reaction)
        return {}

    def _reactions_remove(self, params: dict[str, Any]) -> dict[str, Any]:
        reaction = self._reaction(params)
        if reaction not in self._reactions:
            raise _ApiError("no_reaction")
        self._reactions.remove(reaction)
        return {}

    # ------------------------------------------------------------------ methods: conversations

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("channel"):
            return {"channel": {"id": params["channel"]}, "already_open": True}
        users = _as_list(params.get("users"))
        if not users:
            raise _ApiError("users_list_not_supplied")
        if len(users) == 1:
            channel_id = self.dm_channel(users[0])
            return {"channel": {"id": channel_id, "is_im": True, "user": users[0]}}
        return {"channel": {"id": "G" + "".join(u[1:4] for u in sorted(users)), "is_mpim": True}}

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel:
            raise _ApiError("channel_not_found")
        oldest, latest = float(params.get("oldest") or 0), float(params.get("latest") or "inf")
        limit = int(params.get("limit") or 100)
        top_level = [
            copy.deepcopy(s.message)
            for s in self._messages
            if s.channel == channel
            and s.message.get("thread_ts", s.message["ts"]) == s.message["ts"]
            and oldest < float(s.message["ts"]) < latest
        ]
        top_level.sort(key=lambda m: float(m["ts"]), reverse=True)
        has_more = len(top_level) > limit
        return {
            "messages": top_level[:limit],
            "has_more": has_more,
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel"), params.get("ts")
        if not channel:
            raise _ApiError("channel_not_found")
        thread = [
            copy.deepcopy(s.message)
            for s in self._messages
            if s.channel == channel and ts in (s.message["ts"], s.message.get("thread_ts"))
        ]
        if not thread:
            raise _ApiError("thread_not_found")
        thread.sort(key=lambda m: float(m["ts"]))
        return {"messages": thread, "has_more": False, "response_metadata": {"next_cursor": ""}}

    # ------------------------------------------------------------------ methods: users

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(params.get("user") or "")
        if user is None:
            raise _ApiError("user_not_found")
        return {
            "user": user.to_api(self.team_id, include_locale=_truthy(params.get("include_locale")))
        }

    def _usergroups_list(self, params: dict[str, Any]) -> dict[str, Any]:
        include_users = _truthy(params.get("include_users"))
        groups = []
        for group in self._usergroups.values():
            shown = {k: v for k, v in group.items() if k != "users" or include_users}
            groups.append({**copy.deepcopy(shown), "user_count": len(group["users"])})
        return {"usergroups": groups}

    def _usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self._usergroups.get(params.get("usergroup") or "")
        if group is None:
            raise _ApiError("no_such_subteam")
        return {"users": list(group["users"])}

    # ------------------------------------------------------------------ methods: views

    def _new_view(self, view: Any, *, previous: str | None = None) -> dict[str, Any]:
        if not isinstance(view, dict) or "type" not in view:
            raise _ApiError("invalid_arguments")
        view_id = self._new_id("V")
        stored = {
            "id": view_id,
            "team_id": self.team_id,
            "callback_id": "",
            "private_metadata": "",
            "external_id": "",
            "blocks": [],
            "clear_on_close": False,
            "notify_on_close": False,
            **copy.deepcopy(view),
            "state": {"values": {}},
            "hash": f"{time.time():.6f}.{view_id}",
            "previous_view_id": previous,
            "root_view_id": view_id,
            "app_id": APP_ID,
            "bot_id": self.bot_id,
        }
        self._views[view_id] = stored
        return {"view": copy.deepcopy(stored)}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id"):
            raise _ApiError("invalid_trigger_id")
        return self._new_view(params.get("view"))

    def _views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id"):
            raise _ApiError("invalid_trigger_id")
        return self._new_view(params.get("view"))

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("user_id"):
            raise _ApiError("invalid_arguments")
        return self._new_view(params.get("view"))

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._views.get(params.get("view_id") or "")
        if stored is None and params.get("external_id"):
            matches = [v for v in self._views.values() if v["external_id"] == params["external_id"]]
            stored = matches[-1] if matches else None
        if stored is None:
            raise _ApiError("not_found")
        if params.get("hash") and params["hash"] != stored["hash"]:
            raise _ApiError("hash_conflict")
        view = params.get("view")
        if not isinstance(view, dict):
            raise _ApiError("invalid_arguments")
        stored.update(copy.deepcopy(view))
        stored["hash"] = f"{time.time():.6f}.{stored['id']}"
        return {"view": copy.deepcopy(stored)}

    # ------------------------------------------------------------------ methods: files

    def _new_file(self, name: str, title: str | None, content: bytes | None) -> _File:
        file_id = self._new_id("F")
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        now = int(time.time())
        obj = {
            "id": file_id,
            "created": now,
            "timestamp": now,
            "name": name,
            "title": title or name,
            "mimetype": mimetype,
            "filetype": name.rsplit(".", 1)[-1] if "." in name else "binary",
            "user": self.bot_user_id,
            "user_team": self.team_id,
            "size": len(content) if content is not None else 0,
            "mode": "hosted",
            "is_external": False,
            "url_private": f"{self.base_url}/files-pri/{self.team_id}-{file_id}/{name}",
            "url_private_download": (
                f"{self.base_url}/files-pri/{self.team_id}-{file_id}/download/{name}"
            ),
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{self.bot_user_id}/{file_id}/{name}",
            "channels": [],
            "groups": [],
            "ims": [],
        }
        stored = _File(obj, content)
        self._files[file_id] = stored
        return stored

    def _share(self, stored: _File, channels: list[str], params: dict[str, Any]) -> None:
        for channel in channels:
            channel = self._channel_id(channel)
            key = "ims" if channel.startswith("D") else "channels"
            if channel not in stored.obj[key]:
                stored.obj[key].append(channel)
            stored.shares.append(
                {
                    "channel": channel,
                    "thread_ts": params.get("thread_ts"),
                    "initial_comment": params.get("initial_comment"),
                }
            )

    def _files_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        """Legacy v1 upload (Slack has retired it; kept for old callers of the fake)."""
        content = params.get("file", params.get("content"))
        if content is None:
            raise _ApiError("no_file_data")
        data = content if isinstance(content, bytes) else str(content).encode()
        stored = self._new_file(params.get("filename") or "file", params.get("title"), data)
        self._share(stored, _as_list(params.get("channels")), params)
        return {"file": copy.deepcopy(stored.obj)}

    def _files_get_upload_url_external(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            raise _ApiError("invalid_arguments")
        stored = self._new_file(params["filename"], None, None)
        file_id = stored.obj["id"]
        return {"upload_url": f"{self.base_url}/upload/v1/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = params.get("files")
        if not isinstance(entries, list) or not entries:
            raise _ApiError("invalid_arguments")
        channels = _as_list(params.get("channels")) or _as_list(params.get("channel_id"))
        completed = []
        for entry in entries:
            stored = self._files.get(entry.get("id", ""))
            if stored is None or stored.content is None:
                raise _ApiError("file_not_found")
            if entry.get("title"):
                stored.obj["title"] = entry["title"]
            self._share(stored, channels, params)
            completed.append(copy.deepcopy(stored.obj))
        return {"files": completed}

    def _files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._files.get(params.get("file") or "")
        if stored is None:
            raise _ApiError("file_not_found")
        return {"file": copy.deepcopy(stored.obj), "comments": [], "response_metadata": {}}


_FAULT_ERRORS = {
    429: "ratelimited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "request_timeout",
}


def _check_content(params: dict[str, Any]) -> None:
    if not any(params.get(k) for k in ("text", "blocks", "attachments")):
        raise _ApiError("no_text")
    blocks = params.get("blocks")
    if blocks is not None and (not isinstance(blocks, list) or len(blocks) > 50):
        raise _ApiError("invalid_blocks")
    if len(str(params.get("text", ""))) > 40_000:
        raise _ApiError("msg_too_long")


def _matches(params: Mapping[str, Any], match: Mapping[str, Matcher]) -> bool:
    for key, expected in match.items():
        actual = params.get(key)
        if not (expected(actual) if callable(expected) else actual == expected):
            return False
    return True


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _as_list(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def _tz_offset(tz: str) -> int:
    try:
        offset = datetime.now(zoneinfo.ZoneInfo(tz)).utcoffset()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return 0
    return int(offset.total_seconds()) if offset else 0


# ---------------------------------------------------------------------- request parsing


def parse_api_request(
    body: bytes, content_type: str, query: str, authorization: str | None
) -> tuple[dict[str, Any], str | None]:
    """Params (query string merged with a form/JSON/multipart body) and the token."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json":
        decoded = json.loads(body or b"{}")
        params.update(decoded if isinstance(decoded, dict) else {})
    elif kind == "multipart/form-data":
        params.update(_parse_multipart(body, content_type))
    elif body:
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    token = params.pop("token", None)
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    for key in JSON_FIELDS & params.keys():
        if isinstance(params[key], str):
            with contextlib.suppress(json.JSONDecodeError):
                params[key] = json.loads(params[key])
    return params, token


def _parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    """Form fields as str, file fields as bytes (the stdlib email parser does MIME for us)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is None:
            fields[name] = payload.decode("utf-8")
        else:
            fields[name] = payload
            fields.setdefault("filename", part.get_filename())
    return fields


# ---------------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSlack


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive for clients that reuse connections
    timeout = 10  # drop idle keep-alive connections
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the fake's records instead of its access log."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fake = self.server.fake
        if url.path.startswith("/api/"):
            params, token = parse_api_request(
                body,
                self.headers.get("Content-Type", ""),
                url.query,
                self.headers.get("Authorization"),
            )
            status, payload, headers = fake.handle_api(url.path[5:], params, token)
            self._reply(status, json.dumps(payload).encode(), "application/json", headers)
        elif url.path.startswith("/upload/v1/"):
            ok = fake.handle_upload(url.path.rsplit("/", 1)[-1], body)
            text = f"OK - {len(body)}" if ok else "file_not_found"
            self._reply(200 if ok else 404, text.encode(), "text/plain")
        elif url.path.startswith("/files-pri/"):
            self._download(fake, url.path)
        elif url.path.startswith("/commands/") and self.command == "POST":
            fake.handle_response_url(url.path, json.loads(body or b"{}"))
            self._reply(200, b"ok", "text/plain")
        else:
            self._reply(404, b"not found", "text/plain")

    def _download(self, fake: FakeSlack, path: str) -> None:
        file_id = path.split("/")[2].split("-", 1)[-1]
        auth = self.headers.get("Authorization") or ""
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        content = fake.handle_download(file_id, token)
        if content is None:
            self._reply(403, b"forbidden", "text/plain")
        else:
            self._reply(200, content, "application/octet-stream")

    def _reply(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "FAKE_BOT_TOKEN",
    "TEAM_ID",
    "Call",
    "FakeSlack",
    "FakeUser",
    "Reaction",
    "Rejected",
    "ResponseUrlPost",
    "parse_api_request",
]
