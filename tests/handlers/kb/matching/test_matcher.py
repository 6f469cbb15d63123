"""Matching creators' messages to KB articles, lexical only (no sentence encoder: fast)."""

from __future__ import annotations

import json

import pytest

from handlers.kb.articles import Article, KbRow, KnowledgeBase
from handlers.kb.files import read_kb_file
from handlers.kb.matching.matcher import (
    LEGACY_ANSWER,
    Action,
    Matcher,
    MatchPolicy,
    MatchResult,
)
from handlers.kb.source import SHIPPED_KB


@pytest.fixture(scope="module")
def shipped() -> Matcher:
    return Matcher(KnowledgeBase.from_rows(read_kb_file(SHIPPED_KB)))


def kb(*rows: tuple[str, str] | tuple[str, str, str]) -> KnowledgeBase:
    """A tiny Spanish KB from (id, question[, locale]) tuples, one question per article."""
    return KnowledgeBase.from_rows(
        KbRow(row[0], row[2] if len(row) > 2 else "es", "test", (row[1],), f"answer {row[0]}")
        for row in rows
    )


# --- the shipped KB ------------------------------------------------------------------------

REALISTIC = [
    # a how-to the triage used to read as a hacked account, answered from its own article
    ("como cambio el correo de mi cuenta?", "change-email"),
    # texting + ll/y misspelling
    ("xq no me yegan los regalos???", "gift-not-received"),
    ("ke onda, no me yegan los gifts q me mandan", "gift-not-received"),
    # greeting + dropped h + texting
    ("hola buenas, como ago pa hacer un live? soy nueva", "live-eligibility"),
    # ALL CAPS + stretched letters
    ("NO ME APARECE EL BOTON DE LIVE AYUDAAA", "live-button-missing"),
    ("COMO HAGO PARA RETIRAR MI DINERO", "withdraw-rewards"),
    # emoji
    ("me banearon la cuenta para siempre 😭😭 se puede recuperar?", "account-ban-permanent"),
    ("nadie entra a mis lives 😩 tengo poquitos viewers", "live-low-views"),
    ("quiero apelar la sancion q me pusieron, fue un error", "ban-appeal"),
    ("mi retiro lleva una semana pendiente, q onda?", "withdrawal-pending"),
    ("cuanto es el minimo pa retirar a paypal", "withdrawal-limits"),
    # voseo
    ("che, vos sabés por qué no me deja retirar todo mi saldo?", "withdrawal-limits"),
    ("tenés que pagar impuestos por lo q ganas en los lives?", "tax-info"),
    ("podés decirme cuanto tarda en llegar un retiro?", "withdrawal-pending"),
    ("vos sabés cómo puedo hacer live desde la compu?", "live-studio"),
    # Spanglish
    ("como hago cash out de mis rewards", "withdraw-rewards"),
    ("hey necesito ayuda con el payout, como agrego mi paypal?", "payout-method"),
    ("se me crashea la app cuando inicio el live", "app-crash-live"),
    ("me mutearon la musica del live", "live-audio"),
    ("donde saco la stream key pa obs", "stream-key"),
    ("me hakearon la cuenta y cambiaron el correo", "account-hacked"),
    # plain creator Spanish with typos
    ("olvide mi contraseña y no me llega el codigo", "password-reset"),
    ("mis seguidores no me escuchan en el live, no se oye nada", "live-audio"),
    ("alguien me esta acosando en mis lives, como lo denuncio", "report-user"),
    ("una agencia me pide plata pa unirme, es estafa?", "fake-agency"),
    ("quiero salirme de mi agencia como hago", "agency-unbind"),
    ("como hago una batalla pk con otra creadora", "live-match"),
    ("compre monedas con la targeta y no me llegaron", "coins-recharge-failed"),
    ("me cortaron el directo de repente por una infraccion", "live-ended-violation"),
    ("como programo un live pa el sabado", "live-event-schedule"),
    ("me quitaron el live y antes si podia, xq?", "live-access-revoked"),
    ("me llego una invitacion de backstage es real?", "backstage-invite"),
    ("gane una campaña y no me dieron el premio", "campaign-reward-missing"),
]


@pytest.mark.parametrize(("text", "article_id"), REALISTIC)
def test_realistic_message_is_answered_with_the_right_article(
    shipped: Matcher, text: str, article_id: str
) -> None:
    result = shipped.match(text, "es")
    assert (result.action, result.article_id) == (Action.ANSWER, article_id)
    assert shipped.rank(text, "es")[0][0] == article_id


@pytest.mark.parametrize(
    ("text", "article_id"),
    [
        ("how do i go live", "live-eligibility"),
        ("i cant withdraw my money", "withdraw-rewards"),
        ("I was charged but never got my coins 😡", "coins-recharge-failed"),
        ("WHERE DO I FIND MY STREAM KEY FOR OBS", "stream-key"),
    ],
)
def test_english_creator_is_matched(shipped: Matcher, text: str, article_id: str) -> None:
    assert shipped.match(text, "en").article_id == article_id


