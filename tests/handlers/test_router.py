from __future__ import annotations

import pytest
from sqlmodel import Session, select

from handlers.api import (
    ActionRejected,
    AgentAction,
    AgentActionKind,
    EscalationOpened,
    Puente,
)
from handlers.contract.messages import Attachment
from handlers.conversation.context import HUMAN_PAYLOAD
from handlers.delivery.inbox import Inbox
from handlers.kb.matching.matcher import MatchPolicy
from handlers.storage.models import (
    Conversation,
    ConversationState,
    Direction,
    Escalation,
    EscalationStatus,
    InboundUpdate,
    Message,
    Sender,
)
from tests.conftest import Creator, FakeClock


def state(puente: Puente, chat_id: str = "chat-1") -> ConversationState:
    with Session(puente.engine) as session:
        conversation = session.exec(
            select(Conversation).where(Conversation.chat_id == chat_id)
        ).one()
        return ConversationState(conversation.state)


def messages(puente: Puente) -> list[Message]:
    with Session(puente.engine) as session:
        return list(session.exec(select(Message).order_by(Message.id)).all())


def escalate(creator: Creator) -> int:
    result = creator.says("quiero hablar con una persona")
    opened = [e for e in result.effects if isinstance(e, EscalationOpened)]
    assert len(opened) == 1
    return opened[0].escalation_id


def act(puente: Puente, kind: AgentActionKind, case: int, **kw: object):  # type: ignore[no-untyped-def]
    return puente.handle_agent_action(
        AgentAction(kind=kind, escalation_id=case, agent_id="U_AGENT", **kw)  # type: ignore[arg-type]
    )


def test_answers_from_the_kb_in_spanish(creator: Creator, puente: Puente) -> None:
    result = creator.says("como hago para hacer un live?")
    answer = puente.kb.kb.get("live-eligibility")
    assert answer is not None
    assert [r.text for r in result.replies] == [answer.answer("es")]
    assert result.locale == "es"


def test_answers_in_english_for_an_english_creator(puente: Puente) -> None:
    result = Creator(puente, locale="en-US").says("how do I go live?")
    article = puente.kb.kb.get("live-eligibility")
    assert article is not None
    assert result.replies[0].text == article.answer("en")


def test_both_directions_are_stored(creator: Creator, puente: Puente) -> None:
    creator.says("no me llegan los regalos")
    stored = messages(puente)
    assert [(m.direction, m.sender) for m in stored] == [
        (Direction.IN, Sender.CREATOR),
        (Direction.OUT, Sender.BOT),
    ]
    assert stored[0].text == "no me llegan los regalos"


def test_message_is_committed_before_answering(creator: Creator, puente: Puente) -> None:
    def crash(*_: object) -> None:
        raise RuntimeError("matcher exploded")

    puente.kb.matcher().match = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        creator.says("no me llegan los regalos")
    assert [m.text for m in messages(puente)] == ["no me llegan los regalos"]


def inbox_row(puente: Puente, key: str) -> int:
    row = Inbox(puente.engine).accept(platform="telegram", key=key, payload="{}")
    assert row is not None
    return row


def inbound_update(puente: Puente, row: int) -> InboundUpdate:
    with Session(puente.engine) as session:
        update = session.get(InboundUpdate, row)
        assert update is not None
        return update


def test_the_stored_update_is_finished_with_the_answer(creator: Creator, puente: Puente) -> None:
    row = inbox_row(puente, "1")
    result = puente.handle_message(creator.message("no me llegan los regalos"), inbox_row=row)
    assert result.replies and result.outbox_ids
    update = inbound_update(puente, row)
    assert update.processed_at is not None and update.attempts == 1 and update.error is None
    assert Inbox(puente.engine).pending(platform="telegram") == []


def test_a_retried_update_is_finished_without_a_second_answer(
    creator: Creator, puente: Puente
) -> None:
    puente.handle_message(creator.message("hola", message_id="7"), inbox_row=inbox_row(puente, "1"))
    again = inbox_row(puente, "2")  # the same message again, under a new update id
    result = puente.handle_message(creator.message("hola", message_id="7"), inbox_row=again)
    assert result.duplicate and result.replies == ()
    assert inbound_update(puente, again).processed_at is not None
    assert len(messages(puente)) == 2


