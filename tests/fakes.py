"""In-memory fakes of the core's ports: a database, a unit of work and a chat platform.

The fake database keeps plain dicts; a unit of work works on a copy and swaps it in on
commit, so rollback is real. The fake chat remembers everything it was asked to send.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType

from bot.codec import target_member
from bot.domain import (
    Ask,
    AskStatus,
    Community,
    Give,
    GiveFact,
    GiveStatus,
    Member,
    MessageRef,
    Offer,
    OfferStatus,
    OptOut,
    PairWeek,
)
from bot.erasure import Redact
from bot.messages import Delivered, Delivery, Message, Priority, Target
from bot.ports import FollowUpMarks, JobClaim, OutboxItem, Renewal, SignInLink, WebSession
from tests.fake_connector import ConnectorState, FakeConnector
from tests.fake_cups import CupsState, FakeCups


@dataclass
class _Row:
    item: OutboxItem
    status: str = "pending"
    lease_until: datetime | None = None
    owner: str | None = None
    replace_key: str | None = None
    error: str = ""
    sent_at: datetime | None = None  # when it was sent or given up on


@dataclass
class _JobRun:
    owner: str
    lease_until: datetime
    status: str = "running"
    cursor: str | None = None
    finished_at: datetime | None = None


@dataclass
class FakeState:
    communities: dict[str, Community] = field(default_factory=dict)
    channel_names: dict[tuple[str, str], str] = field(default_factory=dict)
    ask_seq: dict[str, int] = field(default_factory=dict)
    members: dict[tuple[str, str], Member] = field(default_factory=dict)
    asks: dict[int, Ask] = field(default_factory=dict)
    offers: dict[tuple[int, str], Offer] = field(default_factory=dict)
    gives: dict[int, Give] = field(default_factory=dict)
    outbox: dict[int, _Row] = field(default_factory=dict)
    events: dict[tuple[str, str], datetime] = field(default_factory=dict)  # → first seen
    job_runs: dict[tuple[str, str, str], _JobRun] = field(default_factory=dict)
    sign_in_links: dict[str, SignInLink] = field(default_factory=dict)  # by token hash
    link_times: dict[str, datetime] = field(default_factory=dict)  # token hash → created
    web_sessions: dict[str, WebSession] = field(default_factory=dict)  # by session hash
    connector: ConnectorState = field(default_factory=ConnectorState)
    week_tallies: dict[tuple[str, str, datetime, datetime], int] = field(default_factory=dict)
    senders: dict[str, datetime] = field(default_factory=dict)  # owner → alive until
    cups: CupsState = field(default_factory=CupsState)
    next_id: int = 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


def _person(g: Give) -> bool:
    return (
        g.status is GiveStatus.CONFIRMED
        and g.receiver_id is not None
        and g.giver_id != g.receiver_id
        and g.confirmed_at is not None
    )


def _fact(g: Give) -> GiveFact:
    assert g.receiver_id is not None and g.confirmed_at is not None
    return GiveFact(g.giver_id, g.receiver_id, g.confirmed_at)


class FakeCommunities:
    def __init__(self, s: FakeState) -> None:
        self.s = s

    async def get(self, community_id: str) -> Community | None:
        return self.s.communities.get(community_id)

    async def add(self, community: Community) -> None:
        self.s.communities.setdefault(community.community_id, community)  # an upsert

    async def save(self, community: Community) -> None:
        stored = self.s.communities.get(community.community_id)
        name = None if stored is None else stored.name
        self.s.communities[community.community_id] = replace(community, name=name)

    async def rename(self, community_id: str, name: str) -> None:
        stored = self.s.communities.get(community_id)
        if stored is not None:
            self.s.communities[community_id] = replace(stored, name=name)

    async def name_channel(self, community_id: str, channel_id: str, name: str) -> None:
        self.s.channel_names[(community_id, channel_id)] = name

    async def channel_names(self, community_id: str, channel_ids: Sequence[str]) -> dict[str, str]:
        known = self.s.channel_names
        return {c: known[(community_id, c)] for c in channel_ids if (community_id, c) in known}

    async def next_ask_number(self, community_id: str) -> int:
        self.s.ask_seq[community_id] = self.s.ask_seq.get(community_id, 0) + 1
        return self.s.ask_seq[community_id]

    async def all(self) -> list[Community]:
        return list(self.s.communities.values())


class FakeMembers:
    def __init__(self, s: FakeState) -> None:
        self.s = s

    async def get(self, community_id: str, member_id: str) -> Member | None:
        return self.s.members.get((community_id, member_id))

    async def save(self, member: Member) -> None:
        self.s.members[(member.community_id, member.member_id)] = member

    async def opted_out(self, community_id: str, opt_out: OptOut) -> set[str]:
        return {
            m.member_id
            for (cid, _), m in self.s.members.items()
            if cid == community_id and opt_out in m.opt_outs
        }

    async def active_page(
        self, community_id: str, since: datetime, after_member_id: str | None, limit: int
    ) -> list[Member]:
        return sorted(
            (
                m
                for (cid, mid), m in self.s.members.items()
                if cid == community_id
                and m.last_active_at is not None
                and m.last_active_at >= since
                and (after_member_id is None or mid > after_member_id)
            ),
            key=lambda m: m.member_id,
        )[:limit]


class FakeAsks:
    def __init__(self, s: FakeState) -> None:
        self.s = s

    async def add(self, ask: Ask) -> Ask:
        stored = replace(ask, id=self.s.new_id())
        self.s.asks[stored.id] = stored
        return stored

    async def get(self, ask_id: int) -> Ask | None:
        return self.s.asks.get(ask_id)

    async def by_number(self, community_id: str, number: int) -> Ask | None:
        return next(
            (
                a
                for a in self.s.asks.values()
                if (a.community_id, a.number) == (community_id, number)
            ),
            None,
        )

    async def by_message(self, community_id: str, ref: MessageRef) -> Ask | None:
        return next(
            (
                a
                for a in self.s.asks.values()
                if a.community_id == community_id and a.message == ref
            ),
            None,
        )

    async def save(self, ask: Ask) -> None:
        self.s.asks[ask.id] = ask

    async def open_asks(
        self,
        community_id: str,
        *,
        asker_id: str | None = None,
        without_offers: bool = False,
        limit: int = 10,
    ) -> list[Ask]:
        found = [
            a
            for a in sorted(self.s.asks.values(), key=lambda a: (a.created_at, a.id))
            if a.community_id == community_id
            and a.status is AskStatus.OPEN
            and (asker_id is None or a.asker_id == asker_id)
            and not (without_offers and self._active_offers(a.id))
        ]
        return found[:limit]

    def _active_offers(self, ask_id: int) -> list[Offer]:
        return [
            o
            for (aid, _), o in self.s.offers.items()
            if aid == ask_id and o.status is OfferStatus.ACTIVE
        ]

    async def by_asker(self, community_id: str, asker_id: str) -> list[Ask]:
        return sorted(
            (
                a
                for a in self.s.asks.values()
                if (a.community_id, a.asker_id) == (community_id, asker_id)
            ),
            key=lambda a: a.id,
        )

    async def get_offer(self, ask_id: int, member_id: str) -> Offer | None:
        return self.s.offers.get((ask_id, member_id))

    async def save_offer(self, offer: Offer) -> None:
        self.s.offers[(offer.ask_id, offer.member_id)] = offer

    async def offers(self, ask_id: int, status: OfferStatus = OfferStatus.ACTIVE) -> list[Offer]:
        return sorted(
            (o for (aid, _), o in self.s.offers.items() if aid == ask_id and o.status is status),
            key=lambda o: o.created_at,
        )

    async def offers_by(self, community_id: str, member_id: str) -> list[Offer]:
        return [
            o
            for (aid, mid), o in self.s.offers.items()
            if mid == member_id and self.s.asks[aid].community_id == community_id
        ]

    async def erase_texts(self, community_id: str, asker_id: str, replacement: str) -> None:
        for ask in await self.by_asker(community_id, asker_id):
            self.s.asks[ask.id] = replace(ask, text=replacement)

    async def latest_channel(self, community_id: str) -> str | None:
        mine = [a for a in self.s.asks.values() if a.community_id == community_id]
        return max(mine, key=lambda a: a.number).channel_id if mine else None

    # Follow-ups: every community; conditional changes say whether they happened.

    def _due(self, reminders_sent: int) -> list[tuple[Ask, Offer]]:
        return sorted(
            (
                (self.s.asks[o.ask_id], o)
                for o in self.s.offers.values()
                if o.status is OfferStatus.ACTIVE
                and o.reminders_sent == reminders_sent
                and self.s.asks[o.ask_id].status is AskStatus.OPEN
            ),
            key=lambda pair: (pair[1].created_at, pair[1].ask_id, pair[1].member_id),
        )

    async def offers_due(
        self, reminders_sent: int, made_before: datetime, limit: int
    ) -> list[tuple[Ask, Offer]]:
        due = self._due(reminders_sent)
        return [(a, o) for a, o in due if o.created_at <= made_before][:limit]

    def _offer_at(self, ask_id: int, member_id: str, reminders_sent: int) -> Offer | None:
        """The offer, if it is still active with `reminders_sent` reminders."""
        offer = self.s.offers.get((ask_id, member_id))
        if offer is None or offer.status is not OfferStatus.ACTIVE:
            return None
        return offer if offer.reminders_sent == reminders_sent else None

    async def advance_offer(self, ask_id: int, member_id: str, reminders_sent: int) -> bool:
        if (offer := self._offer_at(ask_id, member_id, reminders_sent)) is None:
            return False
        self.s.offers[(ask_id, member_id)] = replace(offer, reminders_sent=reminders_sent + 1)
        return True

    async def lapse_offer(self, ask_id: int, member_id: str, reminders_sent: int) -> bool:
        if (offer := self._offer_at(ask_id, member_id, reminders_sent)) is None:
            return False
        self.s.offers[(ask_id, member_id)] = replace(offer, status=OfferStatus.LAPSED)
        return True

    def _unbumped(self) -> list[Ask]:
        return sorted(
            (
                a
                for a in self.s.asks.values()
                if a.status is AskStatus.OPEN
                and a.bumped_at is None
                and not self._active_offers(a.id)
            ),
            key=lambda a: (a.created_at, a.id),
        )

    async def asks_to_bump(
        self, created_before: datetime, created_after: datetime, limit: int
    ) -> list[Ask]:
        window = [a for a in self._unbumped() if created_after < a.created_at <= created_before]
        return window[:limit]

    async def mark_bumped(self, ask_id: int, at: datetime) -> bool:
        ask = self.s.asks.get(ask_id)
        if ask is None or ask.status is not AskStatus.OPEN or ask.bumped_at is not None:
            return False
        self.s.asks[ask_id] = replace(ask, bumped_at=at)
        return True

    def _stale(self, inactive_since: datetime) -> list[Ask]:
        return sorted(
            (
                a
                for a in self.s.asks.values()
                if a.status is AskStatus.OPEN and a.last_activity_at <= inactive_since
            ),
            key=lambda a: (a.last_activity_at, a.id),
        )

    async def stale_asks(self, inactive_since: datetime, limit: int) -> list[Ask]:
        return self._stale(inactive_since)[:limit]

    async def close_stale(self, ask_id: int, inactive_since: datetime) -> bool:
        if ask_id not in {a.id for a in self._stale(inactive_since)}:
            return False
        self.s.asks[ask_id] = replace(self.s.asks[ask_id], status=AskStatus.CLOSED)
        return True

    async def follow_up_marks(self, bump_after: datetime) -> FollowUpMarks:
        offers = tuple(min((o.created_at for _, o in self._due(n)), default=None) for n in range(3))
        unbumped = min(
            (a.created_at for a in self._unbumped() if a.created_at > bump_after), default=None
        )
        open_asks = (a for a in self.s.asks.values() if a.status is AskStatus.OPEN)
        inactive = min((a.last_activity_at for a in open_asks), default=None)
        return FollowUpMarks(offers, unbumped, inactive)


class FakeGives:
    def __init__(self, s: FakeState) -> None:
        self.s = s

    def _in(self, community_id: str) -> list[Give]:
        return [g for g in self.s.gives.values() if g.community_id == community_id]

    async def add(self, give: Give) -> Give:
        stored = replace(give, id=self.s.new_id())
        self.s.gives[stored.id] = stored
        return stored

    async def get(self, give_id: int) -> Give | None:
        return self.s.gives.get(give_id)

    async def save(self, give: Give) -> None:
        self.s.gives[give.id] = give

    def _person_gives(self, community_id: str) -> list[Give]:
        return [g for g in self._in(community_id) if _person(g)]

    async def has_given(
        self, community_id: str, *, giver_id: str, receiver_id: str, before: datetime
    ) -> bool:
        return any(
            (g.giver_id, g.receiver_id) == (giver_id, receiver_id) and g.confirmed_at < before  # type: ignore[operator]
            for g in self._person_gives(community_id)
        )

    async def latest_received(
        self, community_id: str, *, member_id: str, since: datetime, before: datetime, not_from: str
    ) -> Give | None:
        found = [
            g
            for g in self._person_gives(community_id)
            if g.receiver_id == member_id
            and g.giver_id != not_from
            and since <= g.confirmed_at < before  # type: ignore[operator]
        ]
        return max(found, key=lambda g: (g.confirmed_at, g.id), default=None)  # type: ignore[arg-type,return-value]

    def _window(self, community_id: str, start: datetime, end: datetime) -> list[Give]:
        return [g for g in self._person_gives(community_id) if start <= g.confirmed_at < end]  # type: ignore[operator]

    async def pair_weeks(self, community_id: str, start: datetime, end: datetime) -> list[PairWeek]:
        pairs: dict[tuple[str, str], list[Give]] = {}
        for g in self._window(community_id, start, end):
            pairs.setdefault((g.giver_id, g.receiver_id), []).append(g)  # type: ignore[arg-type]
        return [PairWeek(a, b, len(gs), sum(g.forward for g in gs)) for (a, b), gs in pairs.items()]

    async def chain_ends(
        self, community_id: str, start: datetime, end: datetime, limit: int
    ) -> list[Give]:
        ends = [g for g in self._window(community_id, start, end) if g.follows is not None]
        return sorted(ends, key=lambda g: (-g.depth, g.confirmed_at, g.id))[:limit]

    async def chains_back(self, give_ids: Sequence[int], links: int) -> dict[int, list[GiveFact]]:
        paths: dict[int, list[GiveFact]] = {}
        for give_id in give_ids:
            if give_id not in self.s.gives:
                continue
            path = [self.s.gives[give_id]]
            while len(path) <= links and path[0].follows is not None:
                path.insert(0, self.s.gives[path[0].follows])
            paths[give_id] = [_fact(g) for g in path]
        return paths

    async def weekly_counts(
        self,
        community_id: str,
        weeks: Sequence[tuple[datetime, datetime]],
        settled_before: datetime,
    ) -> list[int]:
        return [await self.count_confirmed(community_id, start, end) for start, end in weeks]

    async def count_confirmed(self, community_id: str, start: datetime, end: datetime) -> int:
        return len(self._window(community_id, start, end))

    async def shared(self, community_id: str, start: datetime, end: datetime) -> list[Give]:
        return sorted(
            (
                g
                for g in self._in(community_id)
                if g.share_ok
                and g.status is not GiveStatus.DECLINED
                and start <= g.created_at < end
            ),
            key=lambda g: (g.created_at, g.id),
        )

    async def for_ask(self, ask_id: int) -> list[Give]:
        return sorted((g for g in self.s.gives.values() if g.ask_id == ask_id), key=lambda g: g.id)

    async def involving(self, community_id: str, member_id: str) -> list[Give]:
        return sorted(
            (g for g in self._in(community_id) if member_id in (g.giver_id, g.receiver_id)),
            key=lambda g: (g.created_at, g.id),
        )

    async def erase_notes(self, community_id: str, member_id: str) -> None:
        for g in await self.involving(community_id, member_id):
            self.s.gives[g.id] = replace(g, note=None)


class FakeOutbox:
    def __init__(self, s: FakeState) -> None:
        self.s = s
        self.queued: list[int] = []  # by this unit of work
        self.handing_over: tuple[datetime, datetime, str] | None = None

    def hand_over(self, now: datetime, lease_until: datetime, *, owner: str = "") -> None:
        self.handing_over = (now, lease_until, owner)

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
        if replace_key is not None:
            for key, row in list(self.s.outbox.items()):
                same = (row.item.community_id, row.replace_key) == (community_id, replace_key)
                mine = key in self.queued  # if leased, by hand_over: not on its way yet
                if same and row.status == "pending" and (row.lease_until is None or mine):
                    del self.s.outbox[key]
        item = OutboxItem(
            self.s.new_id(),
            community_id,
            target,
            message,
            due_at,
            purpose=purpose,
            priority=priority,
        )
        row = _Row(item, replace_key=replace_key)
        if self.handing_over is not None and due_at <= self.handing_over[0]:
            row.lease_until, row.owner = self.handing_over[1:]
            row.item = replace(item, attempts=1)
        self.s.outbox[item.id] = row
        self.queued.append(item.id)
        return item.id

    async def claim_queued(
        self, now: datetime, lease_until: datetime, *, owner: str = ""
    ) -> list[OutboxItem]:
        claimed = []
        for item_id in self.queued:
            row = self.s.outbox.get(item_id)  # replaced ones are gone
            if row and row.item.attempts:  # leased as it was queued (hand_over)
                claimed.append(row.item)
            elif row and row.status == "pending" and row.item.due_at <= now and not row.lease_until:
                row.lease_until, row.owner = lease_until, owner
                row.item = replace(row.item, attempts=row.item.attempts + 1)
                claimed.append(row.item)
        return claimed

    async def claim_due(
        self,
        now: datetime,
        limit: int,
        lease_until: datetime,
        *,
        owner: str = "",
        skip: Collection[str] = (),
    ) -> list[OutboxItem]:
        due = sorted(
            (
                r
                for r in self.s.outbox.values()
                if r.status == "pending"
                and r.item.due_at <= now
                and (r.lease_until is None or r.lease_until <= now)
                and r.item.community_id not in skip
            ),
            key=lambda r: (r.item.priority, r.item.due_at, r.item.id),
        )[:limit]
        for row in due:
            row.lease_until, row.owner = lease_until, owner
            row.item = replace(row.item, attempts=row.item.attempts + 1)
        return [r.item for r in due]

    async def renew(self, owner: str, now: datetime, lease_until: datetime) -> Renewal:
        held = []
        for row in self.s.outbox.values():
            if row.owner == owner and row.status == "pending" and row.lease_until is not None:
                row.lease_until = lease_until
                held.append(row.item.id)
        self.s.senders[owner] = lease_until
        live = sum(until > now for until in self.s.senders.values())
        return Renewal(frozenset(held), live)

    async def leave(self, owner: str) -> None:
        self.s.senders.pop(owner, None)

    async def due_count(self, now: datetime) -> int:
        return sum(r.status == "pending" and r.item.due_at <= now for r in self.s.outbox.values())

    async def mark_sent(self, item_id: int, at: datetime) -> None:
        row = self.s.outbox[item_id]
        row.status, row.sent_at, row.lease_until, row.owner = "sent", at, None, None

    async def retry_at(
        self, item_id: int, due_at: datetime, error: str, *, refund: bool = False
    ) -> None:
        row = self.s.outbox[item_id]
        attempts = max(row.item.attempts - 1, 0) if refund else row.item.attempts
        row.item = replace(row.item, due_at=due_at, attempts=attempts)
        row.lease_until, row.owner, row.error = None, None, error

    async def mark_failed(self, item_id: int, at: datetime, reason: str) -> None:
        row = self.s.outbox[item_id]
        row.status, row.sent_at, row.error = "failed", at, reason
        row.lease_until, row.owner = None, None

    async def pending_count(self) -> int:
        return sum(r.status == "pending" for r in self.s.outbox.values())

    async def drop_pending_to(self, community_id: str, member_id: str) -> None:
        for key, row in list(self.s.outbox.items()):
            to = target_member(row.item.target)
            if (
                row.item.community_id == community_id
                and to == member_id
                and row.status == "pending"
            ):
                del self.s.outbox[key]

    async def forget(self, community_id: str, member_id: str, redact: Redact) -> None:
        for key, row in list(self.s.outbox.items()):
            if row.item.community_id != community_id:
                continue
            if target_member(row.item.target) == member_id:
                del self.s.outbox[key]
                continue
            redacted = redact(row.item.message)
            if redacted is not None:
                row.item = replace(row.item, message=redacted)

    async def next_due(self, after: datetime) -> datetime | None:
        pending = (r.item.due_at for r in self.s.outbox.values() if r.status == "pending")
        return min((due for due in pending if due > after), default=None)

    async def prune(self, before: datetime) -> int:
        gone = [
            key
            for key, r in self.s.outbox.items()
            if r.status in ("sent", "failed") and r.sent_at is not None and r.sent_at < before
        ]
        for key in gone:
            del self.s.outbox[key]
        return len(gone)


class FakeEvents:
    def __init__(self, s: FakeState) -> None:
        self.s = s

    async def first_time(self, community_id: str, event_id: str, at: datetime) -> bool:
        key = (community_id, event_id)
        if key in self.s.events:
            return False
        self.s.events[key] = at
        return True

    async def prune(self, before: datetime) -> int:
        gone = [key for key, seen in self.s.events.items() if seen < before]
        for key in gone:
            del self.s.events[key]
        return len(gone)


class FakeJobRuns:
    def __init__(self, s: FakeState) -> None:
        self.s = s

    async def claim(
        self,
        community_id: str,
        job: str,
        period: str,
        owner: str,
        now: datetime,
        lease_until: datetime,
    ) -> JobClaim | None:
        key = (community_id, job, period)
        run = self.s.job_runs.get(key)
        if run is None:
            self.s.job_runs[key] = _JobRun(owner, lease_until)
            return JobClaim(community_id, job, period, owner)
        if run.status != "running" or run.lease_until > now:
            return None
        run.owner, run.lease_until = owner, lease_until
        return JobClaim(community_id, job, period, owner, run.cursor)

    def _held(self, claim: JobClaim) -> _JobRun | None:
        run = self.s.job_runs.get((claim.community_id, claim.job, claim.period))
        held = run is not None and run.owner == claim.owner and run.status == "running"
        return run if held else None

    async def progress(self, claim: JobClaim, cursor: str, lease_until: datetime) -> bool:
        if (run := self._held(claim)) is None:
            return False
        run.cursor, run.lease_until = cursor, lease_until
        return True

    async def finish(self, claim: JobClaim, now: datetime) -> bool:
        if (run := self._held(claim)) is None:
            return False
        run.status, run.finished_at = "done", now
        return True

    async def prune(self, before: datetime) -> int:
        gone = [
            key
            for key, run in self.s.job_runs.items()
            if run.status == "done" and run.finished_at is not None and run.finished_at < before
        ]
        for key in gone:
            del self.s.job_runs[key]
        return len(gone)


class FakeSignIns:
    def __init__(self, s: FakeState) -> None:
        self.s = s

    async def add_link(self, token_hash: str, link: SignInLink, now: datetime) -> None:
        self.s.sign_in_links[token_hash] = link
        self.s.link_times[token_hash] = now

    async def links_since(self, community_id: str, member_id: str, since: datetime) -> int:
        return sum(
            (link.community_id, link.member_id) == (community_id, member_id)
            and self.s.link_times[token_hash] >= since
            for token_hash, link in self.s.sign_in_links.items()
        )

    async def link(self, token_hash: str) -> SignInLink | None:
        return self.s.sign_in_links.get(token_hash)

    async def use_link(self, token_hash: str, now: datetime) -> bool:
        link = self.s.sign_in_links.get(token_hash)
        if link is None or link.used_at is not None or link.expires_at <= now:
            return False
        self.s.sign_in_links[token_hash] = replace(link, used_at=now)
        return True

    async def add_session(self, session_hash: str, session: WebSession, now: datetime) -> None:
        self.s.web_sessions[session_hash] = session

    async def session(self, session_hash: str, now: datetime) -> WebSession | None:
        session = self.s.web_sessions.get(session_hash)
        return session if session is not None and session.expires_at > now else None

    async def end_session(self, session_hash: str) -> None:
        self.s.web_sessions.pop(session_hash, None)

    async def end_sessions_of(self, platform: str, member_id: str) -> None:
        for key, session in list(self.s.web_sessions.items()):
            if (session.platform, session.member_id) == (platform, member_id):
                del self.s.web_sessions[key]

    async def prune(self, now: datetime) -> int:
        links = [k for k, link in self.s.sign_in_links.items() if link.expires_at <= now]
        sessions = [k for k, session in self.s.web_sessions.items() if session.expires_at <= now]
        for k in links:
            del self.s.sign_in_links[k], self.s.link_times[k]
        for k in sessions:
            del self.s.web_sessions[k]
        return len(links) + len(sessions)


class FakeDashboard:
    def __init__(self, s: FakeState) -> None:
        self.s = s

    def _scored(self, community_id: str) -> list[Give]:
        return [g for g in self.s.gives.values() if g.community_id == community_id and _person(g)]

    async def communities_of(self, platform: str, member_id: str) -> list[str]:
        return sorted(
            cid
            for (cid, mid), m in self.s.members.items()
            if mid == member_id and cid.startswith(f"{platform}:") and not m.forgotten
        )

    async def names(self, community_id: str, member_ids: Collection[str]) -> dict[str, str]:
        found = (self.s.members.get((community_id, m)) for m in set(member_ids))
        return {m.member_id: m.display_name for m in found if m and m.display_name}

    async def people_helped(
        self,
        community_id: str,
        weeks: Sequence[tuple[datetime, datetime]],
        settled_before: datetime,
    ) -> list[int]:
        gives = self._scored(community_id)
        return [
            len({g.receiver_id for g in gives if start <= g.confirmed_at < end})  # type: ignore[operator]
            for start, end in weeks
        ]

    async def connections_per_week(
        self,
        community_id: str,
        weeks: Sequence[tuple[datetime, datetime]],
        settled_before: datetime,
    ) -> list[int]:
        counts = []
        for start, end in weeks:
            key = ("connections", community_id, start, end)
            count = self.s.week_tallies.get(key)
            if count is None:
                count = await FakeConnector(self.s).connections(community_id, start, end)
                if end <= settled_before:
                    self.s.week_tallies[key] = count
            counts.append(count)
        return counts

    async def member_gives(
        self, community_id: str, member_id: str, start: datetime, end: datetime
    ) -> tuple[list[datetime], list[datetime]]:
        window = [g for g in self._scored(community_id) if start <= g.confirmed_at < end]  # type: ignore[operator]
        given = [g.confirmed_at for g in window if g.giver_id == member_id]
        received = [g.confirmed_at for g in window if g.receiver_id == member_id]
        return given, received  # type: ignore[return-value]

    async def member_chain_ends(self, community_id: str, member_id: str, limit: int) -> list[int]:
        def latest(gives: list[Give]) -> list[Give]:
            return sorted(gives, key=lambda g: (g.confirmed_at, g.id), reverse=True)[:limit]  # type: ignore[arg-type,return-value]

        gives = self._scored(community_id)
        linked = [g for g in gives if g.follows is not None]
        ends = latest([g for g in linked if g.giver_id == member_id])
        ends += latest([g for g in linked if g.receiver_id == member_id])
        mine = {g.id for g in latest([g for g in gives if g.giver_id == member_id])}
        ends += latest([g for g in linked if g.follows in mine])
        return list(dict.fromkeys(g.id for g in ends))

    async def channels(self, community_id: str, limit: int) -> list[str]:
        asks = sorted(
            (a for a in self.s.asks.values() if a.community_id == community_id),
            key=lambda a: a.created_at,
            reverse=True,
        )
        return list(dict.fromkeys(a.channel_id for a in asks))[:limit]


class FakeDatabase:
    """Shared by every unit of work made from it, like a real database."""

    def __init__(self) -> None:
        self.state = FakeState()

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)


class FakeUnitOfWork:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.committed = False

    async def __aenter__(self) -> FakeUnitOfWork:
        self.state = copy.deepcopy(self.db.state)
        self.communities = FakeCommunities(self.state)
        self.members = FakeMembers(self.state)
        self.asks = FakeAsks(self.state)
        self.gives = FakeGives(self.state)
        self.outbox = FakeOutbox(self.state)
        self.events = FakeEvents(self.state)
        self.jobs = FakeJobRuns(self.state)
        self.sign_ins = FakeSignIns(self.state)
        self.dashboard = FakeDashboard(self.state)
        self.connector = FakeConnector(self.state)
        self.cups = FakeCups(self.state)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def commit(self) -> None:
        self.db.state = self.state
        self.state = copy.deepcopy(self.state)
        self.committed = True


@dataclass
class Sent:
    kind: str  # "post", "update" or "dm"
    community_id: str
    to: str  # channel id, member id, or the updated message id
    message: Message


class FakeChat:
    """A chat platform that records what it was asked to send; `script` can make it fail."""

    platform = "test"
    connected = True

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.script: list[Delivery | Exception] = []
        self._next = 0
        self.on_send: Callable[[Sent], None] | None = None
        self.hold: asyncio.Event | None = None  # set: sends wait until it is set
        self.holding = 0  # sends waiting for `hold`

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def _result(self, sent: Sent, channel: str) -> Delivery:
        if self.script:
            outcome = self.script.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            if not isinstance(outcome, Delivered):
                return outcome
        self.sent.append(sent)
        if self.on_send is not None:
            self.on_send(sent)
        self._next += 1
        return Delivered(MessageRef(channel, f"m{self._next}"))

    async def _slow_platform(self) -> None:
        if self.hold is not None:
            self.holding += 1
            await self.hold.wait()
            self.holding -= 1

    async def post(self, community_id: str, channel_id: str, message: Message) -> Delivery:
        await self._slow_platform()
        return self._result(Sent("post", community_id, channel_id, message), channel_id)

    async def update(self, community_id: str, ref: MessageRef, message: Message) -> Delivery:
        await self._slow_platform()
        result = self._result(Sent("update", community_id, ref.message_id, message), ref.channel_id)
        return Delivered(ref) if isinstance(result, Delivered) else result

    async def send_dm(self, community_id: str, member_id: str, message: Message) -> Delivery:
        await self._slow_platform()
        return self._result(Sent("dm", community_id, member_id, message), f"dm:{member_id}")

    def to(self, kind: str, to: str) -> list[Message]:
        return [s.message for s in self.sent if s.kind == kind and s.to == to]
