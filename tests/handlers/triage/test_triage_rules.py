"""The shipped triage rules on their own (no sentence encoder): threats of bodily harm page,
everyday talk with the same verbs does not.

Messages are written for these tests, not taken from the dev set. The rules-only triager is
what still pages when the example reader is unsure, so these phrasings must not depend on it.
"""

from __future__ import annotations

import pytest

from handlers.kb.matching.semantic import SentenceEncoder
from handlers.triage.classifier import Triager
from handlers.triage.learned import shipped


@pytest.fixture(scope="module")
def rules() -> Triager:
    return shipped(None)


@pytest.fixture(scope="module")
def reader() -> Triager:
    return shipped(SentenceEncoder())


@pytest.mark.parametrize(
    "text",
    [
        "mi ex me manda audios de que me va a dejar la cara marcada",
        "un viewer me escribió que me va a desfigurar con una navaja",
        "dice que me van a romper las costillas a la salida del evento",
        "me amenazó con ir a mi trabajo y acuchillarme delante de todos",
        "ese tipo va a venir con sus primos a molerme a palos",
        "me espera en la esquina para cagarme a trompadas",
        "un hater jura que me van a echar ácido",
        "me dijeron que me van a tirar desde la azotea de mi edificio",
        "te vamos a quemar viva, ya sabemos tu horario",
        "dicen que vas a aparecer muerta en una zanja",
        "he said he's gonna break my jaw at the meetup",
        "a stalker messaged that he will throw acid on me",
        "el man dijo que me va a break your legs bro",
        "threat messages saying i'll be found dead next week",
    ],
)
def test_threats_of_bodily_harm_page_on_the_rules_alone(rules: Triager, text: str) -> None:
    verdict = rules.classify(text)
    assert (verdict.priority, verdict.category) == ("P1", "violent_threat")
    assert any(reason.key.startswith("triage_reason_threat") for reason in verdict.reasons)


@pytest.mark.parametrize(
    "text",
    [
        "me voy a romper la cabeza pensando el guion de mañana",
        "los tacones me van a romper los pies, qué dolor",
        "esta coreografía me va a romper las piernas jaja",
        "mi tía me va a matar a besos cuando me vea",
        "mi perrito me va a matar de ternura",
        "te vamos a reventar en la batalla de esta noche",
        "ese filtro te deja desfigurada jajaja",
        "me voy a morir de los nervios antes del evento",
        "mi novio me va a matar cuando vea lo que gasté en rosas",
        "that filter makes your face look disfigured lol",
        "break a leg at your first live tonight!",
    ],
)
def test_everyday_talk_with_the_same_verbs_is_not_a_threat(rules: Triager, text: str) -> None:
    assert rules.classify(text).priority != "P1"


@pytest.mark.parametrize(
    "text",
    [
        "me duele todo de tanto bailar, me voy a morir jaja",
        "mi gato me va a matar de ternura, miren",
        "la abuela me va a matar a abrazos",
    ],
)
def test_joking_about_dying_or_killing_pages_no_one_with_the_examples(
    reader: Triager, text: str
) -> None:
    assert reader.classify(text).priority != "P1"


@pytest.mark.parametrize(
    "text",
    [
        "me tienen harta con los errores, me voy a otra plataforma",
        "ya no aguanto más esta aplicación, me voy para siempre",
        "i'm leaving this app, support never answers",
    ],
)
def test_leaving_the_platform_is_a_complaint_not_a_farewell(reader: Triager, text: str) -> None:
    assert reader.classify(text).priority != "P1"


@pytest.mark.parametrize(
    "text", ["me voy de esta app y de este mundo", "ya no aguanto más, me voy para siempre"]
)
def test_leaving_the_world_still_pages(rules: Triager, text: str) -> None:
    verdict = rules.classify(text)
    assert (verdict.priority, verdict.category) == ("P1", "self_harm")


def test_wishing_a_good_moment_lasted_forever_is_not_a_cue(reader: Triager) -> None:
    assert reader.classify("ojalá esta noche de live dure para siempre").priority != "P1"


@pytest.mark.parametrize(
    "text",
    [
        "una empresa me quiere llevar a juicio por un video",
        "me van a demandar por poner una canción en el live",
        "this label is threatening to sue me over my stream",
    ],
)
def test_being_sued_is_legal_on_the_rules_alone(rules: Triager, text: str) -> None:
    assert (rules.classify(text).priority, rules.classify(text).category) == ("P2", "legal")


def test_being_locked_out_by_someone_else_is_a_cue_of_intrusion(rules: Triager) -> None:
    cues = rules._matches(rules.cues, "me sacaron de mi cuenta y no tengo acceso al correo")
    assert [category for category, _ in cues] == ["account_compromise"]


@pytest.mark.parametrize(
    "text",
    [
        "me hago daño cuando leo los comentarios",
        "me voy a tirar de la azotea, ya no soporto más",
        "me quiero aventar del puente de la avenida",
    ],
)
def test_self_injury_and_a_jump_page_on_the_rules_alone(rules: Triager, text: str) -> None:
    verdict = rules.classify(text)
    assert (verdict.priority, verdict.category) == ("P1", "self_harm")


@pytest.mark.parametrize(
    "text",
    [
        "me hice daño en la rodilla bailando",
        "ya no puedo más con tanto trabajo, necesito vacaciones",
        "no puedo más de la risa con este chat",
    ],
)
def test_everyday_tiredness_and_injuries_page_no_one(reader: Triager, text: str) -> None:
    assert reader.classify(text).priority != "P1"


@pytest.mark.parametrize(
    "text",
    [
        "me tienen abandonada, escribo y escribo y nadie contesta",
        "me tienen olvidada, mando mensajes y mensajes y nadie responde",
    ],
)
def test_nobody_answering_is_not_a_threat(reader: Triager, text: str) -> None:
    assert reader.classify(text).priority != "P1"


def test_hurting_oneself_in_english_pages_on_the_rules_alone(rules: Triager) -> None:
    verdict = rules.classify("i keep hurting myself when the hate comments start")
    assert (verdict.priority, verdict.category) == ("P1", "self_harm")


@pytest.mark.parametrize(
    "text",
    ["i'm so hungry i could die lol", "my son is 8 and wants to be in my lives, is that ok?"],
)
def test_english_hyperbole_and_own_kids_page_no_one(reader: Triager, text: str) -> None:
    assert reader.classify(text).priority != "P1"
