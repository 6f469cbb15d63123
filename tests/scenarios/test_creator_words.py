"""Issue #14's five cases, through ``puente chat`` as a creator would type them."""

from __future__ import annotations

from pathlib import Path

from handlers.conversation.language import LanguageStreaks, detect, message_locale
from handlers.conversation.smalltalk import SmallTalk, classify
from tests.bot.test_cli import lines, puente

NO_ANSWER = "No encontré una respuesta"
CASE_OPENED = "Tu caso es el #"


def replies(stdout: str) -> list[str]:
    return stdout.split("Puente: ")[1:]


def test_cannot_go_live_gets_options_not_a_confident_wrong_answer(tmp_path: Path) -> None:
    chat = puente(
        tmp_path, "chat", stdin=lines("no puedo hacer live", "NO PUEDO HACER LIVE AYUDAAAA")
    )
    assert chat.returncode == 0, chat.stderr
    first, second = replies(chat.stdout)
    for reply in (first, second):
        assert "  1) " in reply and "Hablar con un agente" in reply
        assert NO_ANSWER not in reply


def test_spain_words_are_offered_the_right_article(tmp_path: Path) -> None:
    stdin = lines("me han baneado el directo 3 días, ¿cómo puedo recurrirlo?")
    chat = puente(tmp_path, "chat", stdin=stdin)
    assert chat.returncode == 0, chat.stderr
    assert "¿Cómo apelo una sanción?" in chat.stdout or "apela" in chat.stdout.casefold()
    assert NO_ANSWER not in chat.stdout


def test_spanish_from_an_english_app_is_answered_in_spanish(tmp_path: Path) -> None:
    stdin = lines("no me llegan los regalos de mis seguidores", "how do I withdraw my money?")
    chat = puente(tmp_path, "chat", "--locale", "en", stdin=stdin)
    assert chat.returncode == 0, chat.stderr
    spanish, english = replies(chat.stdout)
    assert "regalo" in spanish.casefold() and "gift" not in spanish.casefold()
    assert "withdraw" in english.casefold()


def test_small_talk_in_every_region_never_counts_as_a_miss(tmp_path: Path) -> None:
    stdin = lines("gracias crack", "vale, gracias majo", "mil gracias bro", "bye", "ok", "listo")
    chat = puente(tmp_path, "chat", stdin=stdin)
    assert chat.returncode == 0, chat.stderr
    assert len(replies(chat.stdout)) == 6
    assert NO_ANSWER not in chat.stdout and CASE_OPENED not in chat.stdout


def test_asking_for_a_real_person_opens_a_case(tmp_path: Path) -> None:
    stdin = lines("quiero hablar con alguien de verdad no con un robot")
    chat = puente(tmp_path, "chat", stdin=stdin)
    assert chat.returncode == 0, chat.stderr
    assert f"{CASE_OPENED}1" in chat.stdout


def test_small_talk_kinds_and_questions_that_are_not() -> None:
    assert classify("vale, gracias majo") is SmallTalk.THANKS
    assert classify("¿cómo estás?") is SmallTalk.HOW_ARE_YOU
    assert classify("eres un crack") is SmallTalk.COMPLIMENT
    assert classify("listo") is SmallTalk.ACKNOWLEDGE
    assert classify("gracias, ¿y cómo retiro mi dinero?") is None


def test_language_switches_after_two_messages_unless_chosen() -> None:
    streaks = LanguageStreaks()
    text = "how do I withdraw my rewards to my bank?"
    assert detect(text) == "en"
    assert message_locale(streaks, 1, "es", False, text) == ("en", False)
    assert message_locale(streaks, 1, "es", False, text) == ("en", True)
    assert message_locale(streaks, 2, "es", True, text) == ("es", False)
    assert message_locale(streaks, 3, "es", False, "/idioma en") == ("es", False)


def test_two_offers_without_a_pick_put_a_person_first(tmp_path: Path) -> None:
    stdin = lines("no puedo hacer live", "mi directo va a tirones")
    chat = puente(tmp_path, "chat", stdin=stdin)
    assert chat.returncode == 0, chat.stderr
    first, second = replies(chat.stdout)
    assert "1) Hablar con un agente" not in first and "Hablar con un agente" in first
    assert "1) Hablar con un agente" in second and "  2) " in second
