"""The adapter's settings (read from ``WHATSAPP_*`` by bot/config.py)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_API_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v23.0"
WEBHOOK_PATH = "/whatsapp/webhook"


class MissingSecret(ValueError):
    """The adapter won't start without what it needs to check a webhook is Meta's."""


@dataclass(frozen=True, slots=True)
class WhatsAppConfig:
    access_token: str
    phone_number_id: str
    app_secret: str
    verify_token: str = ""
    api_url: str = DEFAULT_API_URL
    api_version: str = DEFAULT_API_VERSION
    reply_template: str | None = None  # "name" or "name:language" (default language "es")
    per_number_spacing: float = 1.0  # seconds between two messages to one number
    max_per_second: float = 80.0  # the Cloud API's default throughput
    claim_seconds: float = 60.0
    max_body: int = 1_048_576

    def __post_init__(self) -> None:
        if not self.app_secret:
            raise MissingSecret("WHATSAPP_APP_SECRET is required: it verifies every webhook")
        if not self.phone_number_id:
            raise MissingSecret("WHATSAPP_PHONE_NUMBER_ID is required")

    @property
    def version(self) -> str:
        version = self.api_version.strip("/")
        return version if version.startswith("v") else f"v{version}"

    @property
    def template(self) -> tuple[str, str] | None:
        """The approved template's (name, language) for agent replies outside the window."""
        if not self.reply_template:
            return None
        name, _, language = self.reply_template.partition(":")
        return name.strip(), language.strip() or "es"
