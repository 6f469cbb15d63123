from __future__ import annotations

import string
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from handlers.common.i18n import LOCALES_DIR, SUPPORTED_LOCALES, negotiate, translator
from tests.conftest import REPO


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("es-MX", "es"),
        ("es_AR", "es"),
        ("en-US", "en"),
        ("EN", "en"),
        ("pt-BR", "es"),
        ("klingon!!", "es"),
        ("", "es"),
        (None, "es"),
        (42, "es"),
    ],
)
def test_negotiation(hint: object, expected: str) -> None:
    assert negotiate(hint) == expected


def catalog(lang: str):  # type: ignore[no-untyped-def]
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def extracted_ids(tmp_path: Path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-o", str(pot), "--no-location", "."],
        cwd=REPO, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as handle:
        return {m.id for m in read_po(handle) if m.id}


def test_catalogs_match_the_source(tmp_path: Path) -> None:
    in_source = extracted_ids(tmp_path)
    assert len(in_source) > 20
    for lang in SUPPORTED_LOCALES:
        in_catalog = {m.id for m in catalog(lang) if m.id}
        assert in_catalog == in_source, f"{lang}: catalog ids differ (see docs/development.md)"


@pytest.mark.parametrize("lang", SUPPORTED_LOCALES)
def test_catalog_is_complete(lang: str) -> None:
    for message in catalog(lang):
        if message.id:
            assert message.string, f"{lang}: {message.id} is untranslated"
            assert not message.fuzzy, f"{lang}: {message.id} is fuzzy"


@pytest.mark.parametrize("lang", SUPPORTED_LOCALES)
def test_compiled_catalog_is_fresh(lang: str) -> None:
    mo_path = LOCALES_DIR / lang / "LC_MESSAGES" / "messages.mo"
    assert mo_path.exists(), f"{lang}: run pybabel compile (see docs/development.md)"
    with mo_path.open("rb") as handle:
        compiled = {m.id: m.string for m in read_mo(handle) if m.id}
    source = {m.id: m.string for m in catalog(lang) if m.id}
    assert compiled == source, f"{lang}: messages.mo is stale; run pybabel compile"


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_placeholders_match_across_locales_and_render() -> None:
    spanish = {m.id: m.string for m in catalog("es") if m.id}
    english = {m.id: m.string for m in catalog("en") if m.id}
    for msgid, text in spanish.items():
        names = placeholders(text)
        assert names == placeholders(english[msgid]), msgid
        for lang in SUPPORTED_LOCALES:
            rendered = translator(lang).gettext(msgid, **dict.fromkeys(names, "X"))
            assert "{" not in rendered, (lang, msgid)


def test_spanish_and_english_differ_and_are_loaded() -> None:
    assert translator("es").gettext("talk_to_agent") == "Hablar con un agente"
    assert translator("en").gettext("talk_to_agent") == "Talk to an agent"


def test_babel_formats_in_the_creators_locale() -> None:
    moment = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)
    assert translator("es").number(1234567.5) == "1.234.567,5"
    assert translator("en").number(1234567.5) == "1,234,567.5"
    assert "nov 2026" in translator("es").datetime(moment)
    assert "Nov 25, 2026" in translator("en").datetime(moment)
    assert translator("es").datetime(moment, "America/Mexico_City").endswith("9:30:00")
    assert translator("es").timedelta(300) == "5 minutos"
    assert translator("en").timedelta(300) == "5 minutes"
