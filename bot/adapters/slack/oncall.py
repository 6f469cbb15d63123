"""Slack text for on-call and SLA posts: pages (DM and thread mention), reminders, breaches,
nudges and auto-closes. Pure functions of a stored payload and a translator; no SDK."""

from __future__ import annotations

from typing import Any

from bot.adapters.slack.kit import escape
from handlers.common.i18n import N_, Translator
from handlers.triage.reasons import render_stored

MAX_REASON = 300
ONCALL_ROLES = ("page", "sla_reminder", "sla_breach", "creator_nudged", "auto_closed")
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


def thread_text(payload: dict[str, Any], t: Translator) -> str:
    """The thread line for one of :data:`ONCALL_ROLES`."""
    role = payload.get("role")
    user = payload.get("user")
    mention = f"<@{user}>" if user else t.gettext("oncall_nobody_on_call")
    target = t.gettext(TARGETS.get(str(payload.get("target")), TARGETS["resolution"]))
    if role == "page":
        reason = reason_text(str(payload.get("reason", "")), t)
        if not user:
            return t.gettext("slack_page_nobody", reason=reason)
        return t.gettext(
            "slack_page", user=mention, attempt=int(payload.get("attempt", 1)), reason=reason
        )
    if role == "sla_reminder":
        left = t.timedelta(max(float(payload.get("left", 0)), 0))
        return t.gettext("slack_sla_reminder", user=mention, target=target, left=left)
    if role == "sla_breach":
        return t.gettext("slack_sla_breach", target=target)
    if role == "creator_nudged":
        return t.gettext("slack_creator_nudged")
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
