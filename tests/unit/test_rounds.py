"""When cups rounds fall: the anchor, every 1, 2 or 4 weeks, local time, the refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.domain import Schedule
from bot.rounds import BadRhythm, anchored, latest_round, next_round, parse, round_of
from bot.weeks import zone

TUESDAY = datetime(2026, 11, 24, 10, tzinfo=UTC)
MON_10 = Schedule(0, time(10, 0))


def test_the_first_round_is_the_next_firing_after_the_admin_set_it() -> None:
    rhythm = parse("every 2w mon 10:00", "UTC", TUESDAY)

    assert rhythm is not None
    assert rhythm.anchor == date(2026, 11, 30)
    assert latest_round(rhythm, "UTC", TUESDAY) is None  # nothing before the first
    assert next_round(rhythm, "UTC", TUESDAY) == datetime(2026, 11, 30, 10, tzinfo=UTC)


def test_set_before_this_weeks_moment_the_first_round_is_this_week() -> None:
    monday_9 = datetime(2026, 11, 30, 9, tzinfo=UTC)
    assert anchored(2, MON_10, "UTC", monday_9).anchor == date(2026, 11, 30)
    assert anchored(2, MON_10, "UTC", monday_9 + timedelta(hours=2)).anchor == date(2026, 12, 7)


def test_every_two_weeks_skips_the_week_between() -> None:
    rhythm = anchored(2, MON_10, "UTC", TUESDAY)
    first = datetime(2026, 11, 30, 10, tzinfo=UTC)

    assert latest_round(rhythm, "UTC", first + timedelta(days=8)) == first
    assert next_round(rhythm, "UTC", first) == first + timedelta(weeks=2)
    assert latest_round(rhythm, "UTC", first + timedelta(weeks=2)) == first + timedelta(weeks=2)


def test_every_four_weeks_and_every_week() -> None:
    first = datetime(2026, 11, 30, 10, tzinfo=UTC)
    four = anchored(4, MON_10, "UTC", TUESDAY)
    one = anchored(1, MON_10, "UTC", TUESDAY)

    assert next_round(four, "UTC", first) == first + timedelta(weeks=4)
    assert latest_round(four, "UTC", first + timedelta(weeks=3, days=6)) == first
    assert next_round(one, "UTC", first) == first + timedelta(weeks=1)


def test_rounds_keep_their_local_time_across_a_dst_change() -> None:
    berlin = "Europe/Berlin"
    rhythm = anchored(2, MON_10, berlin, datetime(2027, 3, 16, tzinfo=UTC))
    first = next_round(rhythm, berlin, datetime(2027, 3, 16, tzinfo=UTC))
    second = next_round(rhythm, berlin, first)

    assert [m.astimezone(zone(berlin)).time() for m in (first, second)] == [time(10)] * 2
    assert second - first == timedelta(weeks=2, hours=-1)  # the clocks went forward


def test_a_round_is_named_by_its_weeks_local_monday() -> None:
    sunday_night = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # Monday already in Berlin
    assert round_of(sunday_night, "UTC") == "2026-11-30"
    assert round_of(sunday_night, "Europe/Berlin") == "2026-12-07"


def test_words_for_the_rhythm() -> None:
    assert parse("off", "UTC", TUESDAY) is None
    assert parse("OFF", "UTC", TUESDAY) is None
    rhythm = parse("every 2 weeks fri 15:30", "UTC", TUESDAY)
    assert rhythm is not None and rhythm.weeks == 2 and rhythm.schedule == Schedule(4, time(15, 30))
    weekly = parse("every 1w Wednesday 8:05", "UTC", TUESDAY)
    assert weekly is not None and weekly.schedule == Schedule(2, time(8, 5))


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("every 3w mon 10:00", "every 1, 2 or 4 weeks, not “3w”"),
        ("every fortnight", "every 1, 2 or 4 weeks, not “fortnight”"),
        ("every", "every 1, 2 or 4 weeks, not “nothing”"),
        ("every 2w", "a day and a 24-hour time"),
        ("every 2w mon 25:00", "a day and a 24-hour time"),
        ("every 2w someday 10:00", "a day and a 24-hour time"),
        ("sometimes", "Say how often and when"),
        ("", "Say how often and when"),
    ],
)
def test_a_bad_rhythm_is_refused_in_plain_words(value: str, says: str) -> None:
    with pytest.raises(BadRhythm) as refused:
        parse(value, "UTC", TUESDAY)
    assert says in str(refused.value)
    assert "config cups every 2w mon 10:00" in str(refused.value)
