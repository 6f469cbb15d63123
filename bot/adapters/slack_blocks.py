"""Block Kit for the agents' side of Slack: case cards, thread lines and modals, as plain dicts.

Everything here is pure (no Slack SDK, no I/O) so the adapter can render and tests can inspect.
Every label goes through gettext (agents default to Spanish), and every piece of creator or
agent text goes through :func:`escape`, which masks secrets and neutralises Slack's control
sequences: a creator who writes ``<!channel>`` must not ping a whole support channel.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from babel import Locale

from handlers.common.i18n import N_, Translator, translator
from handlers.common.privacy import mask
from handlers.common.utc import as_utc
from handlers.contract.case_view import CaseView
from handlers.triage.classifier import PRIORITIES
from handlers.triage.reasons import render_stored

TAKE = "case_take"
RETURN = "case_return"
RESOLVE = "case_resolve"
TRANSFER = "case_transfer"
SAVE_KB = "case_save_kb"
CASE_ACTIONS = (TAKE, RETURN, RESOLVE, TRANSFER, SAVE_KB)
ACTIONS_BLOCK = "case_actions"
RECLASSIFY = "case_reclassify"
SEND_ARTICLE = "case_send_article"  # + _<n>: one button per suggested KB answer
MAX_EXCERPT = 280

RESOLVE_VIEW = "resolve_case"
TRANSFER_VIEW = "transfer_case"
SAVE_KB_VIEW = "save_kb"

# Modal inputs: each is both the input's block_id and its element's action_id.
ROOT_CAUSE = "root_cause"
SUMMARY = "summary"
TEAM = "team"
NOTE = "note"
QUESTION = "question"
ANSWER = "answer"
CATEGORY = "category"

# Slack's limits (https://docs.slack.dev/reference/block-kit), with a margin where text grows.
MAX_SECTION_TEXT = 3000
MAX_SUMMARY = 2500
MAX_FIELD = 2000
MAX_CONTEXT = 2000
MAX_HEADER = 150
MAX_BUTTON = 75
MAX_TITLE = 24
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_INPUT = 3000
MAX_RESOLUTION = 200
MAX_NOTE = 1000
MAX_KB_CATEGORY = 80
MAX_MESSAGE = 35000

PRIORITY_EMOJI = {"P1": "🔴", "P2": "🟠", "P3": "🟡", "P4": "⚪"}
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
_CUT_ENTITY = re.compile(r"&[a-z]{0,3}$")


def escape(text: str) -> str:
    """Creator or agent text made safe for mrkdwn: secrets masked, ``& < >`` escaped.

    With the angle brackets escaped, ``<!channel>``, ``<@U123>`` and ``<https://x|y>`` show
    literally and ping or link nothing.
    """
    return mask(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending in "…" when cut, never inside an escaped entity."""
    if len(text) <= limit:
        return text
    return _CUT_ENTITY.sub("", text[: limit - 1]) + "…"


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
        priority=clip(escape(case.priority), 20),
        case=case.escalation_id,
        category=clip(escape(case.category), 100),
        creator=clip(escape(case.creator_name), 200),
    )
    title = t.gettext(
        "slack_card_title",
        emoji=emoji,
        priority=mask(case.priority),
        case=case.escalation_id,
        category=mask(case.category),
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(title, MAX_HEADER)},
        {"type": "section", "fields": _case_fields(case, t)},
        {"type": "section", "text": _mrkdwn(_summary_text(case, t), MAX_SECTION_TEXT)},
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
            "text": _plain(f"{priority} · {category}", MAX_OPTION_TEXT),
            "value": f"{case.escalation_id}:{category}",
        }
        for category, priority in sorted(PRIORITIES.items(), key=lambda item: item[1])
    ]
    return {
        "type": "static_select",
        "action_id": RECLASSIFY,
        "placeholder": _plain(t.gettext("slack_reclassify"), MAX_OPTION_TEXT),
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


def resolve_modal(
    escalation_id: int, root_causes: Sequence[str], locale: str = "es"
) -> dict[str, Any]:
    """The "resolve" form: root cause (a list, or free text when none is configured) and a
    one-line summary of what solved it."""
    t = translator(locale)
    options = _options((cause, cause) for cause in root_causes)
    if options:
        cause_element: dict[str, Any] = {
            "type": "static_select",
            "action_id": ROOT_CAUSE,
            "placeholder": _plain(t.gettext("slack_root_cause_placeholder"), 150),
            "options": options,
        }
    else:
        cause_element = _text_input(ROOT_CAUSE, MAX_RESOLUTION, t.gettext("slack_root_cause_free"))
    summary = _text_input(SUMMARY, MAX_RESOLUTION, t.gettext("slack_resolution_placeholder"))
    return _modal(
        RESOLVE_VIEW,
        escalation_id,
        t,
        title=t.gettext("slack_resolve_title"),
        submit=t.gettext("slack_resolve"),
        blocks=[
            _input(ROOT_CAUSE, t.gettext("slack_root_cause"), cause_element),
            _input(SUMMARY, t.gettext("slack_resolution_summary"), summary),
        ],
    )


def transfer_modal(
    escalation_id: int, teams: Mapping[str, str], locale: str = "es"
) -> dict[str, Any]:
    """The "transfer" form: ``teams`` maps a team's name to its channel id (the option value)."""
    t = translator(locale)
    options = _options(teams.items())
    if not options:
        notice = {"type": "section", "text": _mrkdwn(t.gettext("slack_transfer_no_teams"))}
        title = t.gettext("slack_transfer_title")
        return _modal(TRANSFER_VIEW, escalation_id, t, title=title, submit=None, blocks=[notice])
    select = {
        "type": "static_select",
        "action_id": TEAM,
        "placeholder": _plain(t.gettext("slack_team_placeholder"), 150),
        "options": options,
    }
    note = _text_input(NOTE, MAX_NOTE, multiline=True)
    return _modal(
        TRANSFER_VIEW,
        escalation_id,
        t,
        title=t.gettext("slack_transfer_title"),
        submit=t.gettext("slack_transfer"),
        blocks=[
            _input(TEAM, t.gettext("slack_team"), select),
            _input(NOTE, t.gettext("slack_transfer_note"), note, optional=True),
        ],
    )


def save_kb_modal(
    escalation_id: int, question: str, answer: str, locale: str = "es"
) -> dict[str, Any]:
    """The "save to KB" form, pre-filled with the creator's question and the agent's answer.

    Secrets are masked in the drafts: whatever is saved here is shown to every creator.
    """
    t = translator(locale)
    question_input = _text_input(QUESTION, MAX_INPUT, multiline=True, initial=mask(question))
    answer_input = _text_input(ANSWER, MAX_INPUT, multiline=True, initial=mask(answer))
    category = _text_input(CATEGORY, MAX_KB_CATEGORY, t.gettext("slack_kb_category_placeholder"))
    hint = {"type": "context", "elements": [_mrkdwn(t.gettext("slack_kb_hint"))]}
    return _modal(
        SAVE_KB_VIEW,
        escalation_id,
        t,
        title=t.gettext("slack_save_kb_title"),
        submit=t.gettext("slack_save"),
        blocks=[
            hint,
            _input(QUESTION, t.gettext("slack_kb_question"), question_input),
            _input(ANSWER, t.gettext("slack_kb_answer"), answer_input),
            _input(CATEGORY, t.gettext("slack_kb_category"), category),
        ],
    )


def modal_values(view: Mapping[str, Any]) -> dict[str, str]:
    """A view_submission's ``view.state.values`` as ``{action_id: value}``; empty inputs → ""."""
    values: dict[str, str] = {}
    blocks = (view.get("state") or {}).get("values") or {}
    for block in blocks.values():
        for action_id, state in block.items():
            values[action_id] = _element_value(state)
    return values


def _element_value(state: Mapping[str, Any]) -> str:
    if "selected_option" in state:
        option = state["selected_option"] or {}
        return str(option.get("value") or "")
    if "selected_options" in state:
        return ",".join(str(o.get("value") or "") for o in state["selected_options"] or ())
    return str(state.get("value") or "")


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
    return _mrkdwn(f"*{label}:*\n{clip(value, MAX_FIELD - len(label) - 4)}", MAX_FIELD)


def _summary_text(case: CaseView, t: Translator) -> str:
    summary = clip(escape(case.summary.strip()), MAX_SUMMARY)
    label = t.gettext("slack_summary")
    return f"*{label}:*\n" + (summary or t.gettext("slack_summary_empty"))


def _history_elements(case: CaseView, t: Translator) -> list[dict[str, str]]:
    tried = ", ".join(escape(item.strip()) for item in case.tried if item.strip())
    if tried:
        elements = [_mrkdwn(t.gettext("slack_tried", tried=clip(tried, MAX_CONTEXT - 100)))]
    else:
        elements = [_mrkdwn(t.gettext("slack_tried_nothing"))]
    if case.reason.strip():
        reason = clip(escape(render_stored(case.reason, t)), MAX_CONTEXT - 100)
        elements.append(_mrkdwn(t.gettext("slack_reason", reason=reason)))
    return elements


def _notes(case: CaseView, t: Translator) -> list[dict[str, str]]:
    notes = []
    if case.transferred_to:
        team = case.transferred_to.strip()
        team = f"<#{team}>" if _CHANNEL_ID.fullmatch(team) else clip(escape(team), 500)
        notes.append(_mrkdwn(t.gettext("slack_transferred", team=team)))
    if case.linked_from:
        notes.append(_mrkdwn(t.gettext("slack_linked", link=_link(case.linked_from, t))))
    return [*_repeat_note(case, t), *notes]


def _repeat_note(case: CaseView, t: Translator) -> list[dict[str, str]]:
    if case.repeat is None:
        return []
    count, days, topic = case.repeat
    text = t.gettext(
        "slack_repeat_contact",
        count=t.number(count),
        days=t.number(days),
        topic=clip(escape(topic), 100),
    )
    return [_mrkdwn(text)]


def _assist_blocks(case: CaseView, t: Translator) -> list[dict[str, Any]]:
    """Agent assist: the KB's best answers for the creator's latest message, one button each
    sending it (as the agent, in the creator's language)."""
    if not case.suggestions:
        return []
    blocks: list[dict[str, Any]] = [
        {"type": "context", "elements": [_mrkdwn(t.gettext("slack_suggested_title"))]}
    ]
    for n, (article_id, title, answer) in enumerate(case.suggestions[:3]):
        text = f"*{clip(escape(title), 200)}*\n{clip(escape(answer), MAX_EXCERPT)}"
        button = {
            "type": "button",
            "action_id": f"{SEND_ARTICLE}_{n}",
            "text": _plain(t.gettext("slack_send_article"), MAX_BUTTON),
            "value": f"{case.escalation_id}:{article_id}"[:MAX_OPTION_VALUE],
        }
        blocks.append(
            {"type": "section", "text": _mrkdwn(text, MAX_SECTION_TEXT), "accessory": button}
        )
    return blocks


def _link(target: str, t: Translator) -> str:
    target = target.strip()
    if _SAFE_URL.fullmatch(target) and len(target) <= 1000:
        label = t.gettext("slack_linked_label")
        return f"<{target.replace('&', '&amp;')}|{label}>"
    return clip(escape(target), 500)


def _agent(assignee: str) -> str:
    """A mention for a Slack user id (ours, so safe to format); anything else as text."""
    assignee = assignee.strip()
    return f"<@{assignee}>" if _AGENT_ID.fullmatch(assignee) else clip(escape(assignee), 200)


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
    return t.gettext(key) if key else clip(escape(kind), 100)


def _button(action: str, escalation_id: int, t: Translator) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action,
        "text": _plain(t.gettext(_BUTTON_LABELS[action]), MAX_BUTTON),
        "value": str(escalation_id),
    }
    if action == RESOLVE:
        button["style"] = "primary"
    return button


