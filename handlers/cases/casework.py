"""What the agents see of a case, queued for their platform: cards, thread lines, reactions.

Rows are written in the same transaction as the state change that causes them; the agents'
adapter (Slack) delivers them in order per case.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from handlers.contract.messages import Attachment
from handlers.contract.roles import ThreadRole
from handlers.conversation.states import Event, next_state
from handlers.storage import store
from handlers.storage.models import (
    AgentPost,
    Conversation,
    ConversationState,
    Creator,
    Escalation,
    EscalationStatus,
    Sender,
)


class Kind:
    CARD = "card"  # post the case card (the thread's parent)
    UPDATE = "update"  # redraw the card after a state change
    THREAD = "thread"  # a line in the case's thread
    REACTION = "reaction"  # ✓ / ⚠️ on an agent's message once relayed
    FILE = "file"  # a file the creator sent, copied into the case's thread
    DM = "dm"  # a direct message to one agent (a page)


@dataclass(frozen=True, slots=True)
class Routing:
    """Which agents' queue (a Slack channel id) gets a case."""

    default_queue: str | None = None
    by_category: tuple[tuple[str, str], ...] = ()
    vip_by_category: tuple[tuple[str, str], ...] = ()
    teams: tuple[tuple[str, str], ...] = field(default=())

    def queue_for(self, category: str, *, vip: bool) -> str | None:
        if vip and category in dict(self.vip_by_category):
            return dict(self.vip_by_category)[category]
        return dict(self.by_category).get(category, self.default_queue)


def post(session: Session, case: Escalation, kind: str, **payload: object) -> AgentPost:
    assert case.id is not None
    row = AgentPost(escalation_id=case.id, kind=kind, payload=json.dumps(payload))
    session.add(row)
    return row


def creator_line(
    session: Session,
    case: Escalation,
    creator: Creator,
    text: str,
    attachments: Sequence[Attachment],
) -> None:
    """The creator's message in the thread, then each of their files as its own post (so a
    failed upload is retried alone)."""
    name = creator.display_name or creator.platform_user_id
    kinds = [a.kind for a in attachments]
    post(
        session,
        case,
        Kind.THREAD,
        role=ThreadRole.CREATOR,
        author=name,
        text=text,
        attachments=kinds,
    )
    for attachment in attachments:
        post(
            session,
            case,
            Kind.FILE,
            platform=creator.platform,
            file_id=attachment.platform_file_id,
            name=attachment.file_name or f"{attachment.kind}",
            mime=attachment.mime_type,
            type=attachment.kind,
        )


def resolve(
    case: Escalation,
    conversation: Conversation,
    now: datetime,
    *,
    resolution: str | None,
    root_cause: str | None,
) -> None:
    """The one way a case ends resolved: by an agent, or closed for a silent creator."""
    conversation.state = next_state(ConversationState(conversation.state), Event.RESOLVE)
    case.status, case.resolved_at = EscalationStatus.RESOLVED, now
    case.resolution, case.root_cause = resolution, root_cause


def question_and_answer(engine: Engine, escalation_id: int) -> tuple[str, str]:
    """The creator's last words and the agent's last answer: a KB draft's starting point."""
    with Session(engine) as session:
        case = session.get(Escalation, escalation_id)
        if case is None:
            return "", ""
        lines = store.transcript(session, conversation_id=case.conversation_id)
    question = next((t for role, t in reversed(lines) if role == Sender.CREATOR), "")
    answer = next((t for role, t in reversed(lines) if role == Sender.AGENT), "")
    return question, answer
