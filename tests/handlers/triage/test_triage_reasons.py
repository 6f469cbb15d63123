"""Triage reasons as catalog keys with values: rendering per language, storage on a case, and
the rule keys of the shipped rules file kept in step with the catalogs."""

from __future__ import annotations

import tomllib

import pytest

from bot.adapters.slack.oncall import reason_text
from handlers.common.i18n import translator
from handlers.triage.loading import DATA
from handlers.triage.reasons import (
    MAX_STORED,
    RULE_KEYS,
    VIP_RAISED,
    Reason,
    decode,
    encode,
    render,
    render_stored,
)

ES, EN = translator("es"), translator("en")
RULE = Reason("triage_reason_self_harm_intent", "me quiero matar")
CLOSE = Reason(category="child_safety", score=0.5234, example="me pide fotos")
CUED = Reason("triage_reason_cue_minor", "hermanita", "child_safety", 0.7, "tengo 14")


def test_a_rule_reason_reads_in_the_agents_language() -> None:
    assert RULE.render(ES) == "intención de quitarse la vida: 'me quiero matar'"
    assert RULE.render(EN) == "intent to kill oneself: 'me quiero matar'"


def test_the_similarity_is_formatted_for_the_locale() -> None:
    spanish, english = CLOSE.render(ES), CLOSE.render(EN)
    assert "child_safety (0,52): 'me pide fotos'" in spanish and spanish.startswith("parecido")
    assert english == "close to a labelled child_safety example (0.52): 'me pide fotos'"


def test_a_cue_reads_with_its_closest_example() -> None:
    assert CUED.render(ES) == (
        "menciona a un menor: 'hermanita', "
        "parecido a un ejemplo etiquetado de child_safety (0,70): 'tengo 14'"
    )
    assert render([RULE, Reason(VIP_RAISED)], EN).endswith("; VIP creator: P3 raised to P2")


def test_stored_reasons_round_trip_and_fit_the_column() -> None:
    stored = encode([RULE, CLOSE, CUED])
    assert decode(stored) == (RULE, CLOSE, CUED)
    assert render_stored(stored, ES) == render([RULE, CLOSE, CUED], ES)
    many = encode([Reason("triage_reason_cue_minor", "x" * 80)] * 20)
    assert len(many) <= MAX_STORED and decode(many)


@pytest.mark.parametrize(
    "old", ["creator asked for a person; VIP creator", "[not json", "[{broken", "  self_harm "]
)
def test_old_plain_text_reasons_render_as_written(old: str) -> None:
    assert decode(old.strip()) is None
    assert render_stored(old, ES) == old.strip()


def test_a_page_renders_the_cases_reason_in_the_agents_language() -> None:
    stored = f"p1|{encode([RULE])}"
    assert "intención de quitarse la vida: 'me quiero matar'" in reason_text(stored, ES)
    assert "intent to kill oneself" in reason_text(stored, EN)


def test_rule_keys_in_the_rules_file_are_the_listed_catalog_keys() -> None:
    data = tomllib.loads((DATA / "rules.toml").read_text(encoding="utf-8"))
    keys = {block["reason"] for kind in ("rule", "cue") for block in data.get(kind, [])}
    assert keys == set(RULE_KEYS)


@pytest.mark.parametrize("key", RULE_KEYS)
def test_every_rule_key_is_translated_in_both_languages(key: str) -> None:
    spanish, english = ES.gettext(key), EN.gettext(key)
    assert key not in (spanish, english) and spanish != english