def _modal(
    callback_id: str,
    escalation_id: int,
    t: Translator,
    *,
    title: str,
    submit: str | None,
    blocks: list[dict[str, Any]],
) -> dict[str, Any]:
    case_line = _mrkdwn(t.gettext("slack_modal_case", case=escalation_id))
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": str(escalation_id),
        "title": _plain(title, MAX_TITLE),
        "close": _plain(t.gettext("slack_cancel"), MAX_TITLE),
        "blocks": [{"type": "context", "elements": [case_line]}, *blocks],
    }
    if submit is not None:
        view["submit"] = _plain(submit, MAX_TITLE)
    return view


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False
) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": _plain(label, 2000),
        "element": element,
    }


def _text_input(
    action_id: str,
    max_length: int,
    placeholder: str | None = None,
    *,
    multiline: bool = False,
    initial: str = "",
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": multiline,
        "max_length": max_length,
    }
    if placeholder:
        element["placeholder"] = _plain(placeholder, 150)
    if initial.strip():
        element["initial_value"] = clip(initial, max_length)
    return element


def _options(pairs: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """Select options from (label, value) pairs: blanks and repeated values dropped, capped."""
    options: list[dict[str, Any]] = []
    seen: set[str] = set()
    for label, value in pairs:
        value = value.strip()[:MAX_OPTION_VALUE]
        if not label.strip() or not value or value in seen:
            continue
        seen.add(value)
        options.append({"text": _plain(label.strip(), MAX_OPTION_TEXT), "value": value})
        if len(options) == MAX_OPTIONS:
            break
    return options


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def _mrkdwn(text: str, limit: int = MAX_CONTEXT) -> dict[str, str]:
    return {"type": "mrkdwn", "text": clip(text, limit)}