def test_a_failed_turn_keeps_the_message_and_leaves_the_update_pending(
    creator: Creator, puente: Puente
) -> None:
    def crash(*_: object) -> None:
        raise RuntimeError("matcher exploded")

    puente.kb.matcher().match = crash  # type: ignore[method-assign]
    row = inbox_row(puente, "1")
    with pytest.raises(RuntimeError):
        puente.handle_message(creator.message("no me llegan los regalos"), inbox_row=row)
    assert [(m.direction, m.text) for m in messages(puente)] == [
        (Direction.IN, "no me llegan los regalos")
    ]
    assert inbound_update(puente, row).processed_at is None


def test_platform_retry_is_processed_once(creator: Creator, puente: Puente) -> None:
    first = puente.handle_message(creator.message("no me llegan los regalos", message_id="42"))
    again = puente.handle_message(creator.message("no me llegan los regalos", message_id="42"))
    assert first.replies and not first.duplicate
    assert again.duplicate and again.replies == ()
    assert len(messages(puente)) == 2


def with_policy(puente: Puente, **policy: float) -> Creator:
    puente.kb.policy = MatchPolicy(**policy)
    puente.kb._matcher = None
    return Creator(puente)


def test_unclear_question_offers_suggestions_and_a_human(puente: Puente) -> None:
    creator = with_policy(puente, answer_threshold=101, clarify_threshold=10)
    result = creator.says("retirar diamantes")
    (reply,) = result.replies
    assert reply.text.startswith("No estoy seguro")
    payloads = [s.payload for s in reply.suggestions]
    assert 2 <= len(payloads) <= 4
    assert payloads[-1] == "/agente"
    assert all(p.startswith("kb:") for p in payloads[:-1])


def test_choosing_a_suggestion_answers_that_article(creator: Creator, puente: Puente) -> None:
    result = creator.says("kb:stream-key")
    article = puente.kb.kb.get("stream-key")
    assert article is not None
    assert result.replies[0].text == article.answer("es")


def test_repeated_misses_escalate(puente: Puente) -> None:
    creator = with_policy(puente, answer_threshold=101, clarify_threshold=101)
    first = creator.says("mi gato se comió el router de la vecina")
    assert first.effects == ()
    assert first.replies[0].suggestions[-1].payload == "/agente"
    second = creator.says("la receta de la paella valenciana lleva conejo")
    assert isinstance(second.effects[0], EscalationOpened)
    assert state(puente) is ConversationState.ESCALATED


def test_asking_for_a_person_opens_one_case(creator: Creator, puente: Puente) -> None:
    case = escalate(creator)
    result = creator.says("/agente")
    assert result.effects == ()
    assert f"#{case}" in result.replies[0].text
    with Session(puente.engine) as session:
        cases = session.exec(select(Escalation)).all()
    assert [(c.id, c.status, c.priority, c.category) for c in cases] == [
        (case, EscalationStatus.OPEN, "P3", "human_request")
    ]
    assert "quiero hablar con una persona" in cases[0].summary


def test_waiting_creator_gets_reassured_with_babel_duration(
    creator: Creator, clock: FakeClock
) -> None:
    case = escalate(creator)
    clock.advance(minutes=5)
    reply = creator.says("sigo esperando").replies[0].text
    assert f"#{case}" in reply and "5 minutos" in reply


def test_take_reply_resolve_and_reopen(creator: Creator, puente: Puente) -> None:
    case = escalate(creator)
    taken = act(puente, AgentActionKind.TAKE, case)
    assert state(puente) is ConversationState.AGENT
    assert "se unió" in taken.replies[0].text
    assert creator.says("hola? sigue ahí alguien").replies == ()
    relayed = act(puente, AgentActionKind.REPLY, case, text="Hola, ya reviso tus regalos")
    assert relayed.replies[0].text == "Hola, ya reviso tus regalos"
    resolved = act(puente, AgentActionKind.RESOLVE, case, root_cause="payment_delay")
    assert state(puente) is ConversationState.RESOLVED
    assert f"#{case}" in resolved.replies[0].text
    again = creator.says("como hago para hacer un live?")
    assert state(puente) is ConversationState.BOT
    assert again.replies and again.effects == ()
    with Session(puente.engine) as session:
        stored = session.get(Escalation, case)
        assert stored is not None
        assert (stored.status, stored.assignee, stored.root_cause) == (
            EscalationStatus.RESOLVED,
            "U_AGENT",
            "payment_delay",
        )
        assert stored.assigned_at is not None and stored.resolved_at is not None
    senders = [m.sender for m in messages(puente) if m.direction == Direction.OUT]
    assert Sender.AGENT in senders


