"""Service-level targets per priority: first response and resolution.

One small place on purpose: the on-call work adds configured targets; point
:data:`DEFAULT_TARGETS` (or the ``targets=`` arguments of :mod:`handlers.metrics`) at them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class SlaTarget:
    first_response: timedelta
    resolution: timedelta


DEFAULT_TARGETS: dict[str, SlaTarget] = {
    "P1": SlaTarget(timedelta(minutes=15), timedelta(hours=4)),
    "P2": SlaTarget(timedelta(hours=1), timedelta(hours=24)),
    "P3": SlaTarget(timedelta(hours=8), timedelta(hours=72)),
    "P4": SlaTarget(timedelta(hours=24), timedelta(days=7)),
}


def target_for(priority: str, targets: dict[str, SlaTarget] | None = None) -> SlaTarget:
    """The target of a priority; an unknown priority gets the loosest (P4)."""
    table = targets or DEFAULT_TARGETS
    return table.get(priority, table.get("P4", DEFAULT_TARGETS["P4"]))
