"""The agents' Home tab on Slack: the dashboard it shows, and what agents do there (review KB
drafts, write or dismiss the articles missing topics need)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.adapters.slack import home, kit, modals
from bot.adapters.slack.config import SlackConfig
from bot.adapters.slack.inbound import INBOX_ROW
from bot.adapters.slack.interactions import case_id
from bot.adapters.slack.workspace import Workspace
from handlers.api import Puente
from handlers.delivery.inbox import Inbox
from handlers.insights.dashboard import dashboard, gap_by_key, review_draft, review_gap
from handlers.kb.review import ReviewError

log = logging.getLogger("bot.adapters.slack")


class HomeTab:
    def __init__(
        self,
        puente: Puente,
        config: SlackConfig,
        client: WebClient,
        workspace: Workspace,
        inbox: Inbox,
    ) -> None:
        self.puente = puente
        self.config = config
        self.client = client
        self.workspace = workspace
        self.inbox = inbox
        self.t = workspace.t

    def register(self, app: App) -> None:
        app.event("app_home_opened")(self._on_home_opened)
        app.action(home.APPROVE_DRAFT)(self._on_draft_review)
        app.action(home.REJECT_DRAFT)(self._on_draft_review)
        app.action(home.DISMISS_GAP)(self._on_gap_dismiss)
        app.action(home.WRITE_GAP)(self._on_gap_write)
        app.view(home.GAP_VIEW)(self._on_gap_article)

    def publish(self, user: str) -> None:
        """A fresh dashboard for an agent (others see that it is for agents only)."""
        if self.workspace.is_agent(user):
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

    def _on_home_opened(
        self, ack: Callable[[], None], body: dict[str, Any], context: dict[str, Any]
    ) -> None:
        ack()
        event = body.get("event") or {}
        error = None
        try:
            if event.get("tab", "home") == "home" and event.get("user"):
                self.publish(str(event["user"]))
        except Exception as exc:
            error = type(exc).__name__
            log.exception("slack: publishing the Home tab failed")
        finally:
            if context.get(INBOX_ROW) is not None:
                self.inbox.finish(context[INBOX_ROW], error=error)

    def _on_draft_review(self, ack: Callable[[], None], body: dict[str, Any]) -> None:
        """Approve or reject a KB draft from the Home tab; the tab is redrawn after."""
        ack()
        user = body["user"]["id"]
        if not self.workspace.is_agent(user):
            return
        action = body["actions"][0]
        draft = case_id(str(action.get("value") or ""))
        if draft is None:
            return
        approve: bool | None = action.get("action_id") == home.APPROVE_DRAFT
        try:
            article = review_draft(
                self.puente.engine, draft, approve=bool(approve), now=self.puente.clock()
            )
        except ReviewError:
            log.warning("slack: a KB review did not apply (draft %s already reviewed?)", draft)
            article, approve = None, None
        container = body.get("container") or {}
        if container.get("type") == "message" and approve is not None:
            self._mark_reviewed(container, user, article)
        else:
            self.publish(user)

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
        if not self.workspace.is_agent(user) or not key:
            return
        try:
            review_gap(
                self.puente.engine, self.puente.kb, key, now=self.puente.clock(), reviewer=user
            )
        except ReviewError:
            log.warning("slack: missing topic %s is gone (already reviewed?)", key)
        self.publish(user)

    def _on_gap_write(self, ack: Callable[[], None], body: dict[str, Any]) -> None:
        ack()
        user, key = body["user"]["id"], str(body["actions"][0].get("value") or "")
        if not self.workspace.is_agent(user):
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
        values = modals.modal_values(view)
        if not values.get(kit.ANSWER, "").strip():
            ack(
                response_action="errors",
                errors={kit.ANSWER: self.t.gettext("home_gap_no_answer")},
            )
            return
        ack()
        if not self.workspace.is_agent(user):
            return
        try:
            review_gap(
                self.puente.engine, self.puente.kb, key, now=self.puente.clock(), reviewer=user,
                answer=values.get(kit.ANSWER, ""), questions=values.get(kit.QUESTION) or None,
                category=values.get(kit.CATEGORY, ""),
            )  # fmt: skip
        except ReviewError:
            log.warning("slack: missing topic %s could not be published", key)
        self.publish(user)
