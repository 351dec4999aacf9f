"""Reading a console line: a slash command or a `:verb`, before anything happens.

Parsing is kept apart from acting so that every malformed line becomes an `Invalid`
with words a person can act on, and the session never has to guess or raise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from adapters.console.members import NAME_PATTERN, Roster
from bot.events import MemberInfo

USAGE = (
    "type a slash command (/ask, /thanks @name, /give, /payforward help) or a verb: "
    ":as NAME, :react N EMOJI, :unreact N EMOJI, :press [N] BUTTON, :clock +2d, :quit"
)


@dataclass(frozen=True)
class Command:
    """`/ask …` and friends; `command` has no slash, `text` is still un-normalized."""

    command: str
    text: str


@dataclass(frozen=True)
class SwitchMember:
    name: str


@dataclass(frozen=True)
class React:
    number: int
    emoji: str
    added: bool  # False for `:unreact`


@dataclass(frozen=True)
class Press:
    button: str  # a label (any case) or an action id
    number: int | None  # the ask the message is about; None: any message


@dataclass(frozen=True)
class AdvanceClock:
    delta: timedelta


@dataclass(frozen=True)
class Quit:
    pass


@dataclass(frozen=True)
class Blank:
    pass


@dataclass(frozen=True)
class Invalid:
    reason: str


Line = Command | SwitchMember | React | Press | AdvanceClock | Quit | Blank | Invalid

_NUMBER = re.compile(r"#?(\d+)")
_DURATION_PART = re.compile(r"(\d+)([wdhm])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}


def parse_line(line: str) -> Line:
    text = line.strip()
    if not text:
        return Blank()
    if text.startswith("/"):
        return _parse_command(text)
    if text.startswith(":"):
        return _parse_verb(text)
    return Invalid(f"That is neither a command nor a verb: {USAGE}.")


def _parse_command(text: str) -> Line:
    """Any slash command goes to the core, which answers an unknown one with its help."""
    name, _, rest = text[1:].partition(" ")
    return Command(name.lower(), rest.strip())


def _parse_verb(text: str) -> Line:
    verb, _, rest = text[1:].partition(" ")
    verb, rest = verb.lower(), rest.strip()
    if verb == "quit":
        return Quit()
    if verb == "as":
        if not rest or re.fullmatch("@?" + NAME_PATTERN, rest) is None:
            return Invalid("`:as` needs one name (letters, digits, _ . -), e.g. `:as bob`.")
        return SwitchMember(rest.removeprefix("@"))
    if verb in ("react", "unreact"):
        return _parse_reaction(verb, rest)
    if verb == "press":
        return _parse_press(rest)
    if verb == "clock":
        delta = parse_duration(rest)
        if delta is None:
            return Invalid("`:clock` needs a step forward such as +2d, +3h, +30m or +1d12h.")
        return AdvanceClock(delta)
    return Invalid(f"There is no verb :{verb}: {USAGE}.")


def _parse_reaction(verb: str, rest: str) -> Line:
    number, _, emoji = rest.partition(" ")
    match = _NUMBER.fullmatch(number)
    emoji = emoji.strip()
    if match is None or int(match.group(1)) < 1 or not emoji or " " in emoji:
        return Invalid(f"`:{verb}` needs an ask number and one emoji, e.g. `:{verb} 1 🙋`.")
    return React(int(match.group(1)), emoji, added=verb == "react")


def _parse_press(rest: str) -> Line:
    first, _, after = rest.partition(" ")
    match = _NUMBER.fullmatch(first)
    if match is not None and after.strip():
        number = int(match.group(1))
        if number < 1:
            return Invalid("Ask numbers start at 1.")
        return Press(after.strip(), number)
    if not rest or match is not None:
        return Invalid("`:press` needs a button, e.g. `:press 1 I can help` or `:press Resolved`.")
    return Press(rest, None)


def parse_duration(text: str) -> timedelta | None:
    """`+2d`, `3h`, `+1d12h`, `+30m`, `+1w`: a positive step; anything else is None."""
    body = text.strip().removeprefix("+")
    if not body or _DURATION_PART.sub("", body):
        return None
    delta = timedelta()
    try:
        for amount, unit in _DURATION_PART.findall(body):
            delta += timedelta(**{_UNITS[unit]: int(amount)})
    except OverflowError:  # past datetime's range (a billion days): no step at all
        return None
    return delta if delta > timedelta() else None


# `@` not preceded by a word character or another `@`, so `alice@example.com` stays text;
# `<@…>` is already normalized and left alone.
_MEMBER_MENTION = re.compile(r"(?<![\w@<])@(" + NAME_PATTERN + ")")
_CHANNEL_MENTION = re.compile(r"(?<![\w#<&])#([A-Za-z][\w-]*)")


def normalize_mentions(
    text: str, roster: Roster, channels: frozenset[str]
) -> tuple[str, dict[str, MemberInfo]]:
    """Turn `@bob` into `<@bob>` and `#general` into `<#general>`, as a platform would.

    Only members this console has met and channels it has are mentions; anything else
    stays plain text, exactly as Slack leaves `@nobody` alone, so the core can tell the
    person that member is unknown.
    """
    mentions: dict[str, MemberInfo] = {}

    def member(match: re.Match[str]) -> str:
        member_id = roster.find(match.group(1))
        if member_id is None:
            return match.group(0)
        mentions[member_id] = roster.info(member_id)
        return f"<@{member_id}>"

    def channel(match: re.Match[str]) -> str:
        name = match.group(1).lower()
        return f"<#{name}>" if name in channels else match.group(0)

    normalized = _CHANNEL_MENTION.sub(channel, _MEMBER_MENTION.sub(member, text))
    return normalized, mentions
