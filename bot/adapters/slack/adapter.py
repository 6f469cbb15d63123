"""Slack adapter on slack-bolt: the agents' side (case cards, threads, buttons, modals, the Home
tab, ``/oncall``) and Slack DMs from creators. It wires the package's parts together: events in
(:mod:`.inbound`), agents' clicks (:mod:`.interactions`, :mod:`.home_tab`), deliveries out
(:mod:`.sender`); with the Block Kit modules, the only code that knows Slack."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.request
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from starlette.routing import BaseRoute

from bot.adapters.base import FileFetchers, RejectionCounter
from bot.adapters.slack.config import SlackConfig
from bot.adapters.slack.home_tab import HomeTab
from bot.adapters.slack.inbound import Inbound
from bot.adapters.slack.interactions import Interactions
from bot.adapters.slack.sender import SlackSender
from bot.adapters.slack.webhook import events_routes
from bot.adapters.slack.workspace import Workspace
from handlers.api import Puente
from handlers.common.i18n import translator
from handlers.contract.messages import Platform
from handlers.delivery.outbox import AgentOutbox, Outbox

log = logging.getLogger("bot.adapters.slack")

MALFORMED = (TypeError, AttributeError, KeyError, ValueError, IndexError)
MAX_FILE_BYTES = 20 * 1024 * 1024
DOWNLOAD_SECONDS = 60


class SlackAdapter:
    """The :class:`~bot.adapters.base.ChatAdapter` for Slack (HTTP or Socket Mode)."""

    platform = Platform.SLACK

    def __init__(
        self,
        puente: Puente,
        config: SlackConfig,
        *,
        wake: Callable[[], None] = lambda: None,
        files: FileFetchers | None = None,
    ) -> None:
        self.puente = puente
        self.config = config
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
        workspace = Workspace(self.client, config.agents, translator(config.locale))
        lease = timedelta(seconds=config.claim_seconds)
        agent_outbox = AgentOutbox(puente.engine, puente.clock, lease=lease)
        self.sender = SlackSender(
            puente, config, self.client, workspace,
            outbox=Outbox(puente.engine, puente.clock, lease=lease),
            agent_outbox=agent_outbox,
            files=files or {},
        )  # fmt: skip
        self.inbound = Inbound(puente, workspace, agent_outbox, wake=self.wake, wake_creators=wake)
        self.inbox = self.inbound.inbox
        self.interactions = Interactions(
            puente, config, self.client, workspace, self.inbound, wake=self.wake, wake_creators=wake
        )
        self.home = HomeTab(puente, config, self.client, workspace, self.inbox)
        self._tasks: list[asyncio.Task[None]] = []
        self.sender_task: asyncio.Task[None] | None = None
        self._socket: Any = None
        self._register()

    def _register(self) -> None:
        self.app.middleware(self.inbound.store_first)
        self.app.event("message")(self.inbound.on_message_event)
        self.app.event("app_mention")(lambda ack: None)
        self.home.register(self.app)
        self.interactions.register(self.app)

    def routes(self, rejected: RejectionCounter) -> Sequence[BaseRoute]:
        return events_routes(self.handle_http, self.config.max_body, rejected)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        self.sender_task = asyncio.create_task(self.sender.deliver_forever(), name="slack-send")
        self._tasks.append(self.sender_task)
        await asyncio.to_thread(self.inbound.recover)
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
        return self.sender_task is not None and not self.sender_task.done()

    async def stop(self) -> None:
        self.sender.stopping = True
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
        self.sender.wake()

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
        with urllib.request.urlopen(request, timeout=DOWNLOAD_SECONDS) as response:
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
