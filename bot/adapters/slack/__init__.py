"""The Slack adapter as a package: configuration, events in, agents' interactions, the Home tab,
deliveries out, and the Block Kit they render (``kit``, ``blocks``, ``modals``, ``home``,
``oncall``, ``threads``: pure, no SDK)."""

from bot.adapters.slack.adapter import SlackAdapter
from bot.adapters.slack.config import PLATFORM, SlackConfig
from bot.adapters.slack.inbound import attachment
from bot.adapters.slack.interactions import case_id
from bot.adapters.slack.kit import CREATOR_CHOICE
from bot.adapters.slack.webhook import EVENTS_PATH

__all__ = [
    "CREATOR_CHOICE",
    "EVENTS_PATH",
    "PLATFORM",
    "SlackAdapter",
    "SlackConfig",
    "attachment",
    "case_id",
]
