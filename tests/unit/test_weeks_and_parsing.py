from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.domain import Schedule
from bot.emoji_names import canonical, glyph, same
from bot.parsing import leading_mention, parse_schedule, parse_time
from bot.weeks import is_timezone, previous_week, week_of, weeks_back


def test_week_runs_monday_to_monday_in_the_community_timezone() -> None:
    # Sunday 23:30 in Berlin is still the old week, though it is Sunday 22:30 UTC.
    sunday_night = datetime(2026, 11, 29, 22, 30, tzinfo=UTC)
    start, end = week_of(sunday_night, "Europe/Berlin")
    assert start == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # Mon 23 Nov 00:00 CET
    assert end == datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    monday_early = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)  # Mon 00:30 in Berlin
    assert week_of(monday_early, "Europe/Berlin")[0] == end


def test_a_week_containing_a_dst_change_is_shorter_or_longer() -> None:
    spring = week_of(datetime(2026, 3, 25, tzinfo=UTC), "Europe/Berlin")  # forward on the 29th
    autumn = week_of(
        datetime(2026, 10, 21, tzinfo=UTC), "Europe/Berlin"
    )  # clocks go back on the 25th
    assert spring[1] - spring[0] == timedelta(hours=167)
    assert autumn[1] - autumn[0] == timedelta(hours=169)
    ny = week_of(datetime(2026, 3, 4, tzinfo=UTC), "America/New_York")  # forward on the 8th
    assert ny[1] - ny[0] == timedelta(hours=167)


def test_previous_week_and_weeks_back_are_contiguous() -> None:
    now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    start, end = previous_week(now, "America/New_York")
    assert end == week_of(now, "America/New_York")[0]
    weeks = weeks_back(start, "America/New_York", 12)
    assert len(weeks) == 12 and weeks[-1] == (start, end)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(weeks))


@pytest.mark.parametrize("name", ["Europe/Berlin", "UTC", "America/New_York", "Asia/Kolkata"])
def test_known_timezones(name: str) -> None:
    assert is_timezone(name)


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "/etc/localtime", "berlin"])
def test_unknown_timezones(name: str) -> None:
    assert not is_timezone(name)


def test_schedules() -> None:
    assert parse_schedule("mon 09:00") == Schedule(0, time(9, 0))
    assert parse_schedule("Friday 15:30") == Schedule(4, time(15, 30))
    assert parse_schedule("fri 7:05") == Schedule(4, time(7, 5))
    for bad in [
        "mon",
        "mon 25:00",
        "funday 09:00",
        "mo 09:00",
        "mon 09:60",
        "mon 9",
        "mon 09:00 x",
    ]:
        assert parse_schedule(bad) is None, bad
    assert parse_time("24:00") is None


def test_leading_mention() -> None:
    assert leading_mention("<@U1> for the tip") == ("U1", "for the tip")
    assert leading_mention("  <@U1>,  thanks") == ("U1", "thanks")
    assert leading_mention("a guide <@U1>") == (None, "a guide <@U1>")


def test_emoji_names_from_every_platform_agree() -> None:
    assert (
        canonical("🙋")
        == canonical("raising_hand")
        == canonical(":raising_hand:")
        == "raising_hand"
    )
    assert canonical("raising_hand::skin-tone-4") == canonical("🙋🏿") == "raising_hand"
    assert canonical("<:helpme:123>") == "helpme" and canonical("<a:helpme:9>") == "helpme"
    assert same("+1", "👍") and not same("👍", "🙋")
    assert canonical("two words") is None and canonical("") is None
    assert glyph("raising_hand") == "🙋" and glyph("helpme") == ":helpme:"
