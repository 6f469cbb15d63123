"""WhatsApp Business Cloud API adapter (see docs/whatsapp.md)."""

from bot.adapters.whatsapp.adapter import WhatsAppAdapter
from bot.adapters.whatsapp.config import WEBHOOK_PATH, MissingSecret, WhatsAppConfig

__all__ = ["WEBHOOK_PATH", "MissingSecret", "WhatsAppAdapter", "WhatsAppConfig"]
