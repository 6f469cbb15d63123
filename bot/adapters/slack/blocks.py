"""Block Kit for the agents' side of Slack: case cards, thread lines, transcripts and the
replies to creators who write on Slack, as plain dicts or mrkdwn (no SDK, no I/O). Every label
goes through gettext (agents default to Spanish), every piece of creator or agent text through
:func:`~bot.adapters.slack.kit.escape`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from babel import Locale

from bot.adapters.slack.kit import (
    ACTIONS_BLOCK,
    CREATOR_CHOICE,
    MAX_BUTTON,
    MAX_BUTTON_VALUE,
    MAX_CONTEXT,
    MAX_FIELD,
    MAX_HEADER,
    MAX_MESSAGE,
    MAX_OPTION_TEXT,
    MAX_OPTION_VALUE,
    MAX_REPLY_FALLBACK,
    MAX_REPLY_SECTION,
    MAX_SECTION_TEXT,
    MAX_SUMMARY,
    PRIORITY_EMOJI,
    RECLASSIFY,
    RESOLVE,
    RETURN,
    SAVE_KB,
    SEND_ARTICLE,
    TAKE,
    TRANSFER,
    clip,
    escape,
    mrkdwn,
    plain,
)
from bot.render import for_creator
from handlers.common.i18n import N_, Translator, translator
from handlers.common.privacy import mask
from handlers.common.utc import as_utc
from handlers.contract.case_view import CaseView
from handlers.contract.messages import Platform, Suggestion
from handlers.triage.classifier import PRIORITIES
from handlers.triage.reasons import render_stored

MAX_EXCERPT = 280
# Room given to one piece of creator or agent text inside a card (well under Slack's limits).
MAX_PRIORITY = 20
MAX_LABEL_TEXT = 100  # a category, a topic, an attachment kind
MAX_NAME = 200  # a creator, an agent, an article's title
MAX_LINK_TEXT = 500  # a team or a link shown as text
MAX_SUGGESTIONS = 3
_ACTIONS_BY_STATUS = {
    "open": (TAKE, RETURN, RESOLVE, TRANSFER, SAVE_KB),
    "assigned": (RETURN, RESOLVE, TRANSFER, SAVE_KB),
}
_BUTTON_LABELS = {
    TAKE: N_("slack_take"),
    RETURN: N_("slack_return"),
    RESOLVE: N_("slack_resolve"),
    TRANSFER: N_("slack_transfer"),
    SAVE_KB: N_("slack_save_kb"),
}
_STATUS_LABELS = {
    "open": N_("slack_status_open"),
    "assigned": N_("slack_status_assigned"),
    "returned": N_("slack_status_returned"),
    "resolved": N_("slack_status_resolved"),
    "transferred": N_("slack_status_transferred"),
}
_ROLE_LABELS = {
    "creator": N_("slack_role_creator"),
    "agent": N_("slack_role_agent"),
    "bot": N_("slack_role_bot"),
}
_ATTACHMENT_LABELS = {
    "photo": N_("slack_attachment_photo"),
    "document": N_("slack_attachment_document"),
    "voice": N_("slack_attachment_voice"),
    "sticker": N_("slack_attachment_sticker"),
    "video": N_("slack_attachment_video"),
    "audio": N_("slack_attachment_audio"),
}

_AGENT_ID = re.compile(r"[UW][A-Z0-9]+")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]+")
_SAFE_URL = re.compile(r"https://[^\s<>|]+")


def actions_for(status: str) -> tuple[str, ...]:
    """The case buttons that make sense in a status; a closed case can still feed the KB."""
    return _ACTIONS_BY_STATUS.get(status, (SAVE_KB,))


def case_card(case: CaseView, locale: str = "es") -> tuple[str, list[dict[str, Any]]]:
    """The case's message in the agents' channel: (notification fallback text, blocks)."""
    t = translator(locale)
    emoji = PRIORITY_EMOJI.get(case.priority, "⚪")
    fallback = t.gettext(
        "slack_card_fallback",
        emoji=emoji,
        priority=clip(escape(case.priority), MAX_PRIORITY),
        case=case.escalation_id,
        category=clip(escape(case.category), MAX_LABEL_TEXT),
        creator=clip(escape(case.creator_name), MAX_NAME),
    )
    title = t.gettext(
        "slack_card_title",
        emoji=emoji,
        priority=mask(case.priority),
        case=case.escalation_id,
        category=mask(case.category),
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(title, MAX_HEADER)},
        {"type": "section", "fields": _case_fields(case, t)},
        {"type": "section", "text": mrkdwn(_summary_text(case, t), MAX_SECTION_TEXT)},
        {"type": "context", "elements": _history_elements(case, t)},
    ]
    notes = _notes(case, t)
    if notes:
        blocks.append({"type": "context", "elements": notes})
    if case.status in _ACTIONS_BY_STATUS:
        blocks.extend(_assist_blocks(case, t))
    buttons = [_button(action, case.escalation_id, t) for action in actions_for(case.status)]
    if case.status in _ACTIONS_BY_STATUS:
        buttons.append(_reclassify_select(case, t))
    blocks.append({"type": "actions", "block_id": ACTIONS_BLOCK, "elements": buttons})
    return fallback, blocks


def _reclassify_select(case: CaseView, t: Translator) -> dict[str, Any]:
    """Agents correct triage here; each correction teaches it (a new labelled example)."""
    options = [
        {
            "text": plain(f"{priority} · {category}", MAX_OPTION_TEXT),
            "value": f"{case.escalation_id}:{category}",
        }
        for category, priority in sorted(PRIORITIES.items(), key=lambda item: item[1])
    ]
    return {
        "type": "static_select",
        "action_id": RECLASSIFY,
        "placeholder": plain(t.gettext("slack_reclassify"), MAX_OPTION_TEXT),
        "options": options,
    }


def thread_line(
    author: str,
    text: str,
    attachments: Sequence[str],
    locale: str = "es",
    *,
    role: str | None = "creator",
) -> str:
    """One mrkdwn line for the case's thread: ``*Ana (creador/a):* text 📎 foto``.

    ``attachments`` are attachment kinds (photo, document, voice…); ``role`` is creator, agent,
    bot or None for no role after the name.
    """
    t = translator(locale)
    who = escape(author.strip())
    if role is not None:
        label = t.gettext(_ROLE_LABELS[role]) if role in _ROLE_LABELS else escape(role)
        who = f"{who} ({label})" if who else label
    parts = [escape(text)] if text else []
    if attachments:
        files = ", ".join(_attachment_label(kind, t) for kind in attachments)
        parts.append(t.gettext("slack_attachments", files=files))
    return clip(f"*{who}:* {' '.join(parts)}".rstrip(), MAX_MESSAGE)


def transcript(lines: Sequence[tuple[str, str]], locale: str = "es") -> str:
    """The conversation so far as one thread message; when too long, the newest lines win."""
    t = translator(locale)
    title = "*" + t.gettext("slack_transcript_title") + "*"
    if not lines:
        return title + "\n" + t.gettext("slack_transcript_empty")
    budget = MAX_MESSAGE - len(title) - 100
    kept: list[str] = []
    for who, text in reversed(lines):
        line = clip(f"*{escape(who)}:* {escape(text)}", budget)
        if kept and len(line) + 1 > budget:
            break
        kept.append(line)
        budget -= len(line) + 1
    omitted = len(lines) - len(kept)
    head = [title]
    if omitted:
        head.append(t.gettext("slack_transcript_omitted", count=t.number(omitted)))
    return "\n".join([*head, *reversed(kept)])


def _case_fields(case: CaseView, t: Translator) -> list[dict[str, str]]:
    vip = "⭐ " + t.gettext("slack_yes") if case.vip else t.gettext("slack_no")
    status = (
        t.gettext(_STATUS_LABELS[case.status])
        if case.status in _STATUS_LABELS
        else escape(case.status)
    )
    if case.assignee:
        status = f"{status} · {_agent(case.assignee)}"
    pairs = [
        (N_("slack_field_creator"), escape(case.creator_name)),
        (N_("slack_field_platform"), escape(case.platform)),
        (N_("slack_field_locale"), _language(case.locale, t)),
        (N_("slack_field_vip"), vip),
        (N_("slack_field_status"), status),
        (N_("slack_field_waited"), t.timedelta(max(case.waited_seconds, 0.0))),
        (N_("slack_field_opened"), _slack_date(case.opened_at, t)),
    ]
    return [_field(t.gettext(key), value) for key, value in pairs]


def _field(label: str, value: str) -> dict[str, str]:
    return mrkdwn(f"*{label}:*\n{clip(value, MAX_FIELD - len(label) - 4)}", MAX_FIELD)


def _summary_text(case: CaseView, t: Translator) -> str:
    summary = clip(escape(case.summary.strip()), MAX_SUMMARY)
    label = t.gettext("slack_summary")
    return f"*{label}:*\n" + (summary or t.gettext("slack_summary_empty"))


def _history_elements(case: CaseView, t: Translator) -> list[dict[str, str]]:
    tried = ", ".join(escape(item.strip()) for item in case.tried if item.strip())
    if tried:
        elements = [mrkdwn(t.gettext("slack_tried", tried=clip(tried, MAX_CONTEXT - 100)))]
    else:
        elements = [mrkdwn(t.gettext("slack_tried_nothing"))]
    if case.reason.strip():
        reason = clip(escape(render_stored(case.reason, t)), MAX_CONTEXT - 100)
        elements.append(mrkdwn(t.gettext("slack_reason", reason=reason)))
    return elements


def _notes(case: CaseView, t: Translator) -> list[dict[str, str]]:
    notes = []
    if case.transferred_to:
        team = case.transferred_to.strip()
        team = f"<#{team}>" if _CHANNEL_ID.fullmatch(team) else clip(escape(team), MAX_LINK_TEXT)
        notes.append(mrkdwn(t.gettext("slack_transferred", team=team)))
    if case.linked_from:
        notes.append(mrkdwn(t.gettext("slack_linked", link=_link(case.linked_from, t))))
    return [*_repeat_note(case, t), *notes]


def _repeat_note(case: CaseView, t: Translator) -> list[dict[str, str]]:
    if case.repeat is None:
        return []
    count, days, topic = case.repeat
    text = t.gettext(
        "slack_repeat_contact",
        count=t.number(count),
        days=t.number(days),
        topic=clip(escape(topic), MAX_LABEL_TEXT),
    )
    return [mrkdwn(text)]


def _assist_blocks(case: CaseView, t: Translator) -> list[dict[str, Any]]:
    """Agent assist: the KB's best answers for the creator's latest message, one button each
    sending it (as the agent, in the creator's language)."""
    if not case.suggestions:
        return []
    blocks: list[dict[str, Any]] = [
        {"type": "context", "elements": [mrkdwn(t.gettext("slack_suggested_title"))]}
    ]
    for n, (article_id, title, answer) in enumerate(case.suggestions[:MAX_SUGGESTIONS]):
        text = f"*{clip(escape(title), MAX_NAME)}*\n{clip(escape(answer), MAX_EXCERPT)}"
        button = {
            "type": "button",
            "action_id": f"{SEND_ARTICLE}_{n}",
            "text": plain(t.gettext("slack_send_article"), MAX_BUTTON),
            "value": f"{case.escalation_id}:{article_id}"[:MAX_OPTION_VALUE],
        }
        blocks.append(
            {"type": "section", "text": mrkdwn(text, MAX_SECTION_TEXT), "accessory": button}
        )
    return blocks


def _link(target: str, t: Translator) -> str:
    target = target.strip()
    if _SAFE_URL.fullmatch(target) and len(target) <= 1000:
        label = t.gettext("slack_linked_label")
        return f"<{target.replace('&', '&amp;')}|{label}>"
    return clip(escape(target), MAX_LINK_TEXT)


def _agent(assignee: str) -> str:
    """A mention for a Slack user id (ours, so safe to format); anything else as text."""
    assignee = assignee.strip()
    return f"<@{assignee}>" if _AGENT_ID.fullmatch(assignee) else clip(escape(assignee), MAX_NAME)


def _language(hint: str, t: Translator) -> str:
    try:
        name = Locale.parse(hint.strip().replace("-", "_")).get_display_name(t.locale)
    except (ValueError, TypeError, LookupError):
        name = None
    return escape(name or hint)


def _slack_date(moment: datetime, t: Translator) -> str:
    """Slack's date token: each agent sees the time in their own zone (fallback in UTC)."""
    moment = as_utc(moment)
    fallback = f"{t.datetime(moment, 'UTC')} UTC"
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _attachment_label(kind: str, t: Translator) -> str:
    key = _ATTACHMENT_LABELS.get(kind)
    return t.gettext(key) if key else clip(escape(kind), MAX_LABEL_TEXT)


def _button(action: str, escalation_id: int, t: Translator) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action,
        "text": plain(t.gettext(_BUTTON_LABELS[action]), MAX_BUTTON),
        "value": str(escalation_id),
    }
    if action == RESOLVE:
        button["style"] = "primary"
    return button


def creator_reply(
    text: str, suggestions: Sequence[Suggestion], *, from_agent: bool = False
) -> tuple[str, list[dict[str, Any]]]:
    """A reply to a creator who writes on Slack: (notification text, blocks), the suggestions
    as numbered buttons (action ids are unique per message). An agent's text is in Slack's
    encoding already: rendered (broadcasts dropped), not escaped a second time."""
    safe = (for_creator(mask(text), Platform.SLACK) if from_agent else escape(text)) or "…"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": safe[:MAX_REPLY_SECTION]}}
    ]
    buttons = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": s.label[:MAX_BUTTON]},
            "action_id": f"{CREATOR_CHOICE}_{n}",
            "value": s.payload[:MAX_BUTTON_VALUE],
        }
        for n, s in enumerate(suggestions)
    ]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return safe[:MAX_REPLY_FALLBACK], blocks
