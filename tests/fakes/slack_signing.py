"""Send Slack-signed requests (Events API, slash commands, interactivity) to a running app.

Slack signs every HTTP request with v0 signing: ``X-Slack-Request-Timestamp: <unix seconds>``
and ``X-Slack-Signature: v0=<hex HMAC-SHA256(signing_secret, "v0:<timestamp>:<raw body>")>``.
Receivers (slack_sdk's SignatureVerifier, hence Bolt) reject a bad signature and any timestamp
more than five minutes away from their clock, both with 401.

Payload builders return a :class:`Payload` (raw body + content type) so that
``post_signed(url, *payload, secret)`` sends exactly what Slack would.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple
from urllib.parse import urlencode

from tests.fakes.slack_api import APP_ID, BOT_USER_ID, TEAM_ID

SIGNING_SECRET = "puente-test-signing-secret"
#: Sign with this to produce a forged request (a valid-looking signature from the wrong key).
WRONG_SECRET = "not-the-signing-secret"
#: Slack's (and slack_sdk's) tolerance for clock skew, in seconds.
MAX_AGE = 5 * 60

DEFAULT_USER = "U0CREATOR"
DEFAULT_CHANNEL = "C0SUPPORT"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

_ts_seq = itertools.count(1)


class Payload(NamedTuple):
    body: str
    content_type: str


class HttpResult(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


# ---------------------------------------------------------------------- signing


def signature(body: str | bytes, secret: str, timestamp: int | str) -> str:
    """``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    base = f"v0:{timestamp}:".encode() + raw
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: str | bytes,
    secret: str = SIGNING_SECRET,
    *,
    timestamp: int | None = None,
    content_type: str | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> dict[str, str]:
    """Headers Slack would send with ``body``; ``retry_num`` adds Slack's redelivery headers."""
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(body, secret, ts),
    }
    if content_type:
        headers["Content-Type"] = content_type
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    return headers


def forged_headers(body: str | bytes, **kwargs: Any) -> dict[str, str]:
    """Well-formed headers whose signature was made with the wrong secret."""
    return signed_headers(body, WRONG_SECRET, **kwargs)


def stale_timestamp(age: int = MAX_AGE + 60) -> int:
    """A request timestamp ``age`` seconds in the past (default: just past the 5 min window)."""
    return int(time.time()) - age