@pytest.mark.parametrize(
    ("text", "article_id", "locale"),
    [
        ("como callo a un usuario pesado del chat", "mute-block-viewer", "es"),
        ("pantalla dividida con otra creadora, como se hace", "multi-guest", "es"),
        ("me mandaron un universo y no aparece", "gift-not-received", "es"),
        ("how do i silence someone in my chat", "mute-block-viewer", "en"),
    ],
)
def test_creator_words_for_features_and_gifts_rank_their_article(
    shipped: Matcher, text: str, article_id: str, locale: str
) -> None:
    ranked = shipped.rank(text, locale)
    assert ranked[0][0] == article_id and ranked[0][1] - ranked[1][1] >= 4  # a clear lead


def test_haser_typo_is_answered_like_hacer(shipped: Matcher) -> None:
    result = shipped.match("como haser un live?", "es")
    assert (result.action, result.article_id) == (Action.ANSWER, "live-eligibility")


def test_shadow_ban_question_reaches_the_low_views_article(shipped: Matcher) -> None:
    assert shipped.match("did i get a shadow ban on my lives?", "en").article_id == (
        "live-low-views"
    )


@pytest.mark.parametrize(
    "text",
    [
        "Que tiempo va a hacer mañana en Madrid",
        "receta de tortilla de papas con cebolla",
        "me ayudas con mi tarea de matematicas? ecuaciones de segundo grado",
        "asdkjh qwpoeiru zmxncb",
        "quien gano el partido de futbol ayer",
        "mi perro se comio mis zapatos",
        "😂😂😂",
        "jajajaja xd",
    ],
)
def test_off_topic_message_is_not_answered(shipped: Matcher, text: str) -> None:
    assert shipped.match(text, "es").action is not Action.ANSWER


@pytest.mark.xfail(
    strict=True,
    reason="cross-locale collision: Spanish 'receta' (recipe) folds to 'reset', the stem of "
    "English 'reset', so a recipe offers the password-reset article as a suggestion",
)
def test_recipe_question_gets_no_suggestions(shipped: Matcher) -> None:
    result = shipped.match("una receta facil de pollo al horno", "es")
    assert result.suggestions == ()


# --- long messages -------------------------------------------------------------------------

GIFT_RANT = (
    "bueno les cuento, llevo como tres meses haciendo lives todas las noches, tengo una "
    "comunidad chiquita pero muy linda y la verdad me encanta. El tema es que anoche estaba en "
    "medio de una batalla y varios de mis seguidores me mandaron rosas y leones y me dijeron "
    "que los mandaron. Pero xq no me llegan los regalos? revise todo y nada. Ya reinicie el "
    "celu, cerre sesion y volvi a entrar, y sigue igual. Mis amigas me dicen que a ellas les "
    "pasa a veces pero que despues aparecen. No se que hacer, gracias de antemano"
)
LIVE_RANT = (
    "hola q tal, les escribo porque estoy re preocupada, mi mama me dijo que no pierda el "
    "tiempo con esto pero yo quiero crecer como creadora. Hace dos semanas que intento y no "
    "encuentro la opcion. Como hago para hacer un live? Tengo como 1200 seguidores y soy mayor "
    "de edad, ya tengo 19. Les agradezco muchisimo si me responden rapido porque quiero empezar "
    "este finde con mi primer directo y ya lo anuncie a todos mis amigos y familia"
)
PAYPAL_RANT = (
    "bueno les cuento mi situacion porque ya no se a quien mas preguntarle, hace como un año "
    "que hago lives de maquillaje casi todos los dias y me va bastante bien, tengo una comunidad "
    "muy linda que me apoya un monton. El mes pasado junte bastantes diamantes y por fin queria "
    "cobrar algo. Como cambio mi cuenta de paypal pa cobrar? porque la que puse es de mi ex y "
    "ya no tengo acceso jaja. Bueno eso, gracias y besos a todo el equipo"
)
MUTE_RANT = (
    "holaaa, perdon la molestia, soy creadora hace poquito y todavia no entiendo bien como "
    "funciona todo esto, mi prima me ayudo a configurar la cuenta y me dijo que le escriba al "
    "soporte. Ayer unos chicos en el chat me estaban diciendo cosas horribles todo el tiempo y "
    "no se como hacer para que paren. Como silencio a alguien en mi live? Me dio mucha "
    "verguenza porque estaba mi mama mirando el live y todo. Muchas gracias de verdad"
)
HACKED_RANT = (
    "mira te explico todo desde el principio xq es largo: yo tenia mi cuenta con como 5 mil "
    "seguidores, hacia lives los fines de semana y todo normal, nunca tuve problemas con nadie "
    "ni me reportaron nunca. De un dia pal otro me salio un aviso raro. Me hackearon la cuenta "
    "y cambiaron el correo, que hago? ya intente de todo, le pedi ayuda a un amigo que sabe de "
    "computadoras y tampoco pudo hacer nada, estoy desesperada porque ahi tengo todo mi trabajo"
)
AGENCY_RANT = (
    "ok so basicamente el tema es este, yo estoy en una agencia desde hace ocho meses y al "
    "principio todo bien pero despues el manager dejo de contestarme los mensajes y ya no me "
    "ayuda con nada, ni con los eventos ni con las campañas, y encima se queda con una parte de "
    "lo que gano. Quiero desvincularme de la agencia, como hago? leí por ahí que se puede pero "
    "no encuentro la opcion en ningun lado de la app, gracias de antemano"
)


