"""What agents do on Slack besides writing in a thread: the case card's buttons, the modals
they open, agent-assist's "send this article", reclassification, ``/oncall``; and the
suggestion buttons a creator on Slack presses."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.adapters.slack import kit, modals, oncall
from bot.adapters.slack.config import SlackConfig
from bot.adapters.slack.inbound import Inbound
from bot.adapters.slack.workspace import Workspace
from handlers.api import Puente
from handlers.common.i18n import N_, negotiate, translator
from handlers.contract.actions import ActionRejected, AgentAction, AgentActionKind
from handlers.contract.ids import parse_id, split_id
from handlers.oncall.command import OncallRequest

ActionBuilder = Callable[[int, str, dict[str, str]], AgentAction]


def case_id(value: str) -> int | None:
    """A case number from a button's value or a modal's metadata (see :func:`parse_id`)."""
    return parse_id(value)


class Interactions:
    def __init__(
        self,
        puente: Puente,
        config: SlackConfig,
        client: WebClient,
        workspace: Workspace,
        inbound: Inbound,
        *,
        wake: Callable[[], None],
        wake_creators: Callable[[], None],
    ) -> None:
        self.puente = puente
        self.config = config
        self.client = client
        self.workspace = workspace
        self.inbound = inbound
        self.wake = wake
        self.wake_creators = wake_creators
        self.t = workspace.t

    def register(self, app: App) -> None:
        for action_id, handler in (
            (kit.TAKE, self._on_take),
            (kit.RETURN, self._on_return),
            (kit.RESOLVE, self._on_resolve_button),
            (kit.TRANSFER, self._on_transfer_button),
            (kit.SAVE_KB, self._on_save_kb_button),
            # the suggestion buttons are numbered (creator_choice_0, _1…): unique per message
            (re.compile(rf"^{kit.CREATOR_CHOICE}(_\d+)?$"), self._on_creator_choice),
            (kit.RECLASSIFY, self._on_reclassify),
        ):
            app.action(action_id)(handler)
        app.action(re.compile(f"^{kit.SEND_ARTICLE}_\\d+$"))(self._on_send_article)
        app.view(kit.RESOLVE_VIEW)(self._on_resolve_view)
        app.view(kit.TRANSFER_VIEW)(self._on_transfer_view)
        app.view(kit.SAVE_KB_VIEW)(self._on_save_kb_view)
        app.command("/oncall")(self._on_oncall)

    # -- the case card's buttons ---------------------------------------------------------

    def _case_and_agent(self, body: dict[str, Any]) -> tuple[int, str] | None:
        user = self.workspace.acting_agent(body)
        if user is None:
            return None
        case = case_id(str(body["actions"][0].get("value") or ""))
        return None if case is None else (case, user)

    def _act(self, body: dict[str, Any], kind: AgentActionKind) -> None:
        found = self._case_and_agent(body)
        if found is None:
            return
        case, user = found
        self._apply(AgentAction(kind, case, user), _channel(body))

    def _apply(self, action: AgentAction, channel: str | None) -> None:
        try:
            self.puente.handle_agent_action(action)
        except ActionRejected as exc:
            if channel:
                self.workspace.hint(
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
        self._open_modal(body, lambda case: modals.resolve_modal(case, causes, self.config.locale))

    def _on_transfer_button(self, ack: Callable[[], None], body: dict[str, Any]) -> None:
        ack()
        teams = dict(self.config.teams)
        self._open_modal(body, lambda case: modals.transfer_modal(case, teams, self.config.locale))

    def _on_save_kb_button(self, ack: Callable[[], None], body: dict[str, Any]) -> None:
        ack()

        def build(case: int) -> dict[str, Any]:
            question, answer = self.puente.case_question_and_answer(case)
            return modals.save_kb_modal(case, question, answer, self.config.locale)

        self._open_modal(body, build)

    def _on_reclassify(self, ack: Callable[[], None], body: dict[str, Any]) -> None:
        ack()
        user = self.workspace.acting_agent(body)
        if user is None:
            return
        action = body["actions"][0]
        value = str((action.get("selected_option") or {}).get("value") or action.get("value") or "")
        number, _, category = value.partition(":")
        case = case_id(number)
        if case is not None and category:
            reclassify = AgentAction(AgentActionKind.RECLASSIFY, case, user, category=category)
            self._apply(reclassify, _channel(body))

    def _on_send_article(self, ack: Callable[[], None], body: dict[str, Any]) -> None:
        """Agent assist: one of the card's suggested KB answers, sent as this agent."""
        ack()
        user = self.workspace.acting_agent(body)
        if user is None:
            return
        found = split_id(str(body["actions"][0].get("value") or ""))
        if found is not None:
            case, article = found
            send = AgentAction(AgentActionKind.SEND_ARTICLE, case, user, article_id=article)
            self._apply(send, _channel(body))

    # -- modals ----------------------------------------------------------------------------

    def _on_resolve_view(
        self, ack: Callable[[], None], body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        self._submitted(ack, body, view, lambda case, user, values: AgentAction(
            AgentActionKind.RESOLVE, case, user,
            text=values.get(kit.SUMMARY, ""),
            root_cause=values.get(kit.ROOT_CAUSE) or None,
        ))  # fmt: skip

    def _on_transfer_view(
        self, ack: Callable[[], None], body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        self._submitted(ack, body, view, lambda case, user, values: AgentAction(
            AgentActionKind.TRANSFER, case, user, queue=values.get(kit.TEAM) or None,
        ))  # fmt: skip

    def _on_save_kb_view(
        self, ack: Callable[[], None], body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        self._submitted(ack, body, view, lambda case, user, values: AgentAction(
            AgentActionKind.SAVE_KB, case, user,
            text=values.get(kit.ANSWER, ""),
            question=values.get(kit.QUESTION, ""),
            category=values.get(kit.CATEGORY, ""),
        ))  # fmt: skip

    def _submitted(
        self,
        ack: Callable[[], None],
        body: dict[str, Any],
        view: dict[str, Any],
        build: ActionBuilder,
    ) -> None:
        """A modal was submitted: by an agent, for a case → the action its fields describe."""
        ack()
        user = body["user"]["id"]
        case = case_id(str(view.get("private_metadata") or ""))
        if case is not None and self.workspace.is_agent(user):
            self._apply(build(case, user, modals.modal_values(view)), None)

    # -- a creator's suggestion button, and /oncall ------------------------------------------

    def _on_creator_choice(self, ack: Callable[[], None], body: dict[str, Any]) -> None:
        """A creator on Slack pressed one of the bot's suggestion buttons."""
        ack()
        channel = _channel(body)
        payload = str(body["actions"][0].get("value") or "")
        if not channel or not payload:
            return
        event = {
            "user": body["user"]["id"],
            "channel": channel,
            "text": payload,
            "client_msg_id": f"choice:{body['actions'][0].get('action_ts')}",
        }
        self.inbound.from_creator(event)

    def _on_oncall(
        self, ack: Callable[..., None], body: dict[str, Any], respond: Callable[..., Any]
    ) -> None:
        """``/oncall``: acked at once, answered (only to the agent) in their Slack language."""
        ack()
        user = str(body.get("user_id") or "")
        locale = negotiate(self.workspace.profile(user)[1])
        if not self.workspace.is_agent(user):
            text = translator(locale).gettext("oncall_agents_only")
        else:
            command = oncall.command_text(str(body.get("text") or ""))
            reply = self.puente.answer_oncall(OncallRequest(user, command, locale))
            text = oncall.reply_text(reply, translator(locale))
        respond(text=text, response_type="ephemeral")
        self.wake()


def _channel(body: dict[str, Any]) -> str | None:
    return (body.get("channel") or {}).get("id")
