"""What Telegram shows besides text: the inline suggestion buttons and the command menus."""

from __future__ import annotations

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup

from handlers.common.i18n import N_, translator
from handlers.delivery.outbox import Outbound

CALLBACK_BYTES = 64
MAX_BUTTON_LABEL = 64
DEFAULT_LOCALE = "es"
COMMANDS = {
    "es": (("start", N_("cmd_start")), ("idioma", N_("cmd_language")),
           ("agente", N_("cmd_human")), ("estado", N_("cmd_status")), ("ayuda", N_("cmd_help"))),
    "en": (("start", N_("cmd_start")), ("language", N_("cmd_language")),
           ("human", N_("cmd_human")), ("status", N_("cmd_status")), ("help", N_("cmd_help"))),
}  # fmt: skip


def keyboard(outbound: Outbound) -> InlineKeyboardMarkup | None:
    """Suggestions as one button per row; payloads that can't fit in callback data are dropped."""
    rows = [
        [InlineKeyboardButton(s.label[:MAX_BUTTON_LABEL], callback_data=s.payload)]
        for s in outbound.suggestions
        if 0 < len(s.payload.encode("utf-8")) <= CALLBACK_BYTES
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def command_menu(lang: str) -> list[BotCommand]:
    """The ``/`` menu in one language (its command names are that language's too)."""
    t = translator(lang)
    return [BotCommand(name, t.gettext(key)) for name, key in COMMANDS[lang]]
