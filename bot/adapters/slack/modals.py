"""Block Kit modals agents open from a case card (resolve, transfer, save to the KB) and the
reading of what they submit. Pure dicts, no SDK."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.adapters.slack.kit import (
    ANSWER,
    CATEGORY,
    MAX_INPUT,
    MAX_KB_CATEGORY,
    MAX_NOTE,
    MAX_PLACEHOLDER,
    MAX_RESOLUTION,
    MAX_TITLE,
    NOTE,
    QUESTION,
    RESOLVE_VIEW,
    ROOT_CAUSE,
    SAVE_KB_VIEW,
    SUMMARY,
    TEAM,
    TRANSFER_VIEW,
    input_block,
    mrkdwn,
    options,
    plain,
    text_input,
)
from handlers.common.i18n import Translator, translator
from handlers.common.privacy import mask


def resolve_modal(
    escalation_id: int, root_causes: Sequence[str], locale: str = "es"
) -> dict[str, Any]:
    """The "resolve" form: root cause (a list, or free text when none is configured) and a
    one-line summary of what solved it."""
    t = translator(locale)
    choices = options((cause, cause) for cause in root_causes)
    if choices:
        cause_element: dict[str, Any] = {
            "type": "static_select",
            "action_id": ROOT_CAUSE,
            "placeholder": plain(t.gettext("slack_root_cause_placeholder"), MAX_PLACEHOLDER),
            "options": choices,
        }
    else:
        cause_element = text_input(ROOT_CAUSE, MAX_RESOLUTION, t.gettext("slack_root_cause_free"))
    summary = text_input(SUMMARY, MAX_RESOLUTION, t.gettext("slack_resolution_placeholder"))
    return _modal(
        RESOLVE_VIEW,
        escalation_id,
        t,
        title=t.gettext("slack_resolve_title"),
        submit=t.gettext("slack_resolve"),
        blocks=[
            input_block(ROOT_CAUSE, t.gettext("slack_root_cause"), cause_element),
            input_block(SUMMARY, t.gettext("slack_resolution_summary"), summary),
        ],
    )


def transfer_modal(
    escalation_id: int, teams: Mapping[str, str], locale: str = "es"
) -> dict[str, Any]:
    """The "transfer" form: ``teams`` maps a team's name to its channel id (the option value)."""
    t = translator(locale)
    choices = options(teams.items())
    if not choices:
        notice = {"type": "section", "text": mrkdwn(t.gettext("slack_transfer_no_teams"))}
        title = t.gettext("slack_transfer_title")
        return _modal(TRANSFER_VIEW, escalation_id, t, title=title, submit=None, blocks=[notice])
    select = {
        "type": "static_select",
        "action_id": TEAM,
        "placeholder": plain(t.gettext("slack_team_placeholder"), MAX_PLACEHOLDER),
        "options": choices,
    }
    note = text_input(NOTE, MAX_NOTE, multiline=True)
    return _modal(
        TRANSFER_VIEW,
        escalation_id,
        t,
        title=t.gettext("slack_transfer_title"),
        submit=t.gettext("slack_transfer"),
        blocks=[
            input_block(TEAM, t.gettext("slack_team"), select),
            input_block(NOTE, t.gettext("slack_transfer_note"), note, optional=True),
        ],
    )


def save_kb_modal(
    escalation_id: int, question: str, answer: str, locale: str = "es"
) -> dict[str, Any]:
    """The "save to KB" form, pre-filled with the creator's question and the agent's answer.

    Secrets are masked in the drafts: whatever is saved here is shown to every creator.
    """
    t = translator(locale)
    question_input = text_input(QUESTION, MAX_INPUT, multiline=True, initial=mask(question))
    answer_input = text_input(ANSWER, MAX_INPUT, multiline=True, initial=mask(answer))
    category = text_input(CATEGORY, MAX_KB_CATEGORY, t.gettext("slack_kb_category_placeholder"))
    hint = {"type": "context", "elements": [mrkdwn(t.gettext("slack_kb_hint"))]}
    return _modal(
        SAVE_KB_VIEW,
        escalation_id,
        t,
        title=t.gettext("slack_save_kb_title"),
        submit=t.gettext("slack_save"),
        blocks=[
            hint,
            input_block(QUESTION, t.gettext("slack_kb_question"), question_input),
            input_block(ANSWER, t.gettext("slack_kb_answer"), answer_input),
            input_block(CATEGORY, t.gettext("slack_kb_category"), category),
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


def _modal(
    callback_id: str,
    escalation_id: int,
    t: Translator,
    *,
    title: str,
    submit: str | None,
    blocks: list[dict[str, Any]],
) -> dict[str, Any]:
    case_line = mrkdwn(t.gettext("slack_modal_case", case=escalation_id))
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": str(escalation_id),
        "title": plain(title, MAX_TITLE),
        "close": plain(t.gettext("slack_cancel"), MAX_TITLE),
        "blocks": [{"type": "context", "elements": [case_line]}, *blocks],
    }
    if submit is not None:
        view["submit"] = plain(submit, MAX_TITLE)
    return view
