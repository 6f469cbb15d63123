"""Nothing said in crisis leaks into KB work: P1/P2 messages never become KB-gap topics nor
cells of the report's workbook; a topic needs real words and two creators; unrelated lines
are not grouped."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import Session

from handlers.api import Puente
from handlers.insights import metrics
from handlers.insights.report import build_report
from handlers.kb import gaps
from handlers.triage.classifier import Rule, Triager
from tests.conftest import Creator, FakeClock

CRISIS = "me quiero morir, ya no aguanto esta vida"
HACKED = "me hackearon y ahora piden dinero por devolverme la cuenta del juego"
MUSIC = "como pongo musica de fondo en mi live de cocina"


@pytest.fixture
def talked(puente: Puente, clock: FakeClock) -> Puente:
    rules = [
        Rule("self_harm", "intent", (re.compile(r"\bme quiero morir\b"),)),
        Rule("account_compromise", "hacked", (re.compile(r"\bhackearon\b"),)),
    ]
    puente.triager = Triager(rules, [], examples=[])
    for n, lines in enumerate(
        [
            [CRISIS, "cómo pongo música de fondo en mi live de gaming?"],
            [CRISIS + "!!"],
            [HACKED, "2"],
            [HACKED + " otra vez"],
            ["cómo pongo música de fondo en mi live de cocina?", "2"],
            [MUSIC, "que hora es alla"],
        ]
    ):
        creator = Creator(puente, chat_id=f"c{n}")
        for line in lines:
            creator.says(line)
    return puente


def found(puente: Puente, clock: FakeClock) -> list[gaps.GapCluster]:
    day = timedelta(days=1)
    with Session(puente.engine) as session:
        return gaps.kb_gaps(session, clock.now - day, clock.now + day, puente.kb.matcher())


def test_gap_topics_keep_crisis_words_out(talked: Puente, clock: FakeClock) -> None:
    topics = found(talked, clock)
    said = " ".join(" ".join(c.examples) + " " + c.label for c in topics).casefold()
    assert "morir" not in said and "hackearon" not in said
    assert [c.creators for c in topics] == [2] and "musica" in said.replace("ú", "u")
    assert all(len(c.label.split()) >= 2 for c in topics)


def test_the_workbook_quotes_no_p1_or_p2_message(
    talked: Puente, clock: FakeClock, tmp_path: Path
) -> None:
    day = timedelta(days=1)
    matcher = talked.kb.matcher()
    with Session(talked.engine) as session:
        figures = metrics.metrics(session, clock.now - day, clock.now + day, matcher=matcher)
    path = build_report(figures, found(talked, clock), tmp_path / "r.xlsx", "es")
    cells = [
        str(cell)
        for sheet in load_workbook(path).worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if cell is not None
    ]
    assert any("musica" in c.casefold().replace("ú", "u") for c in cells)
    assert not any("morir" in c or "hackearon" in c for c in cells)


def test_unrelated_short_lines_are_not_grouped() -> None:
    questions = [
        gaps.GapQuestion("que hora es alla", "es", False, 1),
        gaps.GapQuestion("como cambio el nombre", "es", False, 2),
        gaps.GapQuestion("que tal todo", "es", False, 3),
    ]
    assert sorted(c.count for c in gaps.cluster(questions)) == [1, 1, 1]
