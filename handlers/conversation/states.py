"""The conversation state machine: bot → escalated → agent → resolved → bot."""

from __future__ import annotations

from enum import StrEnum

from handlers.storage.models import ConversationState as State


class Event(StrEnum):
    ESCALATE = "escalate"  # the bot hands the case to people
    TAKE = "take"  # an agent takes the case
    RETURN = "return"  # an agent gives the conversation back to the bot
    RESOLVE = "resolve"  # an agent closes the case
    REOPEN = "reopen"  # the creator writes again after a resolution
    TRANSFER = "transfer"  # the case moves to another team's queue, waiting to be taken again


TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.BOT, Event.ESCALATE): State.ESCALATED,
    (State.ESCALATED, Event.TAKE): State.AGENT,
    (State.ESCALATED, Event.RETURN): State.BOT,
    (State.ESCALATED, Event.RESOLVE): State.RESOLVED,
    (State.ESCALATED, Event.TRANSFER): State.ESCALATED,
    (State.AGENT, Event.RETURN): State.BOT,
    (State.AGENT, Event.RESOLVE): State.RESOLVED,
    (State.AGENT, Event.TRANSFER): State.ESCALATED,
    (State.RESOLVED, Event.REOPEN): State.BOT,
    (State.RESOLVED, Event.ESCALATE): State.ESCALATED,
}


class InvalidTransition(ValueError):
    def __init__(self, state: State, event: Event) -> None:
        super().__init__(f"cannot {event.value} a conversation in state {state.value}")
        self.state = state
        self.event = event


def next_state(state: State, event: Event) -> State:
    try:
        return TRANSITIONS[(State(state), event)]
    except KeyError:
        raise InvalidTransition(State(state), event) from None


def bot_answers(state: State) -> bool:
    """Whether the bot may answer on its own in this state (not while people own the case)."""
    return State(state) in (State.BOT, State.RESOLVED)
