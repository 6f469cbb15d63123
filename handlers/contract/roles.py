"""What a line in a case's thread is about; adapters render each with a table (no default)."""

from __future__ import annotations

from enum import StrEnum


class ThreadRole(StrEnum):
    TRANSCRIPT = "transcript"  # the conversation so far, when a case opens
    CREATOR = "creator"  # the creator wrote while people own the case
    NUDGE = "nudge"  # the creator asked for a person again while waiting
    TRIAGE = "triage"  # triage read a new message of an open case as urgent
    UNDELIVERABLE = "undeliverable"  # an agent's reply could not reach the creator
    RECLASSIFIED = "reclassified"  # an agent corrected triage
    KB_SENT = "kb_sent"  # agent assist: a KB answer sent as the agent
    KB_DRAFT = "kb_draft"  # an agent's answer saved as a KB draft
    WHATSAPP_WINDOW = "whatsapp_window"  # a reply held until the creator reopens WhatsApp's window
    PAGE = "page"
    SLA_REMINDER = "sla_reminder"
    SLA_BREACH = "sla_breach"
    CREATOR_NUDGED = "creator_nudged"
    AUTO_CLOSED = "auto_closed"
