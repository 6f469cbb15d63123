"""The text of a post in a case's thread, from the payload the core stored for it."""

from __future__ import annotations

from typing import Any

from bot.adapters.slack import blocks, oncall
from bot.adapters.slack.kit import escape
from handlers.common.i18n import N_, Translator
from handlers.triage.reasons import render_stored

ROLE_NAMES = {
    "creator": N_("slack_role_creator"),
    "bot": N_("slack_role_bot"),
    "agent": N_("slack_role_agent"),
}
MAX_QUOTED = 500


def thread_text(payload: dict[str, Any], t: Translator, locale: str) -> str:
    role = payload.get("role")
    if role == "transcript":
        lines = [(_role_name(str(r), t), str(text)) for r, text in payload.get("lines", [])]
        return blocks.transcript(lines, locale)
    if role == "creator":
        return blocks.thread_line(
            str(payload.get("author", "")),
            str(payload.get("text", "")),
            list(payload.get("attachments") or []),
            locale,
        )
    if role in oncall.ONCALL_ROLES:
        return oncall.thread_text(payload, t)
    return _case_event(role, payload, t)


def _case_event(role: object, payload: dict[str, Any], t: Translator) -> str:
    if role == "undeliverable":
        text = escape(str(payload.get("text", "")))[:MAX_QUOTED]
        return t.gettext("slack_undeliverable", text=text)
    if role == "whatsapp_window":  # bot/adapters/whatsapp/window.py
        held = escape(str(payload.get("text", "")))[:MAX_QUOTED]
        if payload.get("template"):
            return t.gettext("slack_whatsapp_window_template", text=held)
        return t.gettext("slack_whatsapp_window_closed", text=held)
    if role == "reclassified":
        return t.gettext(
            "slack_reclassified",
            agent=escape(str(payload.get("agent", ""))),
            priority=str(payload.get("priority", "")),
            category=str(payload.get("category", "")),
        )
    if role == "triage":
        return t.gettext(
            "slack_triage_raised",
            priority=str(payload.get("priority", "")),
            reason=escape(render_stored(str(payload.get("reason", "")), t))[:MAX_QUOTED],
        )
    if role == "kb_sent":
        return t.gettext(
            "slack_kb_sent",
            agent=escape(str(payload.get("agent", ""))),
            article=escape(str(payload.get("article", ""))),
        )
    if role == "kb_draft":
        return t.gettext("slack_kb_draft_saved", article=str(payload.get("article")))
    return t.gettext("slack_nudge")


def _role_name(role: str, t: Translator) -> str:
    return t.gettext(ROLE_NAMES.get(role, ROLE_NAMES["agent"]))
