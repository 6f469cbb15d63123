"""Triage inside the handler layer: critical messages reach people first, whatever the KB says."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from handlers.api import Puente
from handlers.cases.casework import Kind
from handlers.storage.models import AgentPost, Direction, Escalation, Message
from handlers.triage.classifier import Rule, Triager
from tests.conftest import Creator


@pytest.fixture
def triaged(puente: Puente) -> Puente:
    rules = [
        Rule("self_harm", "intent to self-harm", (re.compile(r"\btermino con todo\b"),)),
        Rule("account_compromise", "account taken over", (re.compile(r"\bhackearon\b"),)),
        Rule("complaint", "complaint", (re.compile(r"\bpesima\b"),)),
    ]
    idioms = [re.compile(r"\bme muero de risa\b")]
    puente.triager = Triager(rules, idioms, examples=[])
    return puente


def cases(puente: Puente) -> list[Escalation]:
    with Session(puente.engine) as session:
        return list(session.exec(select(Escalation)).all())


def test_a_cry_for_help_gets_a_safety_message_and_a_p1_case(triaged: Puente) -> None:
    creator = Creator(triaged, locale="es-MX")
    result = creator.says("ya no aguanto mas, esta noche termino con todo")
    (reply,) = result.replies
    assert "800 911 2000" in reply.text
    (case,) = cases(triaged)
    assert (case.priority, case.category) == ("P1", "self_harm")
    assert "termino con todo" in case.reason
    with Session(triaged.engine) as session:
        inbound = session.exec(select(Message).where(Message.direction == Direction.IN)).one()
        assert (inbound.priority, inbound.category) == ("P1", "self_harm")


def test_the_crisis_line_follows_the_creators_country(triaged: Puente) -> None:
    spanish = Creator(triaged, locale="es-ES", chat_id="es").says("termino con todo hoy")
    assert "024" in spanish.replies[0].text
    american = Creator(triaged, locale="en-US", chat_id="us").says("termino con todo")
    assert "988" in american.replies[0].text


def test_an_idiom_pages_no_one(triaged: Puente) -> None:
    result = Creator(triaged).says("me muero de risa con tu live")
    assert cases(triaged) == []
    assert result.replies


def test_p2_opens_a_case_and_gets_the_sop_answer_meanwhile(triaged: Puente) -> None:
    result = Creator(triaged).says("me hackearon la cuenta y cambiaron el correo")
    (case,) = cases(triaged)
    assert (case.priority, case.category) == ("P2", "account_compromise")
    sop, handoff = result.replies
    assert sop.article_id == "account-hacked"
    assert f"#{case.id}" in handoff.text


def test_p2_without_a_confident_kb_answer_only_opens_the_case(triaged: Puente) -> None:
    result = Creator(triaged).says("hackearon a mi primo y ahora me escriben cosas raras xd")
    (case,) = cases(triaged)
    (handoff,) = result.replies
    assert handoff.article_id is None and f"#{case.id}" in handoff.text


def test_a_critical_message_raises_an_open_case(triaged: Puente) -> None:
    creator = Creator(triaged)
    creator.says("/agente")
    creator.says("ya esta, termino con todo")
    (case,) = cases(triaged)
    assert case.priority == "P1"
    with Session(triaged.engine) as session:
        posts = session.exec(select(AgentPost).where(AgentPost.kind == Kind.THREAD)).all()
    assert any('"role": "triage"' in p.payload for p in posts)


def test_complaints_still_get_the_kb(triaged: Puente) -> None:
    result = Creator(triaged).says("pesima app, no me llegan los regalos")
    assert cases(triaged) == []
    assert result.replies


def test_a_complaint_the_kb_cannot_answer_gets_an_apology_and_a_person(triaged: Puente) -> None:
    reply = Creator(triaged).says("pesima atencion, escribo y escribo y nadie contesta").replies[-1]
    assert cases(triaged) == []
    assert "Siento mucho" in reply.text and "otras palabras" not in reply.text
    assert reply.suggestions  # the way to a person
    plain = Creator(triaged, chat_id="chat-2").says("asdkjh qwpoeiru zmxncb").replies[-1]
    assert "Siento mucho" not in plain.text and "otras palabras" in plain.text


def test_an_agents_correction_teaches_triage(triaged: Puente) -> None:
    from handlers.contract.actions import AgentAction, AgentActionKind
    from handlers.kb.matching.semantic import SentenceEncoder
    from handlers.storage.models import TriageExample

    assert triaged.triager is not None
    triaged.triager = Triager(triaged.triager.rules, triaged.triager.idioms, [], SentenceEncoder())
    creator = Creator(triaged)
    creator.says("/agente")
    creator.says("un tipo del chat me sigue a todos lados y me manda fotos de mi casa")
    (case,) = cases(triaged)
    assert case.priority == "P3"
    triaged.handle_agent_action(
        AgentAction(AgentActionKind.RECLASSIFY, case.id or 0, "U1", category="violent_threat")
    )
    (case,) = cases(triaged)
    assert (case.priority, case.category) == ("P1", "violent_threat")
    with Session(triaged.engine) as session:
        (example,) = session.exec(select(TriageExample)).all()
    assert example.category == "violent_threat" and example.source_case == case.id
    verdict = triaged.triager.classify("un tipo del chat me sigue a todos lados y me manda fotos")
    assert verdict.priority == "P1" and "violent_threat" in verdict.texts()[0]
