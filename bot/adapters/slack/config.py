"""What the Slack adapter is configured with (built from settings by ``bot/serve.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.http_input import MAX_BODY
from handlers.contract.messages import Platform

PLATFORM = Platform.SLACK.value


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
    claim_seconds: float = 60.0  # outbox lease (handlers.delivery.outbox.claim)
    max_body: int = MAX_BODY  # webhook requests over this are refused (413)
