"""The crisis reply gives real help: a line for the creator's country, or the lines of the main
Spanish-speaking countries when their country is unknown; never a placeholder."""

from __future__ import annotations

import re

import pytest

from handlers.api import Puente
from handlers.triage.classifier import Rule, Triager
from handlers.triage.safety import crisis_file, crisis_lines
from tests.conftest import Creator


@pytest.fixture
def triaged(puente: Puente) -> Puente:
    rules = [Rule("self_harm", "intent", (re.compile(r"\btermino con todo\b"),))]
    puente.triager = Triager(rules, [], examples=[])
    return puente


def test_every_line_names_where_its_number_is_published() -> None:
    lines = {code: entry for code, entry in crisis_lines().items() if code != "DEFAULT"}
    assert len(lines) >= 8
    for code, entry in lines.items():
        assert entry.get("phone") and entry.get("source"), code
    assert set(crisis_file()["unknown_country"]) <= set(lines)


@pytest.mark.parametrize("locale", ["es", "en"])
def test_an_unknown_country_gets_the_main_lines_not_a_placeholder(
    triaged: Puente, locale: str
) -> None:
    result = Creator(triaged, locale=locale).says("ya no puedo mas, hoy termino con todo")
    (reply,) = result.replies
    for number in ("800 911 2000", "024", "135", "106", "*4141", "113", "988"):
        assert number in reply.text, number
    placeholder = ("línea de ayuda: el número de emergencias", "help line: your country's")
    assert not any(p in reply.text for p in placeholder)
    assert "México" in reply.text or "Mexico" in reply.text
    assert "/a" not in reply.text and "/o" not in reply.text


def test_a_known_country_gets_its_own_line_only(triaged: Puente) -> None:
    (reply,) = Creator(triaged, locale="es-AR").says("termino con todo").replies
    assert "135" in reply.text and "800 911 2000" not in reply.text
    assert "solo/a" not in reply.text