def test_return_to_bot_resumes_automatic_answers(creator: Creator, puente: Puente) -> None:
    case = escalate(creator)
    act(puente, AgentActionKind.TAKE, case)
    back = act(puente, AgentActionKind.RETURN, case)
    assert state(puente) is ConversationState.BOT
    assert back.replies
    assert (
        creator.says("no me llegan los regalos")
        .replies[0]
        .text.startswith(
            puente.kb.kb.get("gift-not-received").answer("es")[:20]  # type: ignore[union-attr]
        )
    )


def test_return_before_anyone_took_it(creator: Creator, puente: Puente) -> None:
    case = escalate(creator)
    act(puente, AgentActionKind.RETURN, case)
    assert state(puente) is ConversationState.BOT


def test_resolve_without_taking(creator: Creator, puente: Puente) -> None:
    case = escalate(creator)
    act(puente, AgentActionKind.RESOLVE, case)
    assert state(puente) is ConversationState.RESOLVED


def test_rejected_agent_actions(creator: Creator, puente: Puente) -> None:
    case = escalate(creator)
    with pytest.raises(ActionRejected):
        act(puente, AgentActionKind.REPLY, case, text="hola")
    act(puente, AgentActionKind.RESOLVE, case)
    with pytest.raises(ActionRejected):
        act(puente, AgentActionKind.TAKE, case)
    with pytest.raises(ActionRejected):
        act(puente, AgentActionKind.TAKE, 9999)


def test_status_and_language_commands(creator: Creator) -> None:
    assert "ningún caso" in creator.says("/estado").replies[0].text
    case = escalate(creator)
    status = creator.says("/estado").replies[0].text
    assert f"#{case}" in status and "25 nov 2026" in status
    picker = creator.says("/idioma").replies[0]
    assert [s.payload for s in picker.suggestions] == ["/idioma es", "/idioma en"]
    switched = creator.says("/idioma en")
    assert switched.locale == "en" and "English" in switched.replies[0].text
    assert "Your case" in creator.says("/status").replies[0].text


def test_chosen_language_survives_the_platform_hint(creator: Creator) -> None:
    creator.says("/idioma en")
    assert creator.says("hola", locale_hint="es-MX").locale == "en"


def test_small_talk_needs_no_article(creator: Creator) -> None:
    assert creator.says("holaaa").replies[0].text.startswith("¡Hola!")
    assert creator.says("muchas gracias!!").replies[0].text.startswith("¡Con gusto!")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "😀😀🔥",
        "\x00\x01\x1b[31m",
        "a" * 100_000,
        "regalos " * 12_000,
        "\ud800 broken surrogate",
        "'; DROP TABLE message; --",
        "\u202eolleh\u200b",
    ],
)
def test_hostile_input_gets_a_polite_reply_and_is_stored(
    creator: Creator, puente: Puente, text: str
) -> None:
    result = creator.says(text)
    assert len(result.replies) == 1 and result.replies[0].text
    stored = messages(puente)[0]
    assert stored.direction == Direction.IN
    assert stored.text == text.replace("\ud800", "\ufffd").replace("\x00", "\ufffd")


def test_attachment_without_text_is_stored_and_acknowledged(
    creator: Creator, puente: Puente
) -> None:
    photo = Attachment(kind="photo", platform_file_id="F1", mime_type="image/jpeg")
    result = creator.says("", attachments=(photo,))
    assert "archivo" in result.replies[0].text
    assert '"platform_file_id": "F1"' in messages(puente)[0].attachments


