"""The learning loop: drafts and missing topics reviewed with `puente kb review`; an approved
article answers the next creator without a restart."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from bot import cli_insights
from bot.cli import main
from handlers.api import Puente
from handlers.common.i18n import translator
from handlers.contract.actions import AgentActionKind
from handlers.kb import gaps
from handlers.kb import review as kb_review
from handlers.kb.source import SHIPPED_KB, KbSource
from handlers.storage.models import KbArticle, KbGapDismissal
from tests import insights_history as history
from tests.conftest import Creator, FakeClock

UNTIL = ["--until", "2026-11-25T15:00:00", "--since", "7d"]
PET_ANSWER = "Open your pet's profile and tap the pencil next to its name."


class Ticks:
    """A monotonic clock for the KB's reload checks."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def built(
    puente: Puente, clock: FakeClock, ticks: Ticks, monkeypatch: pytest.MonkeyPatch
) -> Puente:
    puente.kb = KbSource(path=SHIPPED_KB, engine=puente.engine, check_every=2.0, clock=ticks)
    history.build(puente, clock)
    history.act(
        puente, AgentActionKind.SAVE_KB, 3,
        question="can I rename my virtual pet | how do I rename my pet", text=PET_ANSWER,
        category="features",
    )  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", str(puente.engine.url))
    monkeypatch.setenv("PUENTE_SEMANTIC", "false")
    monkeypatch.setenv("PUENTE_TRIAGE", "false")
    return puente


def listed(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    assert main(["kb", "review", "--list", "--json", *UNTIL]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_approving_a_draft_answers_the_next_creator_without_restart(
    built: Puente, ticks: Ticks, capsys: pytest.CaptureFixture[str]
) -> None:
    carla = Creator(built, locale="en", chat_id="carla-2")
    assert built.kb.matcher().match("can I rename my virtual pet", "en").article_id is None
    items = listed(capsys)
    draft = next(i for i in items if i["kind"] == "draft")
    assert draft["case"] == 3 and draft["answer"] == PET_ANSWER and draft["locale"] == "en"

    assert main(["kb", "review", "--approve", str(draft["id"]), *UNTIL]) == 0
    assert "case-3" in capsys.readouterr().out
    ticks.now += 2.0  # the next reload check, not a restart
    reply = carla.says("can I rename my virtual pet")
    assert reply.replies[0].text == PET_ANSWER and reply.replies[0].article_id == "case-3"
    remaining = listed(capsys)
    assert not [i for i in remaining if i["kind"] == "draft"]
    assert "can I rename my virtual pet" not in [i.get("label") for i in remaining]


def test_approving_a_gap_writes_an_article_from_its_wordings(
    built: Puente, ticks: Ticks, capsys: pytest.CaptureFixture[str]
) -> None:
    gap = next(
        i for i in listed(capsys) if i.get("label") == "cómo cambio el color del gato virtual"
    )
    answer = "Entra al perfil de tu gato virtual y toca «Color»."
    args = ["--approve", str(gap["id"]), "--answer", answer, "--category", "features"]
    assert main(["kb", "review", *args, *UNTIL]) == 0
    ticks.now += 2.0
    reply = Creator(built, chat_id="fede").says("como cambio el color de mi gato virtual")
    assert reply.replies[0].text == answer
    with Session(built.engine) as session:
        article = session.exec(select(KbArticle).where(KbArticle.answer == answer)).one()
    assert article.published and article.locale == "es" and article.category == "features"
    assert "el gato virtual" in article.questions


def test_rejecting_drops_a_draft_and_hides_a_gap(
    built: Puente, capsys: pytest.CaptureFixture[str]
) -> None:
    items = listed(capsys)
    draft = next(i for i in items if i["kind"] == "draft")
    gap = next(i for i in items if i["kind"] == "gap")
    assert main(["kb", "review", "--reject", str(draft["id"]), *UNTIL]) == 0
    assert main(["kb", "review", "--reject", str(gap["id"]), *UNTIL]) == 0
    assert "Rechazado" in capsys.readouterr().out
    after = {i["id"] for i in listed(capsys)}
    assert draft["id"] not in after and gap["id"] not in after and len(after) == len(items) - 2
    with Session(built.engine) as session:
        assert session.exec(select(KbArticle).where(KbArticle.source_case == 3)).first() is None
        assert session.get(KbGapDismissal, str(gap["id"])[1:]) is not None


def test_bad_reviews_get_a_clear_error(built: Puente, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "review", "--approve", "d999", *UNTIL]) == 2
    assert "d999" in capsys.readouterr().err
    gap = next(i for i in listed(capsys) if i["kind"] == "gap")
    assert main(["kb", "review", "--approve", str(gap["id"]), *UNTIL]) == 2  # no answer given
    assert "answer" in capsys.readouterr().err


def test_interactive_review_edits_then_approves(built: Puente, clock: FakeClock) -> None:
    answers = iter(["e", "can I rename my pet | rename pet", "Tap the pencil.", "s", "q"])
    with Session(built.engine) as session:
        pending = kb_review.drafts(session)
        missing = gaps.kb_gaps(session, history.MONDAY, history.NOW, built.kb.matcher())
        cli_insights._interactive(
            session, pending, missing, translator("en"), ask=lambda _: next(answers)
        )
    with Session(built.engine) as session:
        article = session.exec(select(KbArticle).where(KbArticle.article_id == "case-3")).one()
    assert article.published and article.answer == "Tap the pencil."
    assert article.questions == "can I rename my pet | rename pet"
