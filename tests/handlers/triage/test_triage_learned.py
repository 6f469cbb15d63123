"""The learned triager: rules need the model's assent, possible P1s wait for a person, and the
six messages of issue 15 read right when a creator types them into ``puente chat``."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session, select

from handlers.api import Puente
from handlers.contract.actions import AgentAction, AgentActionKind
from handlers.storage.models import Escalation, Page
from handlers.triage.classifier import Rule, Triage
from handlers.triage.learned import LearnedTriager
from handlers.triage.model import Confidence, Reading, TriageModel
from handlers.triage.reasons import POSSIBLE_P1, Reason, is_possible
from tests.bot.test_cli import lines, puente
from tests.conftest import Creator

CATEGORIES = ("self_harm", "violent_threat", "harassment", "none")


class FixedModel(TriageModel):
    """A model whose P1 probability is set by the test (thresholds 0.3 and 0.7)."""

    def __init__(self, critical: float) -> None:
        super().__init__(np.zeros((4, 4)), np.zeros(4), CATEGORIES, CATEGORIES[:2], 0.3, 0.7)
        self.fixed = critical

    def read_many(self, prepared: Sequence[str], vectors: np.ndarray) -> list[Reading]:
        rest = (1 - self.fixed) / 2
        probabilities = dict(zip(CATEGORIES, (0.0, self.fixed, 0.0, rest * 2), strict=True))
        return [Reading(probabilities, self.fixed) for _ in prepared]


class FixedEncoder:
    def encode(self, text: str) -> np.ndarray:
        return np.ones(4, dtype=np.float32) / 2

    message_vector = encode


def learned(critical: float) -> LearnedTriager:
    rules = [Rule("violent_threat", "threat", (re.compile(r"\bvoy a matar\b"),))]
    return LearnedTriager(
        rules,
        [],
        [],
        FixedEncoder(),
        model=FixedModel(critical),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("critical", "text", "expected"),
    [
        (0.9, "voy a matar a ese tipo", ("P1", Confidence.CONFIDENT)),
        (0.2, "voy a matar a ese tipo", ("P1", Confidence.CONFIDENT)),
        (0.06, "voy a matar a ese tipo", ("P1", Confidence.CONFIDENT)),
        (0.03, "voy a matar a ese tipo", ("P1", Confidence.POSSIBLE)),
        (0.01, "voy a matar a ese tipo", ("P4", Confidence.CONFIDENT)),
        (0.2, "voy a matar a mi primo si me gana otra vez jajaja", ("P4", Confidence.CONFIDENT)),
        (0.9, "cualquier cosa sin la regla", ("P1", Confidence.CONFIDENT)),
        (0.4, "cualquier cosa sin la regla", ("P1", Confidence.POSSIBLE)),
        (0.1, "cualquier cosa sin la regla", ("P4", Confidence.CONFIDENT)),
    ],
)
def test_rules_and_model_decide_together(critical: float, text: str, expected: tuple) -> None:
    verdict = learned(critical).classify(text)
    assert (verdict.priority, verdict.confidence) == expected
    marked = any(r.key == POSSIBLE_P1 for r in verdict.reasons)
    assert marked == (verdict.confidence is Confidence.POSSIBLE)


class Scripted:
    """A triager that says what the test wants."""

    def __init__(self, confidence: Confidence) -> None:
        reasons = (Reason(POSSIBLE_P1),) if confidence is Confidence.POSSIBLE else ()
        self.verdict = Triage("P1", "self_harm", (*reasons, Reason("seen")), confidence)

    def classify(self, text: str, *, vip: bool = False) -> Triage:
        return self.verdict

    def learn(self, text: str, category: str) -> None:
        return None


def pages(puente_: Puente) -> list[Page]:
    with Session(puente_.engine) as session:
        return list(session.exec(select(Page)).all())


@pytest.mark.parametrize("confidence", [Confidence.POSSIBLE, Confidence.CONFIDENT])
def test_a_possible_p1_waits_for_a_person_and_pages_once_confirmed(
    puente: Puente, confidence: Confidence
) -> None:
    puente.triager = Scripted(confidence)  # type: ignore[assignment]
    Creator(puente).says("algo que el modelo no tiene claro")
    with Session(puente.engine) as session:
        (case,) = session.exec(select(Escalation)).all()
    assert case.priority == "P1"
    assert is_possible(case.reason) == (confidence is Confidence.POSSIBLE)
    assert bool(pages(puente)) == (confidence is Confidence.CONFIDENT)
    if confidence is Confidence.POSSIBLE:
        action = AgentAction(AgentActionKind.RECLASSIFY, case.id or 0, "U1", category="self_harm")
        puente.handle_agent_action(action)
        assert pages(puente)
        with Session(puente.engine) as session:
            assert not is_possible(session.get(Escalation, case.id).reason)  # type: ignore[union-attr]


ISSUE_15 = [
    (
        "un viewer me exige q le mande regalos grandes en su live o le manda mis fotos privadas "
        "a mis papas",
        "P1",
    ),
    (
        "un tío me ha escrito por privado: 'sé dónde vivís tú y tu madre en La Laguna, el sábado "
        "os hago una visita y no salís enteras'. ¿qué hago?",
        "P1",
    ),
    (
        "causa vi un live donde unos niños chiquitos están solos y en los comentarios les piden "
        "q se quiten la camiseta, cómo lo paro?",
        "P1",
    ),
    (
        "urgente!! una chica que siempre entra a mi live escribió en el chat que cuando termine "
        "se tira del balcón…",
        "P1",
    ),
    (
        "voy a matar a mi marido como me vuelva a desenchufar el router en mitad del directo "
        "jajaja",
        None,
    ),
    (
        "la coreografia de hoy me mato, quede muerta 😵 alguien sabe si se puede guardar el live?",
        None,
    ),
]


@pytest.mark.parametrize(("text", "priority"), ISSUE_15)
def test_the_messages_of_issue_15_read_right_in_puente_chat(
    tmp_path: Path, text: str, priority: str | None
) -> None:
    chat = puente(tmp_path, "chat", stdin=lines(text))
    assert chat.returncode == 0, chat.stderr
    tickets = puente(tmp_path, "tickets", "--json")
    opened = [json.loads(line) for line in tickets.stdout.splitlines() if line.strip()]
    if priority is None:
        assert all(case["priority"] != "P1" for case in opened), opened
    else:
        assert [case["priority"] for case in opened] == [priority]
        assert not is_possible(opened[0]["reason"])  # these page


def test_puente_triage_says_how_sure_it_is(tmp_path: Path) -> None:
    texts = ["esta noche termino con todo, ya escribí la carta", "me quiero matar", "hola"]
    done = puente(tmp_path, "triage", stdin=lines(*(json.dumps({"text": t}) for t in texts)))
    assert done.returncode == 0, done.stderr
    verdicts = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(v["priority"], v["confidence"]) for v in verdicts] == [
        ("P1", "confident"),
        ("P1", "confident"),
        ("P4", "confident"),
    ]
