"""When cups rounds fall: every 1, 2 or 4 weeks on a day and time, in local time.

A round belongs to a community week (Monday to Monday in its timezone) and is named
by that week's local Monday: the `job_runs` period of its claim, so a round runs once
per week it falls in, even across restarts and several processes, and moving the day
or time within that week never runs it twice.

`every 2w` (or 4w) counts weeks from an anchor: the week of the first round after an
admin set the rhythm. The first round is therefore the next DAY HH:MM after
`config cups every …`, then every N weeks; setting the rhythm again re-anchors it the
same way. A fixed epoch (weeks since some Monday) would have made "every 2w" start
this week or next depending on the parity of the date, which no admin could guess.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.calendar import latest_firing, next_firing
from bot.domain import CupsRhythm, Schedule
from bot.parsing import describe_schedule, parse_schedule
from bot.weeks import local_date, week_of, zone

EVERY = (1, 2, 4)  # weeks between rounds
USAGE = "`config cups every 2w mon 10:00` (every 1w, 2w or 4w, a day and a 24-hour time)"


class BadRhythm(ValueError):
    """What is wrong with a `config cups …` value, in plain words."""


def week_monday(instant: datetime, tz_name: str) -> date:
    """The local Monday of the community week that holds `instant`."""
    start, _ = week_of(instant, tz_name)
    return local_date(start, tz_name)


def round_of(firing: datetime, tz_name: str) -> str:
    """The round a firing belongs to: its week's local Monday, ISO (the claim period)."""
    return week_monday(firing, tz_name).isoformat()


def is_round_week(rhythm: CupsRhythm, monday: date) -> bool:
    weeks = (monday - rhythm.anchor).days // 7
    return weeks >= 0 and weeks % rhythm.weeks == 0


def latest_round(rhythm: CupsRhythm, tz_name: str, now: datetime) -> datetime | None:
    """The latest firing at or before `now` in a round week; None before the first."""
    firing = latest_firing(rhythm.schedule, tz_name, now)
    for _ in range(max(EVERY)):
        monday = week_monday(firing, tz_name)
        if monday < rhythm.anchor:
            return None
        if is_round_week(rhythm, monday):
            return firing
        firing = latest_firing(rhythm.schedule, tz_name, firing - timedelta(seconds=1))
    return None


def next_round(rhythm: CupsRhythm, tz_name: str, after: datetime) -> datetime:
    """The first firing after `after` in a round week."""
    firing = next_firing(rhythm.schedule, tz_name, after)
    while not is_round_week(rhythm, week_monday(firing, tz_name)):
        firing = next_firing(rhythm.schedule, tz_name, firing)
    return firing


def anchored(weeks: int, schedule: Schedule, tz_name: str, now: datetime) -> CupsRhythm:
    """The rhythm an admin sets at `now`: its first round is the schedule's next firing."""
    first = next_firing(schedule, tz_name, now)
    return CupsRhythm(weeks, schedule, week_monday(first, tz_name))


def parse(value: str, tz_name: str, now: datetime) -> CupsRhythm | None:
    """`every 2w mon 10:00` → a rhythm anchored at `now`; `off` → None. A BadRhythm
    says what is wrong otherwise."""
    words = value.lower().split()
    if words == ["off"]:
        return None
    if not words or words[0] != "every":
        raise BadRhythm(f"Say how often and when, like {USAGE}, or `config cups off`.")
    rest = words[1:]
    if len(rest) >= 2 and rest[1] in ("w", "week", "weeks") and rest[0].isdigit():
        rest = [rest[0] + "w", *rest[2:]]  # `every 2 weeks mon 10:00`
    if not rest or not _weeks(rest[0]):
        said = rest[0] if rest else "nothing"
        raise BadRhythm(
            f"Cups rounds run every 1, 2 or 4 weeks, not “{said}”: {USAGE}, or `config cups off`."
        )
    schedule = parse_schedule(" ".join(rest[1:]))
    if schedule is None:
        raise BadRhythm(f"After the rhythm I need a day and a 24-hour time: {USAGE}.")
    return anchored(_weeks(rest[0]), schedule, tz_name, now)


def _weeks(word: str) -> int:
    """`1w`, `2w`, `4w` → 1, 2, 4; 0 for anything else."""
    number = word.removesuffix("w")
    if word.endswith("w") and number.isdigit() and int(number) in EVERY:
        return int(number)
    return 0


def describe(rhythm: CupsRhythm | None) -> str:
    if rhythm is None:
        return "off"
    every = "every week" if rhythm.weeks == 1 else f"every {rhythm.weeks} weeks"
    return f"{every}, {describe_schedule(rhythm.schedule)}"


def describe_next(rhythm: CupsRhythm, tz_name: str, after: datetime) -> str:
    """`Mon 7 Dec 2026, 10:00`: the next round, in the community's time."""
    local = next_round(rhythm, tz_name, after).astimezone(zone(tz_name))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"
