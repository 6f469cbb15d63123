"""Slack text for each line of a case's thread: one renderer per :class:`ThreadRole`, no default
(a role without a renderer fails the test that renders every role)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.adapters.slack import blocks, oncall
from bot.adapters.slack.kit import escape
from handlers.common.i18n import N_, Translator
from handlers.contract.roles import ThreadRole
from handlers.triage.reasons import render_stored

ROLE_NAMES = {
    "creator": N_("slack_role_creator"),
    "bot": N_("slack_role_bot"),
    "agent": N_("slack_role_agent"),
}
MAX_QUOTED = 500
Payload = dict[str, Any]


def _role_name(role: str, t: Translator) -> str:
    return t.gettext(ROLE_NAMES.get(role, ROLE_NAMES["agent"]))


def _transcript(payload: Payload, t: Translator) -> str:
    lines = [(_role_name(str(r), t), str(text)) for r, text in payload.get("lines", [])]
    return blocks.transcript(lines, t.locale)


def _creator(payload: Payload, t: Translator) -> str:
    return blocks.thread_line(
        str(payload.get("author", "")),
        str(payload.get("text", "")),
        list(payload.get("attachments") or []),
        t.locale,
    )


def _undeliverable(payload: Payload, t: Translator) -> str:
    text = escape(str(payload.get("text", "")))[:MAX_QUOTED]
    return t.gettext("slack_undeliverable", text=text)


def _reclassified(payload: Payload, t: Translator) -> str:
    return t.gettext(
        "slack_reclassified",
        agent=escape(str(payload.get("agent", ""))),
        priority=str(payload.get("priority", "")),
        category=str(payload.get("category", "")),
    )


def _triage(payload: Payload, t: Translator) -> str:
    return t.gettext(
        "slack_triage_raised",
        priority=str(payload.get("priority", "")),
        reason=escape(render_stored(str(payload.get("reason", "")), t))[:MAX_QUOTED],
    )


def _kb_sent(payload: Payload, t: Translator) -> str:
    return t.gettext(
        "slack_kb_sent",
        agent=escape(str(payload.get("agent", ""))),
        article=escape(str(payload.get("article", ""))),
    )


def _kb_draft(payload: Payload, t: Translator) -> str:
    return t.gettext("slack_kb_draft_saved", article=str(payload.get("article")))


def _whatsapp_window(payload: Payload, t: Translator) -> str:
    """An agent's reply held outside WhatsApp's 24-hour window (bot/adapters/whatsapp/window.py)."""
    held = escape(str(payload.get("text", "")))[:MAX_QUOTED]
    if payload.get("template"):
        return t.gettext("slack_whatsapp_window_template", text=held)
    return t.gettext("slack_whatsapp_window_closed", text=held)


def _nudge(payload: Payload, t: Translator) -> str:
    return t.gettext("slack_nudge")


RENDERERS: dict[ThreadRole, Callable[[Payload, Translator], str]] = {
    ThreadRole.TRANSCRIPT: _transcript,
    ThreadRole.CREATOR: _creator,
    ThreadRole.NUDGE: _nudge,
    ThreadRole.TRIAGE: _triage,
    ThreadRole.UNDELIVERABLE: _undeliverable,
    ThreadRole.RECLASSIFIED: _reclassified,
    ThreadRole.KB_SENT: _kb_sent,
    ThreadRole.KB_DRAFT: _kb_draft,
    ThreadRole.WHATSAPP_WINDOW: _whatsapp_window,
    ThreadRole.PAGE: oncall.page_text,
    ThreadRole.SLA_REMINDER: oncall.reminder_text,
    ThreadRole.SLA_BREACH: oncall.breach_text,
    ThreadRole.CREATOR_NUDGED: oncall.nudged_text,
    ThreadRole.AUTO_CLOSED: oncall.auto_closed_text,
}


def thread_text(payload: Payload, t: Translator) -> str:
    """The thread line for a stored post; ValueError for a role the core never writes."""
    return RENDERERS[ThreadRole(str(payload.get("role")))](payload, t)