@pytest.mark.parametrize(
    ("rant", "question"),
    [
        (PAYPAL_RANT, "como cambio mi cuenta de paypal pa cobrar?"),
        (MUTE_RANT, "como silencio a alguien en mi live?"),
        (HACKED_RANT, "me hackearon la cuenta y cambiaron el correo, que hago?"),
        (AGENCY_RANT, "quiero desvincularme de la agencia, como hago?"),
        (GIFT_RANT, "xq no me llegan los regalos?"),
        (LIVE_RANT, "Como hago para hacer un live?"),
    ],
)
def test_long_rant_is_answered_like_its_question(
    shipped: Matcher, rant: str, question: str
) -> None:
    assert len(rant.split()) >= 60 and question.casefold() in rant.casefold()
    short = shipped.match(question, "es")
    long = shipped.match(rant, "es")
    assert short.action is Action.ANSWER
    assert (long.action, long.article_id) == (Action.ANSWER, short.article_id)
    assert long.score >= short.score - 10


# --- decision policy on tiny KBs -------------------------------------------------------------


def test_answers_when_over_threshold_and_margin() -> None:
    matcher = Matcher(kb(("gifts", "no me llegan los regalos"), ("payout", "como retiro dinero")))
    result = matcher.match("xq no me llegan los regalos??")
    assert result.action is Action.ANSWER
    assert result.article_id == "gifts"
    assert result.suggestions == ()
    assert result.score >= LEGACY_ANSWER


def test_score_exactly_at_threshold_and_margin_answers() -> None:
    tiny = kb(("gifts", "no me llegan los regalos"), ("coins", "no me llegan las monedas"))
    (top, top_score), (_, second) = Matcher(tiny).rank("no me llegan los regalos")[:2]
    policy = MatchPolicy(answer_threshold=top_score, margin=top_score - second)
    assert Matcher(tiny, policy).match("no me llegan los regalos").article_id == top == "gifts"


def test_a_tie_clarifies_with_both_articles() -> None:
    tiny = kb(("gifts-a", "no me llegan los regalos"), ("gifts-b", "no me llegan los regalos"))
    result = Matcher(tiny).match("no me llegan los regalos")
    assert result.action is Action.CLARIFY
    assert result.article_id is None
    assert set(result.suggestions) == {"gifts-a", "gifts-b"}


def test_margin_too_small_clarifies() -> None:
    tiny = kb(("gifts", "no me llegan los regalos"), ("coins", "no me llegan las monedas"))
    (_, top_score), (_, second) = Matcher(tiny).rank("no me llegan los regalos")[:2]
    assert top_score > second
    policy = MatchPolicy(answer_threshold=0, clarify_threshold=0, margin=top_score - second + 1)
    result = Matcher(tiny, policy).match("no me llegan los regalos")
    assert result.action is Action.CLARIFY
    assert result.suggestions[0] == "gifts"


def test_clarify_offers_at_most_max_suggestions() -> None:
    tiny = kb(*((f"gifts-{n}", "no me llegan los regalos") for n in range(6)))
    result = Matcher(tiny, MatchPolicy(max_suggestions=3)).match("no me llegan los regalos")
    assert result.action is Action.CLARIFY
    assert len(result.suggestions) == 3
    assert len(set(result.suggestions)) == 3


def test_clarify_leaves_out_articles_under_clarify_threshold() -> None:
    tiny = kb(("gifts", "no me llegan los regalos"), ("goal", "meta de regalos en el live"))
    ranked = dict(Matcher(tiny).rank("no me llegan los regalos"))
    assert 0 < ranked["goal"] < ranked["gifts"]
    between = (ranked["goal"] + ranked["gifts"]) / 2
    below = ranked["goal"] / 2
    strict = MatchPolicy(answer_threshold=101, clarify_threshold=between)
    loose = MatchPolicy(answer_threshold=101, clarify_threshold=below)
    assert Matcher(tiny, strict).match("no me llegan los regalos").suggestions == ("gifts",)
    assert Matcher(tiny, loose).match("no me llegan los regalos").suggestions == ("gifts", "goal")


