"""Slack deliveries out: the agents' outbox (case cards, thread lines, card updates, pages,
files, ✓/⚠️ reactions) in order per case, and replies to creators who write on Slack in order
per chat; 429 ``Retry-After`` honoured, permanent errors given up on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.adapters.base import FileFetchers
from bot.adapters.slack import blocks, home, oncall
from bot.adapters.slack.config import PLATFORM, SlackConfig
from bot.adapters.slack.once import Box, post_once
from bot.adapters.slack.threads import thread_text
from bot.adapters.slack.workspace import Workspace
from handlers.api import Puente
from handlers.cases.assist import case_context
from handlers.cases.casework import Kind
from handlers.common.i18n import negotiate, translator
from handlers.common.utc import as_utc
from handlers.contract.case_view import CaseView
from handlers.delivery.outbox import AgentItem, AgentOutbox, Outbound, Outbox

log = logging.getLogger("bot.adapters.slack")

IDLE_CHECK_SECONDS = 1.0
FILE_FETCH_SECONDS = 120
DEFAULT_FILE_NAME = "archivo"
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


class NoQueue(Exception):
    """The case has no agents' channel (none configured) or no longer exists."""


class SlackSender:
    def __init__(
        self,
        puente: Puente,
        config: SlackConfig,
        client: WebClient,
        workspace: Workspace,
        *,
        outbox: Outbox,
        agent_outbox: AgentOutbox,
        files: FileFetchers,
    ) -> None:
        self.puente = puente
        self.config = config
        self.client = client
        self.workspace = workspace
        self.outbox = outbox
        self.agent_outbox = agent_outbox
        self.files = files
        self.t = workspace.t
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping = False
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def deliver_forever(self) -> None:
        self.loop = asyncio.get_running_loop()
        while not self.stopping:
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

    # -- the agents' side --------------------------------------------------------------

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
        except NoQueue:
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
                raise NoQueue()
            text, card = blocks.case_card(self._view(item.escalation_id), self.config.locale)
            return post_once(
                self.client, Box.AGENTS, item.id, resumed=item.resumed, channel=item.queue,
                text=text, blocks=card, unfurl_links=False, unfurl_media=False,
            )  # fmt: skip
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
            self._react(item)
            return None
        return self._thread_post(item)

    def _react(self, item: AgentItem) -> None:
        channel, _, ts = str(item.payload["ref"]).partition(":")
        try:
            self.client.reactions_add(channel=channel, timestamp=ts, name=str(item.payload["name"]))
        except SlackApiError as exc:
            if exc.response.get("error") != "already_reacted":
                raise

    def _thread_post(self, item: AgentItem) -> str:
        text = thread_text(item.payload, self.t)
        extra: dict[str, object] = {}
        if item.payload.get("role") == "kb_draft" and item.payload.get("draft"):
            extra["blocks"] = home.draft_review_blocks(
                text, int(item.payload["draft"]), self.config.locale
            )
        return post_once(
            self.client, Box.AGENTS, item.id, resumed=item.resumed, channel=item.queue or "",
            thread_ts=item.thread_ts, text=text, unfurl_links=False, unfurl_media=False, **extra,
        )  # fmt: skip

    def _page_dm(self, item: AgentItem) -> str:
        """A page: a direct message to the person on call, in their Slack language, with a link
        to the case's thread."""
        user = str(item.payload["user"])
        locale = negotiate(self.workspace.profile(user)[1]) if user else self.config.locale
        text = oncall.dm_text(item.payload, item.escalation_id, translator(locale))
        if item.queue and item.thread_ts:
            with contextlib.suppress(SlackApiError):  # the page matters more than the link
                link = self.client.chat_getPermalink(channel=item.queue, message_ts=item.thread_ts)
                text += "\n" + str(link.get("permalink") or "")
        channel = self.client.conversations_open(users=user)["channel"]["id"]
        return post_once(
            self.client, Box.AGENTS, item.id, resumed=item.resumed, channel=channel, text=text,
            unfurl_links=False,
        )  # fmt: skip

    def _copy_file(self, item: AgentItem) -> str | None:
        """Upload a creator's file into the case's thread, fetched from their platform."""
        payload = item.payload
        fetch = self.files.get(str(payload.get("platform")))
        if fetch is None or self.loop is None:
            return None
        future = asyncio.run_coroutine_threadsafe(fetch(str(payload["file_id"])), self.loop)
        data = future.result(timeout=FILE_FETCH_SECONDS)
        if not data:
            return None
        self.client.files_upload_v2(
            channel=item.queue or "",
            thread_ts=item.thread_ts,
            file=data,
            filename=str(payload.get("name") or DEFAULT_FILE_NAME),
            title=str(payload.get("name") or payload.get("type") or DEFAULT_FILE_NAME),
        )
        return None

    def _view(self, escalation_id: int) -> CaseView:
        details = self.agent_outbox.case_details(escalation_id)
        if details is None:
            raise NoQueue()
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

    # -- creators who write on Slack ------------------------------------------------------

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
        text, message_blocks = blocks.creator_reply(
            item.text, item.suggestions, from_agent=item.from_agent
        )
        return post_once(
            self.client, Box.CREATORS, item.id, resumed=item.resumed, channel=item.chat_id,
            text=text, blocks=message_blocks,
        )  # fmt: skip

    async def _failed(self, exc: SlackApiError, item_id: int, box: Outbox | AgentOutbox) -> bool:
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


def _later(moment: datetime | None, now: datetime) -> bool:
    if moment is None:
        return False
    moment = as_utc(moment)
    return moment > now
