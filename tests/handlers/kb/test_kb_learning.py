"""Learning from production: a creator's wording, tied to an article by their pick or by an
agent's send, waits for review; once approved it answers the next creator without a restart."""

from __future__ import annotations

import io
import json

import pytest
from sqlmodel import Session, select

from bot.cli import main
from handlers.api import Puente
from handlers.common.utc import utcnow
from handlers.contract.actions import AgentAction, AgentActionKind
from handlers.contract.priority import Priority
from handlers.kb import variants
from handlers.kb.articles import Article, KnowledgeBase
from handlers.kb.matching.matcher import MatchPolicy
from handlers.kb.source import SHIPPED_KB, KbSource
from handlers.storage.models import (
    Direction,
    KbVariant,
    Message,
    Sender,
    VariantSource,
    VariantStatus,
)
from tests.conftest import Creator

WORDING = "el zorblax del glorp no me deja sacar la llave"
OTHER = "mi flumpo de transmision pide un codigo raro"
ARTICLE = "stream-key"


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def live(puente: Puente, ticks: Ticks, monkeypatch: pytest.MonkeyPatch) -> Puente:
    puente.kb = KbSource(path=SHIPPED_KB, engine=puente.engine, check_every=2.0, clock=ticks)
    monkeypatch.setenv("DATABASE_URL", str(puente.engine.url))
    monkeypatch.setenv("PUENTE_SEMANTIC", "false")
    monkeypatch.setenv("PUENTE_TRIAGE", "false")
    return puente


def stored(puente: Puente) -> list[KbVariant]:
    with Session(puente.engine) as session:
        return list(session.exec(select(KbVariant).order_by(KbVariant.id)).all())  # type: ignore[arg-type]


