"""Mask secrets in creator text before it reaches agents' channels or logs.

Creators paste card numbers, one-time codes and passwords into support chats. :func:`mask`
hides them and leaves everything else as written, erring towards leaving ordinary numbers
(follower counts, amounts, dates, phone numbers) alone: a masked count makes a case unreadable,
so a number is only hidden when its shape or the words right before it say it is a secret.
"""

from __future__ import annotations

import re

DOTS = "••••••"
_CARD_MASK = "•••• •••• •••• "

# Runs of digit groups joined by one space, dash or no-break space. A leading "+" (phone) or a
# letter glued to either end (order or transaction ids) rules a run out.
_DIGIT_RUN = re.compile(r"(?<![\w+])\d+(?:[ \u00a0-]\d+)*(?!\w)")
_DIGITS = re.compile(r"\d+")

# Words and units that say a nearby number is an amount or a count, not a code.
_NOT_A_CODE = (
    r"(?!\s*(?:d[oó]lares|dolars?|dollars?|usd|mxn|cop|ars|pesos?|euros?|eur|€|\$|%"
    r"|diamantes?|diamonds?|monedas?|coins?|seguidores?|followers?|regalos?|gifts?"
    r"|puntos?|points?|horas?|hours?|minutos?|minutes?|d[ií]as?|days?|veces|times)\b)"
)
_CODE = r"(?P<code>\d{3}[ -]\d{3}|\d{4,8})(?![\w•]|[.,/:]\d|[ -]\d)" + _NOT_A_CODE
_CODE_WORDS = (
    r"c[oó]digos?(?!\s+postal)|codes?|otp|pin|token|verificaci[oó]n|verification|verify"
    r"|sms|2fa"
)
_LEAD_SEPARATOR = r"[\s:=#\"'«“(-]+"

_OTP_AFTER_WORD = re.compile(
    r"(?P<skip>\b(?:zip|area|postal|country)\s+)?"
    rf"(?P<lead>\b(?:{_CODE_WORDS})\b(?:{_LEAD_SEPARATOR}[^\W\d_]+){{0,3}}{_LEAD_SEPARATOR})"
    + _CODE,
    re.IGNORECASE,
)
_OTP_ARRIVED = re.compile(
    r"(?P<lead>\bme\s+lleg[oó]\s+(?:el|este|un|uno)?\s*:?\s*)" + _CODE, re.IGNORECASE
)
_PASSWORD = re.compile(
    r"(?P<lead>\b(?:contraseña|contrasena|clave|password|pass|pwd)\b"
    r"(?:\s*[:=]\s*|\s+(?:es|is)\b\s*[:=]?\s*))"
    r"(?P<secret>[^\s•]\S*)",
    re.IGNORECASE,
)


def mask(text: str) -> str:
    """The text with card numbers, one-time codes/PINs and passwords replaced by dots.

    Card numbers (13 to 19 digits, Luhn-valid) keep their last four digits so an agent can still
    tell which card the creator means.
    """
    if not text:
        return text
    text = _DIGIT_RUN.sub(_mask_cards_in_run, text)
    text = _PASSWORD.sub(lambda m: m["lead"] + DOTS, text)
    text = _OTP_AFTER_WORD.sub(_mask_code, text)
    return _OTP_ARRIVED.sub(_mask_code, text)


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _mask_code(match: re.Match[str]) -> str:
    if match.groupdict().get("skip"):
        return match[0]
    return match[0][: match.start("code") - match.start()] + DOTS


def _mask_cards_in_run(match: re.Match[str]) -> str:
    run = match[0]
    groups = list(_DIGITS.finditer(run))
    pieces: list[str] = []
    copied_to = 0
    start = 0
    while start < len(groups):
        end = _card_end(groups, start)
        if end is None:
            start += 1
            continue
        digits = "".join(g[0] for g in groups[start : end + 1])
        pieces.append(run[copied_to : groups[start].start()])
        pieces.append(_CARD_MASK + digits[-4:])
        copied_to = groups[end].end()
        start = end + 1
    pieces.append(run[copied_to:])
    return "".join(pieces)


def _card_end(groups: list[re.Match[str]], start: int) -> int | None:
    """The last group of the longest card number starting at ``groups[start]``, if any."""
    best = None
    digits = ""
    sizes: list[int] = []
    for end in range(start, len(groups)):
        digits += groups[end][0]
        sizes.append(len(groups[end][0]))
        if len(digits) > 19 or (len(sizes) > 1 and sizes[-2] != 4 and sizes[:2] != [4, 6]):
            break
        if len(digits) >= 13 and _card_shaped(sizes) and luhn_valid(digits):
            best = end
    return best


def _card_shaped(sizes: list[int]) -> bool:
    """How cards are written: one block, groups of four (the last may be shorter), or the
    4-6-5 / 4-6-4 layout of American Express and Diners. Phone numbers are grouped otherwise."""
    if len(sizes) == 1:
        return True
    if sizes in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(size == 4 for size in sizes[:-1]) and 1 <= sizes[-1] <= 4
