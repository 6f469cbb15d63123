"""SLA targets and the on-call policy: how long each priority may wait, how pages repeat, when a
silent creator is nudged and a case closed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from handlers.contract.priority import Priority
from handlers.oncall.schedule import Rotation

PRIORITY_LEVELS = tuple(Priority)
DEFAULT_SLA = "P1=15m/4h,P2=1h/24h,P3=8h/72h,P4=24h/7d"
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)


def duration(value: str) -> timedelta:
    """``"15m"``, ``"4h"``, ``"7d"`` → timedelta."""
    found = _DURATION.match(value)
    if not found:
        raise ValueError(f"not a duration: {value!r} (use e.g. 15m, 4h, 7d)")
    return timedelta(seconds=float(found.group(1)) * UNITS[found.group(2).lower()])


@dataclass(frozen=True, slots=True)
class Target:
    first_response: timedelta
    resolution: timedelta


@dataclass(frozen=True, slots=True)
class SlaTargets:
    by_priority: tuple[tuple[Priority, Target], ...]

    def __getitem__(self, priority: str) -> Target:
        targets = dict(self.by_priority)
        return targets.get(Priority.of(priority)) or targets[Priority.P4]

    def response_minutes(self) -> tuple[tuple[Priority, int], ...]:
        """For the conversation policy's ``due`` (what creators are told)."""
        return tuple((p, int(t.first_response.total_seconds() // 60)) for p, t in self.by_priority)


def parse_sla(value: str) -> SlaTargets:
    """``"P1=15m/4h,P2=1h/24h"``: priorities left out keep their defaults."""
    targets = dict(_parse(DEFAULT_SLA))
    targets.update(_parse(value))
    return SlaTargets(tuple((p, targets[p]) for p in PRIORITY_LEVELS))


def _parse(value: str) -> list[tuple[Priority, Target]]:
    found = []
    for item in value.split(","):
        if not item.strip():
            continue
        priority, sep, spec = item.partition("=")
        first, slash, resolution = spec.partition("/")
        priority = priority.strip().upper()
        if not sep or not slash or priority not in PRIORITY_LEVELS:
            raise ValueError(f"not an SLA target: {item.strip()!r} (use e.g. P1=15m/4h)")
        found.append((Priority(priority), Target(duration(first), duration(resolution))))
    return found


@dataclass(frozen=True, slots=True)
class OncallPolicy:
    rotation: Rotation = field(default_factory=Rotation)
    sla: SlaTargets = field(default_factory=lambda: parse_sla(""))
    reminder_at: float = 0.75  # share of a target after which the thread gets a reminder
    page_repeat: timedelta = timedelta(minutes=5)
    page_repeats: int = 2  # pages to one person before the next in the rotation is paged
    nudge_after: timedelta = timedelta(hours=2)
    close_after: timedelta = timedelta(hours=24)
    lease: timedelta = timedelta(minutes=1)
    worker_late: timedelta = timedelta(minutes=2)  # a due timer waiting longer: no worker runs
