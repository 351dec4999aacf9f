"""The ports: what the core needs from the outside world, as Protocols.

Storage implements the repositories and the unit of work; each platform adapter
implements `ChatAdapter`; tests use in-memory fakes of all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Protocol

from bot.domain import (
    Ask,
    Community,
    Give,
    GiveFact,
    Member,
    MessageRef,
    Offer,
    OfferStatus,
    OptOut,
    PairWeek,
)
from bot.erasure import Redact
from bot.messages import Delivery, Message, Priority, Target


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class ChatAdapter(Protocol):
    """One platform. Queued messages go out through these calls; immediate answers
    (ephemeral replies, forms) are returned by `PayForward.handle` to the adapter instead.
    Platform errors stay inside: the core only sees a `Delivery`."""

    platform: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    @property
    def connected(self) -> bool:
        """True while the platform is reachable through this adapter (`/readyz`)."""
        ...

    async def post(self, community_id: str, channel_id: str, message: Message) -> Delivery: ...

    async def update(self, community_id: str, ref: MessageRef, message: Message) -> Delivery: ...

    async def send_dm(self, community_id: str, member_id: str, message: Message) -> Delivery: ...


class CommunityRepository(Protocol):
    async def get(self, community_id: str) -> Community | None: ...

    async def add(self, community: Community) -> None: ...

    async def save(self, community: Community) -> None:
        """Its settings; the name is left to `rename`."""
        ...

    async def rename(self, community_id: str, name: str) -> None:
        """What the platform calls it now (touching nothing else, so a rename never
        races a settings change)."""
        ...

    async def name_channel(self, community_id: str, channel_id: str, name: str) -> None:
        """What the platform calls one of its channels now."""
        ...

    async def channel_names(self, community_id: str, channel_ids: Sequence[str]) -> dict[str, str]:
        """The names known of these channels."""
        ...

    async def next_ask_number(self, community_id: str) -> int:
        """1, 2, 3, … per community; never handed out twice, even concurrently."""
        ...

    async def all(self) -> list[Community]: ...


class MemberRepository(Protocol):
    async def get(self, community_id: str, member_id: str) -> Member | None: ...

    async def save(self, member: Member) -> None:
        """Insert or replace by (community_id, member_id)."""
        ...

    async def opted_out(self, community_id: str, opt_out: OptOut) -> set[str]:
        """Ids of the members who opted out of `opt_out`."""
        ...

    async def active_page(
        self, community_id: str, since: datetime, after_member_id: str | None, limit: int
    ) -> list[Member]:
        """Members active at or after `since`, by member id, starting after
        `after_member_id` (None: from the first): one page of a long walk."""
        ...


class AskRepository(Protocol):
    async def add(self, ask: Ask) -> Ask:
        """Store a new ask (its `id` is ignored) and return it with its id."""
        ...

    async def get(self, ask_id: int) -> Ask | None: ...

    async def by_number(self, community_id: str, number: int) -> Ask | None: ...

    async def by_message(self, community_id: str, ref: MessageRef) -> Ask | None: ...

    async def save(self, ask: Ask) -> None: ...

    async def open_asks(
        self,
        community_id: str,
        *,
        asker_id: str | None = None,
        without_offers: bool = False,
        limit: int = 10,
    ) -> list[Ask]:
        """Open asks, oldest first; `without_offers` keeps those with no active offer."""
        ...

    async def by_asker(self, community_id: str, asker_id: str) -> list[Ask]: ...

    async def latest_channel(self, community_id: str) -> str | None:
        """The channel of the community's newest ask: where the weekly post goes when
        no channel is configured."""
        ...

    async def get_offer(self, ask_id: int, member_id: str) -> Offer | None: ...

    async def save_offer(self, offer: Offer) -> None:
        """Insert or replace by (ask_id, member_id): one offer per ask and member."""
        ...

    async def offers(self, ask_id: int, status: OfferStatus = OfferStatus.ACTIVE) -> list[Offer]:
        """Offers on an ask in that status, earliest first."""
        ...

    async def offers_by(self, community_id: str, member_id: str) -> list[Offer]: ...

    async def erase_texts(self, community_id: str, asker_id: str, replacement: str) -> None: ...

    # Follow-ups (bot/followups.py). They look across every community, and each change
    # is conditional, so two processes running them at once act on every item once.

    async def offers_due(
        self, reminders_sent: int, made_before: datetime, limit: int
    ) -> list[tuple[Ask, Offer]]:
        """Active offers on open asks with `reminders_sent` reminders so far, made at or
        before `made_before`, oldest first, with their asks."""
        ...

    async def advance_offer(self, ask_id: int, member_id: str, reminders_sent: int) -> bool:
        """Count one more reminder, if the offer is still active with `reminders_sent`."""
        ...

    async def lapse_offer(self, ask_id: int, member_id: str, reminders_sent: int) -> bool:
        """Let the offer lapse, if it is still active with `reminders_sent` reminders."""
        ...

    async def asks_to_bump(
        self, created_before: datetime, created_after: datetime, limit: int
    ) -> list[Ask]:
        """Open asks never bumped and without an active offer, created in
        (`created_after`, `created_before`], oldest first."""
        ...

    async def mark_bumped(self, ask_id: int, at: datetime) -> bool:
        """Record the bump, if the ask is open and was never bumped."""
        ...

    async def stale_asks(self, inactive_since: datetime, limit: int) -> list[Ask]:
        """Open asks with no activity after `inactive_since`, least recent first."""
        ...

    async def close_stale(self, ask_id: int, inactive_since: datetime) -> bool:
        """Close the ask, if it is still open with no activity after `inactive_since`."""
        ...

    async def follow_up_marks(self, bump_after: datetime) -> FollowUpMarks:
        """The oldest instants the follow-up rules count from (see FollowUpMarks);
        bumps only count asks created after `bump_after`."""
        ...


@dataclass(frozen=True)
class FollowUpMarks:
    """When the next follow-up can fall due, as the oldest relevant instants (None: no
    such item). Open asks and active offers only; bumps ignore asks with an offer."""

    offers: tuple[datetime | None, ...]  # oldest offer with 0, 1, 2, … reminders sent
    unbumped: datetime | None  # oldest creation (after `bump_after`) of an ask to bump
    inactive: datetime | None  # least recent activity of an open ask


class GiveRepository(Protocol):
    async def add(self, give: Give) -> Give: ...

    async def get(self, give_id: int) -> Give | None: ...

    async def save(self, give: Give) -> None: ...

    async def has_given(
        self, community_id: str, *, giver_id: str, receiver_id: str, before: datetime
    ) -> bool:
        """Whether `giver_id` has a confirmed give to `receiver_id` confirmed before `before`."""
        ...

    async def latest_received(
        self,
        community_id: str,
        *,
        member_id: str,
        since: datetime,
        before: datetime,
        not_from: str,
    ) -> Give | None:
        """The member's most recent confirmed received give in [since, before) from anyone
        but `not_from` (ties: the highest id)."""
        ...

    async def pair_weeks(self, community_id: str, start: datetime, end: datetime) -> list[PairWeek]:
        """Confirmed member-to-member gives with `confirmed_at` in [start, end), counted
        per giver→receiver pair, with how many of them are forward gives."""
        ...

    async def chain_ends(
        self, community_id: str, start: datetime, end: datetime, limit: int
    ) -> list[Give]:
        """Confirmed gives in [start, end) that follow an earlier give: deepest first,
        then earliest, at most `limit`."""
        ...

    async def chains_back(self, give_ids: Sequence[int], links: int) -> dict[int, list[GiveFact]]:
        """For each give id: the give and up to `links` earlier gives it follows, oldest
        first (ids that do not exist are left out)."""
        ...

    async def count_confirmed(self, community_id: str, start: datetime, end: datetime) -> int:
        """Confirmed member-to-member gives in [start, end)."""
        ...

    async def weekly_counts(
        self,
        community_id: str,
        weeks: Sequence[tuple[datetime, datetime]],
        settled_before: datetime,
    ) -> list[int]:
        """`count_confirmed` of each week, in order. A week that ended at or before
        `settled_before` can no longer change (a give is confirmed at the moment it is,
        and never removed), so its count may be stored and read back next time."""
        ...

    async def shared(self, community_id: str, start: datetime, end: datetime) -> list[Give]:
        """Gives created in [start, end) that may be shown publicly (`share_ok`), not declined."""
        ...

    async def for_ask(self, ask_id: int) -> list[Give]:
        """Gives linked to an ask, oldest first."""
        ...

    async def involving(self, community_id: str, member_id: str) -> list[Give]:
        """Every give where the member is giver or receiver, oldest first."""
        ...

    async def erase_notes(self, community_id: str, member_id: str) -> None:
        """Blank the notes of every give the member is part of."""
        ...


@dataclass(frozen=True)
class OutboxItem:
    """A queued message, delivered at least once and never lost."""

    id: int
    community_id: str
    target: Target
    message: Message
    due_at: datetime
    attempts: int = 0
    purpose: str = ""  # what to tell the core on delivery, e.g. "ask_card:42"
    priority: Priority = Priority.NOW


@dataclass(frozen=True)
class Renewal:
    held: frozenset[int]  # ids of the items whose lease was extended
    senders: int  # live senders, this one included


class OutboxRepository(Protocol):
    async def add(
        self,
        community_id: str,
        target: Target,
        message: Message,
        due_at: datetime,
        *,
        purpose: str = "",
        replace_key: str | None = None,
        priority: Priority = Priority.NOW,
    ) -> int:
        """Queue a message of class `priority`. With `replace_key`, unsent, unclaimed
        messages queued earlier with the same key in the same community are dropped
        first (a newer card wins)."""
        ...

    async def claim_due(
        self,
        now: datetime,
        limit: int,
        lease_until: datetime,
        *,
        owner: str = "",
        skip: Collection[str] = (),
    ) -> list[OutboxItem]:
        """Take up to `limit` pending items due by `now` whose lease is free, in the
        claim order (class, then due time, then id), leasing them to `owner` until
        `lease_until` and counting an attempt; items of the communities in `skip` are
        passed over. Concurrent claimers never get the same item while its lease holds."""
        ...

    def hand_over(self, now: datetime, lease_until: datetime, *, owner: str = "") -> None:
        """From here on in this unit of work, what is queued due by `now` is leased to
        `owner` as it is queued (until `lease_until`, counting an attempt), for
        `claim_queued` to return without writing it again. A newer message with the
        same `replace_key` still drops such an item queued earlier in the same unit."""
        ...

    async def claim_queued(
        self, now: datetime, lease_until: datetime, *, owner: str = ""
    ) -> list[OutboxItem]:
        """Like `claim_due`, for the items this unit of work queued: so the process
        that queued them can send them the moment they are committed."""
        ...

    async def renew(self, owner: str, now: datetime, lease_until: datetime) -> Renewal:
        """The heartbeat of a sender: extend the lease of every pending item `owner`
        holds to `lease_until`, mark `owner` alive until then, and count the senders
        alive at `now` (each keeps 1/N of every rate budget)."""
        ...

    async def leave(self, owner: str) -> None:
        """`owner` stops sending: it no longer counts among the live senders."""
        ...

    async def due_count(self, now: datetime) -> int:
        """Pending items due by `now` (leased or not)."""
        ...

    async def mark_sent(self, item_id: int, at: datetime) -> None: ...

    async def retry_at(
        self, item_id: int, due_at: datetime, error: str, *, refund: bool = False
    ) -> None:
        """Release the item until `due_at`. `refund` gives back the attempt its claim
        counted: being told to slow down is not the message's failure."""
        ...

    async def mark_failed(self, item_id: int, at: datetime, reason: str) -> None: ...

    async def pending_count(self) -> int: ...

    async def drop_pending_to(self, community_id: str, member_id: str) -> None:
        """Forget queued direct messages to a member."""
        ...

    async def forget(self, community_id: str, member_id: str, redact: Redact) -> None:
        """`forget` for the outbox: delete every message to the member, sent or not,
        and rewrite each other message of the community that `redact` changes."""
        ...

    async def next_due(self, after: datetime) -> datetime | None:
        """The earliest `due_at` later than `after` among pending items."""
        ...

    async def prune(self, before: datetime) -> int:
        """Delete items sent or given up on before `before`; returns how many."""
        ...


