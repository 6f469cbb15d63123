"""Short social messages in any region's words: thanks, bye, how are you, compliments, "ok".

They get a short natural reply and never count as a miss. Matching is by phrase sets over
folded words, after dropping the ways people address someone ("crack", "majo", "bro",
"parce", "che"...) and fillers, so "vale, gracias majo" and "mil gracias bro" read as thanks.
"""

from __future__ import annotations

from enum import StrEnum

from handlers.common.i18n import N_
from handlers.common.text import fold

MAX_WORDS = 8


class SmallTalk(StrEnum):
    THANKS = "thanks"
    GOODBYE = "goodbye"
    HOW_ARE_YOU = "how_are_you"
    COMPLIMENT = "compliment"
    ACKNOWLEDGE = "acknowledge"


REPLIES: dict[SmallTalk, str] = {
    SmallTalk.THANKS: N_("thanks"),
    SmallTalk.GOODBYE: N_("goodbye"),
    SmallTalk.HOW_ARE_YOU: N_("smalltalk_how_are_you"),
    SmallTalk.COMPLIMENT: N_("smalltalk_compliment"),
    SmallTalk.ACKNOWLEDGE: N_("smalltalk_acknowledge"),
}

ADDRESS = frozenset(
    [
        "crack",
        "majo",
        "maja",
        "bro",
        "brother",
        "bra",
        "hermano",
        "hermana",
        "hno",
        "mano",
        "manito",
        "amigo",
        "amiga",
        "amix",
        "parce",
        "parcero",
        "pana",
        "panita",
        "che",
        "loco",
        "loca",
        "capo",
        "capa",
        "tio",
        "tia",
        "wey",
        "guey",
        "guey",
        "buey",
        "compa",
        "carnal",
        "chamo",
        "chama",
        "mijo",
        "mija",
        "rey",
        "reina",
        "jefe",
        "jefa",
        "man",
        "dude",
        "mate",
        "buddy",
        "pal",
        "bot",
        "puente",
        "genio",
        "genia",
        "socio",
        "socia",
        "primo",
        "prima",
        "chaval",
        "nena",
        "nene",
        "broder",
    ]
)
FILLER = frozenset(["y", "e", "pues", "bueno", "ya", "entonces", "oye", "igual", "so", "well"])

PHRASES: dict[SmallTalk, tuple[str, ...]] = {
    SmallTalk.THANKS: (
        "gracias", "muchas gracias", "mil gracias", "graciass", "grax", "grcs", "gracias mil",
        "se agradece", "te agradezco", "agradecido", "agradecida", "thanks", "thank you",
        "thx", "ty", "tysm", "thanks a lot", "thank you so much", "many thanks",
        "gracias por todo", "gracias por la ayuda", "muy amable", "de lujo gracias",
    ),
    SmallTalk.GOODBYE: (
        "bye", "bye bye", "adios", "chao", "chau", "chaito", "hasta luego", "hasta pronto",
        "nos vemos", "nos vidrios", "cuidate", "see you", "see ya", "goodbye", "later",
        "hasta la proxima", "me voy", "buenas noches",
    ),
    SmallTalk.HOW_ARE_YOU: (
        "como estas", "como andas", "como vas", "como te va", "que tal estas", "que onda",
        "que hubo", "quiubo", "que mas", "como estai", "how are you", "how are u",
        "how is it going", "hows it going", "how you doing", "todo bien",
    ),
    SmallTalk.COMPLIMENT: (
        "eres un crack", "eres un", "eres una", "sos un", "sos una", "eres genial",
        "eres el mejor", "eres la mejor", "que buen bot",
        "buen bot", "buen trabajo", "eres lo maximo", "me encantas", "que crack", "sos un genio",
        "eres un genio", "good bot", "great bot", "you rock", "you are awesome", "love you",
        "te quiero", "que pro", "chevere", "bacano",
    ),
    SmallTalk.ACKNOWLEDGE: (
        "ok", "okay", "okey", "oki", "okis", "vale", "listo", "perfecto", "entendido", "dale",
        "de acuerdo", "va", "sale", "sip", "si", "ya entendi", "ah ok", "genial", "got it",
        "sounds good", "cool", "great", "perfect", "alright", "ok ok", "listo listo", "ta bien",
        "esta bien", "todo claro", "claro", "excelente",
    ),
}  # fmt: skip
_ORDER = (
    SmallTalk.THANKS,
    SmallTalk.COMPLIMENT,
    SmallTalk.HOW_ARE_YOU,
    SmallTalk.GOODBYE,
    SmallTalk.ACKNOWLEDGE,
)


def classify(text: str) -> SmallTalk | None:
    """The kind of small talk ``text`` is, or None when it says anything more."""
    words = [w for w in fold(text).split() if w not in ADDRESS and w not in FILLER]
    if not words or len(words) > MAX_WORDS:
        return None
    found: list[SmallTalk] = []
    rest = " ".join(words)
    for kind in _ORDER:
        for phrase in sorted(PHRASES[kind], key=len, reverse=True):
            padded = f" {rest} "
            if f" {phrase} " in padded:
                rest = padded.replace(f" {phrase} ", " ", 1).strip()
                found.append(kind)
    if rest or not found:
        return None
    return min(found, key=_ORDER.index)


def reply_key(text: str) -> str | None:
    """The catalog key of the reply to a small-talk message, or None."""
    kind = classify(text)
    return REPLIES[kind] if kind else None
