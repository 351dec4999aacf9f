"""When weekly schedules fire and when quiet hours end, in local time across DST."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from bot.calendar import deliverable_at, firings, latest_firing, next_firing
from bot.domain import Schedule
from tests.unit.conftest import utc

MONDAY_9 = Schedule(0, time(9, 0))


@pytest.mark.parametrize(
    ("tz", "now", "expected"),
    [
        # Berlin leaves summer time on Sun 2026-10-25: 09:00 is 07:00 UTC, then 08:00 UTC.
        ("Europe/Berlin", utc(2026, 10, 20, 12), utc(2026, 10, 19, 7)),
        ("Europe/Berlin", utc(2026, 10, 27, 12), utc(2026, 10, 26, 8)),
        # Berlin enters summer time on Sun 2026-03-29.
        ("Europe/Berlin", utc(2026, 3, 24, 12), utc(2026, 3, 23, 8)),
        ("Europe/Berlin", utc(2026, 3, 31, 12), utc(2026, 3, 30, 7)),
        # New York leaves summer time on Sun 2026-11-01 and enters it on Sun 2026-03-08.
        ("America/New_York", utc(2026, 10, 28, 0), utc(2026, 10, 26, 13)),
        ("America/New_York", utc(2026, 11, 4, 0), utc(2026, 11, 2, 14)),
        ("America/New_York", utc(2026, 3, 4, 0), utc(2026, 3, 2, 14)),
        ("America/New_York", utc(2026, 3, 11, 0), utc(2026, 3, 9, 13)),
    ],
)
def test_weekly_schedules_follow_local_time_across_dst(
    tz: str, now: datetime, expected: datetime
) -> None:
    assert latest_firing(MONDAY_9, tz, now) == expected


def test_the_firing_instant_itself_counts_as_fired() -> None:
    assert latest_firing(MONDAY_9, "UTC", utc(2026, 11, 30, 9)) == utc(2026, 11, 30, 9)
    assert latest_firing(MONDAY_9, "UTC", utc(2026, 11, 30, 8, 59)) == utc(2026, 11, 23, 9)


def test_next_and_all_firings_in_a_span() -> None:
    assert next_firing(MONDAY_9, "UTC", utc(2026, 11, 30, 9)) == utc(2026, 12, 7, 9)
    span = firings(MONDAY_9, "Europe/Berlin", utc(2026, 10, 12), utc(2026, 11, 3))
    assert span == [
        utc(2026, 10, 12, 7),
        utc(2026, 10, 19, 7),
        utc(2026, 10, 26, 8),
        utc(2026, 11, 2, 8),
    ]


def test_a_time_skipped_by_spring_forward_fires_at_the_old_offset() -> None:
    sunday_0230 = Schedule(6, time(2, 30))  # 02:00–03:00 does not exist in Berlin that night
    assert latest_firing(sunday_0230, "Europe/Berlin", utc(2026, 3, 29, 12)) == utc(
        2026, 3, 29, 1, 30
    )


@pytest.mark.parametrize(
    ("tz", "now", "expected"),
    [
        ("UTC", utc(2026, 11, 24, 12), utc(2026, 11, 24, 12)),  # daytime: now
        ("UTC", utc(2026, 11, 24, 8), utc(2026, 11, 24, 8)),  # 08:00 is no longer quiet
        ("UTC", utc(2026, 11, 24, 21), utc(2026, 11, 25, 8)),  # 21:00 is quiet
        ("UTC", utc(2026, 11, 24, 3), utc(2026, 11, 24, 8)),  # after midnight: this morning
        ("Asia/Tokyo", utc(2026, 11, 27, 15), utc(2026, 11, 27, 23)),  # 00:00 Sat → 08:00
        ("America/Los_Angeles", utc(2026, 11, 26, 10), utc(2026, 11, 26, 16)),  # 02:00 → 08:00
        # Berlin's 08:00 the morning after the clocks go back is 07:00 UTC.
        ("Europe/Berlin", utc(2026, 10, 24, 22), utc(2026, 10, 25, 7)),
    ],
)
def test_quiet_hours_defer_to_eight_in_the_morning_locally(
    tz: str, now: datetime, expected: datetime
) -> None:
    assert deliverable_at(now, tz) == expected
    assert deliverable_at(expected, tz) == expected
    assert expected - now < timedelta(hours=11, minutes=1)