class EventLog(Protocol):
    async def first_time(self, community_id: str, event_id: str, at: datetime) -> bool:
        """Record the event id; False when it was recorded before (a redelivery)."""
        ...

    async def prune(self, before: datetime) -> int:
        """Forget event ids first seen before `before` (platforms stop redelivering
        within hours); returns how many."""
        ...


@dataclass(frozen=True)
class JobClaim:
    """The right to run one job for one community and period, held by `owner`."""

    community_id: str
    job: str
    period: str
    owner: str
    cursor: str | None = None  # how far a job done in steps got; None before the first


class JobRunRepository(Protocol):
    """Exactly-once for scheduled jobs: one row per (community, job, period)."""

    async def claim(
        self,
        community_id: str,
        job: str,
        period: str,
        owner: str,
        now: datetime,
        lease_until: datetime,
    ) -> JobClaim | None:
        """Take the run: a new row, or one whose holder's lease ended at or before `now`
        without finishing (the holder crashed; its cursor is kept, to resume). None when
        the run is finished or its lease still holds, whoever holds it."""
        ...

    async def progress(self, claim: JobClaim, cursor: str, lease_until: datetime) -> bool:
        """Save the cursor and extend the lease; False when `claim.owner` lost the run."""
        ...

    async def finish(self, claim: JobClaim, now: datetime) -> bool:
        """Mark the run done; False when `claim.owner` lost it."""
        ...

    async def prune(self, before: datetime) -> int:
        """Delete runs finished before `before`; returns how many."""
        ...


