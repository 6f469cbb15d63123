"""Who is who in the Slack workspace: agents (users or user groups, cached), display names and
languages, and the ephemeral hints an agent sees when an action can't apply."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.common.i18n import N_, Translator

log = logging.getLogger("bot.adapters.slack")

GROUP_CACHE_SECONDS = 300.0


class Workspace:
    def __init__(self, client: WebClient, agents: tuple[str, ...], t: Translator) -> None:
        self.client = client
        self.agents = agents
        self.t = t
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._names: dict[str, tuple[str, str | None]] = {}

    def is_agent(self, user: str) -> bool:
        """Members of ``SLACK_AGENTS``: user ids, or user groups (``S…``) looked up and cached."""
        for entry in self.agents:
            if entry == user:
                return True
            if entry.startswith("S") and user in self._group(entry):
                return True
        return False

    def acting_agent(self, body: dict[str, Any]) -> str | None:
        """The agent who pressed a button; anyone else is told (in the channel, only to them)
        that case actions are for agents, and None comes back."""
        user = str(body["user"]["id"])
        if self.is_agent(user):
            return user
        channel = (body.get("channel") or {}).get("id")
        if channel:
            self.hint(channel, user, N_("slack_hint_agents_only"))
        return None

    def profile(self, user: str) -> tuple[str, str | None]:
        """(display name, Slack locale) of a user, cached; the id itself when unreadable."""
        if user not in self._names:
            try:
                info = self.client.users_info(user=user, include_locale=True)["user"]
                profile = info.get("profile") or {}
                name = profile.get("display_name") or info.get("real_name") or info.get("name")
                self._names[user] = (str(name or user), info.get("locale"))
            except SlackApiError:
                return user, None
        return self._names[user]

    def hint(
        self, channel: str, user: str, key: str, *, thread_ts: str | None = None, **values: object
    ) -> None:
        with contextlib.suppress(SlackApiError):
            self.client.chat_postEphemeral(
                channel=channel, user=user, thread_ts=thread_ts, text=self.t.gettext(key, **values)
            )

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
