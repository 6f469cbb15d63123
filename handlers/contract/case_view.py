"""A platform-neutral, read-only view of one case, as agent-facing renderers need it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CaseView:
    """One escalation as agents see it.

    ``status`` is one of open, assigned, returned, resolved, transferred; ``tried`` lists what
    the bot already offered (article ids or short lines); ``waited_seconds`` is how long the
    creator has waited for a person so far.
    """

    escalation_id: int
    creator_name: str
    platform: str
    locale: str
    vip: bool
    priority: str
    category: str
    status: str
    assignee: str | None
    summary: str
    tried: tuple[str, ...]
    reason: str
    opened_at: datetime
    waited_seconds: float
    transferred_to: str | None = None
    linked_from: str | None = None
    # agent assist: the KB's best answers for the creator's latest message (id, title, answer)
    suggestions: tuple[tuple[str, str, str], ...] = ()
    # repeat complaint: (this contact's number, within days, topic), when it is 2 or more
    repeat: tuple[int, int, str] | None = None