@dataclass(frozen=True)
class SignInLink:
    """A one-time link into the dashboard, DMed by `/payforward dashboard`."""

    community_id: str
    member_id: str
    expires_at: datetime
    used_at: datetime | None = None


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser: a person on a platform (their id is the same in every
    community of that platform), and the token its forms must carry."""

    platform: str
    member_id: str
    csrf_token: str
    expires_at: datetime


class SignInRepository(Protocol):
    """Sign-in links and dashboard sessions (bot/dashboard.py). Only hashes of their
    secrets are stored: a copy of the database opens no session."""

    async def add_link(self, token_hash: str, link: SignInLink, now: datetime) -> None: ...

    async def links_since(self, community_id: str, member_id: str, since: datetime) -> int:
        """How many links the member was sent since `since`."""
        ...

    async def link(self, token_hash: str) -> SignInLink | None: ...

    async def use_link(self, token_hash: str, now: datetime) -> bool:
        """Mark the link used if it is unused and unexpired at `now`; False otherwise,
        so two requests racing with one link start one session."""
        ...

    async def add_session(self, session_hash: str, session: WebSession, now: datetime) -> None: ...

    async def session(self, session_hash: str, now: datetime) -> WebSession | None:
        """The session, unless it is unknown or expired at `now`."""
        ...

    async def end_session(self, session_hash: str) -> None: ...

    async def end_sessions_of(self, platform: str, member_id: str) -> None: ...

    async def prune(self, now: datetime) -> int:
        """Delete links and sessions expired before `now`; returns how many."""
        ...


class DashboardQueries(Protocol):
    """What the dashboard reads beyond the weekly report: each bounded, on an index."""

    async def communities_of(self, platform: str, member_id: str) -> list[str]:
        """Ids of the communities of `platform` where the member is known and not
        forgotten, in id order."""
        ...

    async def names(self, community_id: str, member_ids: Collection[str]) -> dict[str, str]:
        """Display names of those members that have one."""
        ...

    async def people_helped(
        self,
        community_id: str,
        weeks: Sequence[tuple[datetime, datetime]],
        settled_before: datetime,
    ) -> list[int]:
        """For each week: distinct members who received a confirmed give from someone
        else. A week that ended by `settled_before` may be stored and read back."""
        ...

    async def connections_per_week(
        self,
        community_id: str,
        weeks: Sequence[tuple[datetime, datetime]],
        settled_before: datetime,
    ) -> list[int]:
        """For each week: asks resolved by a member the connector reached, as
        ConnectorRepository.connections counts them. A week that ended by
        `settled_before` is counted once and read back as counted."""
        ...

    async def member_gives(
        self, community_id: str, member_id: str, start: datetime, end: datetime
    ) -> tuple[list[datetime], list[datetime]]:
        """When the member's confirmed member-to-member gives in [start, end) were
        confirmed: (given, received)."""
        ...

    async def member_chain_ends(self, community_id: str, member_id: str, limit: int) -> list[int]:
        """Ids of recent confirmed gives on a chain through the member: ones they gave
        or received that follow an earlier give, and ones that follow a give of theirs
        (up to `limit` of each)."""
        ...

    async def channels(self, community_id: str, limit: int) -> list[str]:
        """Channels the community's asks were posted in, most recent first."""
        ...


