"""The Slack fakes work with the real, unpatched slack_sdk and slack_bolt."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from slack_bolt import App
from slack_bolt.adapter.starlette import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.slack_api import BOT_USER_ID, FAKE_BOT_TOKEN, FakeSlack, FakeUser
from tests.fakes.slack_signing import (
    SIGNING_SECRET,
    WRONG_SECRET,
    block_actions,
    dm_event,
    event_payload,
    message_event,
    post_signed,
    serve_asgi,
    signature,
    slash_command,
    stale_timestamp,
    url_verification,
    view_submission,
)

AGENT = FakeUser("U0AGENT", "lucia", real_name="Lucía Pérez", tz="Europe/Madrid", locale="es-ES")
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Hola*"}}]
MODAL = {
    "type": "modal",
    "callback_id": "escalate",
    "title": {"type": "plain_text", "text": "Escalar"},
    "blocks": [],
}


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(users=[AGENT], usergroups={"S0ONCALL": ["U0AGENT"]}) as server:
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return fake.web_client()


# ---------------------------------------------------------------------- Web API with WebClient


def test_post_message_returns_ts_and_records_decoded_blocks(
    fake: FakeSlack, client: WebClient
) -> None:
    first = client.chat_postMessage(channel="C0SUPPORT", text="hola", blocks=BLOCKS)
    reply = client.chat_postMessage(channel="C0SUPPORT", text="sigo", thread_ts=first["ts"])

    assert first["ok"] and first["channel"] == "C0SUPPORT"
    assert float(reply["ts"]) > float(first["ts"])
    assert first["message"]["blocks"] == BLOCKS
    (call, _) = fake.calls_to("chat.postMessage")
    assert call.params["blocks"] == BLOCKS  # sent as a JSON string in the form body
    # like conversations.replies, a thread includes its parent once it has replies
    assert [m["text"] for m in fake.posted(thread_ts=first["ts"])] == ["hola", "sigo"]
    thread = client.conversations_replies(channel="C0SUPPORT", ts=first["ts"])["messages"]
    assert [m["text"] for m in thread] == ["hola", "sigo"]
    assert thread[0]["reply_count"] == 1


def test_update_permalink_and_ephemeral(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C0SUPPORT", text="v1")["ts"]
    client.chat_update(channel="C0SUPPORT", ts=ts, text="v2")
    link = client.chat_getPermalink(channel="C0SUPPORT", message_ts=ts)["permalink"]
    client.chat_postEphemeral(channel="C0SUPPORT", user="U0AGENT", text="solo tú")

    assert fake.posted("C0SUPPORT")[0]["text"] == "v2"
    assert link.endswith("/archives/C0SUPPORT/p" + ts.replace(".", ""))
    assert fake.ephemerals[0]["user"] == "U0AGENT"


def test_reactions_add_records_and_rejects_duplicates(fake: FakeSlack, client: WebClient) -> None:
    client.reactions_add(channel="C0SUPPORT", timestamp="1732550000.000100", name="eyes")
    with pytest.raises(SlackApiError) as err:
        client.reactions_add(channel="C0SUPPORT", timestamp="1732550000.000100", name="eyes")

    assert err.value.response["error"] == "already_reacted"
    assert [r.name for r in fake.reactions] == ["eyes"]


def test_views_open_and_update(fake: FakeSlack, client: WebClient) -> None:
    view = client.views_open(trigger_id="123.456.abc", view=MODAL)["view"]
    client.views_update(view_id=view["id"], view={**MODAL, "private_metadata": "T-1"})

    assert view["id"].startswith("V")
    assert fake.views[view["id"]]["callback_id"] == "escalate"
    assert fake.views[view["id"]]["private_metadata"] == "T-1"


def test_users_groups_and_dm(fake: FakeSlack, client: WebClient) -> None:
    user = client.users_info(user="U0AGENT", include_locale=True)["user"]
    plain = client.users_info(user="U0AGENT")["user"]
    group = client.usergroups_users_list(usergroup="S0ONCALL")
    dm = client.conversations_open(users="U0AGENT")["channel"]["id"]

    assert (user["real_name"], user["tz"], user["locale"]) == (
        "Lucía Pérez",
        "Europe/Madrid",
        "es-ES",
    )
    assert "locale" not in plain  # as in Slack: only with include_locale
    assert group["users"] == ["U0AGENT"]
    assert dm == fake.dm_channel("U0AGENT") and dm.startswith("D")
    assert client.auth_test()["user_id"] == BOT_USER_ID


def test_errors_for_bad_token_and_unknown_method(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as bad_token:
        fake.web_client(token="xoxb-someone-else").auth_test()
    with pytest.raises(SlackApiError) as unknown:
        fake.web_client().api_call("chat.dance")

    assert bad_token.value.response["error"] == "invalid_auth"
    assert unknown.value.response["error"] == "unknown_method"
    assert [r.error for r in fake.rejected] == ["invalid_auth", "unknown_method"]


def test_rate_limit_is_retried_after_retry_after(fake: FakeSlack) -> None:
    client = fake.web_client(retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    fake.fail_next("chat.postMessage", status=429, retry_after=1)

    started = time.monotonic()
    response = client.chat_postMessage(channel="C0SUPPORT", text="hola")

    assert response["ok"]
    assert time.monotonic() - started >= 1  # slept Retry-After (+ up to 1 s jitter)
    assert [(r.status, r.error) for r in fake.rejected] == [(429, "ratelimited")]
    assert len(fake.posted()) == 1


def test_without_retry_handler_429_and_500_surface_as_errors(
    fake: FakeSlack, client: WebClient
) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=1)
    fake.fail_next("chat.postMessage", status=500)
    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel="C0SUPPORT", text="a")
    with pytest.raises(SlackApiError) as broken:
        client.chat_postMessage(channel="C0SUPPORT", text="b")
    fake.fail_for(60, status=503)
    with pytest.raises(SlackApiError):
        client.auth_test()

    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "1"
    assert broken.value.response.status_code == 500
    assert fake.posted() == []


def test_files_upload_v2_end_to_end(fake: FakeSlack, client: WebClient) -> None:
    response = client.files_upload_v2(
        channel="C0SUPPORT",
        content="ticket,estado\n1,abierto\n",
        filename="tickets.csv",
        title="Tickets",
        initial_comment="Export",
        thread_ts="1732550000.000100",
    )

    file_id = response["file"]["id"]
    assert fake.file_content(file_id) == b"ticket,estado\n1,abierto\n"
    info = client.files_info(file=file_id)["file"]
    assert (info["title"], info["channels"], info["size"]) == ("Tickets", ["C0SUPPORT"], 24)
    assert [c.method for c in fake.calls] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
        "files.info",
    ]


# ---------------------------------------------------------------------- Bolt over real HTTP


@dataclass
class BoltRig:
    """A Bolt App served over HTTP by uvicorn, whose Web API calls go to a FakeSlack."""

    fake: FakeSlack
    url: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)


def _add_listeners(app: App, rig: BoltRig) -> None:
    @app.event("message")
    def on_message(event: dict[str, Any], say: Any) -> None:
        rig.seen.append(event)
        say(text=f"eco: {event['text']}", thread_ts=event.get("thread_ts", event["ts"]))

    @app.command("/oncall")
    def on_oncall(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        ack()
        respond(text=f"guardia: {command['text']}")

    @app.action("take")
    def on_take(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        channel, ts = body["channel"]["id"], body["message"]["ts"]
        client.reactions_add(channel=channel, timestamp=ts, name="eyes")

    @app.view("escalate")
    def on_escalate(ack: Any, view: dict[str, Any]) -> None:
        reason = view["state"]["values"]["reason"]["input"]["value"]
        ack(response_action="errors", errors={"reason": f"rechazado: {reason}"})


@contextlib.contextmanager
def running_bolt(fake: FakeSlack) -> Iterator[BoltRig]:
    # token_verification_enabled=False: no auth.test in App(); Bolt calls it lazily instead.
    app = App(
        signing_secret=SIGNING_SECRET, client=fake.web_client(), token_verification_enabled=False
    )
    rig = BoltRig(fake)
    _add_listeners(app, rig)
    handler = SlackRequestHandler(app)

    async def endpoint(request: Request) -> Response:
        return await handler.handle(request)

    asgi = Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])])
    with serve_asgi(asgi) as base:
        rig.url = base + "/slack/events"
        yield rig


@pytest.fixture(scope="module")
def bolt() -> Iterator[BoltRig]:
    with FakeSlack() as fake, running_bolt(fake) as rig:
        yield rig


def test_bolt_calls_auth_test_lazily_on_first_event() -> None:
    with FakeSlack() as fake, running_bolt(fake) as rig:
        post_signed(rig.url, *url_verification(), SIGNING_SECRET)
        assert fake.calls_to("auth.test") == []  # url_verification needs no authorization
        post_signed(rig.url, *event_payload(message_event("a")), SIGNING_SECRET)
        post_signed(rig.url, *event_payload(message_event("b")), SIGNING_SECRET)
        fake.wait_for("chat.postMessage", count=2)
        assert len(fake.calls_to("auth.test")) == 1


def test_signed_event_reaches_listener_and_reply_hits_fake(bolt: BoltRig) -> None:
    bolt.fake.reset()
    event = message_event("¿cómo cobro?", thread_ts="1732550000.000100")

    result = post_signed(bolt.url, *event_payload(event), SIGNING_SECRET)

    assert result.status == 200  # acked before the listener runs (process_before_response=False)
    (call,) = bolt.fake.wait_for("chat.postMessage", thread_ts="1732550000.000100")
    assert call.params["text"] == "eco: ¿cómo cobro?"
    assert bolt.seen[-1]["ts"] == event["ts"]


def test_dm_with_retry_headers_is_delivered(bolt: BoltRig) -> None:
    bolt.fake.reset()
    event = dm_event("hola")
    result = post_signed(bolt.url, *event_payload(event), SIGNING_SECRET, retry_num=1)

    assert result.status == 200
    bolt.fake.wait_for("chat.postMessage", channel=event["channel"], thread_ts=event["ts"])


def test_forged_signature_is_rejected(bolt: BoltRig) -> None:
    result = post_signed(bolt.url, *event_payload(message_event("x")), WRONG_SECRET)
    assert result.status == 401


def test_stale_timestamp_is_rejected(bolt: BoltRig) -> None:
    payload = event_payload(message_event("x"))
    result = post_signed(bolt.url, *payload, SIGNING_SECRET, timestamp=stale_timestamp())
    assert result.status == 401


def test_url_verification_challenge_is_answered(bolt: BoltRig) -> None:
    result = post_signed(bolt.url, *url_verification("abc123"), SIGNING_SECRET)
    assert result.status == 200
    assert result.json() == {"challenge": "abc123"}


def test_slash_command_acks_and_responds(bolt: BoltRig) -> None:
    bolt.fake.reset()
    body = slash_command("ahora", response_url=bolt.fake.response_url())

    result = post_signed(bolt.url, *body, SIGNING_SECRET)

    assert result.status == 200
    (posted,) = bolt.fake.wait_for_response()
    assert posted.payload["text"] == "guardia: ahora"


def test_block_action_and_view_submission(bolt: BoltRig) -> None:
    bolt.fake.reset()
    click = post_signed(bolt.url, *block_actions("take", "T-1", message_ts="1.000100"))
    submit = post_signed(
        bolt.url, *view_submission("escalate", {"reason": {"input": "urgente"}}), SIGNING_SECRET
    )

    assert click.status == 200
    bolt.fake.wait_for("reactions.add", name="eyes", timestamp="1.000100")
    assert submit.json() == {
        "response_action": "errors",
        "errors": {"reason": "rechazado: urgente"},
    }


def test_signature_matches_slacks_documented_example() -> None:
    # https://docs.slack.dev/authentication/verifying-requests-from-slack/
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
        "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook"
        "-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F3977"
        "00885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10"
        "d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert signature(body, "8f742231b10e8888abcd99yyyzzz85a5", 1531420618) == expected


def test_json_bodies_and_query_string_tokens_are_accepted(fake: FakeSlack) -> None:
    """slack_sdk sends json= bodies as JSON; AsyncWebClient puts params in the query string."""
    response = fake.web_client().api_call(
        "chat.postMessage", json={"channel": "U0AGENT", "text": "t", "blocks": BLOCKS}
    )
    with urllib.request.urlopen(f"{fake.api_url}auth.test?token={FAKE_BOT_TOKEN}") as raw:
        auth = json.loads(raw.read())

    assert response["channel"] == fake.dm_channel("U0AGENT")  # posting to a user id means a DM
    assert fake.calls[0].params["blocks"] == BLOCKS
    assert auth["ok"] and auth["user_id"] == BOT_USER_ID
