"""Slack events in: each Events API delivery is stored (unique on ``event_id``) before Bolt
acknowledges it, so Slack's retries are processed once and a storage failure answers 503; then
a creator's DM becomes an :class:`IncomingMessage` and an agent's thread reply an
:class:`AgentAction`, each handed to the core with its stored inbox row."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltRequest, BoltResponse

from bot.adapters.base import hand_over
from bot.adapters.slack.config import PLATFORM
from bot.adapters.slack.workspace import Workspace
from bot.outage import REFUSALS
from bot.render import label_mentions
from handlers.api import Puente
from handlers.common.i18n import N_
from handlers.contract.actions import ActionRejected, AgentAction, AgentActionKind
from handlers.contract.messages import Attachment, IncomingMessage, Platform
from handlers.delivery.inbox import Inbox
from handlers.delivery.outbox import AgentOutbox

log = logging.getLogger("bot.adapters.slack")

INTERNAL = re.compile(r"^\s*(nota:|//)", re.IGNORECASE)
IGNORED_SUBTYPES = {
    "bot_message",
    "message_changed",
    "message_deleted",
    "channel_join",
    "channel_leave",
    "thread_broadcast",
}
INBOX_ROW = "inbox_row"  # where the stored event's row travels in Bolt's request context


class Inbound:
    def __init__(
        self,
        puente: Puente,
        workspace: Workspace,
        agent_outbox: AgentOutbox,
        *,
        wake: Callable[[], None],
        wake_creators: Callable[[], None],
    ) -> None:
        self.puente = puente
        self.workspace = workspace
        self.inbox = Inbox(puente.engine, puente.clock)
        self.agent_outbox = agent_outbox
        self.wake = wake
        self.wake_creators = wake_creators

    def store_first(self, req: BoltRequest, resp: BoltResponse, next: Callable[[], Any]) -> Any:
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
        except Exception as exc:
            REFUSALS.refused("slack", exc)
            return BoltResponse(status=503, body="storage unavailable")
        if row is None:
            return BoltResponse(status=200, body="")
        req.context[INBOX_ROW] = row
        return next()

    def recover(self) -> None:
        """Events stored before a crash or restart are handled now."""
        for item in self.inbox.pending(platform=PLATFORM):
            body = json.loads(item.payload)
            self.handle_event(body.get("event") or {}, item.id)

    def on_message_event(
        self, ack: Callable[[], None], body: dict[str, Any], context: dict[str, Any]
    ) -> None:
        ack()
        self.handle_event(body.get("event") or {}, context.get(INBOX_ROW))

    def handle_event(self, event: dict[str, Any], row: int | None) -> None:
        """One stored message event; its row is marked processed by the core with a creator's
        message, here otherwise (an agent's reply, an ignored event, a failure)."""
        error = None
        finished = False
        try:
            finished = self._route(event, row)
        except Exception as exc:
            error = type(exc).__name__
            log.exception("slack: handling a message event failed")
        finally:
            if row is not None and not finished:
                self.inbox.finish(row, error=error)

    def from_creator(self, event: dict[str, Any], row: int | None = None) -> None:
        name, locale = self.workspace.profile(event["user"])
        incoming = IncomingMessage(
            platform=Platform.SLACK,
            chat_id=event["channel"],
            user_id=event["user"],
            message_id=str(event.get("client_msg_id") or event.get("ts")),
            text=str(event.get("text") or ""),
            display_name=name,
            locale_hint=locale,
            attachments=_attachments(event),
        )
        hand_over(self.puente, incoming, row)
        self.wake()

    def _route(self, event: dict[str, Any], row: int | None) -> bool:
        """Hand the event to the core; True when the core marked its row processed."""
        if event.get("bot_id") or event.get("subtype") in IGNORED_SUBTYPES:
            return False
        user, channel = event.get("user"), event.get("channel")
        if not user or not channel:
            return False
        if event.get("channel_type") == "im":
            if self.workspace.is_agent(user):
                return False
            self.from_creator(event, row)
            return row is not None
        thread_ts, ts = event.get("thread_ts"), event.get("ts")
        if thread_ts and thread_ts != ts:
            self._thread_reply(event, channel, thread_ts)
        return False

    def _thread_reply(self, event: dict[str, Any], channel: str, thread_ts: str) -> None:
        case = self.agent_outbox.case_of(queue=channel, thread_ts=thread_ts)
        text = str(event.get("text") or "")
        if case is None or INTERNAL.match(text) or not self.workspace.is_agent(event["user"]):
            return
        action = AgentAction(
            AgentActionKind.REPLY,
            case,
            event["user"],
            text=label_mentions(text, self.workspace.known_name),
            relay_ref=f"{channel}:{event['ts']}",
            attachments=_attachments(event),
        )
        try:
            self.puente.handle_agent_action(action)
        except ActionRejected:
            self.workspace.hint(
                channel, event["user"], N_("slack_hint_take_first"), thread_ts=thread_ts
            )
            return
        self.wake_creators()


def _attachments(event: dict[str, Any]) -> tuple[Attachment, ...]:
    return tuple(attachment(f) for f in event.get("files") or [] if isinstance(f, dict))


def attachment(file: dict[str, Any]) -> Attachment:
    """A file shared on Slack, as the core's :class:`Attachment`."""
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