def listed(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    assert main(["kb", "review", "--list", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return [line for line in lines if line["kind"] == "variant"]


def pick(creator: Creator, wording: str, article: str = ARTICLE) -> None:
    creator.says(wording)
    reply = creator.says("kb:" + article)
    assert reply.replies[0].article_id == article


def test_a_pick_stores_the_wording_before_it_as_pending(live: Puente) -> None:
    ana = Creator(live, chat_id="ana")
    pick(ana, WORDING)
    pick(ana, WORDING)  # the same wording again: one variant
    [variant] = stored(live)
    assert (variant.article_id, variant.locale, variant.text) == (ARTICLE, "es", WORDING)
    assert variant.status is VariantStatus.PENDING and variant.source is VariantSource.PICK
    assert live.kb.matcher().match(WORDING, "es").article_id != ARTICLE  # pending: not used


def test_approved_wording_answers_the_next_creator_without_restart(
    live: Puente, ticks: Ticks, capsys: pytest.CaptureFixture[str]
) -> None:
    pick(Creator(live, chat_id="ana"), WORDING)
    before = Creator(live, chat_id="beto").says(WORDING)
    assert before.replies[0].article_id != ARTICLE
    [item] = listed(capsys)
    assert item["text"] == WORDING and item["article_id"] == ARTICLE

    assert main(["kb", "review", "--approve", str(item["id"])]) == 0
    assert "1" in capsys.readouterr().out
    ticks.now += 2.0  # the KB's next reload check, not a restart
    after = Creator(live, chat_id="carla").says(WORDING)
    assert after.replies[0].article_id == ARTICLE
    assert listed(capsys) == []


def test_reject_and_bulk_approve(live: Puente, capsys: pytest.CaptureFixture[str]) -> None:
    pick(Creator(live, chat_id="ana"), WORDING)
    pick(Creator(live, chat_id="beto"), OTHER)
    pick(Creator(live, chat_id="carla"), "otra forma de preguntar por el sonido", "live-audio")
    first, *_ = listed(capsys)
    assert main(["kb", "review", "--reject", str(first["id"])]) == 0
    capsys.readouterr()
    assert len(listed(capsys)) == 2
    assert main(["kb", "review", "--approve", "variants"]) == 0
    capsys.readouterr()
    statuses = [v.status for v in stored(live)]
    assert statuses == [VariantStatus.REJECTED, VariantStatus.APPROVED, VariantStatus.APPROVED]
    assert main(["kb", "review", "--approve", "v999"]) == 2  # nothing pending by that id


def test_agent_sending_an_article_learns_the_creators_wording(live: Puente) -> None:
    dani = Creator(live, chat_id="dani")
    dani.says(OTHER)
    dani.says("/agente")
    live.handle_agent_action(AgentAction(AgentActionKind.TAKE, 1, "U1"))
    live.handle_agent_action(AgentAction(AgentActionKind.SEND_ARTICLE, 1, "U1", article_id=ARTICLE))
    [variant] = stored(live)
    assert (variant.text, variant.source, variant.article_id) == (
        OTHER,
        VariantSource.AGENT,
        ARTICLE,
    )


@pytest.mark.parametrize("priority", [Priority.P1, Priority.P2])
def test_crisis_words_never_become_variants(live: Puente, priority: Priority) -> None:
    with Session(live.engine) as session:
        message = _inbound(session, WORDING, priority)
        learned = variants.learn(
            session, message, article_id=ARTICLE, locale="es",
            source=VariantSource.PICK, now=utcnow(),
        )  # fmt: skip
        assert learned is None
        calm = _inbound(session, WORDING, Priority.P3)
        assert variants.learn(
            session, calm, article_id=ARTICLE, locale="es",
            source=VariantSource.PICK, now=utcnow(),
        ) is not None  # fmt: skip


@pytest.mark.parametrize("text", ["kb:stream-key", "/agente", "2", "hola", "   "])
def test_picks_commands_and_single_words_are_not_wordings(text: str) -> None:
    assert variants.learnable(text) is None


def _inbound(session: Session, text: str, priority: Priority) -> Message:
    return Message(
        conversation_id=0,
        direction=Direction.IN,
        sender=Sender.CREATOR,
        text=text,
        priority=priority.value,
    )


def test_learned_words_never_become_a_buttons_label() -> None:
    kb = KnowledgeBase({"a": Article("a", "", {"es": ("¿Cómo saco la clave?",)}, {"es": "x"})})
    learned = variants.Learned({("a", "en"): ("how do i get the key",), ("a", "es"): ("la key",)})
    article = learned.applied_to(kb).get("a")
    assert article is not None
    assert article.title("en") == article.title("es") == "¿Cómo saco la clave?"
    assert "how do i get the key" in article.questions["en"]
    assert "la key" in article.questions["es"]
    assert kb.get("a").questions == {"es": ("¿Cómo saco la clave?",)}  # type: ignore[union-attr]


def test_interactive_review_approves_and_rejects_one_at_a_time(
    live: Puente, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pick(Creator(live, chat_id="ana"), WORDING)
    pick(Creator(live, chat_id="beto"), OTHER)
    assert main(["kb", "review", "--list"]) == 0
    shown = capsys.readouterr().out
    assert WORDING in shown and OTHER in shown and "No hay nada pendiente" not in shown
    monkeypatch.setattr("sys.stdin", io.StringIO("a\nr\n"))
    assert main(["kb", "review"]) == 0
    assert [v.status for v in stored(live)] == [VariantStatus.APPROVED, VariantStatus.REJECTED]


def test_picking_an_offered_button_by_its_number_learns_the_question(
    puente: Puente,
) -> None:
    puente.kb = KbSource(
        path=SHIPPED_KB, engine=puente.engine, policy=MatchPolicy(answer_threshold=101,
        clarify_threshold=10),
    )  # fmt: skip
    ana = Creator(puente, chat_id="ana")
    offered = ana.says("quiero retirar mis diamantes ya")
    first = offered.replies[0].suggestions[0].payload.removeprefix("kb:")
    picked = ana.says("1")
    assert picked.replies[0].article_id == first
    [variant] = stored(puente)
    assert (variant.text, variant.article_id) == ("quiero retirar mis diamantes ya", first)
