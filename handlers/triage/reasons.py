"""Why a case was raised, as a catalog key plus values, rendered in the reader's language.

Triage and the router store reasons structured (a JSON list in ``Escalation.reason``) so each
agent surface renders them with its own translator; older cases hold plain English text, which
renders as it is. ``puente triage`` renders them in English (its JSON is a machine interface).
The rule keys in ``data/rules.toml`` are listed here so Babel extraction keeps them in the
catalogs; a test fails when the two lists drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from handlers.common.i18n import N_, Translator
from handlers.contract.priority import Priority

QUOTED = N_("triage_reason_quoted")
CLOSE_EXAMPLE = N_("triage_reason_close_example")
VIP_RAISED = N_("triage_reason_vip_raised")
ASKED_FOR_PERSON = N_("triage_reason_asked_for_person")
NO_KB_ANSWER = N_("triage_reason_no_kb_answer")
VIP_CREATOR = N_("triage_reason_vip_creator")  # older cases' reason for the VIP raise
MODEL_READING = N_("triage_reason_model_reading")
AGENT_LABEL = N_("triage_reason_agent_label")
# a P1 the model is not sure of: a P1 case, but no page until a person confirms it
POSSIBLE_P1 = N_("triage_reason_possible_p1")
MAX_STORED = 500  # characters of Escalation.reason a stored list may take

# The ``reason`` keys of the [[rule]] and [[cue]] blocks of data/rules.toml.
RULE_KEYS = (
    N_("triage_reason_self_harm_intent"),
    N_("triage_reason_self_harm_wish"),
    N_("triage_reason_self_harm_method"),
    N_("triage_reason_self_harm_farewell"),
    N_("triage_reason_self_harm_someone_else"),
    N_("triage_reason_child_sexual_content"),
    N_("triage_reason_child_grooming"),
    N_("triage_reason_child_abuse_material"),
    N_("triage_reason_child_predator"),
    N_("triage_reason_child_sexual_content_en"),
    N_("triage_reason_threat_location"),
    N_("triage_reason_threat_explicit"),
    N_("triage_reason_threat_attack"),
    N_("triage_reason_threat_explicit_en"),
    N_("triage_reason_sextortion_demand"),
    N_("triage_reason_sextortion_named"),
    N_("triage_reason_sextortion_demand_en"),
    N_("triage_reason_account_hacked"),
    N_("triage_reason_account_credentials_changed"),
    N_("triage_reason_account_sessions"),
    N_("triage_reason_payment_unauthorised"),
    N_("triage_reason_payment_chargeback"),
    N_("triage_reason_payment_earnings_redirected"),
    N_("triage_reason_payment_scam"),
    N_("triage_reason_harassment_hate"),
    N_("triage_reason_harassment_stalking"),
    N_("triage_reason_legal_lawsuit"),
    N_("triage_reason_legal_copyright"),
    N_("triage_reason_legal_data_protection"),
    N_("triage_reason_vip_live_incident"),
    N_("triage_reason_vip_event"),
    N_("triage_reason_human_request"),
    N_("triage_reason_complaint_angry"),
    N_("triage_reason_cue_dying"),
    N_("triage_reason_cue_violence"),
    N_("triage_reason_cue_minor"),
    N_("triage_reason_cue_intimate_images"),
    N_("triage_reason_cue_intrusion"),
    N_("triage_reason_cue_fraud"),
    N_("triage_reason_cue_abuse"),
)


@dataclass(frozen=True, slots=True)
class Reason:
    """One piece of evidence: what was seen (``key``, with the creator's words that matched),
    and/or the closest labelled example of ``category`` (its similarity and text)."""

    key: str = ""
    quote: str = ""
    category: str = ""
    score: float = 0.0
    example: str = ""

    def render(self, t: Translator) -> str:
        parts = []
        if self.key:
            seen = t.gettext(self.key)
            parts.append(t.gettext(QUOTED, reason=seen, quote=self.quote) if self.quote else seen)
        if self.category:
            score = t.number(self.score, "0.00")
            parts.append(
                t.gettext(CLOSE_EXAMPLE, category=self.category, score=score, example=self.example)
            )
        return ", ".join(parts)


def render(reasons: Iterable[Reason], t: Translator) -> str:
    return "; ".join(reason.render(t) for reason in reasons)


def encode(reasons: Sequence[Reason]) -> str:
    """The reasons as stored on a case: a JSON list, dropping trailing ones to fit."""
    items = [{k: v for k, v in asdict(r).items() if v} for r in reasons]
    while items:
        text = json.dumps(items, ensure_ascii=False, separators=(",", ":"))
        if len(text) <= MAX_STORED:
            return text
        items.pop()
    return ""


def decode(stored: str) -> tuple[Reason, ...] | None:
    """The structured reasons of a stored text, or None for an old plain-text reason."""
    if not stored.startswith("[{"):
        return None
    try:
        items = json.loads(stored)
        return tuple(
            Reason(
                key=str(item.get("key", "")),
                quote=str(item.get("quote", "")),
                category=str(item.get("category", "")),
                score=float(item.get("score", 0.0)),
                example=str(item.get("example", "")),
            )
            for item in items
        )
    except (ValueError, TypeError, AttributeError):
        return None


def render_stored(stored: str, t: Translator) -> str:
    """A case's stored reason in ``t``'s language; plain text stays as it was written."""
    reasons = decode(stored.strip())
    return stored.strip() if reasons is None else render(reasons, t)


def raise_for_vip(
    priority: Priority, reasons: Sequence[Reason]
) -> tuple[Priority, tuple[Reason, ...]]:
    """A VIP creator's P3 becomes P2, and the reasons say so; other priorities stand."""
    if priority is not Priority.P3:
        return priority, tuple(reasons)
    return Priority.P2, (*reasons, Reason(VIP_RAISED))


def is_possible(stored: str) -> bool:
    """Whether a case's stored reason marks it a possible P1 (no page until confirmed)."""
    reasons = decode(stored.strip())
    return reasons is not None and any(r.key == POSSIBLE_P1 for r in reasons)


def confirmed(stored: str) -> str:
    """A possible P1's stored reason without the mark, once a person confirmed it."""
    reasons = decode(stored.strip())
    if reasons is None:
        return stored
    return encode([r for r in reasons if r.key != POSSIBLE_P1])