@dataclass(frozen=True)
class Helped:
    """One member's help on a past ask: a confirmed give (`gave`) or an offer."""

    member_id: str
    gave: bool
    at: datetime  # when the give was confirmed, or the offer made


@dataclass(frozen=True)
class SimilarAsk:
    """A past ask whose text matches a search, with who helped on it."""

    ask_id: int
    number: int
    asker_id: str
    text: str
    similarity: float  # relative to the best match of the search: (0, 1]
    helped: tuple[Helped, ...]


@dataclass(frozen=True)
class ConnectorMember:
    """A member's standing with the connector (bot/connector.py, bot/routing.py)."""

    member_id: str
    opted_in: bool
    routed_since: int  # routed DMs since the instant asked about
    last_routed_at: datetime | None


@dataclass(frozen=True)
class Route:
    """An ask sent by DM to a member likely to help (round 1 after the connector's
    delay, round 2 with the 24 h bump), and what they did about it."""

    ask_id: int
    member_id: str
    community_id: str
    routed_at: datetime
    round: int
    reason: str  # why this member, as the DM said it
    offered_at: datetime | None = None  # a connection
    declined_at: datetime | None = None


class ConnectorRepository(Protocol):
    """What the connector keeps and searches: interests, consent, routing history, and
    the text search over past asks that its ranking starts from."""

    async def interests(self, community_id: str, member_id: str) -> list[str]:
        """The member's declared topics, in the order given."""
        ...

    async def set_interests(
        self, community_id: str, member_id: str, topics: Sequence[tuple[str, Sequence[str]]]
    ) -> None:
        """Replace the member's topics: (topic, its stems) each."""
        ...

    async def interested(
        self, community_id: str, stems: Sequence[str], limit: int
    ) -> list[tuple[str, str]]:
        """(member id, topic) for opted-in members' topics with any of `stems`, those
        routed to least recently first, at most `limit` rows."""
        ...

    async def opted_in(self, community_id: str, member_id: str) -> bool | None:
        """True or False as the member chose; None if they never did."""
        ...

    async def set_opted_in(self, community_id: str, member_id: str, opted_in: bool) -> None: ...

    async def standing(
        self, community_id: str, member_ids: Sequence[str], since: datetime
    ) -> dict[str, ConnectorMember]:
        """The members among `member_ids` who ever chose, opted in or out."""
        ...

    async def similar_asks(
        self,
        community_id: str,
        words: Sequence[str],
        *,
        before: datetime,
        limit: int,
        common: float,
        common_min: int,
    ) -> list[SimilarAsk]:
        """The community's asks created at or before `before` that best match any of
        `words`, best first, by the database's own full-text ranking, with the
        confirmed gives and the offers (not withdrawn) made on them by `before`.
        Words found in more than a `common` share of all asks (and in more than
        `common_min` asks) are left out of the search while rarer ones remain: they
        tell how people ask, not what about."""
        ...

    async def schedule(self, community_id: str, ask_id: int, due_at: datetime) -> None:
        """Route the ask at `due_at` (unless it gets an offer first)."""
        ...

    async def reschedule(self, community_id: str, delay: timedelta) -> None:
        """Move the community's asks still waiting to their creation + `delay`."""
        ...

    async def due(self, now: datetime, limit: int) -> list[Ask]:
        """Asks waiting to be routed at or before `now`, across every community,
        earliest first, whatever became of them since."""
        ...

    async def claim(self, ask_id: int, now: datetime) -> bool:
        """Take the ask's routing, if nobody took it yet: once per ask, even with
        several processes."""
        ...

    async def next_due(self, after: datetime) -> datetime | None:
        """The earliest routing still waiting that falls due after `after`."""
        ...

    async def routes_for(self, ask_id: int) -> list[Route]: ...

    async def add_route(self, route: Route) -> None:
        """Record a routed DM; the member counts as routed to at `route.routed_at`."""
        ...

    async def mark_offered(self, ask_id: int, member_id: str, at: datetime) -> bool:
        """A routed member offered: a connection. False when they were not routed."""
        ...

    async def decline(self, ask_id: int, member_id: str, at: datetime) -> bool:
        """A routed member said *Not this time*. False when they were not routed."""
        ...

    async def routes_of(self, community_id: str, member_id: str) -> list[Route]:
        """Every ask routed to the member, oldest first (for `export`)."""
        ...

    async def connections(self, community_id: str, start: datetime, end: datetime) -> int:
        """Asks with a give confirmed in [start, end) from a member the connector
        routed the ask to and who then offered."""
        ...

    async def forget(self, community_id: str, member_id: str) -> None:
        """Delete the member's interests, consent and routing history."""
        ...


