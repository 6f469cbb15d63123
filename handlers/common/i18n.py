"""Babel-backed localisation: catalogs, locale negotiation and formatting.

There is no global ``_``: callers hold a :class:`Translator` for one locale.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_date, format_time, get_timezone, get_timezone_location
from babel.dates import format_datetime as _format_datetime
from babel.dates import format_timedelta as _format_timedelta
from babel.numbers import format_decimal
from babel.support import Translations

SUPPORTED_LOCALES: tuple[str, ...] = ("es", "en")
DEFAULT_LOCALE = "es"
DOMAIN = "messages"
LOCALES_DIR = Path(__file__).resolve().parents[2] / "locales"
# Countries of the community that span several zones: where most people live.
PRIMARY_ZONES = {
    "MX": "America/Mexico_City",
    "US": "America/New_York",
    "ES": "Europe/Madrid",
    "CL": "America/Santiago",
    "AR": "America/Argentina/Buenos_Aires",
    "EC": "America/Guayaquil",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
}


def N_(message: str) -> str:
    """Marks a message for extraction where it is translated later, by key."""
    return message


def negotiate(hint: object) -> str:
    """Map any locale hint (``es-MX``, ``en_US``, ``pt``, garbage) to a supported locale."""
    if not hint or not isinstance(hint, str):
        return DEFAULT_LOCALE
    try:
        language = Locale.parse(hint.strip().replace("-", "_")).language
    except (ValueError, TypeError, UnknownLocaleError):
        return DEFAULT_LOCALE
    return language if language in SUPPORTED_LOCALES else DEFAULT_LOCALE


def timezone_for(hint: object) -> str | None:
    """The main time zone of a locale hint's country (``es-MX`` → America/Mexico_City)."""
    if not hint or not isinstance(hint, str):
        return None
    try:
        territory = Locale.parse(hint.strip().replace("-", "_")).territory
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    if territory in PRIMARY_ZONES:
        return PRIMARY_ZONES[territory]
    zones = get_global("territory_zones").get(territory or "", ())
    return zones[0] if len(zones) == 1 else None


class Translator:
    """Gettext for one locale, plus Babel formatting in that locale."""

    def __init__(self, locale: str, translations: Translations) -> None:
        self.locale = locale
        self._translations = translations

    def gettext(self, message: str, **values: object) -> str:
        text = self._translations.gettext(message)
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        text = self._translations.ngettext(singular, plural, n)
        return text.format(n=self.number(n), **values)

    def number(self, value: float, pattern: str | None = None) -> str:
        """``value`` in this locale; ``pattern`` (e.g. ``"0.00"``) fixes the decimals."""
        return format_decimal(value, format=pattern, locale=self.locale)

    def datetime(self, value: datetime, tz: tzinfo | str | None = None) -> str:
        return _format_datetime(value, format="medium", tzinfo=tz, locale=self.locale)

    def minute(self, value: datetime, tz: tzinfo | str | None = None) -> str:
        """Date and time to the minute, with the zone it is in ("4 dic 2026, 16:35, hora de
        México (Ciudad de México)"): a deadline read by someone who may live elsewhere."""
        zone = get_timezone(tz) if tz else get_timezone("UTC")
        moment = value.astimezone(zone)
        date = format_date(moment, "medium", locale=self.locale)
        clock = format_time(moment, "short", tzinfo=zone, locale=self.locale)
        utc = str(zone) in {"UTC", "Etc/UTC"}
        name = "UTC" if utc else get_timezone_location(zone, locale=self.locale)
        return f"{date}, {clock}, {name}"

    def timedelta(self, seconds: float) -> str:
        return _format_timedelta(seconds, locale=self.locale, threshold=1.0)


@cache
def translator(locale: str | None) -> Translator:
    """The translator for a (negotiated) locale; catalogs are loaded once per process."""
    lang = negotiate(locale)
    translations = Translations.load(str(LOCALES_DIR), [lang], domain=DOMAIN)
    return Translator(lang, translations)
