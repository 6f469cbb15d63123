"""Block Kit for the agents' Home tab: a live dashboard and KB drafts to review. Pure dicts,
like :mod:`bot.adapters.slack_blocks`; every label goes through gettext, creator text through
:func:`~bot.adapters.slack_blocks.escape`."""

from __future__ import annotations

from typing import Any

from bot.adapters.slack_blocks import (
    MAX_BUTTON,
    MAX_SECTION_TEXT,
    PRIORITY_EMOJI,
    _mrkdwn,
    _plain,
    clip,
    escape,
)
from handlers.dashboard import Dashboard
from handlers.i18n import translator
from handlers.report import headline_lines

APPROVE_DRAFT = "kb_draft_approve"
REJECT_DRAFT = "kb_draft_reject"
MAX_EXCERPT = 400


def home_view(board: Dashboard, locale: str = "es") -> dict[str, Any]:
    """The Home tab for an agent."""
    t = translator(locale)
    updated = t.datetime(board.now, "UTC") + " UTC"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(t.gettext("home_title"), 150)},
        {"type": "context", "elements": [_mrkdwn(t.gettext("home_period", updated=updated))]},
        {"type": "section", "fields": [
            _mrkdwn(f"*{label}*\n{value}") for label, value in headline_lines(board.figures, t)[:10]
        ]},
        {"type": "section", "text": _mrkdwn(_open_line(board, locale))},
        {"type": "divider"},
        {"type": "section", "text": _mrkdwn(_gaps_text(board, locale), MAX_SECTION_TEXT)},
        {"type": "divider"},
        {"type": "header", "text": _plain(
            t.gettext("home_drafts_title", count=t.number(board.drafts_total)), 150
        )},
    ]  # fmt: skip
    if not board.drafts:
        blocks.append({"type": "context", "elements": [_mrkdwn(t.gettext("home_no_drafts"))]})
    for draft in board.drafts:
        blocks.extend(_draft_blocks(draft, locale))
    return {"type": "home", "blocks": blocks[:100]}


def not_an_agent_view(locale: str = "es") -> dict[str, Any]:
    t = translator(locale)
    return {
        "type": "home",
        "blocks": [{"type": "section", "text": _mrkdwn(t.gettext("home_agents_only"))}],
    }


def _open_line(board: Dashboard, locale: str) -> str:
    t = translator(locale)
    counts = " · ".join(
        f"{PRIORITY_EMOJI.get(p, '⚪')} {p}: {t.number(n)}" for p, n in board.open_cases.items()
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
                label=clip(escape(gap.label), 200),
                locale=gap.locale,
                count=t.number(gap.count),
            )
        )
    return "\n".join(lines)


def _draft_blocks(draft: Any, locale: str) -> list[dict[str, Any]]:
    t = translator(locale)
    text = t.gettext(
        "home_draft",
        case=draft.source_case or "-",
        locale=draft.locale,
        questions=clip(escape(" | ".join(draft.questions)), MAX_EXCERPT),
        answer=clip(escape(draft.answer), MAX_EXCERPT * 2),
    )
    buttons = [
        {"type": "button", "action_id": APPROVE_DRAFT, "style": "primary",
         "text": _plain(t.gettext("home_approve"), MAX_BUTTON), "value": str(draft.row_id)},
        {"type": "button", "action_id": REJECT_DRAFT, "style": "danger",
         "text": _plain(t.gettext("home_reject"), MAX_BUTTON), "value": str(draft.row_id)},
    ]  # fmt: skip
    return [
        {"type": "section", "text": _mrkdwn(text, MAX_SECTION_TEXT)},
        {"type": "actions", "block_id": f"draft_{draft.row_id}", "elements": buttons},
    ]
