"""When weekly schedules fire and when a member may be messaged, in local time.

Schedules are wall-clock times in the community's timezone, so they follow DST: a
Monday 09:00 post is at 09:00 in Berlin in winter and in summer. A wall-clock time that
does not exist on a spring-forward day fires at the same offset as the hour before.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from bot.domain import Schedule
from bot.weeks import zone

QUIET_FROM = time(21, 0)
QUIET_UNTIL = time(8, 0)


def _at(day: date, at: time, tz_name: str) -> datetime:
    return datetime.combine(day, at, tzinfo=zone(tz_name)).astimezone(UTC)


def latest_firing(schedule: Schedule, tz_name: str, now: datetime) -> datetime:
    """The most recent instant ≤ now at which the weekly schedule fired."""
    today = now.astimezone(zone(tz_name)).date()
    back = (today.weekday() - schedule.weekday) % 7
    candidate = _at(today - timedelta(days=back), schedule.at, tz_name)
    if candidate > now:
        candidate = _at(today - timedelta(days=back + 7), schedule.at, tz_name)
    return candidate


def firings(schedule: Schedule, tz_name: str, after: datetime, until: datetime) -> list[datetime]:
    """Every instant in (after, until] at which the schedule fires, in order."""
    found: list[datetime] = []
    moment = latest_firing(schedule, tz_name, until)
    while moment > after:
        found.append(moment)
        moment = latest_firing(schedule, tz_name, moment - timedelta(seconds=1))
    return found[::-1]


def deliverable_at(now: datetime, tz_name: str) -> datetime:
    """Now, or 08:00 local when it is quiet hours (21:00–08:00) for the member."""
    local = now.astimezone(zone(tz_name))
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return now
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return _at(day, QUIET_UNTIL, tz_name)


def next_firing(schedule: Schedule, tz_name: str, after: datetime) -> datetime:
    """The first instant after `after` at which the weekly schedule fires."""
    return firings(schedule, tz_name, after, after + timedelta(days=8))[0]
