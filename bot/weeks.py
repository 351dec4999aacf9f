"""Community weeks: Monday 00:00 to Monday 00:00 in the community's timezone.

Boundaries are computed on local dates and then localized, so a week that contains a
DST change is 167 or 169 hours long, as the people in it experience it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def is_timezone(name: str) -> bool:
    """An IANA zone name (`Europe/Berlin`). Checked against the list of zones rather
    than by loading the name: `America` is a directory of zones, and a very long
    name is an OSError (File name too long), not a missing zone."""
    return name in _zone_names()


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)


def week_of(instant: datetime, tz_name: str) -> tuple[datetime, datetime]:
    """[start, end) of the week containing `instant`, as UTC instants."""
    tz = zone(tz_name)
    local_day = instant.astimezone(tz).date()
    monday = local_day - timedelta(days=local_day.weekday())
    return local_midnight(monday, tz), local_midnight(monday + timedelta(days=7), tz)


def previous_week(instant: datetime, tz_name: str) -> tuple[datetime, datetime]:
    """The last complete week before the one containing `instant`."""
    start, _ = week_of(instant, tz_name)
    return week_of(start - timedelta(hours=1), tz_name)


def weeks_back(start: datetime, tz_name: str, count: int) -> list[tuple[datetime, datetime]]:
    """`count` consecutive weeks ending with the one starting at `start`, oldest first."""
    tz = zone(tz_name)
    monday = start.astimezone(tz).date()
    days = [monday - timedelta(days=7 * k) for k in range(count - 1, -1, -1)]
    return [(local_midnight(d, tz), local_midnight(d + timedelta(days=7), tz)) for d in days]


def local_date(instant: datetime, tz_name: str) -> date:
    return instant.astimezone(zone(tz_name)).date()
