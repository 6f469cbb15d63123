"""Slack text for on-call and SLA posts: pages (DM and thread mention), reminders, breaches,
nudges and auto-closes. Pure functions of a stored payload and a translator; no SDK."""

from __future__ import annotations

import re
from typing import Any

from bot.adapters.slack.kit import escape
from handlers.common.i18n import N_, Translator
from handlers.contract.rich import Mention, RichReply, Value
from handlers.triage.reasons import render_stored

MAX_REASON = 300
REASONS = {
    "p1": N_("page_reason_p1"),
    "breach_first_response": N_("page_reason_breach_first_response"),
    "breach_resolution": N_("page_reason_breach_resolution"),
    "manual": N_("page_reason_manual"),
    "no_owner": N_("page_reason_no_owner"),
}
TARGETS = {
    "first_response": N_("sla_target_first_response"),
    "resolution": N_("sla_target_resolution"),
}


def reason_text(reason: str, t: Translator) -> str:
    """A page's stored reason (``why|detail``) in words; the detail may be a creator's."""
    why, _, detail = reason.partition("|")
    if why == "manual":
        return t.gettext(REASONS[why], user=f"<@{escape(detail)}>")
    key = REASONS.get(why)
    if key is None:
        return escape(reason)[:MAX_REASON]
    return t.gettext(key, detail=escape(render_stored(detail, t))[:MAX_REASON])


def _mention(payload: dict[str, Any], t: Translator) -> str:
    user = payload.get("user")
    return f"<@{user}>" if user else t.gettext("oncall_nobody_on_call")


def _target(payload: dict[str, Any], t: Translator) -> str:
    return t.gettext(TARGETS.get(str(payload.get("target")), TARGETS["resolution"]))


def page_text(payload: dict[str, Any], t: Translator) -> str:
    reason = reason_text(str(payload.get("reason", "")), t)
    if not payload.get("user"):
        return t.gettext("slack_page_nobody", reason=reason)
    attempt = int(payload.get("attempt", 1))
    return t.gettext("slack_page", user=_mention(payload, t), attempt=attempt, reason=reason)


def reminder_text(payload: dict[str, Any], t: Translator) -> str:
    left = t.timedelta(max(float(payload.get("left", 0)), 0))
    return t.gettext(
        "slack_sla_reminder", user=_mention(payload, t), target=_target(payload, t), left=left
    )


def breach_text(payload: dict[str, Any], t: Translator) -> str:
    return t.gettext("slack_sla_breach", target=_target(payload, t))


def nudged_text(payload: dict[str, Any], t: Translator) -> str:
    return t.gettext("slack_creator_nudged")


def auto_closed_text(payload: dict[str, Any], t: Translator) -> str:
    return t.gettext("slack_auto_closed")


def dm_text(payload: dict[str, Any], case: int, t: Translator) -> str:
    return t.gettext(
        "slack_page_dm",
        case=case,
        priority=str(payload.get("priority", "")),
        category=str(payload.get("category", "")),
        reason=reason_text(str(payload.get("reason", "")), t),
        attempt=int(payload.get("attempt", 1)),
    )


MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def command_text(text: str) -> str:
    """A slash command's text for the core: Slack's ``<@U123|name>`` mentions as plain ids."""
    return MENTION.sub(lambda found: found.group(1), text)


def render_value(value: Value, t: Translator) -> object:
    if not isinstance(value, Mention):
        return value
    return f"<@{value.user}>" if value.user else t.gettext("oncall_nobody_on_call")


def reply_text(reply: RichReply, t: Translator) -> str:
    """A structured reply as mrkdwn: mentions as ``<@U…>``, figures as ``*label:* value``."""
    lines = [
        t.gettext(line.key, **{name: render_value(v, t) for name, v in line.values})
        for line in reply.lines
    ]
    lines.extend(f"*{label}:* {value}" for label, value in reply.figures)
    return "\n".join(lines)
