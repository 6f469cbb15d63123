"""Block Kit for the agents' Home tab: a live dashboard and KB drafts to review. Pure dicts,
like :mod:`bot.adapters.slack.blocks`; every label goes through gettext, creator text through
:func:`~bot.adapters.slack.kit.escape`."""

from __future__ import annotations

from typing import Any

from bot.adapters.slack.blocks import MAX_NAME
from bot.adapters.slack.kit import (
    ANSWER,
    CATEGORY,
    MAX_BUTTON,
    MAX_HEADER,
    MAX_INPUT,
    MAX_KB_CATEGORY,
    MAX_SECTION_FIELDS,
    MAX_SECTION_TEXT,
    MAX_TITLE,
    MAX_VIEW_BLOCKS,
    PRIORITY_EMOJI,
    QUESTION,
    clip,
    escape,
    input_block,
    mrkdwn,
    plain,
    text_input,
)
from handlers.common.i18n import translator
from handlers.insights.dashboard import Dashboard
from handlers.insights.report import headline_lines
from handlers.kb.gaps import GapCluster

APPROVE_DRAFT = "kb_draft_approve"
REJECT_DRAFT = "kb_draft_reject"
WRITE_GAP = "kb_gap_write"
DISMISS_GAP = "kb_gap_dismiss"
GAP_VIEW = "kb_gap_article"
MAX_EXCERPT = 400


def home_view(board: Dashboard, locale: str = "es") -> dict[str, Any]:
    """The Home tab for an agent."""
    t = translator(locale)
    updated = t.datetime(board.now, "UTC") + " UTC"
    headline = headline_lines(board.figures, t)[:MAX_SECTION_FIELDS]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(t.gettext("home_title"), MAX_HEADER)},
        {"type": "context", "elements": [mrkdwn(t.gettext("home_period", updated=updated))]},
        {"type": "section", "fields": [
            mrkdwn(f"*{label}*\n{value}") for label, value in headline
        ]},
        {"type": "section", "text": mrkdwn(_open_line(board.open_cases, locale))},
        {"type": "divider"},
        {"type": "section", "text": mrkdwn(_gaps_text(board, locale), MAX_SECTION_TEXT)},
        *_gap_buttons(board, locale),
        {"type": "divider"},
        {"type": "header", "text": plain(
            t.gettext("home_drafts_title", count=t.number(board.drafts_total)), MAX_HEADER
        )},
    ]  # fmt: skip
    if not board.drafts:
        blocks.append({"type": "context", "elements": [mrkdwn(t.gettext("home_no_drafts"))]})
    for draft in board.drafts:
        blocks.extend(_draft_blocks(draft, locale))
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}


def not_an_agent_view(locale: str = "es") -> dict[str, Any]:
    t = translator(locale)
    return {
        "type": "home",
        "blocks": [{"type": "section", "text": mrkdwn(t.gettext("home_agents_only"))}],
    }


def _open_line(waiting: dict[str, int], locale: str) -> str:
    t = translator(locale)
    counts = " · ".join(
        f"{PRIORITY_EMOJI.get(p, '⚪')} {p}: {t.number(n)}" for p, n in waiting.items()
    )
    return t.gettext("home_open_cases", counts=counts)


def _gaps_text(board: Dashboard, locale: str) -> str:
    t = translator(locale)
    lines = ["*" + t.gettext("home_gaps_title") + "*"]
    if not board.gaps:
        lines.append(t.gettext("home_no_gaps"))
    for gap in board.gaps:
        lines.append(
            t.gettext(
                "home_gap_line",
                n=len(lines),
                label=clip(escape(gap.label), MAX_NAME),
                locale=gap.locale,
                count=t.number(gap.count),
            )
        )
    return "\n".join(lines)


def _gap_buttons(board: Dashboard, locale: str) -> list[dict[str, Any]]:
    """Per missing topic: write an article for it, or dismiss it."""
    t = translator(locale)
    rows = []
    for n, gap in enumerate(board.gaps, start=1):
        buttons = [
            {"type": "button", "action_id": WRITE_GAP, "value": gap.key, "style": "primary",
             "text": plain(t.gettext("home_gap_write", n=n), MAX_BUTTON)},
            {"type": "button", "action_id": DISMISS_GAP, "value": gap.key,
             "text": plain(t.gettext("home_gap_dismiss", n=n), MAX_BUTTON)},
        ]  # fmt: skip
        rows.append({"type": "actions", "block_id": f"gap_{gap.key}", "elements": buttons})
    return rows


def gap_article_modal(gap: GapCluster, locale: str = "es") -> dict[str, Any]:
    """Write the article a missing topic needs: its wordings pre-filled as questions."""
    t = translator(locale)
    questions = text_input(QUESTION, MAX_INPUT, multiline=True, initial=" | ".join(gap.examples))
    answer = text_input(ANSWER, MAX_INPUT, multiline=True)
    category = text_input(CATEGORY, MAX_KB_CATEGORY, t.gettext("slack_kb_category_placeholder"))
    return {
        "type": "modal",
        "callback_id": GAP_VIEW,
        "private_metadata": gap.key,
        "title": plain(t.gettext("home_gap_modal_title"), MAX_TITLE),
        "submit": plain(t.gettext("home_approve"), MAX_TITLE),
        "close": plain(t.gettext("slack_cancel"), MAX_TITLE),
        "blocks": [
            {
                "type": "context",
                "elements": [mrkdwn(t.gettext("home_gap_modal_hint", locale=gap.locale))],
            },
            input_block(QUESTION, t.gettext("slack_kb_question"), questions),
            input_block(ANSWER, t.gettext("slack_kb_answer"), answer),
            input_block(CATEGORY, t.gettext("slack_kb_category"), category, optional=True),
        ],
    }


def draft_review_blocks(text: str, row_id: int, locale: str = "es") -> list[dict[str, Any]]:
    """The "draft saved" line in a case's thread, with approve / reject buttons under it."""
    t = translator(locale)
    return [
        {"type": "section", "text": mrkdwn(text, MAX_SECTION_TEXT)},
        {"type": "actions", "block_id": f"draft_{row_id}", "elements": _review_buttons(row_id, t)},
    ]


def _review_buttons(row_id: int, t: Any) -> list[dict[str, Any]]:
    return [
        {"type": "button", "action_id": APPROVE_DRAFT, "style": "primary",
         "text": plain(t.gettext("home_approve"), MAX_BUTTON), "value": str(row_id)},
        {"type": "button", "action_id": REJECT_DRAFT, "style": "danger",
         "text": plain(t.gettext("home_reject"), MAX_BUTTON), "value": str(row_id)},
    ]  # fmt: skip


def _draft_blocks(draft: Any, locale: str) -> list[dict[str, Any]]:
    t = translator(locale)
    text = t.gettext(
        "home_draft",
        case=draft.source_case or "-",
        locale=draft.locale,
        questions=clip(escape(" | ".join(draft.questions)), MAX_EXCERPT),
        answer=clip(escape(draft.answer), MAX_EXCERPT * 2),
    )
    buttons = _review_buttons(draft.row_id, t)
    return [
        {"type": "section", "text": mrkdwn(text, MAX_SECTION_TEXT)},
        {"type": "actions", "block_id": f"draft_{draft.row_id}", "elements": buttons},
    ]
