"""The on-call schedule: a weekly rotation with a handoff day, hour and time zone, plus overrides.

The rotation comes from configuration; overrides (``/oncall handoff @user``) live in the
database. Handoffs are computed on local calendar dates, so a DST change moves the handoff
instant in UTC but never skips or repeats a person's week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from handlers.common.text import fold
from handlers.common.utc import as_utc
from handlers.storage.models import OncallOverride

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_PREFIXES = {
    **{day: n for n, day in enumerate(WEEKDAYS)},
    **{day: n for n, day in enumerate(("lun", "mar", "mie", "jue", "vie", "sab", "dom"))},
}
ANCHOR = date(2024, 1, 1)  # a Monday: week 0 of every rotation belongs to its first member


@dataclass(frozen=True, slots=True)
class Rotation:
    members: tuple[str, ...] = ()
    handoff_weekday: int = 0  # Monday
    handoff_hour: int = 10
    timezone: str = "America/Mexico_City"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def last_handoff(self, now: datetime) -> datetime:
        """The most recent handoff at or before ``now`` (aware, UTC)."""
        local = as_utc(now).astimezone(self.zone)
        back = (local.weekday() - self.handoff_weekday) % 7
        day = local.date() - timedelta(days=back)
        handoff = self._at(day)
        if handoff > as_utc(now):
            handoff = self._at(day - timedelta(days=7))
        return handoff

    def next_handoff(self, now: datetime) -> datetime:
        day = self.last_handoff(now).astimezone(self.zone).date() + timedelta(days=7)
        return self._at(day)

    def member_at(self, now: datetime) -> str | None:
        if not self.members:
            return None
        day = self.last_handoff(now).astimezone(self.zone).date()
        week = (day - ANCHOR).days // 7
        return self.members[week % len(self.members)]

    def after(self, user: str | None) -> str | None:
        """The person after ``user`` in the rotation (escalation of an unanswered page)."""
        if not self.members:
            return None
        if user not in self.members:
            return self.members[0]
        return self.members[(self.members.index(user) + 1) % len(self.members)]

    def _at(self, day: date) -> datetime:
        local = datetime.combine(day, time(self.handoff_hour), tzinfo=self.zone)
        return local.astimezone(ZoneInfo("UTC"))


def parse_handoff(value: str) -> tuple[int, int]:
    """``"mon 10:00"`` / ``"lunes 10"`` / ``"1 10"`` → (weekday 0-6, hour)."""
    parts = value.replace(":", " ").split()
    if not parts:
        raise ValueError("handoff needs a weekday and an hour, e.g. 'mon 10:00'")
    head = fold(parts[0])[:3]
    if head.isdigit() and 1 <= int(head) <= 7:
        weekday = int(head) - 1
    elif head in DAY_PREFIXES:
        weekday = DAY_PREFIXES[head]
    else:
        raise ValueError(f"unknown weekday {parts[0]!r}")
    hour = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 10
    if not 0 <= hour <= 23:
        raise ValueError("handoff hour must be 0-23")
    return weekday, hour


@dataclass(frozen=True, slots=True)
class Shift:
    user: str | None
    starts_at: datetime
    ends_at: datetime
    override: bool = False


class Schedule:
    """Who is on call, reading the rotation and the overrides stored in the database."""

    def __init__(self, rotation: Rotation) -> None:
        self.rotation = rotation

    def now(self, session: Session, now: datetime) -> Shift:
        override = _override_at(session, now)
        if override is not None:
            return Shift(override.user, as_utc(override.starts_at), as_utc(override.ends_at), True)
        start = self.rotation.last_handoff(now)
        return Shift(self.rotation.member_at(now), start, self.rotation.next_handoff(now))

    def next(self, session: Session, now: datetime) -> Shift:
        """The shift that follows the current one (an override counts as a shift)."""
        return self.now(session, self.now(session, now).ends_at)

    def upcoming(self, session: Session, now: datetime, count: int = 4) -> list[Shift]:
        shifts = [self.now(session, now)]
        while len(shifts) < count:
            shifts.append(self.now(session, shifts[-1].ends_at))
        return shifts

    def hand_off(self, session: Session, *, to: str, by: str, now: datetime) -> OncallOverride:
        """``to`` covers from now until the end of the current shift."""
        ends = self.now(session, now).ends_at
        override = OncallOverride(user=to, starts_at=now, ends_at=ends, created_by=by)
        for current in _overrides_covering(session, now):
            current.ends_at = now  # the earlier cover ends where the new one starts
        session.add(override)
        return override


def _overrides_covering(session: Session, now: datetime) -> list[OncallOverride]:
    return list(
        session.exec(
            select(OncallOverride)
            .where(col(OncallOverride.starts_at) <= now, col(OncallOverride.ends_at) > now)
            .order_by(col(OncallOverride.id).desc())
        ).all()
    )


def _override_at(session: Session, now: datetime) -> OncallOverride | None:
    found = _overrides_covering(session, now)
    return found[0] if found else None
