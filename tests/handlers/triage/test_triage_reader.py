"""The triage readers: the weighted nearest-example vote, cue words, windows, shipped data.

The shipped-data tests use messages written for these tests (not dev-set lines) and the real
sentence encoder; the vote tests build neighbourhoods by hand. The KB tests calm the triager
with a small KB written here, wired as ``bot.app`` wires the live one.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.app import kb_questions
from handlers.kb.matching.semantic import SentenceEncoder
from handlers.kb.source import KbSource
from handlers.triage.classifier import (
    CRITICAL_SIMILARITY,
    CUED_SHARE,
    KB_QUESTION,
    UNANIMOUS_SIMILARITY,
    WINDOW_CHARS,
    Neighbourhood,
    Triager,
    critical_vote,
    cued_vote,
    load_cues,
    load_examples,
    load_rules,
    windows,
)
from handlers.triage.learned import shipped
from handlers.triage.reasons import Reason

CLOSE = CRITICAL_SIMILARITY + 0.05
LOOSE = CRITICAL_SIMILARITY - 0.02


def hood(votes: dict[str, float], similarity: dict[str, float]) -> Neighbourhood:
    return Neighbourhood(votes, {c: (s, f"an example of {c}") for c, s in similarity.items()})


def test_a_close_mostly_critical_neighbourhood_reads_critical() -> None:
    near = hood({"self_harm": 1.0, "sextortion": 0.2, "none": 0.6}, {"self_harm": CLOSE})
    assert critical_vote(near) == "self_harm"


def test_an_outvoted_or_loose_critical_neighbour_does_not() -> None:
    outvoted = hood({"self_harm": 0.4, "none": 1.0}, {"self_harm": CLOSE, "none": CLOSE + 0.1})
    loose = hood({"violent_threat": 1.0, "none": 0.5}, {"violent_threat": LOOSE})
    assert critical_vote(outvoted) is None
    assert critical_vote(loose) is None


def test_a_unanimous_neighbourhood_may_be_a_little_further() -> None:
    unanimous = hood({"child_safety": 1.0}, {"child_safety": UNANIMOUS_SIMILARITY + 0.01})
    split = hood({"child_safety": 1.0, "none": 0.8}, {"child_safety": UNANIMOUS_SIMILARITY + 0.01})
    assert critical_vote(unanimous) == "child_safety"
    assert critical_vote(split) is None


def test_the_category_with_most_weight_wins_among_critical_ones() -> None:
    near = hood(
        {"sextortion": 0.5, "child_safety": 0.9, "none": 0.1},
        {"sextortion": CLOSE + 0.05, "child_safety": CLOSE},
    )
    assert critical_vote(near) == "child_safety"


def test_a_cue_tips_a_critical_leaning_neighbourhood_with_both_reasons() -> None:
    cue = ("violent_threat", Reason("triage_reason_cue_violence", "pistola"))
    share = CUED_SHARE + 0.05
    leaning = hood(
        {"violent_threat": share, "harassment": 1 - share},
        {"violent_threat": CLOSE, "harassment": CLOSE + 0.1},
    )
    assert critical_vote(leaning) is None
    category, reason = cued_vote(leaning, [cue]) or ("", Reason())
    assert category == "violent_threat"
    assert (reason.key, reason.quote) == ("triage_reason_cue_violence", "pistola")
    assert reason.category == "violent_threat"
    assert reason.example == "an example of violent_threat" and reason.score == CLOSE


def test_a_cue_alone_or_in_a_calm_neighbourhood_pages_no_one() -> None:
    cue = ("violent_threat", Reason("triage_reason_cue_violence", "pistola"))
    calm = hood({"violent_threat": 0.05, "none": 0.95}, {"violent_threat": CLOSE, "none": CLOSE})
    far = hood({"violent_threat": 0.5, "none": 0.5}, {"violent_threat": LOOSE, "none": LOOSE})
    leaning = hood({"violent_threat": 0.5, "none": 0.5}, {"violent_threat": CLOSE})
    assert cued_vote(calm, [cue]) is None
    assert cued_vote(far, [cue]) is None
    assert cued_vote(leaning, []) is None


def test_short_messages_have_no_windows() -> None:
    assert windows("ya no puedo más") == []


def test_long_messages_are_read_sentence_by_sentence_and_in_pairs() -> None:
    sentences = [f"Esta es la frase número {n} de una historia larga." for n in range(6)]
    text = " ".join(sentences)
    found = windows(text)
    assert len(text) > WINDOW_CHARS
    assert all(s in found for s in sentences)
    assert f"{sentences[3]} {sentences[4]}" in found
    assert text not in found


@pytest.fixture(scope="module")
def reader() -> Triager:
    return shipped(SentenceEncoder())


@pytest.mark.parametrize(
    "text",
    [
        "me muero de risa con el chat 😂",
        "este live está matando",
        "te voy a matar en el PK",
        "I'm dead 💀",
        "mi abuela me va a matar si llego tarde jaja",
        "te vamos a destrozar en la batalla de esta noche",
        "¿cómo cambio la foto de mi perfil?",
    ],
)
def test_everyday_talk_pages_no_one(reader: Triager, text: str) -> None:
    assert reader.classify(text).priority != "P1"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("vos sabés que nadie me va a extrañar cuando me vaya", "self_harm"),
        (
            "ya les dejé mis cosas a mis primos, no me van a hacer falta. "
            "gracias por todo y perdón",
            "self_harm",
        ),
        (
            "un señor le pide a mi nena de 11 que le mande fotos y que no le cuente a nadie",
            "child_safety",
        ),
        ("o me pagas 300 o le mando tus fotos íntimas a toda tu lista", "sextortion"),
        (
            "ya sé en qué calle vives y el sábado te voy a visitar con unos amigos, vas a ver",
            "violent_threat",
        ),
    ],
)
def test_critical_messages_are_p1_with_readable_reasons(
    reader: Triager, text: str, category: str
) -> None:
    verdict = reader.classify(text)
    assert (verdict.priority, verdict.category) == ("P1", category)
    assert verdict.reasons and all(text.strip() for text in verdict.texts())
    assert all(text.strip() for text in verdict.texts("es"))


PAYMENT_STORY = (
    "Buenas, les escribo por lo del pago de octubre. Ya mandé los datos del banco dos veces y "
    "me dicen que están mal. Revisé todo con mi contador y está bien. También el live de ayer "
    "se cortó tres veces. "
)


def test_a_goodbye_at_the_end_of_a_long_story_is_read_on_its_own(reader: Triager) -> None:
    goodbye = "Como sea, ya me cansé de todo, nadie va a notar que me fui."
    verdict = reader.classify(PAYMENT_STORY + goodbye)
    assert (verdict.priority, verdict.category) == ("P1", "self_harm")


@pytest.mark.parametrize(
    "ending",
    [
        "Gracias, espero su respuesta pronto, saludos a todo el equipo.",
        "Por cierto, en el live de ayer me moría de risa con el chat.",
        "Ah y mi mamá me va a matar si no cobro este mes jaja.",
    ],
)
def test_a_long_everyday_story_pages_no_one(reader: Triager, ending: str) -> None:
    assert reader.classify(PAYMENT_STORY + ending).priority != "P1"


def calmed(hood_: Neighbourhood, votes: dict[str, float], kb: float) -> Neighbourhood:
    """``hood_`` with a vote that has KB questions (the closest at similarity ``kb``) in it."""
    closest = {**hood_.closest, KB_QUESTION: (kb, "an article")}
    return Neighbourhood(hood_.votes, hood_.closest, Neighbourhood(votes, closest))


def test_a_kb_question_closer_than_any_critical_example_calms_the_vote() -> None:
    near = hood({"self_harm": 1.0, "none": 0.3}, {"self_harm": CLOSE})
    still_critical = {"self_harm": 1.0, "none": 0.3, KB_QUESTION: 0.2}
    assert critical_vote(calmed(near, still_critical, kb=CLOSE - 0.05)) == "self_harm"
    assert critical_vote(calmed(near, still_critical, kb=CLOSE + 0.01)) is None


def test_kb_questions_in_the_vote_can_outweigh_critical_examples() -> None:
    near = hood({"self_harm": 1.0, "none": 0.3}, {"self_harm": CLOSE})
    outweighed = {"self_harm": 1.0, "none": 0.3, KB_QUESTION: 0.9}
    assert critical_vote(calmed(near, outweighed, kb=CLOSE - 0.05)) is None


KB_HEADER = "id,locale,category,questions,answer\n"
GUESTS = (
    "guests,en,live,\"Why can't my friends join my live? | nobody can get into my stream as a "
    'guest","Guests need the latest app version."\n'
)
PAYOUTS = 'payouts,en,payments,"When do I get paid?","On the 15th of each month."\n'


@pytest.fixture
def kb_file(tmp_path: Path) -> Path:
    path = tmp_path / "kb.csv"
    path.write_text(KB_HEADER + GUESTS + PAYOUTS, encoding="utf-8")
    return path


@pytest.fixture
def calm_reader(reader: Triager, kb_file: Path) -> Triager:
    """A triager calmed by the questions of a small live KB, as ``bot.app`` wires it."""
    rules, idioms = load_rules()
    kb = KbSource(path=kb_file, encoder=reader.encoder, check_every=0)
    benign = kb_questions(kb)
    return Triager(rules, idioms, load_examples(), reader.encoder, load_cues(), benign=benign)


BENIGN_NEAR_SELF_HARM = "nobody can join my live"


def test_a_support_question_near_a_self_harm_example_is_not_p1_with_the_kb(
    reader: Triager, calm_reader: Triager
) -> None:
    rules, idioms = load_rules()
    examples_only = Triager(rules, idioms, load_examples(), reader.encoder, load_cues())
    assert examples_only.classify(BENIGN_NEAR_SELF_HARM).priority == "P1"  # the false alarm
    assert calm_reader.classify(BENIGN_NEAR_SELF_HARM).priority != "P1"
    assert reader.classify(BENIGN_NEAR_SELF_HARM).priority != "P1"  # the learned reader


@pytest.mark.parametrize(
    "text",
    [
        "me quiero matar",
        "nobody would notice if I ended my life tonight",
        "vos sabés que nadie me va a extrañar cuando me vaya",
        "un señor le pide a mi nena de 11 que le mande fotos y que no le cuente a nadie",
    ],
)
def test_explicit_and_example_read_alarms_still_page_with_the_kb(
    calm_reader: Triager, text: str
) -> None:
    assert calm_reader.classify(text).priority == "P1"


def test_the_benign_questions_follow_the_kb_when_it_reloads(
    calm_reader: Triager, kb_file: Path
) -> None:
    assert calm_reader.classify(BENIGN_NEAR_SELF_HARM).priority != "P1"
    kb_file.write_text(KB_HEADER + PAYOUTS, encoding="utf-8")
    os.utime(kb_file, ns=(1, 1))  # a new version whatever the file system's clock resolution
    assert calm_reader.classify(BENIGN_NEAR_SELF_HARM).priority == "P1"


ACCOUNT = (
    'password,es,account,"olvidé mi contraseña | no puedo entrar, no me acuerdo de la clave",'
    '"Toca ¿Olvidaste tu contraseña? en la pantalla de inicio."\n'
    'hacked,es,account,"me hackearon la cuenta | alguien entró a mi cuenta y no puedo entrar",'
    '"Protege tu cuenta y escríbenos."\n'
    'coins,es,gifts,"me cobraron pero no me llegaron las monedas","Espera 24 h."\n'
)


@pytest.fixture
def account_reader(reader: Triager, kb_file: Path) -> Triager:
    kb_file.write_text(KB_HEADER + ACCOUNT, encoding="utf-8")
    rules, idioms = load_rules()
    kb = KbSource(path=kb_file, encoder=reader.encoder, check_every=0)
    return Triager(
        rules, idioms, load_examples(), reader.encoder, load_cues(), benign=kb_questions(kb)
    )


FORGOT = "se me olvidó la contraseña y ya no puedo entrar"


def test_a_how_to_kb_question_closer_than_a_p2_example_calms_the_reading(
    reader: Triager, account_reader: Triager
) -> None:
    assert reader.classify(FORGOT).category == "account_compromise"  # what the examples read
    assert account_reader.classify(FORGOT).priority == "P4"


def test_questions_of_an_incident_article_calm_nothing(account_reader: Triager) -> None:
    benign = account_reader.benign()
    assert benign is not None and account_reader.encoder is not None
    assert account_reader._incident("hacked", benign)  # "me hackearon" is a P2 rule
    assert not account_reader._incident("password", benign)
    for question, calms in (("me hackearon la cuenta", False), ("olvidé mi contraseña", True)):
        scores = benign.matrix @ account_reader.encoder.encode(question)
        assert (account_reader._quiet(benign, scores) > 0.9) is calms


def test_a_p2_cue_keeps_the_reading_and_shows_in_the_reasons(account_reader: Triager) -> None:
    verdict = account_reader.classify("me cobraron monedas que yo nunca compré")
    assert (verdict.priority, verdict.category) == ("P2", "payment_fraud")
    assert verdict.reasons[0].key == "triage_reason_cue_fraud"
    assert "nunca compre" in verdict.texts("es")[0]
