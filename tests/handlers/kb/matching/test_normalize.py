"""Behaviour of the matching normaliser (handlers.kb.matching.normalize) and text hygiene
(handlers.common.text)."""

from __future__ import annotations

import tomllib

import pytest

from handlers.common.text import MAX_MATCH_CHARS, clean, fold, fold_words, has_words, storable
from handlers.kb.matching.normalize import (
    CONCEPT_PREFIX,
    LEXICON_DIR,
    Lexicon,
    Normalizer,
    normalizer,
    phonetic,
    squeeze,
)


@pytest.fixture(scope="module")
def es() -> Normalizer:
    return normalizer("es")


@pytest.fixture(scope="module")
def en() -> Normalizer:
    return normalizer("en")


def concept(name: str) -> str:
    return CONCEPT_PREFIX + name


# --- folding -------------------------------------------------------------------------------


def test_fold_casefolds_and_strips_accents() -> None:
    assert fold("¿CÓMO Retiro mis GANÁNCIAS?") == "como retiro mis ganancias"
    assert fold("Ü ö É à") == "u o e a"


def test_fold_keeps_the_enye_so_ano_and_anio_differ(es: Normalizer) -> None:
    assert fold("AÑO") == "año"
    assert fold("Año") != fold("ano")
    assert es.tokens("año") != es.tokens("ano")


def test_fold_turns_punctuation_and_emoji_into_word_breaks() -> None:
    assert fold("no me llegan!!!😭😭los regalos...") == "no me llegan los regalos"
    assert fold_words("hola,¿q tal?") == ["hola", "q", "tal"]


# --- word-level normalisation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("stretched", "plain"),
    [("holaaaa", "hola"), ("siiii", "si"), ("ayudaaaa", "ayuda"), ("regalooos", "regalos")],
)
def test_squeeze_collapses_stretched_letters(stretched: str, plain: str) -> None:
    assert squeeze(stretched) == plain


def test_squeeze_keeps_real_double_letters() -> None:
    assert squeeze("llegan") == "llegan"
    assert squeeze("correo") == "correo"
    assert squeeze("leer") == "leer"


def test_stretched_words_normalise_like_plain_ones(es: Normalizer) -> None:
    assert es.tokens("AYUDAAAA no me llegaaan los regalooos") == es.tokens(
        "ayuda no me llegan los regalos"
    )


@pytest.mark.parametrize(
    ("texting", "written"),
    [
        ("xq no me llegan los regalos", "por que no me llegan los regalos"),
        ("pq no puedo hacer live", "por qué no puedo hacer live"),
        ("q hago con mi cuenta", "qué hago con mi cuenta"),
        ("pa q sirven los diamantes", "para qué sirven los diamantes"),
        (
            "tmb me pasa con el msj de verificacion",
            "también me pasa con el mensaje de verificación",
        ),
        ("no me llega el codigo al cel", "no me llega el código al celular"),
        ("kmo retiro mi plata", "cómo retiro mi plata"),
    ],
)
def test_texting_forms_expand_to_full_words(es: Normalizer, texting: str, written: str) -> None:
    assert es.tokens(texting) == es.tokens(written)


@pytest.mark.parametrize(
    ("misspelt", "correct"),
    [
        ("yegan", "llegan"),
        ("resivir", "recibir"),
        ("recivo", "recibo"),
        ("vanearon", "banearon"),
        ("nesesito", "necesito"),
        ("targeta", "tarjeta"),
        ("kuenta", "cuenta"),
        ("yamada", "llamada"),
        ("trasmision", "transmisión"),
        ("hakearon", "hackearon"),
    ],
)
def test_misspellings_give_the_same_tokens(es: Normalizer, misspelt: str, correct: str) -> None:
    assert es.tokens(misspelt) == es.tokens(correct)
    assert es.tokens(misspelt)


@pytest.mark.parametrize(("misspelt", "correct"), [("haser", "hacer"), ("desir", "decir")])
def test_s_for_c_before_a_stripped_ending(es: Normalizer, misspelt: str, correct: str) -> None:
    assert es.tokens(misspelt) == es.tokens(correct)


def test_phonetic_fold_merges_sound_alike_spellings() -> None:
    assert phonetic("yeg") == phonetic("lleg")
    assert phonetic("bot") == phonetic("vot")
    assert phonetic("ablar") == phonetic("hablar")
    assert phonetic("kiero") == phonetic("quiero")


def test_stopwords_are_dropped(es: Normalizer) -> None:
    assert es.tokens("hola buenas tardes, me pueden ayudar por favor") == es.tokens("pueden ayudar")
    assert es.tokens("el de la los las") == []


