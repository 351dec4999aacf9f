"""The things payforward talks about: communities, members, asks, offers and gives.

Entities are frozen dataclasses; a change is a `dataclasses.replace` handed back to
a repository. Every datetime is timezone-aware (UTC in storage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import NamedTuple

DEFAULT_OFFER_EMOJI = "raising_hand"
MAX_ASK_LENGTH = 3000
MAX_NOTE_LENGTH = 1000
PAIR_CAP_PER_WEEK = 3
CONNECTOR_AFTER = timedelta(minutes=30)  # an ask with no offer by then is routed


class AskStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    CLOSED = "closed"


class OfferStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    LAPSED = "lapsed"


class GiveStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DECLINED = "declined"


class GiveSource(StrEnum):
    THANKS = "thanks"  # /thanks @member: the receiver speaks, so it is confirmed at once
    RESOLVE = "resolve"  # the asker credited helpers when resolving an ask
    REPORT = "report"  # /give @member: the giver speaks; the receiver must confirm
    COMMUNITY = "community"  # /give <what>: shared with everyone, listed, never scored
    PROMPT = "prompt"  # an answer to the weekly "what have you shared lately?" prompt


class OptOut(StrEnum):
    LEADERBOARD = "leaderboard"
    PROMPTS = "prompts"
    REMINDERS = "reminders"


def platform_of(community_id: str) -> str:
    """Community ids are `platform:native-id` (`slack:T123`, `discord:42`, `console:local`)."""
    return community_id.split(":", 1)[0]


@dataclass(frozen=True)
class Schedule:
    """A weekly moment in the community's timezone; weekday 0 is Monday."""

    weekday: int
    at: time


@dataclass(frozen=True)
class CupsRhythm:
    """When cups rounds run (`config cups every 2w mon 10:00`): on the schedule's day
    and time, in every `weeks`-th week counted from `anchor`, the local Monday of the
    week of the first round (bot/rounds.py)."""

    weeks: int  # 1, 2 or 4
    schedule: Schedule
    anchor: date


@dataclass(frozen=True)
class Community:
    community_id: str
    channel_id: str | None = None
    timezone: str = "UTC"
    leaderboard: Schedule = Schedule(0, time(9, 0))
    prompts: Schedule | None = Schedule(4, time(15, 0))
    offer_emoji: str = DEFAULT_OFFER_EMOJI
    connector_after: timedelta | None = CONNECTOR_AFTER  # None: the connector is off
    cups: CupsRhythm | None = None  # None: no cups rounds (off until an admin sets them)
    name: str | None = None  # what the platform calls it, once an event has said

    @property
    def platform(self) -> str:
        return platform_of(self.community_id)


@dataclass(frozen=True)
class Member:
    """A person, by platform id. `display_name` and `tz` are personal data that `forget` erases.
    `is_admin` is what the platform last said, recorded at each of the member's events
    (bot/context.py, touch_member): the dashboard checks its admin pages against it."""

    community_id: str
    member_id: str
    display_name: str | None = None
    tz: str | None = None
    opt_outs: frozenset[OptOut] = field(default_factory=frozenset)
    last_active_at: datetime | None = None
    forgotten: bool = False
    is_admin: bool = False


@dataclass(frozen=True)
class MessageRef:
    """Where a posted message lives on its platform (Slack: channel + ts; Discord: ids)."""

    channel_id: str
    message_id: str


@dataclass(frozen=True)
class Ask:
    id: int
    community_id: str
    number: int  # per community, shown as #N
    asker_id: str
    channel_id: str
    text: str
    status: AskStatus
    created_at: datetime
    last_activity_at: datetime
    message: MessageRef | None = None
    resolved_at: datetime | None = None
    bumped_at: datetime | None = None


@dataclass(frozen=True)
class Offer:
    ask_id: int
    member_id: str
    status: OfferStatus
    created_at: datetime
    reminders_sent: int = 0


@dataclass(frozen=True)
class Give:
    id: int
    community_id: str
    giver_id: str
    receiver_id: str | None  # None: shared with the whole community
    source: GiveSource
    status: GiveStatus
    created_at: datetime
    note: str | None = None
    ask_id: int | None = None
    confirmed_at: datetime | None = None
    share_ok: bool = False  # may be mentioned in the weekly post
    # Decided once, when the give is confirmed (see bot/ledger.py), so that the weekly
    # report reads counts instead of replaying history.
    forward: bool = False  # the receiver had never given to the giver before
    follows: int | None = None  # the give this one paid forward: a chain's previous link
    depth: int = 0  # links before this one in its chain


class PairWeek(NamedTuple):
    """One giver→receiver pair's confirmed gives in a week, forward ones among them.
    A named tuple: a big community's week has tens of thousands of them."""

    giver_id: str
    receiver_id: str
    gives: int
    forward: int


@dataclass(frozen=True)
class GiveFact:
    """The slice of a confirmed person-to-person give that scoring needs."""

    giver_id: str
    receiver_id: str
    at: datetime
