import pytest

from handlers.conversation.states import (
    TRANSITIONS,
    Event,
    InvalidTransition,
    bot_answers,
    next_state,
)
from handlers.storage.models import ConversationState as State

EXPECTED = [
    (State.BOT, Event.ESCALATE, State.ESCALATED),
    (State.ESCALATED, Event.TAKE, State.AGENT),
    (State.ESCALATED, Event.RETURN, State.BOT),
    (State.ESCALATED, Event.RESOLVE, State.RESOLVED),
    (State.ESCALATED, Event.TRANSFER, State.ESCALATED),
    (State.AGENT, Event.RETURN, State.BOT),
    (State.AGENT, Event.RESOLVE, State.RESOLVED),
    (State.AGENT, Event.TRANSFER, State.ESCALATED),
    (State.RESOLVED, Event.REOPEN, State.BOT),
    (State.RESOLVED, Event.ESCALATE, State.ESCALATED),
]


@pytest.mark.parametrize(("state", "event", "target"), EXPECTED)
def test_allowed_transition(state: State, event: Event, target: State) -> None:
    assert next_state(state, event) is target


def test_table_is_exactly_the_documented_machine() -> None:
    assert {(s, e): t for s, e, t in EXPECTED} == TRANSITIONS


@pytest.mark.parametrize(
    ("state", "event"),
    [(s, e) for s in State for e in Event if (s, e) not in TRANSITIONS],
)
def test_every_other_transition_is_rejected(state: State, event: Event) -> None:
    with pytest.raises(InvalidTransition):
        next_state(state, event)


def test_bot_answers_only_when_no_person_owns_the_case() -> None:
    assert [s for s in State if bot_answers(s)] == [State.BOT, State.RESOLVED]
