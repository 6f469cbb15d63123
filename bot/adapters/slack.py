"""Slack adapter on slack-bolt: the agents' side (case cards, threads, buttons, modals) and Slack
DMs from creators. With ``bot/adapters/slack_blocks.py``, the only code that knows Slack.

In: Events API deliveries are stored (unique on ``event_id``) by a Bolt middleware before Bolt
acknowledges them, so Slack's retries are processed once and a storage failure answers 503.
Out: the agents' outbox (cards, thread lines, card updates, ✓/⚠️ reactions) and replies to Slack
creators are delivered in order per case / per chat, honouring 429 ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.adapters import slack_blocks as blocks
from bot.adapters import slack_home as home
from bot.adapters import slack_oncall, slack_threads
from handlers.api import Puente
from handlers.cases.assist import case_context
from handlers.cases.casework import Kind
from handlers.common.i18n import N_, negotiate, translator
from handlers.common.utc import as_utc
from handlers.contract.actions import ActionRejected, AgentAction, AgentActionKind
from handlers.contract.case_view import CaseView
from handlers.contract.ids import parse_id, split_id
from handlers.contract.messages import IncomingMessage, Platform
from handlers.delivery.inbox import Inbox
from handlers.delivery.outbox import AgentItem, AgentOutbox, Outbound, Outbox
from handlers.insights.dashboard import dashboard, gap_by_key, review_draft, review_gap
from handlers.kb.review import ReviewError
from handlers.oncall.command import OncallRequest

log = logging.getLogger(__name__)

PLATFORM = Platform.SLACK.value
INTERNAL = re.compile(r"^\s*(nota:|//)", re.IGNORECASE)
IGNORED_SUBTYPES = {
    "bot_message",
    "message_changed",
    "message_deleted",
    "channel_join",
    "channel_leave",
    "thread_broadcast",
}
CREATOR_CHOICE = "creator_choice"
MALFORMED = (TypeError, AttributeError, KeyError, ValueError, IndexError)
GROUP_CACHE_SECONDS = 300.0
IDLE_CHECK_SECONDS = 1.0
MAX_FILE_BYTES = 20 * 1024 * 1024
PERMANENT_ERRORS = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_auth",
    "account_inactive",
    "msg_too_long",
    "no_text",
    "invalid_blocks",
    "user_not_found",
    "user_disabled",
    "cannot_dm_bot",
}


@dataclass(frozen=True, slots=True)
class SlackConfig:
    bot_token: str
    signing_secret: str
    app_token: str | None = None
    api_url: str | None = None
    agents: tuple[str, ...] = ()
    root_causes: tuple[str, ...] = ()
    teams: tuple[tuple[str, str], ...] = field(default=())
    locale: str = "es"
    repeat_days: int = 10
    claim_seconds: float = 60.0  # outbox lease (handlers.delivery.leases)


class SlackAdapter:
    def __init__(
        self,
        puente: Puente,
        config: SlackConfig,
        *,
        wake: Callable[[], None] = lambda: None,
        files: dict[str, Callable[[str], Awaitable[bytes | None]]] | None = None,
    ) -> None:
        self.puente = puente
        self.files = files or {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.config = config
        self.wake_creators = wake
        self.t = translator(config.locale)
        self.inbox = Inbox(puente.engine, puente.clock)
        lease = timedelta(seconds=config.claim_seconds)
        self.outbox = Outbox(puente.engine, puente.clock, lease=lease)
        self.agent_outbox = AgentOutbox(puente.engine, puente.clock, lease=lease)
        kwargs: dict[str, Any] = {"token": config.bot_token}
        if config.api_url:
            kwargs["base_url"] = config.api_url
        self.client = WebClient(**kwargs)
        self.app = App(
            signing_secret=config.signing_secret,
            client=self.client,
            token_verification_enabled=False,
            request_verification_enabled=True,
        )
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._names: dict[str, tuple[str, str | None]] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._sender: asyncio.Task[None] | None = None
        self._stopping = False
        self._socket: Any = None
        self._register()

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._sender = asyncio.create_task(self._deliver_forever(), name="slack-send")
        self._tasks.append(self._sender)
        await asyncio.to_thread(self._recover)
        if self.config.app_token:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            self._socket = SocketModeHandler(self.app, self.config.app_token)
            await asyncio.to_thread(self._socket.connect)
            log.warning("slack: started (Socket Mode)")
        else:
            log.warning("slack: started (HTTP, POST /slack/events)")

    @property
    def sender_alive(self) -> bool:
        """Liveness for ``GET /healthz``: the outbox sender task started and has not ended."""
        return self._sender is not None and not self._sender.done()

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._socket is not None:
            with contextlib.suppress(Exception):
                self._socket.close()
        log.warning("slack: stopped")

    def wake(self) -> None:
        self._wake.set()

    async def download(self, file_id: str) -> bytes | None:
        """A file an agent shared, for delivery to a creator on another platform."""
        return await asyncio.to_thread(self._download, file_id)

    def _download(self, file_id: str) -> bytes | None:
        info = self.client.files_info(file=file_id)["file"]
        url = info.get("url_private_download") or info.get("url_private")
        if not url or int(info.get("size") or 0) > MAX_FILE_BYTES:
            return None
        request = urllib.request.Request(
            url, headers={"Authorization": f"Bearer {self.config.bot_token}"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read(MAX_FILE_BYTES + 1)[:MAX_FILE_BYTES]

    def handle_http(
        self, body: bytes, query: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], str]:
        """HTTP mode: the web route hands every request here (in a worker thread); Bolt checks
        the signature and routes it."""
        try:
            request = BoltRequest(
                body=body.decode("utf-8", errors="replace"),
                query=query,
                headers={name: [value] for name, value in headers.items()},
            )
            response = self.app.dispatch(request)
        except MALFORMED as exc:
            # Bolt reads ids and routing out of the body as it builds and routes a request, and
            # trips over shapes Slack never sends ({"team": true}, an "event" that is a number)
            log.warning("slack: malformed request refused (%s)", type(exc).__name__)
            return 400, {}, "malformed Slack request"
        reply_headers = {name: values[0] for name, values in response.headers.items() if values}
        return response.status, reply_headers, response.body

    # -- in ------------------------------------------------------------------------------

    def _register(self) -> None:
        self.app.middleware(self._store_first)
        self.app.event("message")(self._on_message_event)
        self.app.event("app_mention")(lambda ack: None)
        self.app.event("app_home_opened")(self._on_home_opened)
        self.app.action(home.APPROVE_DRAFT)(self._on_draft_review)
        self.app.action(home.REJECT_DRAFT)(self._on_draft_review)
        self.app.action(home.DISMISS_GAP)(self._on_gap_dismiss)
        self.app.action(home.WRITE_GAP)(self._on_gap_write)
        self.app.view(home.GAP_VIEW)(self._on_gap_article)
        for action_id, handler in (
            (blocks.TAKE, self._on_take),
            (blocks.RETURN, self._on_return),
            (blocks.RESOLVE, self._on_resolve_button),
            (blocks.TRANSFER, self._on_transfer_button),
            (blocks.SAVE_KB, self._on_save_kb_button),
            # the suggestion buttons are numbered (creator_choice_0, _1…): unique per message
            (re.compile(rf"^{CREATOR_CHOICE}(_\d+)?$"), self._on_creator_choice),
            (blocks.RECLASSIFY, self._on_reclassify),
        ):
            self.app.action(action_id)(handler)
        self.app.action(re.compile(f"^{blocks.SEND_ARTICLE}_\\d+$"))(self._on_send_article)
        self.app.view(blocks.RESOLVE_VIEW)(self._on_resolve_view)
        self.app.view(blocks.TRANSFER_VIEW)(self._on_transfer_view)
        self.app.view(blocks.SAVE_KB_VIEW)(self._on_save_kb_view)
        self.app.command("/oncall")(self._on_oncall)

    def _store_first(self, req: BoltRequest, resp: BoltResponse, next: Callable[[], Any]) -> Any:
        """Events are stored before Bolt acknowledges them; a retry of a stored one is acked
        and dropped."""
        body = req.body
        if body.get("type") != "event_callback":
            return next()
        event_id = str(body.get("event_id") or "")
        if not event_id:
            return BoltResponse(status=400, body="event without event_id")
        try:
            row = self.inbox.accept(platform=PLATFORM, key=event_id, payload=json.dumps(body))
        except Exception:
            log.exception("slack: could not store event %s; Slack will retry", event_id)
            return BoltResponse(status=503, body="storage unavailable")
        if row is None:
            return BoltResponse(status=200, body="")
        req.context["inbox_row"] = row
        return next()

    def _recover(self) -> None:
        """Events stored before a crash or restart are handled now."""
        for item in self.inbox.pending(platform=PLATFORM):
            body = json.loads(item.payload)
            self._handle_event(body.get("event") or {}, item.id)

    def _on_message_event(
        self, ack: Callable[[], None], body: dict[str, Any], context: dict[str, Any]
    ) -> None:
        ack()
        self._handle_event(body.get("event") or {}, context.get("inbox_row"))

    def _handle_event(self, event: dict[str, Any], row: int | None) -> None:
        error = None
        try:
            self._route_message(event)
        except Exception as exc:
            error = type(exc).__name__
            log.exception("slack: handling a message event failed")
        finally:
            if row is not None:
                self.inbox.finish(row, error=error)

    def _route_message(self, event: dict[str, Any]) -> None:
        if event.get("bot_id") or event.get("subtype") in IGNORED_SUBTYPES:
            return
        user, channel = event.get("user"), event.get("channel")
        if not user or not channel:
            return
        if event.get("channel_type") == "im":
            if not self.is_agent(user):
                self._from_creator(event)
            return
        thread_ts, ts = event.get("thread_ts"), event.get("ts")
        if thread_ts and thread_ts != ts:
            self._thread_reply(event, channel, thread_ts)

    def _from_creator(self, event: dict[str, Any]) -> None:
        name, locale = self._profile(event["user"])
        files = tuple(blocks_attachment(f) for f in event.get("files") or [] if isinstance(f, dict))
        incoming = IncomingMessage(
            platform=Platform.SLACK,
            chat_id=event["channel"],
            user_id=event["user"],
            message_id=str(event.get("client_msg_id") or event.get("ts")),
            text=str(event.get("text") or ""),
            display_name=name,
            locale_hint=locale,
            attachments=files,
        )
        self.puente.handle_message(incoming)
        self.wake()

    def _thread_reply(self, event: dict[str, Any], channel: str, thread_ts: str) -> None:
        case = self.agent_outbox.case_of(queue=channel, thread_ts=thread_ts)
        text = str(event.get("text") or "")
        if case is None or INTERNAL.match(text) or not self.is_agent(event["user"]):
            return
        files = tuple(blocks_attachment(f) for f in event.get("files") or [] if isinstance(f, dict))
        action = AgentAction(
            AgentActionKind.REPLY,
            case,
            event["user"],
            text=text,
            relay_ref=f"{channel}:{event['ts']}",
            attachments=files,
        )
        try:
            self.puente.handle_agent_action(action)
        except ActionRejected:
            self._hint(channel, event["user"], N_("slack_hint_take_first"), thread_ts=thread_ts)
            return
        self.wake_creators()

    # -- buttons and modals ------------------------------------------------------------

    def _case_and_agent(self, body: dict[str, Any]) -> tuple[int, str] | None:
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        if not self.is_agent(user):
            if channel:
                self._hint(channel, user, N_("slack_hint_agents_only"))
            return None
        case = case_id(str(body["actions"][0].get("value") or ""))
        return None if case is None else (case, user)

    def _act(self, body: dict[str, Any], kind: AgentActionKind) -> None:
        found = self._case_and_agent(body)
        if found is None:
            return
        case, user = found
        self._apply(AgentAction(kind, case, user), (body.get("channel") or {}).get("id"))

    def _apply(self, action: AgentAction, channel: str | None) -> None:
        try:
            self.puente.handle_agent_action(action)
        except ActionRejected as exc:
            if channel:
                self._hint(
                    channel,
                    action.agent_id,
                    N_("slack_hint_rejected"),
                    reason=self.t.gettext(exc.key, **exc.values),
                )
            return
        self.wake()
        self.wake_creators()

    def _on_take(self, ack: Callable[[], None], body: dict[str, Any]) -> None:
        ack()
        self._act(body, AgentActionKind.TAKE)

    def _on_return(self, ack: Callable[[], None], body: dict[str, Any]) -> None:
        ack()
        self._act(body, AgentActionKind.RETURN)

    def _open_modal(self, body: dict[str, Any], build: Callable[[int], dict[str, Any]]) -> None:
        found = self._case_and_agent(body)
        if found is None:
            return
        self.client.views_open(trigger_id=body["trigger_id"], view=build(found[0]))

    def _on_resolve_button(self, ack: Callable[[], None], body: dict[str, Any]) -> None:
        ack()
        causes = list(self.config.root_causes)
        self._open_modal(body, lambda case: blocks.resolve_modal(case, causes, self.config.locale))

    def _on_transfer_button(self, ack: Callable[[], None], body: dict[str, Any]) -> None:
        ack()
        teams = dict(self.config.teams)
        self._open_modal(body, lambda case: blocks.transfer_modal(case, teams, self.config.locale))

    def _on_save_kb_button(self, ack: Callable[[], None], body: dict[str, Any]) -> None:
        ack()

        def build(case: int) -> dict[str, Any]:
            question, answer = self.puente.case_question_and_answer(case)
            return blocks.save_kb_modal(case, question, answer, self.config.locale)

        self._open_modal(body, build)

    def _view_action(self, body: dict[str, Any], view: dict[str, Any]) -> tuple[int, str] | None:
        user = body["user"]["id"]
        case = case_id(str(view.get("private_metadata") or ""))
        if case is None or not self.is_agent(user):
            return None
        return case, user

    def _on_resolve_view(
        self, ack: Callable[[], None], body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        self._submitted(ack, body, view, lambda case, user, values: AgentAction(
            AgentActionKind.RESOLVE, case, user,
            text=values.get(blocks.SUMMARY, ""),
            root_cause=values.get(blocks.ROOT_CAUSE) or None,
        ))  # fmt: skip

    def _on_transfer_view(
        self, ack: Callable[[], None], body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        self._submitted(ack, body, view, lambda case, user, values: AgentAction(
            AgentActionKind.TRANSFER, case, user, queue=values.get(blocks.TEAM) or None,
        ))  # fmt: skip

    def _on_save_kb_view(
        self, ack: Callable[[], None], body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        self._submitted(ack, body, view, lambda case, user, values: AgentAction(
            AgentActionKind.SAVE_KB, case, user,
            text=values.get(blocks.ANSWER, ""),
            question=values.get(blocks.QUESTION, ""),
            category=values.get(blocks.CATEGORY, ""),
        ))  # fmt: skip

    def _submitted(
        self,
        ack: Callable[[], None],
        body: dict[str, Any],
        view: dict[str, Any],
        build: Callable[[int, str, dict[str, str]], AgentAction],
    ) -> None:
        """A modal was submitted: by an agent, for a case → the action its fields describe."""
        ack()
        found = self._view_action(body, view)
        if found is not None:
            self._apply(build(found[0], found[1], blocks.modal_values(view)), None)

    def _on_reclassify(self, ack: Callable[[], None], body: dict[str, Any]) -> None:
        ack()
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        if not self.is_agent(user):
            if channel:
                self._hint(channel, user, N_("slack_hint_agents_only"))
            return
        action = body["actions"][0]
        value = str((action.get("selected_option") or {}).get("value") or action.get("value") or "")
        number, _, category = value.partition(":")
        case = case_id(number)
        if case is not None and category:
            reclassify = AgentAction(AgentActionKind.RECLASSIFY, case, user, category=category)
            self._apply(reclassify, channel)

    def _on_send_article(self, ack: Callable[[], None], body: dict[str, Any]) -> None:
        """Agent assist: one of the card's suggested KB answers, sent as this agent."""
        ack()
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        if not self.is_agent(user):
            if channel:
                self._hint(channel, user, N_("slack_hint_agents_only"))
            return
        found = split_id(str(body["actions"][0].get("value") or ""))
        if found is not None:
            send = AgentAction(AgentActionKind.SEND_ARTICLE, found[0], user, article_id=found[1])
            self._apply(send, channel)

    def _on_creator_choice(self, ack: Callable[[], None], body: dict[str, Any]) -> None:
        """A creator on Slack pressed one of the bot's suggestion buttons."""
        ack()
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        payload = str(body["actions"][0].get("value") or "")
        if not channel or not payload:
            return
        event = {
            "user": user,
            "channel": channel,
            "text": payload,
            "client_msg_id": f"choice:{body['actions'][0].get('action_ts')}",
        }
        self._from_creator(event)

    def _on_oncall(
        self, ack: Callable[..., None], body: dict[str, Any], respond: Callable[..., Any]
    ) -> None:
        """``/oncall``: acked at once, answered (only to the agent) in their Slack language."""
        ack()
        user = str(body.get("user_id") or "")
        locale = negotiate(self._profile(user)[1])
        if not self.is_agent(user):
            text = translator(locale).gettext("oncall_agents_only")
        else:
            command = slack_oncall.command_text(str(body.get("text") or ""))
            reply = self.puente.answer_oncall(OncallRequest(user, command, locale))
            text = slack_oncall.reply_text(reply, translator(locale))
        respond(text=text, response_type="ephemeral")
        self.wake()

    # -- Home tab: the agents' dashboard and KB review -------------------------------------

    def _on_home_opened(
        self, ack: Callable[[], None], body: dict[str, Any], context: dict[str, Any]
    ) -> None:
        ack()
        event = body.get("event") or {}
        error = None
        try:
            if event.get("tab", "home") == "home" and event.get("user"):
                self.publish_home(str(event["user"]))
        except Exception as exc:
            error = type(exc).__name__
            log.exception("slack: publishing the Home tab failed")
        finally:
            if context.get("inbox_row") is not None:
                self.inbox.finish(context["inbox_row"], error=error)

    def publish_home(self, user: str) -> None:
        """A fresh dashboard for an agent (others see that it is for agents only)."""
        if self.is_agent(user):
            board = dashboard(
                self.puente.engine,
                self.puente.kb,
                self.puente.clock(),
                targets=self.puente.oncall.sla,
            )
            view = home.home_view(board, self.config.locale)
        else:
            view = home.not_an_agent_view(self.config.locale)
        self.client.views_publish(user_id=user, view=view)

    def _on_draft_review(self, ack: Callable[[], None], body: dict[str, Any]) -> None:
        """Approve or reject a KB draft from the Home tab; the tab is redrawn after."""
        ack()
        user = body["user"]["id"]
        if not self.is_agent(user):
            return
        action = body["actions"][0]
        value = str(action.get("value") or "")
        draft = parse_id(value)
        if draft is None:
            return
        approve = action.get("action_id") == home.APPROVE_DRAFT
        try:
            article = review_draft(
                self.puente.engine, draft, approve=approve, now=self.puente.clock()
            )
        except ReviewError:
            log.warning("slack: a KB review did not apply (draft %s already reviewed?)", value)
            article, approve = None, None
        container = body.get("container") or {}
        if container.get("type") == "message" and approve is not None:
            self._mark_reviewed(container, user, article)
        else:
            self.publish_home(user)

    def _mark_reviewed(self, container: dict[str, Any], user: str, article: str | None) -> None:
        """The draft's message in the case thread says who reviewed it; the buttons go."""
        if article:
            text = self.t.gettext("slack_kb_draft_published", agent=user, article=article)
        else:
            text = self.t.gettext("slack_kb_draft_rejected", agent=user)
        with contextlib.suppress(SlackApiError):
            self.client.chat_update(
                channel=str(container.get("channel_id") or ""),
                ts=str(container.get("message_ts") or ""),
                text=text,
                blocks=[],
            )

    def _on_gap_dismiss(self, ack: Callable[[], None], body: dict[str, Any]) -> None:
        ack()
        user, key = body["user"]["id"], str(body["actions"][0].get("value") or "")
        if not self.is_agent(user) or not key:
            return
        try:
            review_gap(
                self.puente.engine, self.puente.kb, key, now=self.puente.clock(), reviewer=user
            )
        except ReviewError:
            log.warning("slack: missing topic %s is gone (already reviewed?)", key)
        self.publish_home(user)

    def _on_gap_write(self, ack: Callable[[], None], body: dict[str, Any]) -> None:
        ack()
        user, key = body["user"]["id"], str(body["actions"][0].get("value") or "")
        if not self.is_agent(user):
            return
        gap = gap_by_key(self.puente.engine, self.puente.kb, key, self.puente.clock())
        if gap is not None:
            view = home.gap_article_modal(gap, self.config.locale)
            self.client.views_open(trigger_id=body["trigger_id"], view=view)

    def _on_gap_article(
        self, ack: Callable[[], None], body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        """The article for a missing topic: published at once, answering the next creator."""
        user, key = body["user"]["id"], str(view.get("private_metadata") or "")
        values = blocks.modal_values(view)
        if not values.get(blocks.ANSWER, "").strip():
            ack(
                response_action="errors",
                errors={blocks.ANSWER: self.t.gettext("home_gap_no_answer")},
            )
            return
        ack()
        if not self.is_agent(user):
            return
        try:
            review_gap(
                self.puente.engine, self.puente.kb, key, now=self.puente.clock(), reviewer=user,
                answer=values.get(blocks.ANSWER, ""), questions=values.get(blocks.QUESTION) or None,
                category=values.get(blocks.CATEGORY, ""),
            )  # fmt: skip
        except ReviewError:
            log.warning("slack: missing topic %s could not be published", key)
        self.publish_home(user)

    # -- who is an agent ---------------------------------------------------------------

    def is_agent(self, user: str) -> bool:
        """Members of ``SLACK_AGENTS``: user ids, or user groups (``S…``) looked up and cached."""
        for entry in self.config.agents:
            if entry == user:
                return True
            if entry.startswith("S") and user in self._group(entry):
                return True
        return False

    def _group(self, group: str) -> frozenset[str]:
        cached = self._groups.get(group)
        if cached and time.monotonic() - cached[0] < GROUP_CACHE_SECONDS:
            return cached[1]
        try:
            users = frozenset(self.client.usergroups_users_list(usergroup=group)["users"])
        except SlackApiError as exc:
            log.warning("slack: could not read user group %s (%s)", group, exc.response["error"])
            return cached[1] if cached else frozenset()
        self._groups[group] = (time.monotonic(), users)
        return users

    def _profile(self, user: str) -> tuple[str, str | None]:
        if user not in self._names:
            try:
                info = self.client.users_info(user=user, include_locale=True)["user"]
                profile = info.get("profile") or {}
                name = profile.get("display_name") or info.get("real_name") or info.get("name")
                self._names[user] = (str(name or user), info.get("locale"))
            except SlackApiError:
                return user, None
        return self._names[user]

    def _hint(
        self, channel: str, user: str, key: str, *, thread_ts: str | None = None, **values: object
    ) -> None:
        with contextlib.suppress(SlackApiError):
            self.client.chat_postEphemeral(
                channel=channel, user=user, thread_ts=thread_ts, text=self.t.gettext(key, **values)
            )

    # -- out -----------------------------------------------------------------------------

    async def _deliver_forever(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before looking, so a wake-up during the round isn't lost
            try:
                await self._deliver_round()
            except Exception:
                log.exception("slack: delivery round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_CHECK_SECONDS)

    async def _deliver_round(self) -> None:
        cases = await asyncio.to_thread(self.agent_outbox.cases_waiting)
        chats = await asyncio.to_thread(self.outbox.chats_waiting, platform=PLATFORM)
        await asyncio.gather(
            *(self._drain_case(case) for case in cases),
            *(self._drain_chat(chat) for chat in chats),
        )

    async def _drain_case(self, case: int) -> None:
        while True:
            item = await asyncio.to_thread(self.agent_outbox.next_for, case)
            if item is None or _later(item.not_before, self.puente.clock()):
                return
            if not await self._send_post(item):
                return

    async def _send_post(self, item: AgentItem) -> bool:
        """Deliver one post; False when it must wait (retry later) and the case's queue stops."""
        try:
            result = await asyncio.to_thread(self._post, item)
        except _NoQueue:
            log.warning(
                "slack: case %s has no agents' channel (SLACK_ESCALATION_CHANNEL)",
                item.escalation_id,
            )
            await asyncio.to_thread(self.agent_outbox.give_up, item.id, error="no_queue")
            return True
        except SlackApiError as exc:
            return await self._failed(exc, item.id, self.agent_outbox)
        await asyncio.to_thread(self.agent_outbox.delivered, item.id, result=result)
        return True

    def _post(self, item: AgentItem) -> str | None:
        if item.kind == Kind.CARD:
            if not item.queue:
                raise _NoQueue()
            text, card = blocks.case_card(self._view(item.escalation_id), self.config.locale)
            sent = self.client.chat_postMessage(
                channel=item.queue, text=text, blocks=card, unfurl_links=False, unfurl_media=False
            )
            return str(sent["ts"])
        if item.kind == Kind.UPDATE:
            text, card = blocks.case_card(self._view(item.escalation_id), self.config.locale)
            self.client.chat_update(
                channel=item.queue or "", ts=item.thread_ts or "", text=text, blocks=card
            )
            return None
        if item.kind == Kind.FILE:
            return self._copy_file(item)
        if item.kind == Kind.DM:
            return self._page_dm(item)
        if item.kind == Kind.REACTION:
            channel, _, ts = str(item.payload["ref"]).partition(":")
            try:
                self.client.reactions_add(
                    channel=channel, timestamp=ts, name=str(item.payload["name"])
                )
            except SlackApiError as exc:
                if exc.response.get("error") != "already_reacted":
                    raise
            return None
        text = slack_threads.thread_text(item.payload, self.t)
        extra: dict[str, Any] = {}
        if item.payload.get("role") == "kb_draft" and item.payload.get("draft"):
            extra["blocks"] = home.draft_review_blocks(
                text, int(item.payload["draft"]), self.config.locale
            )
        sent = self.client.chat_postMessage(
            channel=item.queue or "",
            thread_ts=item.thread_ts,
            text=text,
            unfurl_links=False,
            unfurl_media=False,
            **extra,
        )
        return str(sent["ts"])

    def _page_dm(self, item: AgentItem) -> str:
        """A page: a direct message to the person on call, in their Slack language, with a link
        to the case's thread."""
        user = str(item.payload["user"])
        t = translator(negotiate(self._profile(user)[1]) if user else self.config.locale)
        text = slack_oncall.dm_text(item.payload, item.escalation_id, t)
        if item.queue and item.thread_ts:
            with contextlib.suppress(SlackApiError):  # the page matters more than the link
                link = self.client.chat_getPermalink(channel=item.queue, message_ts=item.thread_ts)
                text += "\n" + str(link.get("permalink") or "")
        channel = self.client.conversations_open(users=user)["channel"]["id"]
        sent = self.client.chat_postMessage(channel=channel, text=text, unfurl_links=False)
        return str(sent["ts"])

    def _copy_file(self, item: AgentItem) -> str | None:
        """Upload a creator's file into the case's thread, fetched from their platform."""
        payload = item.payload
        fetch = self.files.get(str(payload.get("platform")))
        if fetch is None or self._loop is None:
            return None
        future = asyncio.run_coroutine_threadsafe(fetch(str(payload["file_id"])), self._loop)
        data = future.result(timeout=120)
        if not data:
            return None
        self.client.files_upload_v2(
            channel=item.queue or "",
            thread_ts=item.thread_ts,
            file=data,
            filename=str(payload.get("name") or "archivo"),
            title=str(payload.get("name") or payload.get("type") or "archivo"),
        )
        return None

    def _view(self, escalation_id: int) -> CaseView:
        details = self.agent_outbox.case_details(escalation_id)
        if details is None:
            raise _NoQueue()
        case, creator, tried = details
        opened = as_utc(case.created_at)
        assert case.id is not None
        context = case_context(
            self.puente.engine, self.puente.kb, case.id, repeat_days=self.config.repeat_days
        )
        repeat = context.repeat
        return CaseView(
            escalation_id=case.id,
            creator_name=creator.display_name or creator.platform_user_id,
            platform=creator.platform,
            locale=creator.locale,
            vip=creator.is_vip,
            priority=case.priority,
            category=case.category,
            status=str(case.status),
            assignee=case.assignee,
            summary=case.summary,
            tried=tuple(tried),
            reason=case.reason,
            opened_at=opened,
            waited_seconds=(self.puente.clock() - opened).total_seconds(),
            transferred_to=f"#{case.transferred_to}" if case.transferred_to else None,
            linked_from=f"#{case.linked_from}" if case.linked_from else None,
            suggestions=tuple((s.article_id, s.title, s.answer) for s in context.suggestions),
            repeat=(repeat.count, repeat.days, repeat.topic) if repeat else None,
        )

    async def _drain_chat(self, chat: str) -> None:
        """Replies to creators who write on Slack, in order."""
        while True:
            item = await asyncio.to_thread(self.outbox.next_for, platform=PLATFORM, chat_id=chat)
            if item is None or _later(item.not_before, self.puente.clock()):
                return
            try:
                sent = await asyncio.to_thread(self._send_to_creator, item)
            except SlackApiError as exc:
                if not await self._failed(exc, item.id, self.outbox):
                    return
                continue
            await asyncio.to_thread(self.outbox.delivered, item.id, platform_message_id=sent)

    def _send_to_creator(self, item: Outbound) -> str:
        text = blocks.escape(item.text)
        buttons = [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": s.label[:75]},
                "action_id": f"{CREATOR_CHOICE}",
                "value": s.payload[:2000],
            }
            for s in item.suggestions
        ]
        message_blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}
        ]
        if buttons:
            for n, button in enumerate(buttons):
                button["action_id"] = f"{CREATOR_CHOICE}_{n}"
            message_blocks.append({"type": "actions", "elements": buttons})
        sent = self.client.chat_postMessage(
            channel=item.chat_id, text=text[:3900], blocks=message_blocks
        )
        return str(sent["ts"])

    async def _failed(self, exc: SlackApiError, item_id: int, box: Any) -> bool:
        """Record a failed delivery. True when the item was dropped for good (go on)."""
        response = exc.response
        error = str(response.get("error") or response.status_code)
        if response.status_code == 429:
            wait = timedelta(seconds=float(response.headers.get("Retry-After", 1)))
            await asyncio.to_thread(box.retry_later, item_id, after=wait, error="ratelimited")
            return False
        if error in PERMANENT_ERRORS:
            log.warning("slack: giving up on a post: %s", error)
            await asyncio.to_thread(box.give_up, item_id, error=error)
            return True
        await asyncio.to_thread(box.retry_later, item_id, after=None, error=error)
        return False


class _NoQueue(Exception):
    """The case has no agents' channel (none configured) or no longer exists."""


def blocks_attachment(file: dict[str, Any]) -> Any:
    from handlers.contract.messages import Attachment

    mimetype = str(file.get("mimetype") or "")
    kind = "photo" if mimetype.startswith("image/") else "document"
    return Attachment(
        kind,
        str(file.get("id") or ""),
        file.get("name"),
        mimetype or None,
        file.get("size"),
        source=PLATFORM,
    )


def case_id(value: str) -> int | None:
    """A case number from a button's value or a modal's metadata (see :func:`parse_id`)."""
    return parse_id(value)


def _later(moment: datetime | None, now: datetime) -> bool:
    if moment is None:
        return False
    return as_utc(moment) > now
