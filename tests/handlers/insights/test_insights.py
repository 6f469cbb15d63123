"""Metrics, repeat contacts and KB gaps over a known history (tests/insights_history.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from handlers.api import Puente
from handlers.cases.assist import latest_question
from handlers.insights import metrics, repeats
from handlers.kb import gaps
from handlers.kb.source import SHIPPED_KB, KbSource
from handlers.oncall.sla import parse_sla
from tests import insights_history as history
from tests.conftest import FakeClock

HOUR = 3600.0


@pytest.fixture
def built(puente: Puente, clock: FakeClock) -> Puente:
    history.build(puente, clock)
    return puente


def window(puente: Puente, **kwargs: object) -> metrics.Metrics:
    with Session(puente.engine) as session:
        return metrics.metrics(
            session, history.MONDAY, history.NOW, matcher=puente.kb.matcher(), **kwargs
        )  # type: ignore[arg-type]


def test_headline_figures(built: Puente) -> None:
    total = window(built).total
    assert (total.conversations, total.deflected, total.escalated, total.escalations) == (
        5,
        1,
        2,
        3,
    )
    assert total.deflection_rate == pytest.approx(1 / 5)
    assert total.escalation_rate == pytest.approx(2 / 5)
    # first responses: case 1 taken after 30 min, case 3 after 10 h, case 2 never
    assert total.first_response_p50 == pytest.approx((0.5 * HOUR + 10 * HOUR) / 2)
    assert total.first_response_p90 == pytest.approx(0.5 * HOUR + 0.9 * 9.5 * HOUR)
    # resolutions: 2 h and 22 h
    assert total.resolution_p50 == pytest.approx(12 * HOUR)
    assert total.resolution_p90 == pytest.approx(2 * HOUR + 0.9 * 20 * HOUR)
    # P3 targets 8 h / 72 h: case 1 met; case 3 answered late; case 2 never answered (30 h)
    assert (total.sla_met, total.sla_counted) == (1, 3)
    assert (total.satisfaction_avg, total.satisfaction_count) == (3.5, 2)
    assert total.repeat_contacts == 1


def test_headline_function_matches_the_full_metrics(built: Puente) -> None:
    with Session(built.engine) as session:
        figures = metrics.headline(session, history.MONDAY, history.NOW)
        waiting = metrics.open_cases(session)
    assert (figures.conversations, figures.escalations, figures.sla_met) == (5, 3, 1)
    assert waiting == {"P1": 0, "P2": 0, "P3": 1, "P4": 0}


def test_breakdowns(built: Puente) -> None:
    found = window(built)
    category = {row.key: row.figures for row in found.by_category}
    assert set(category) == {"payouts", "human_request", "none"}
    payouts = category["payouts"]  # Ana's answer, Beto's two cases
    assert (payouts.conversations, payouts.deflected, payouts.escalations) == (2, 1, 2)
    assert (payouts.sla_met, payouts.sla_counted, payouts.repeat_contacts) == (1, 2, 1)
    assert (category["none"].conversations, category["none"].escalations) == (2, 0)
    assert category["human_request"].first_response_p50 == pytest.approx(10 * HOUR)

    locale = {row.key: row.figures for row in found.by_locale}
    assert (locale["es"].conversations, locale["es"].escalations) == (4, 2)
    assert (locale["en"].conversations, locale["en"].escalations) == (1, 1)
    platform = {row.key: row.figures for row in found.by_platform}
    assert (platform["telegram"].conversations, platform["telegram"].escalations) == (1, 2)
    assert (platform["console"].conversations, platform["console"].deflected) == (4, 1)
    cause = {row.key: row.figures for row in found.by_root_cause}
    assert cause["pago retrasado"].satisfaction_avg == 5
    assert cause["consulta sin incidencia"].resolution_p50 == pytest.approx(22 * HOUR)
    assert cause[""].escalations == 1  # case 2, still open
    assert [(row.key.isoformat(), row.figures.conversations) for row in found.by_week] == [  # type: ignore[union-attr]
        ("2026-11-23", 5)
    ]
    priority = {row.key: row.figures for row in found.by_priority}
    assert priority["P3"].escalations == 3 and priority["P1"].escalations == 0


def test_daily_series(built: Puente) -> None:
    days = window(built).days
    assert [d.day.isoformat() for d in days] == ["2026-11-23", "2026-11-24", "2026-11-25"]
    assert [d.escalations["P3"] for d in days] == [1, 2, 0]
    assert [(d.conversations, d.deflected) for d in days] == [(2, 1), (1, 0), (2, 0)]


def test_sla_targets_are_one_replaceable_table(built: Puente) -> None:
    lenient = parse_sla("P3=12h/3d")
    total = window(built, targets=lenient).total
    assert (total.sla_met, total.sla_counted) == (2, 3)  # case 3's 10 h now meets the target


def test_repeat_contacts(built: Puente) -> None:
    found = window(built)
    assert [(r.creator, r.topic, r.contacts) for r in found.repeats] == [("Beto", "payouts", 2)]
    with Session(built.engine) as session:
        matcher = built.kb.matcher()
        assert repeats.repeat_flag(session, 1, days=10, matcher=matcher) is None
        assert repeats.repeat_flag(session, 2, days=10, matcher=matcher) == repeats.RepeatFlag(
            2, 10, "payouts"
        )
    assert window(built, repeat_days=0).total.repeat_contacts == 0


def test_contact_numbers_count_only_the_window() -> None:
    def contact(case: int, day: int, topic: str = "payouts") -> repeats.Contact:
        return repeats.Contact(case, 7, history.at(0, 9) + timedelta(days=day), topic)

    contacts = [contact(1, 0), contact(2, 4), contact(3, 9), contact(4, 9, "gifts"), contact(5, 18)]
    assert repeats.contact_numbers(contacts, 10) == {1: 1, 2: 2, 3: 3, 4: 1, 5: 2}
    assert repeats.contact_numbers(contacts, 3) == {1: 1, 2: 1, 3: 1, 4: 1, 5: 1}


def test_kb_gaps_cluster_what_the_kb_cannot_answer(built: Puente) -> None:
    with Session(built.engine) as session:
        found = gaps.kb_gaps(session, history.MONDAY, history.NOW, built.kb.matcher())
    summary = {(c.locale, c.label): (c.count, c.escalated) for c in found}
    # carla's virtual pet and beto's withdrawal were each asked by one creator: their cases
    assert summary == {("es", "cómo cambio el color del gato virtual"): (2, 0)}
    with Session(built.engine) as session:  # closed: an open one would block DROP SCHEMA
        questions = gaps.gap_questions(session, history.MONDAY, history.NOW, built.kb.matcher())
    everything = gaps.cluster(questions)
    pet = next(c for c in everything if c.locale == "en")
    assert set(pet.examples) == {"can I rename my virtual pet", "how do I rename the virtual pet"}
    assert pet.creators == 1
    asked = " ".join(c.label for c in found)
    assert "persona" not in asked and "/agente" not in asked and "csat" not in asked
    assert "diamantes" not in asked  # answered by the KB


def test_clusters_keep_different_topics_apart() -> None:
    questions = [
        gaps.GapQuestion("no puedo cambiar mi foto de perfil", "es", False),
        gaps.GapQuestion("no puedo cambiar la foto del perfil", "es", True),
        gaps.GapQuestion("quiero regalar puntos a otro creador", "es", False),
    ]
    found = gaps.cluster(questions)
    assert [(c.count, c.escalated) for c in found] == [(2, 1), (1, 0)]
    assert found[1].label == "quiero regalar puntos a otro creador"


def test_gap_examples_never_carry_secrets() -> None:
    questions = [
        gaps.GapQuestion("mi tarjeta 4111 1111 1111 1111 no sirve para cobrar", "es", False)
    ]
    (found,) = gaps.cluster(questions)
    assert "4111 1111 1111 1111" not in found.label + " ".join(found.examples)


def test_the_same_figures_on_postgres(pg_engine: Engine, clock: FakeClock) -> None:
    puente = Puente(engine=pg_engine, kb=KbSource(path=SHIPPED_KB, engine=pg_engine), clock=clock)
    history.build(puente, clock)
    found = window(puente)
    total = found.total
    assert (total.conversations, total.deflected, total.escalations) == (5, 1, 3)
    assert (total.sla_met, total.sla_counted, total.repeat_contacts) == (1, 3, 1)
    assert total.first_response_p50 == pytest.approx(5.25 * HOUR)
    assert [d.escalations["P3"] for d in found.days] == [1, 2, 0]
    with Session(pg_engine) as session:
        assert len(gaps.kb_gaps(session, history.MONDAY, history.NOW, puente.kb.matcher())) == 1


def test_a_gap_scan_can_be_limited_to_the_newest_messages(built: Puente) -> None:
    with Session(built.engine) as session:
        matcher = built.kb.matcher()
        newest = gaps.gap_questions(session, history.MONDAY, history.NOW, matcher, limit=2)
    # the newest two creator messages: Carla's survey answer, then Eva's question
    assert [q.text for q in newest] == ["como cambio el color del gato virtual??"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(max_size=200), st.sampled_from(["es", "en"]), st.booleans()), max_size=12
    )
)
def test_any_questions_cluster_without_losing_one(raw: list[tuple[str, str, bool]]) -> None:
    questions = [gaps.GapQuestion(text, locale, escalated) for text, locale, escalated in raw]
    found = gaps.cluster(questions)
    kept = [q for q in questions if gaps._normal(q)]
    assert sum(c.count for c in found) == len(kept)
    assert sum(c.escalated for c in found) == sum(q.escalated for q in kept)
    assert all(c.examples and len(c.examples) <= gaps.MAX_EXAMPLES for c in found)
    assert latest_question([text for text, _, _ in raw]) in {"", *(t for t, _, _ in raw)}
