"""The on-call schedule: weekly rotation, handoffs across a DST change, overrides; SLA parsing."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from handlers.oncall.schedule import Rotation, Schedule, parse_handoff
from handlers.oncall.sla import duration, parse_sla

# Sunday 10:00 in New York; the US clocks go forward on Sunday 2026-03-08 at 02:00.
NEW_YORK = Rotation(("UANA", "UBEA", "UCAR"), handoff_weekday=6, handoff_hour=10,
                    timezone="America/New_York")  # fmt: skip


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_rotation_hands_off_at_the_local_hour_on_both_sides_of_dst() -> None:
    before = NEW_YORK.member_at(utc(2026, 3, 8, 13, 59))
    after = NEW_YORK.member_at(utc(2026, 3, 8, 14, 0))  # 10:00 EDT
    assert before != after
    assert NEW_YORK.after(before) == after
    assert NEW_YORK.last_handoff(utc(2026, 3, 8, 14, 0)) == utc(2026, 3, 8, 14, 0)
    assert NEW_YORK.last_handoff(utc(2026, 3, 8, 13, 0)) == utc(2026, 3, 1, 15, 0)  # 10:00 EST
    assert NEW_YORK.next_handoff(utc(2026, 3, 8, 13, 0)) == utc(2026, 3, 8, 14, 0)
    # autumn: back to EST on 2026-11-01, the handoff follows to 15:00 UTC
    assert NEW_YORK.last_handoff(utc(2026, 11, 1, 14, 30)) == utc(2026, 10, 25, 14, 0)
    assert NEW_YORK.last_handoff(utc(2026, 11, 1, 15, 0)) == utc(2026, 11, 1, 15, 0)


def test_every_member_gets_one_week_in_turn() -> None:
    start = NEW_YORK.next_handoff(utc(2026, 1, 5))
    weeks = [NEW_YORK.member_at(start + timedelta(days=7 * n, hours=1)) for n in range(6)]
    assert weeks[:3] == weeks[3:]
    assert sorted(weeks[:3]) == sorted(NEW_YORK.members)
    for current, following in itertools.pairwise(weeks):
        assert NEW_YORK.after(current) == following


def test_no_members_means_nobody_on_call() -> None:
    empty = Rotation()
    assert empty.member_at(utc(2026, 5, 1)) is None
    assert empty.after("UANA") is None


def test_a_handoff_covers_until_the_next_scheduled_handoff(engine: Engine) -> None:
    schedule = Schedule(NEW_YORK)
    now = utc(2026, 3, 10, 12)
    with Session(engine) as session:
        scheduled = schedule.now(session, now)
        assert scheduled.user is not None and not scheduled.override
        schedule.hand_off(session, to="UDIA", by=scheduled.user, now=now)
        session.commit()
        cover = schedule.now(session, now + timedelta(hours=1))
        assert (cover.user, cover.override, cover.ends_at) == ("UDIA", True, scheduled.ends_at)
        assert schedule.now(session, now - timedelta(minutes=1)).user == scheduled.user
        following = schedule.next(session, now)
        assert following.user == NEW_YORK.after(scheduled.user)
        assert schedule.now(session, scheduled.ends_at).user == following.user


def test_a_second_handoff_replaces_the_first(engine: Engine) -> None:
    schedule = Schedule(NEW_YORK)
    now = utc(2026, 3, 10, 12)
    with Session(engine) as session:
        schedule.hand_off(session, to="UDIA", by="UANA", now=now)
        session.commit()
        schedule.hand_off(session, to="UEVA", by="UDIA", now=now + timedelta(hours=2))
        session.commit()
        assert schedule.now(session, now + timedelta(hours=1)).user == "UDIA"
        assert schedule.now(session, now + timedelta(hours=3)).user == "UEVA"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("mon 10:00", (0, 10)), ("Lunes 9", (0, 9)), ("miércoles 18:30", (2, 18)), ("7 0", (6, 0))],
)
def test_handoff_days_in_english_spanish_or_numbers(text: str, expected: tuple[int, int]) -> None:
    assert parse_handoff(text) == expected


@pytest.mark.parametrize("text", ["", "someday 10", "mon 25"])
def test_a_bad_handoff_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_handoff(text)


def test_sla_defaults_and_overrides() -> None:
    default = parse_sla("")
    assert default["P1"].first_response == timedelta(minutes=15)
    assert default["P1"].resolution == timedelta(hours=4)
    assert default["P4"].resolution == timedelta(days=7)
    tuned = parse_sla("P1=5m/1h, p3=2h/1d")
    assert tuned["P1"].first_response == timedelta(minutes=5)
    assert tuned["P3"].resolution == timedelta(days=1)
    assert tuned["P2"] == default["P2"]
    assert dict(tuned.response_minutes())["P1"] == 5


@pytest.mark.parametrize("text", ["P1=15m", "P9=1h/2h", "P1=soon/4h", "P2:1h/24h"])
def test_a_bad_sla_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_sla(text)


def test_durations() -> None:
    assert duration("90s") == timedelta(seconds=90)
    assert duration("1.5h") == timedelta(minutes=90)
    assert duration("2w") == timedelta(days=14)