# Cups (bot/cups.py, bot/pairing.py).


@dataclass(frozen=True)
class CupSeat:
    """One member's place in a cup, and what they answered (`met`, `cant`, or None)."""

    member_id: str
    answer: str | None = None
    answered_at: datetime | None = None


@dataclass(frozen=True)
class Cup:
    """Two (or three) members paired in a round for a conversation."""

    community_id: str
    round: str  # the round's week, by its local Monday (ISO date): the claim's period
    number: int  # 1, 2, … within the round
    created_at: datetime
    seats: tuple[CupSeat, ...]
    reason: Message | None = None  # why they were paired, as the intro says it
    upside_down: bool = False
    met_at: datetime | None = None  # the first *We met*: a conversation
    followed_up_at: datetime | None = None

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(seat.member_id for seat in self.seats)


@dataclass(frozen=True)
class TopicAsk:
    """An ask as the cups matcher reads it."""

    ask_id: int
    number: int
    asker_id: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class HelpedOn:
    """A member's help on an ask: a confirmed give linked to it (`gave`) or an offer."""

    member_id: str
    ask: TopicAsk
    gave: bool
    at: datetime


@dataclass(frozen=True)
class CupsProfiles:
    """What a round pairs on, read at once: the members who can be paired (opted in,
    active since the given instant, not forgotten) with when each was first seen (their
    first ask, offer or give), their latest asks, their latest help, their interests."""

    first_seen: dict[str, datetime | None]
    asked: list[TopicAsk]
    helped: list[HelpedOn]
    interests: list[tuple[str, str, tuple[str, ...]]]  # (member id, topic, its stems)