def test_negations_and_question_words_are_not_stopwords(es: Normalizer) -> None:
    tokens = es.tokens("no cuando donde")
    assert len(tokens) == 3


def test_stemming_merges_singular_and_plural(es: Normalizer) -> None:
    assert es.tokens("regalo") == es.tokens("regalos")
    assert es.tokens("seguidor") == es.tokens("seguidores")
    assert es.tokens("retiro") == es.tokens("retiros")


# --- concepts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phrase", ["en vivo", "en directo", "hacer directo", "los directos", "live", "transmisión"]
)
def test_live_phrasings_share_one_concept(es: Normalizer, phrase: str) -> None:
    assert es.tokens(phrase) == [concept("live")]


@pytest.mark.parametrize("phrase", ["el directo", "mi directo"])
def test_singular_directo_is_the_live_concept(es: Normalizer, phrase: str) -> None:
    assert es.tokens(phrase) == [concept("live")]


@pytest.mark.parametrize("phrase", ["regalos", "gifts", "rositas", "regalitos", "gift"])
def test_gift_phrasings_share_one_concept(es: Normalizer, phrase: str) -> None:
    assert es.tokens(phrase) == [concept("gift")]


def test_spanglish_and_spanish_sentences_meet(es: Normalizer) -> None:
    assert es.tokens("no me llegan los gifts del stream") == es.tokens(
        "no me llegan los regalos de la transmisión"
    )


def test_phrases_match_without_their_stopwords(es: Normalizer) -> None:
    assert es.tokens("no me llegan") == es.tokens("no le llegó") == [concept("missing")]
    assert es.tokens("xq no me yegan los regalos") == es.tokens("por qué no le llegaron regalos")


def test_guarded_phrase_needs_its_small_words(es: Normalizer) -> None:
    assert concept("crash") in es.tokens("se me cae la app cada vez q hago live")
    assert concept("crash") not in es.tokens("ese creador me cae bien")


def test_longest_phrase_wins(es: Normalizer) -> None:
    assert es.tokens("cuenta") == [concept("account")]
    assert es.tokens("quiero cambiar mi cuenta bancaria")[-1:] == [concept("payment-method")]
    assert concept("account") not in es.tokens("cuenta bancaria")


@pytest.mark.parametrize(
    ("locale", "phrase", "expected"),
    [
        ("es", "sacar mi dinero", "withdraw"),
        ("es", "clave de transmisión", "stream-key"),
        ("es", "mayor de edad", "age"),
        ("en", "shadow ban", "shadowban"),
    ],
)
def test_phrase_containing_a_one_word_concept(locale: str, phrase: str, expected: str) -> None:
    assert normalizer(locale).tokens(phrase) == [concept(expected)]


@pytest.mark.parametrize("locale", ["es", "en"])
def test_every_lexicon_phrase_collapses_to_its_concept(locale: str) -> None:
    norm = normalizer(locale)
    wrong = [
        (name, phrase)
        for name, phrases in norm.lexicon.concepts.items()
        for phrase in phrases
        if norm.tokens(phrase) != [concept(name)]
    ]
    assert wrong == []


# --- English and other locales ---------------------------------------------------------------


@pytest.mark.parametrize("form", ["can't", "cant", "cannot", "can not", "CAN'T"])
def test_english_contractions_normalise_alike(en: Normalizer, form: str) -> None:
    assert en.tokens(f"I {form} withdraw my money") == en.tokens("I can not withdraw my money")


def test_english_dont_forms_meet_in_the_missing_concept(en: Normalizer) -> None:
    expected = [concept("missing"), concept("gift")]
    assert en.tokens("I don't get my gifts") == en.tokens("i dont get my gifts") == expected
    assert en.tokens("I do not get my gifts") == expected


def test_english_concepts_match_spanish_ones(es: Normalizer, en: Normalizer) -> None:
    assert en.tokens("gifts") == es.tokens("regalos") == [concept("gift")]
    assert en.tokens("live") == es.tokens("en vivo")


def test_lexicon_files_parse_and_share_concept_ids() -> None:
    ids = {}
    for locale in ("es", "en"):
        path = LEXICON_DIR / f"{locale}.toml"
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        assert data["stopwords"] and data["texting"] and data["misspellings"]
        ids[locale] = set(data["concepts"])
        assert Lexicon.load(path).concepts.keys() == ids[locale]
    assert ids["es"] == ids["en"]
    assert len(ids["es"]) > 10


@pytest.mark.parametrize("locale", ["es", "en"])
def test_no_phrase_belongs_to_two_concepts(locale: str) -> None:
    owners: dict[str, str] = {}
    for name, phrases in normalizer(locale).lexicon.concepts.items():
        for phrase in phrases:
            assert owners.setdefault(fold(phrase), name) == name, phrase


