"""Reading the arguments of slash commands, in the canonical form adapters produce:
mentions as `<@member_id>`, channels as `<#channel_id>`."""

from __future__ import annotations

import re
from datetime import time, timedelta

from bot.domain import Schedule

MENTION = re.compile(r"<@([^<>\s|]+)>")
CHANNEL = re.compile(r"<#([^<>\s|]+)>")
_LEADING_MENTION = re.compile(r"^\s*<@([^<>\s|]+)>[\s,:]*")
_DELAY = re.compile(r"^(?:(\d{1,3})\s*h(?:ours?|rs?)?)?\s*(?:(\d{1,4})\s*m(?:in(?:ute)?s?)?)?$")
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.h]?([0-5]\d)$")
_ID = re.compile(r"[0-9]{1,19}")
MAX_ID = 2**63 - 1  # the largest key either database stores

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def leading_mention(text: str) -> tuple[str | None, str]:
    """(`member_id`, rest) when the text starts with a mention, else (None, text)."""
    match = _LEADING_MENTION.match(text)
    if match is None:
        return None, text.strip()
    return match.group(1), text[match.end() :].strip()


def parse_id(value: str) -> int | None:
    """A row id carried in a button or form value: ASCII digits within a 64-bit key,
    else None (`"²".isdigit()` is true, and 10**25 overflows every database)."""
    if _ID.fullmatch(value) is None:
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def first_channel(text: str) -> str | None:
    match = CHANNEL.search(text)
    return match.group(1) if match else None


def parse_weekday(word: str) -> int | None:
    key = word.strip().lower()[:3]
    return WEEKDAYS.index(key) if key in WEEKDAYS and len(word.strip()) >= 3 else None


def parse_time(word: str) -> time | None:
    match = _TIME.match(word.strip().lower())
    if match is None:
        return None
    return time(int(match.group(1)), int(match.group(2)))


def parse_schedule(text: str) -> Schedule | None:
    """`mon 09:00` → Schedule(0, 09:00); None when it is not a day and a 24-hour time."""
    words = text.split()
    if len(words) != 2:
        return None
    day, at = parse_weekday(words[0]), parse_time(words[1])
    if day is None or at is None:
        return None
    return Schedule(day, at)


def describe_schedule(schedule: Schedule) -> str:
    return f"{WEEKDAY_NAMES[schedule.weekday]} {schedule.at.strftime('%H:%M')}"


def parse_delay(text: str) -> timedelta | None:
    """`30m`, `45 min`, `2h`, `1h30m` → a timedelta; None when it is not one."""
    match = _DELAY.match(text.strip().lower())
    if match is None or not any(match.groups()):
        return None
    hours, minutes = (int(group or 0) for group in match.groups())
    return timedelta(hours=hours, minutes=minutes)
