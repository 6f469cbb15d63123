"""What the bot says at once when a message reads as critical: short, calm, with help lines."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.core import get_global

from handlers.common.i18n import Translator
from handlers.contract.messages import IncomingMessage
from handlers.storage.models import Creator

CRISIS_LINES = Path(__file__).parent / "data" / "crisis_lines.toml"


@cache
def crisis_file() -> dict[str, Any]:
    if not CRISIS_LINES.exists():
        return {}
    return tomllib.loads(CRISIS_LINES.read_text(encoding="utf-8"))


def crisis_lines() -> dict[str, dict[str, str]]:
    """The lines by country code (the file's tables)."""
    return {k: v for k, v in crisis_file().items() if isinstance(v, dict)}


def country_of(creator: Creator, message: IncomingMessage) -> str | None:
    """The creator's country from the platform's locale hint (es-MX), else their time zone."""
    hint = message.locale_hint
    if hint:
        try:
            territory = Locale.parse(hint.replace("-", "_")).territory
        except (ValueError, TypeError, UnknownLocaleError):
            territory = None
        if territory:
            return territory
    if creator.timezone:
        territories = get_global("zone_territories")
        return territories.get(creator.timezone)
    return None


def help_line(country: str | None) -> str | None:
    """The crisis line for a country (``name: phone``), or None where Puente knows none."""
    entry = crisis_lines().get(country or "") or {}
    if not entry.get("phone") or country == "DEFAULT":
        return None
    return f"{entry['name']}: {entry['phone']}"


def lines_for_anyone(t: Translator) -> str:
    """The lines of the main Spanish-speaking countries, one per line, with the country's
    name in the reader's language: for a creator whose country Puente does not know."""
    lines = []
    for code in crisis_file().get("unknown_country", []):
        line = help_line(code)
        if line:
            lines.append(f"- {_country_name(t, code)}: {line}")
    return "\n".join(lines)


def safety_message(t: Translator, category: str, creator: Creator, message: IncomingMessage) -> str:
    if category == "self_harm":
        line = help_line(country_of(creator, message))
        if line:
            return t.gettext("safety_self_harm", line=line)
        listed = lines_for_anyone(t)
        if listed:
            return t.gettext("safety_self_harm_lines", lines=listed)
        return t.gettext("safety_self_harm", line=t.gettext("crisis_line_default"))
    if category == "child_safety":
        return t.gettext("safety_child")
    if category == "sextortion":
        return t.gettext("safety_sextortion")
    return t.gettext("safety_threat")


def _country_name(t: Translator, code: str) -> str:
    try:
        return str(Locale.parse(t.locale).territories.get(code, code))
    except (ValueError, TypeError, UnknownLocaleError):
        return code