class CupsRepository(Protocol):
    async def opted_in(self, community_id: str, member_id: str) -> bool: ...

    async def set_opted_in(
        self, community_id: str, member_id: str, opted_in: bool, at: datetime
    ) -> None: ...

    async def profiles(
        self,
        community_id: str,
        *,
        active_since: datetime,
        asks_since: datetime,
        asks_per_member: int,
        helps_per_member: int,
    ) -> CupsProfiles:
        """One bulk read for a round: each eligible member's latest `asks_per_member`
        asks and latest `helps_per_member` helps (confirmed gives linked to an ask, and
        offers not withdrawn), all since `asks_since`."""
        ...

    async def recent_groups(
        self, community_id: str, before_round: str, rounds: int
    ) -> list[tuple[str, ...]]:
        """The members of each cup of the community's last `rounds` rounds before
        `before_round` (the members still in them)."""
        ...

    async def add_round(self, cups: Sequence[Cup]) -> None: ...

    async def round_page(
        self, community_id: str, round: str, after_number: int, limit: int
    ) -> list[Cup]:
        """A round's cups numbered after `after_number`, in order."""
        ...

    async def get(self, community_id: str, round: str, number: int) -> Cup | None: ...

    async def answer(
        self, community_id: str, round: str, number: int, member_id: str, answer: str, at: datetime
    ) -> bool:
        """Record the member's own answer (the latest wins) and keep the cup's `met_at`
        the earliest *We met* still standing; False when the member has no seat in it."""
        ...

    async def follow_ups_due(self, created_before: datetime, limit: int) -> list[Cup]:
        """Cups of every community created at or before `created_before` and not
        followed up yet, oldest first."""
        ...

    async def mark_followed_up(
        self, community_id: str, round: str, number: int, at: datetime
    ) -> bool:
        """Take the cup's one follow-up, if nobody took it: once, even with several
        processes."""
        ...

    async def oldest_unfollowed(self) -> datetime | None:
        """When the oldest cup not followed up yet was made."""
        ...

    async def of_member(self, community_id: str, member_id: str) -> list[Cup]:
        """The member's cups, oldest first."""
        ...

    async def conversations_per_week(
        self, community_id: str, weeks: Sequence[tuple[datetime, datetime]]
    ) -> list[int]:
        """For each [start, end): the cups whose first *We met* fell in it."""
        ...

    async def forget(self, community_id: str, member_id: str, redact: Redact) -> None:
        """Delete the member's choice and seats; rewrite each reason `redact` changes."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without `commit()` rolls everything back."""

    communities: CommunityRepository
    members: MemberRepository
    asks: AskRepository
    gives: GiveRepository
    outbox: OutboxRepository
    events: EventLog
    jobs: JobRunRepository
    sign_ins: SignInRepository
    dashboard: DashboardQueries
    connector: ConnectorRepository
    cups: CupsRepository

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
