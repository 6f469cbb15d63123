"""Slack posts exactly once, across crashes.

Every message Puente posts carries Slack message metadata naming the outbox row it delivers.
When a row's send was interrupted (the process died after Slack took the post but before the
row was marked, or the answer never came back), the sender looks for that tag among the
channel's or thread's recent messages before posting again, and marks the row delivered with
the ts it finds instead.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)
EVENT_TYPE = "puente_outbox"
HISTORY_LIMIT = 100  # newest first: an interrupted post is among the channel's latest
THREAD_PAGES = 10  # thread replies come oldest first; 10 pages of 200 cover any real case


class Box(StrEnum):
    """Which outbox a row belongs to (their ids are separate sequences)."""

    AGENTS = "agent_post"
    CREATORS = "message"


def tag(box: Box, row_id: int) -> dict[str, Any]:
    """The ``metadata`` argument of ``chat.postMessage`` for this row."""
    return {"event_type": EVENT_TYPE, "event_payload": {"box": box.value, "row": row_id}}


def post_once(client: WebClient, box: Box, row_id: int, *, resumed: bool, **message: Any) -> str:
    """``chat.postMessage`` tagged with the row, unless an interrupted earlier send of this
    row already posted it; the message's ts either way."""
    channel = str(message["channel"])
    if resumed:
        found = find_posted(
            client, channel=channel, box=box, row_id=row_id, thread_ts=message.get("thread_ts")
        )
        if found is not None:
            log.warning("slack: row %s:%s was posted before an interruption", box, row_id)
            return found
    sent = client.chat_postMessage(metadata=tag(box, row_id), **message)
    return str(sent["ts"])


def find_posted(
    client: WebClient, *, channel: str, box: Box, row_id: int, thread_ts: str | None = None
) -> str | None:
    """The ts of a message already posted for this row, or None. A failed look-up answers
    None (post again): a duplicate is better than a lost message."""
    try:
        for message in _recent(client, channel, thread_ts):
            if _is_tagged(message, box, row_id):
                return str(message["ts"])
    except SlackApiError as exc:
        log.warning("slack: could not look for an interrupted post: %s", exc.response.get("error"))
    return None


def _recent(client: WebClient, channel: str, thread_ts: str | None) -> list[dict[str, Any]]:
    if not thread_ts:
        history = client.conversations_history(
            channel=channel, limit=HISTORY_LIMIT, include_all_metadata=True
        )
        return list(history.get("messages") or [])
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(THREAD_PAGES):
        page = client.conversations_replies(
            channel=channel, ts=thread_ts, limit=200, cursor=cursor, include_all_metadata=True
        )
        found.extend(page.get("messages") or [])
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not page.get("has_more") or not cursor:
            break
    return found


def _is_tagged(message: dict[str, Any], box: Box, row_id: int) -> bool:
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != EVENT_TYPE:
        return False
    payload = metadata.get("event_payload")
    return (
        isinstance(payload, dict)
        and payload.get("box") == box.value
        and str(payload.get("row")) == str(row_id)
    )