@pytest.mark.parametrize("locale", ["fr", "pt", "xx"])
def test_unknown_locale_falls_back_to_spanish(locale: str, es: Normalizer) -> None:
    norm = normalizer(locale)
    assert norm.locale == "es"
    assert norm.tokens("xq no me yegan los regalos") == es.tokens("por que no me llegan regalos")


def test_normaliser_is_shared_per_locale() -> None:
    assert normalizer("es") is normalizer("es")


def test_sentences_split_a_rant(es: Normalizer) -> None:
    rant = "Hola!! llevo dias asi. Xq no me llegan los regalos? ya reinicie todo"
    sentences = es.sentences(rant)
    assert len(sentences) >= 3
    assert any("regalos" in s for s in sentences)


# --- text hygiene on hostile input -----------------------------------------------------------


def test_storable_replaces_nul_and_lone_surrogates_only() -> None:
    assert storable("hola\x00mundo") == "hola\ufffdmundo"
    assert storable("\ud800 roto") == "\ufffd roto"
    assert storable("\u202eolleh\u200b 😀") == "\u202eolleh\u200b 😀"
    storable("\udfff\ud83d").encode("utf-8")  # encodable once cleaned


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\x1b[31mrojo\x1b[0m", "[31mrojo[0m"),
        ("re\u200bgalos", "regalos"),
        ("\u202eolleh\u202c", "olleh"),
        ("\ufeffhola", "hola"),
        ("\u2066hola\u2069", "hola"),
        ("hola\x00", "hola\ufffd"),
        ("\ud800x", "\ufffdx"),
        ("  hola\n\tque tal \x07 ", "hola\n\tque tal"),
        ("e\u0301", "\u00e9"),
        ("😀🔥", "😀🔥"),
        ("", ""),
    ],
)
def test_clean_strips_controls_and_invisibles(raw: str, expected: str) -> None:
    assert clean(raw) == expected


def test_clean_output_is_always_utf8_encodable() -> None:
    nasty = "".join(chr(c) for c in range(0, 0x40)) + "\ud800\udc00\udbff" + "\u202e\u2066"
    clean(nasty).encode("utf-8")
    assert clean(nasty) == "\ufffd\t\n !\"#$%&'()*+,-./0123456789:;<=>?\ufffd\ufffd\ufffd"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("😀😀🔥", False),
        ("!!!???...", False),
        ("", False),
        ("\u200b\u202e", False),
        ("ok", True),
        ("5", True),
        ("ñ", True),
        ("😭 ayuda", True),
    ],
)
def test_has_words(text: str, expected: bool) -> None:
    assert has_words(text) is expected


@pytest.mark.parametrize(
    "text", ["\x00\x01\x1b", "\ud800\udfff", "\u202e\u200b", "😀" * 500, "\U000e0041", "İ"]
)
def test_fold_never_raises_on_hostile_input(text: str) -> None:
    assert isinstance(fold(text), str)
    assert isinstance(normalizer("es").tokens(text), list)


def test_fold_only_reads_the_first_match_chars() -> None:
    huge = "regalos " * 12_500  # 100 KB
    words = fold_words(huge)
    assert set(words) == {"regalos"}
    assert len(" ".join(words)) <= MAX_MATCH_CHARS
    assert normalizer("es").tokens(huge)


def test_emoji_only_text_has_no_tokens(es: Normalizer) -> None:
    assert fold("😀🔥🙏🏽") == ""
    assert es.tokens("😀🔥🙏🏽") == []


@pytest.mark.parametrize("text", ["re\u200bgalos", "re\u00adgalos"])
def test_fold_ignores_invisible_characters_inside_words(text: str) -> None:
    assert fold(text) == "regalos"


@pytest.mark.parametrize(
    "text",
    [
        "".join(chr(ord(c) - ord("A") + 0xFF21) for c in "REGALOS"),  # fullwidth
        "".join(chr(ord(c) - ord("a") + 0x1D41A) for c in "regalos"),  # mathematical bold
    ],
)
def test_fold_reads_fullwidth_and_styled_letters(text: str) -> None:
    assert fold(text) == "regalos"


@pytest.mark.parametrize("text", ["como meto a una amiga a mi live", "me metieron a un grupo"])
def test_the_verb_meter_is_no_goal(es: Normalizer, text: str) -> None:
    assert "#goal" not in es.tokens(text)


@pytest.mark.parametrize("text", ["como pongo una meta en mi live", "quiero una meta de regalos"])
def test_a_goal_is_still_a_goal(es: Normalizer, text: str) -> None:
    assert "#goal" in es.tokens(text)
