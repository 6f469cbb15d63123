"""Block Kit's vocabulary for every Slack view: ids, Slack's limits, escaping and the small
element builders (pure dicts, no SDK). Creator or agent text goes through :func:`escape`, which
masks secrets and neutralises Slack's control sequences: a creator who writes ``<!channel>``
must not ping a whole support channel."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from handlers.common.privacy import mask

TAKE = "case_take"
RETURN = "case_return"
RESOLVE = "case_resolve"
TRANSFER = "case_transfer"
SAVE_KB = "case_save_kb"
CASE_ACTIONS = (TAKE, RETURN, RESOLVE, TRANSFER, SAVE_KB)
ACTIONS_BLOCK = "case_actions"
RECLASSIFY = "case_reclassify"
SEND_ARTICLE = "case_send_article"  # + _<n>: one button per suggested KB answer
CREATOR_CHOICE = "creator_choice"  # + _<n>: the bot's suggestion buttons to a Slack creator

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
MAX_SECTION_FIELDS = 10
MAX_SUMMARY = 2500
MAX_FIELD = 2000
MAX_CONTEXT = 2000
MAX_HEADER = 150
MAX_BUTTON = 75
MAX_BUTTON_VALUE = 2000
MAX_TITLE = 24
MAX_LABEL = 2000
MAX_PLACEHOLDER = 150
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_INPUT = 3000
MAX_RESOLUTION = 200
MAX_NOTE = 1000
MAX_KB_CATEGORY = 80
MAX_MESSAGE = 35000
MAX_VIEW_BLOCKS = 100
MAX_REPLY_SECTION = 2900  # a reply to a creator: one section, under MAX_SECTION_TEXT
MAX_REPLY_FALLBACK = 3900  # its notification text (Slack truncates beyond 4000)

PRIORITY_EMOJI = {"P1": "🔴", "P2": "🟠", "P3": "🟡", "P4": "⚪"}

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


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def mrkdwn(text: str, limit: int = MAX_CONTEXT) -> dict[str, str]:
    return {"type": "mrkdwn", "text": clip(text, limit)}


def input_block(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False
) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain(label, MAX_LABEL),
        "element": element,
    }


def text_input(
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
        element["placeholder"] = plain(placeholder, MAX_PLACEHOLDER)
    if initial.strip():
        element["initial_value"] = clip(initial, max_length)
    return element


def options(pairs: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """Select options from (label, value) pairs: blanks and repeated values dropped, capped."""
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    for label, value in pairs:
        value = value.strip()[:MAX_OPTION_VALUE]
        if not label.strip() or not value or value in seen:
            continue
        seen.add(value)
        found.append({"text": plain(label.strip(), MAX_OPTION_TEXT), "value": value})
        if len(found) == MAX_OPTIONS:
            break
    return found