def test_start_offers_languages_and_a_person(creator: Creator) -> None:
    reply = creator.says("/start").replies[0]
    assert reply.text.startswith("¡Hola! Soy Puente")
    assert [s.payload for s in reply.suggestions] == ["/idioma es", "/idioma en", "/agente"]


def test_flood_is_stored_warned_once_and_not_answered(
    creator: Creator, puente: Puente, clock: FakeClock
) -> None:
    results = [creator.says(f"no me llegan los regalos {n}") for n in range(14)]
    answered = [r for r in results[:10] if r.replies]
    assert len(answered) == 10
    warnings = [r.replies[0].text for r in results[10:] if r.replies]
    assert len(warnings) == 1 and "muchos mensajes" in warnings[0]
    inbound = [m for m in messages(puente) if m.direction == Direction.IN]
    assert len(inbound) == 14
    clock.advance(seconds=11)
    assert creator.says("no me llegan los regalos").replies[0].text.startswith("A veces")


def test_resolution_asks_for_a_rating_and_stores_it(creator: Creator, puente: Puente) -> None:
    case = escalate(creator)
    resolved = act(puente, AgentActionKind.RESOLVE, case, root_cause="bug")
    survey = resolved.replies[-1]
    assert [s.label for s in survey.suggestions] == ["1", "2", "3", "4", "5"]
    assert all(len(s.payload.encode()) <= 64 for s in survey.suggestions)
    thanks = creator.says(survey.suggestions[3].payload)
    assert "Gracias por tu calificación" in thanks.replies[0].text
    with Session(puente.engine) as session:
        stored = session.get(Escalation, case)
        assert stored is not None and stored.satisfaction == 4


def test_a_rating_for_someone_elses_case_is_ignored(puente: Puente) -> None:
    other = Creator(puente, chat_id="chat-2")
    case = escalate(other)
    act(puente, AgentActionKind.RESOLVE, case)
    Creator(puente).says(f"csat:{case}:1")
    with Session(puente.engine) as session:
        stored = session.get(Escalation, case)
        assert stored is not None and stored.satisfaction is None


def test_status_says_by_when_in_the_creators_time_zone(puente: Puente, clock: FakeClock) -> None:
    mexican = Creator(puente, locale="es-MX")
    escalate(mexican)
    status = mexican.says("/estado").replies[0].text
    # opened 15:00 UTC = 09:00 in Mexico City; a P3 answer is due eight hours later: to the
    # minute, with the zone named
    assert "9:00, hora de México" in status and "17:00, hora de México" in status
    assert ":00:00" not in status
    clock.advance(hours=9)
    assert "más de lo previsto" in mexican.says("/estado").replies[0].text


def test_files_sent_while_waiting_are_added_to_the_case(creator: Creator) -> None:
    case = escalate(creator)
    photo = Attachment(kind="photo", platform_file_id="F9")
    reply = creator.says("", attachments=(photo,)).replies[0].text
    assert f"#{case}" in reply and "archivo" in reply


def test_replies_wait_in_the_outbox_until_delivered(creator: Creator, puente: Puente) -> None:
    result = creator.says("no me llegan los regalos")
    assert len(result.outbox_ids) == 1
    pending = [m for m in messages(puente) if m.direction == Direction.OUT]
    assert pending[0].delivered_at is None
    puente.mark_delivered(result.outbox_ids)
    assert all(m.delivered_at for m in messages(puente) if m.direction == Direction.OUT)


def test_laughter_is_small_talk_not_a_miss(creator: Creator, puente: Puente) -> None:
    for _ in range(3):
        assert creator.says("jajaja 😂").replies[0].text.startswith("😄")
    assert state(puente) is ConversationState.BOT


def test_a_typed_number_picks_from_the_stored_offer(creator: Creator) -> None:
    offer = creator.says("qwzx plorf").replies[-1]
    assert [s.payload for s in offer.suggestions] == [HUMAN_PAYLOAD]
    picked = creator.says("1")
    assert picked.replies and "#" in picked.replies[0].text  # the human button: a case
    assert creator.says("1").replies[0].text != picked.replies[0].text  # the offer is used up
