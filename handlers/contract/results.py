"""What the core hands back to an adapter: the replies to deliver and the effects on cases."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.contract.messages import OutgoingMessage
from handlers.contract.priority import Priority


@dataclass(frozen=True, slots=True)
class EscalationOpened:
    escalation_id: int
    conversation_id: int
    priority: Priority
    category: str
    reason: str  # as stored on the case (see handlers.triage.reasons)


@dataclass(frozen=True, slots=True)
class EscalationChanged:
    escalation_id: int
    status: str
    assignee: str | None


Effect = EscalationOpened | EscalationChanged


@dataclass(frozen=True, slots=True)
class HandlerResult:
    """What must happen now: messages for the creator's chat and effects for the agents' side."""

    platform: str
    chat_id: str
    locale: str
    replies: tuple[OutgoingMessage, ...] = ()
    effects: tuple[Effect, ...] = ()
    duplicate: bool = False
    outbox_ids: tuple[int, ...] = ()