def post_signed(
    url: str,
    body: str | bytes,
    content_type: str,
    secret: str = SIGNING_SECRET,
    *,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
    timeout: float = 5.0,
) -> HttpResult:
    """POST ``body`` signed with ``secret``; returns the answer, also for 4xx/5xx statuses."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    headers = signed_headers(
        raw,
        secret,
        timestamp=timestamp,
        content_type=content_type,
        retry_num=retry_num,
        retry_reason=retry_reason,
    )
    request = urllib.request.Request(url, data=raw, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return HttpResult(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as err:
        with err:
            return HttpResult(err.code, dict(err.headers.items()), err.read())


# ---------------------------------------------------------------------- Events API


def new_ts() -> str:
    """A unique, current Slack message timestamp (``seconds.micros``)."""
    return f"{int(time.time())}.{next(_ts_seq) % 1_000_000:06d}"


def new_event_id() -> str:
    return "Ev" + secrets.token_hex(5).upper()


def message_event(
    text: str,
    *,
    user: str = DEFAULT_USER,
    channel: str = DEFAULT_CHANNEL,
    ts: str | None = None,
    thread_ts: str | None = None,
    channel_type: str = "channel",
) -> dict[str, Any]:
    """A ``message`` event (``message.channels``); pass ``thread_ts`` for a thread reply."""
    ts = ts or new_ts()
    event: dict[str, Any] = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "team": TEAM_ID,
        "channel": channel,
        "channel_type": channel_type,
        "blocks": [_rich_text(text)],
        "client_msg_id": secrets.token_hex(16),
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
        event["parent_user_id"] = BOT_USER_ID
    return event


def dm_event(
    text: str, *, user: str = DEFAULT_USER, channel: str | None = None, ts: str | None = None
) -> dict[str, Any]:
    """A ``message.im`` event: a direct message to the bot."""
    channel = channel or "D" + user[1:]
    return message_event(text, user=user, channel=channel, ts=ts, channel_type="im")


def app_mention_event(
    text: str,
    *,
    user: str = DEFAULT_USER,
    channel: str = DEFAULT_CHANNEL,
    ts: str | None = None,
    thread_ts: str | None = None,
    bot_user_id: str = BOT_USER_ID,
) -> dict[str, Any]:
    """An ``app_mention``; the text starts with ``<@BOT>`` as Slack delivers it."""
    event = message_event(f"<@{bot_user_id}> {text}", user=user, channel=channel, ts=ts)
    event["type"] = "app_mention"
    del event["channel_type"]
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def event_callback(
    event: Mapping[str, Any],
    *,
    event_id: str | None = None,
    event_time: int | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    bot_user_id: str = BOT_USER_ID,
) -> dict[str, Any]:
    """The Events API envelope around ``event``."""
    return {
        "token": "deprecated-verification-token",
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": event_time or int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + secrets.token_hex(12),
    }


def event_payload(event: Mapping[str, Any], **envelope: Any) -> Payload:
    """``event`` wrapped by :func:`event_callback`, as a JSON body."""
    return Payload(json.dumps(event_callback(event, **envelope)), JSON)


def url_verification(challenge: str = "puente-challenge") -> Payload:
    return Payload(
        json.dumps({"token": "deprecated", "challenge": challenge, "type": "url_verification"}),
        JSON,
    )


# ---------------------------------------------------------------------- slash commands


def slash_command(
    text: str = "",
    *,
    command: str = "/oncall",
    user_id: str = DEFAULT_USER,
    user_name: str = "creator",
    channel_id: str = DEFAULT_CHANNEL,
    channel_name: str = "soporte",
    response_url: str = "https://hooks.slack.com/commands/T0PUENTE/1/fake",
    trigger_id: str | None = None,
) -> Payload:
    """A slash command form body. Point ``response_url`` at ``FakeSlack.response_url()``."""
    fields = {
        "token": "deprecated-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "puente-fake",
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }
    return Payload(urlencode(fields), FORM)


def new_trigger_id() -> str:
    return f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"


# ---------------------------------------------------------------------- interactivity


def interactive(payload: Mapping[str, Any]) -> Payload:
    """Interactivity bodies are a form with a single ``payload=<json>`` field."""
    return Payload(urlencode({"payload": json.dumps(payload)}), FORM)


def block_actions(
    action_id: str,
    value: str | None = None,
    *,
    block_id: str = "actions",
    user_id: str = DEFAULT_USER,
    channel_id: str = DEFAULT_CHANNEL,
    message_ts: str | None = None,
    response_url: str = "https://hooks.slack.com/actions/T0PUENTE/1/fake",
    trigger_id: str | None = None,
    action_type: str = "button",
) -> Payload:
    """A button click (``block_actions``) on a message the bot posted at ``message_ts``."""
    message_ts = message_ts or new_ts()
    action = {
        "type": action_type,
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": new_ts(),
        **({"value": value} if value is not None else {}),
    }
    return interactive(
        {
            "type": "block_actions",
            "user": _user(user_id),
            "api_app_id": APP_ID,
            "token": "deprecated-verification-token",
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": False,
            },
            "trigger_id": trigger_id or new_trigger_id(),
            "team": {"id": TEAM_ID, "domain": "puente-fake"},
            "channel": {"id": channel_id, "name": "soporte"},
            "message": {"type": "message", "user": BOT_USER_ID, "ts": message_ts, "text": ""},
            "response_url": response_url,
            "actions": [action],
        }
    )


def view_submission(
    callback_id: str,
    values: Mapping[str, Mapping[str, Any]],
    *,
    user_id: str = DEFAULT_USER,
    view_id: str = "V0SUBMIT",
    private_metadata: str = "",
    trigger_id: str | None = None,
) -> Payload:
    """A modal submission. ``values`` is ``{block_id: {action_id: value}}``; a str value
    becomes a ``plain_text_input`` state, a dict is used as the state verbatim."""
    state = {
        block_id: {
            action_id: ({"type": "plain_text_input", "value": v} if isinstance(v, str) else dict(v))
            for action_id, v in actions.items()
        }
        for block_id, actions in values.items()
    }
    return interactive(
        {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": "puente-fake"},
            "user": _user(user_id),
            "api_app_id": APP_ID,
            "token": "deprecated-verification-token",
            "trigger_id": trigger_id or new_trigger_id(),
            "view": {
                "id": view_id,
                "team_id": TEAM_ID,
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "blocks": [],
                "state": {"values": state},
                "hash": f"{int(time.time())}.fakehash",
                "root_view_id": view_id,
                "app_id": APP_ID,
            },
            "response_urls": [],
            "is_enterprise_install": False,
        }
    )


def _user(user_id: str) -> dict[str, str]:
    return {"id": user_id, "username": "creator", "name": "creator", "team_id": TEAM_ID}


def _rich_text(text: str) -> dict[str, Any]:
    return {
        "type": "rich_text",
        "block_id": secrets.token_hex(3),
        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
    }


# ---------------------------------------------------------------------- serving an app


@contextlib.contextmanager
def serve_asgi(app: Any, *, startup_timeout: float = 5.0) -> Iterator[str]:
    """Run an ASGI app (e.g. Starlette wrapping Bolt) with uvicorn in a thread.

    Yields ``http://127.0.0.1:PORT``. The socket is bound before uvicorn starts, so the port
    is known up front and nothing races for it.
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