def test_escalates_under_clarify_threshold() -> None:
    tiny = kb(("gifts", "no me llegan los regalos"), ("payout", "como retiro dinero"))
    policy = MatchPolicy(answer_threshold=101, clarify_threshold=101)
    result = Matcher(tiny, policy).match("no me llegan los regalos")
    assert result == MatchResult(Action.ESCALATE, None, result.score)
    assert result.score > 0


@pytest.mark.parametrize("text", ["asdkjh qwpoeiru", "hola buenas!!", "", "🙏🙏"])
def test_nothing_to_match_escalates_with_zero(text: str) -> None:
    tiny = kb(("gifts", "no me llegan los regalos"))
    assert Matcher(tiny).match(text) == MatchResult(Action.ESCALATE, None, 0.0)


def test_empty_kb_escalates() -> None:
    assert Matcher(KnowledgeBase({})).match("no me llegan los regalos").action is Action.ESCALATE


def test_rank_is_sorted_and_scores_are_0_to_100(shipped: Matcher) -> None:
    ranked = shipped.rank("no me llegan los regalos ni los diamantes del live")
    scores = [score for _, score in ranked]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= score <= 100 for score in scores)
    assert len({article for article, _ in ranked}) == len(ranked)


def test_match_result_as_json_shape() -> None:
    result = MatchResult(Action.CLARIFY, None, 61.23456, ("gift-not-received", "gifts-disabled"))
    payload = result.as_json()
    assert payload == {
        "action": "clarify",
        "article_id": None,
        "score": 61.23,
        "suggestions": ["gift-not-received", "gifts-disabled"],
    }
    assert json.loads(json.dumps(payload)) == payload


def test_answer_as_json_from_a_real_match(shipped: Matcher) -> None:
    payload = shipped.match("no me llegan los regalos").as_json()
    assert payload["action"] == "answer"
    assert payload["article_id"] == "gift-not-received"
    assert payload["suggestions"] == []
    assert isinstance(payload["score"], float)


# --- a big synthetic KB ----------------------------------------------------------------------

SYLLABLES = ("ka", "lo", "mi", "ru", "te", "da", "pe", "no", "fi", "gu")


def effect_name(n: int) -> str:
    return "".join(SYLLABLES[int(digit)] for digit in f"{n:03d}") + "x"


def test_thousand_article_kb_builds_and_answers() -> None:
    rows = [
        KbRow(
            f"effect-{n}",
            "es",
            "effects",
            (
                f"¿Cómo activo el efecto {effect_name(n)}?",
                f"no me aparece el efecto {effect_name(n)} en el live",
            ),
            f"El efecto {effect_name(n)} está en Herramientas.",
        )
        for n in range(1000)
    ]
    matcher = Matcher(KnowledgeBase.from_rows(rows))
    assert len(matcher.kb) == 1000
    for n in (0, 7, 421, 999):
        result = matcher.match(f"xq no me sale el efecto {effect_name(n).upper()} en mi live??")
        assert (result.action, result.article_id) == (Action.ANSWER, f"effect-{n}")
    assert matcher.match("receta de tortilla").action is not Action.ANSWER


# --- answers in the creator's locale ---------------------------------------------------------


def article(*locales: str) -> Article:
    tiny = KnowledgeBase.from_rows(
        KbRow("gifts", lang, "gifts", (f"question {lang}",), f"answer {lang}") for lang in locales
    )
    found = tiny.get("gifts")
    assert found is not None
    return found


def test_spanish_only_article_answers_an_english_creator_in_spanish() -> None:
    assert article("es").answer("en") == "answer es"
    assert article("es").title("en") == "question es"


def test_english_only_article_answers_a_spanish_creator_in_english() -> None:
    assert article("en").answer("es") == "answer en"
    assert article("en").title("es") == "question en"


def test_article_prefers_the_creators_locale() -> None:
    both = article("es", "en")
    assert both.answer("en") == "answer en"
    assert both.answer("es") == "answer es"


def test_other_locales_get_spanish_then_english_then_any() -> None:
    assert article("en", "es").answer("pt") == "answer es"
    assert article("en").answer("pt") == "answer en"
    assert article("fr").answer("pt") == "answer fr"


def test_english_message_finds_a_spanish_only_article() -> None:
    tiny = kb(("gifts", "no me llegan los regalos"), ("payout", "como retiro mi dinero"))
    result = Matcher(tiny).match("my gifts are not arriving", "en")
    assert (result.action, result.article_id) == (Action.ANSWER, "gifts")
    found = tiny.get("gifts")
    assert found is not None and found.answer("en") == "answer gifts"
