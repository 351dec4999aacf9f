"""The in-memory fake of bot.ports.CupsRepository, over the fake database's state."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.domain import Ask, GiveStatus, OfferStatus
from bot.erasure import ERASED, Redact
from bot.ports import Cup, CupSeat, CupsProfiles, HelpedOn, TopicAsk

if TYPE_CHECKING:
    from tests.fakes import FakeState

CupKey = tuple[str, str, int]  # community, round, number


@dataclass
class CupsState:
    optins: dict[tuple[str, str], datetime] = field(default_factory=dict)
    cups: dict[CupKey, Cup] = field(default_factory=dict)


def _topic(ask: Ask) -> TopicAsk:
    return TopicAsk(ask.id, ask.number, ask.asker_id, ask.text, ask.created_at)


class FakeCups:
    def __init__(self, s: FakeState) -> None:
        self.s = s
        self.c = s.cups

    async def opted_in(self, community_id: str, member_id: str) -> bool:
        return (community_id, member_id) in self.c.optins

    async def set_opted_in(
        self, community_id: str, member_id: str, opted_in: bool, at: datetime
    ) -> None:
        if opted_in:
            self.c.optins.setdefault((community_id, member_id), at)
        else:
            self.c.optins.pop((community_id, member_id), None)

    async def profiles(
        self,
        community_id: str,
        *,
        active_since: datetime,
        asks_since: datetime,
        asks_per_member: int,
        helps_per_member: int,
    ) -> CupsProfiles:
        eligible = sorted(
            member_id
            for (cid, member_id) in self.c.optins
            if cid == community_id
            and (m := self.s.members.get((cid, member_id))) is not None
            and not m.forgotten
            and m.last_active_at is not None
            and m.last_active_at >= active_since
        )
        chosen = set(eligible)
        asks = [a for a in self.s.asks.values() if a.community_id == community_id]
        seen: dict[str, list[datetime]] = defaultdict(list)
        for ask in asks:
            seen[ask.asker_id].append(ask.created_at)
        for (ask_id, member_id), offer in self.s.offers.items():
            if self.s.asks[ask_id].community_id == community_id:
                seen[member_id].append(offer.created_at)
        for give in self.s.gives.values():
            if give.community_id == community_id:
                seen[give.giver_id].append(give.created_at)
                if give.receiver_id is not None:
                    seen[give.receiver_id].append(give.created_at)
        first_seen = {m: min(seen[m]) if seen[m] else None for m in eligible}

        asked: list[TopicAsk] = []
        by_asker: dict[str, list[Ask]] = defaultdict(list)
        for ask in asks:
            if ask.asker_id in chosen and ask.created_at >= asks_since and ask.text != ERASED:
                by_asker[ask.asker_id].append(ask)
        for member_id in sorted(by_asker):
            latest = sorted(by_asker[member_id], key=lambda a: (a.created_at, a.id))
            asked += [_topic(a) for a in latest[-asks_per_member:]]

        help_: dict[str, list[tuple[datetime, int, bool]]] = defaultdict(list)
        for give in self.s.gives.values():
            if (
                give.community_id == community_id
                and give.giver_id in chosen
                and give.status is GiveStatus.CONFIRMED
                and give.ask_id is not None
                and give.confirmed_at is not None
                and give.confirmed_at >= asks_since
            ):
                help_[give.giver_id].append((give.confirmed_at, give.ask_id, True))
        for (ask_id, member_id), offer in self.s.offers.items():
            ask = self.s.asks[ask_id]
            if (
                ask.community_id == community_id
                and member_id in chosen
                and offer.status is not OfferStatus.WITHDRAWN
                and offer.created_at >= asks_since
            ):
                help_[member_id].append((offer.created_at, ask_id, False))
        helped: list[HelpedOn] = []
        for member_id in sorted(help_):
            latest = sorted(help_[member_id], key=lambda h: (h[0], h[1]))[-helps_per_member:]
            for at, ask_id, gave in latest:
                ask = self.s.asks[ask_id]
                if ask.text != ERASED:
                    helped.append(HelpedOn(member_id, _topic(ask), gave, at))

        interests = [
            (member_id, topic, tuple(sorted(stems)))
            for (cid, member_id), topics in sorted(self.s.connector.interests.items())
            if cid == community_id and member_id in chosen
            for topic, stems in topics
        ]
        return CupsProfiles(first_seen, asked, helped, interests)

    async def recent_groups(
        self, community_id: str, before_round: str, rounds: int
    ) -> list[tuple[str, ...]]:
        earlier = sorted(
            {r for (cid, r, _) in self.c.cups if cid == community_id and r < before_round},
            reverse=True,
        )[:rounds]
        return [
            cup.members
            for key, cup in sorted(self.c.cups.items())
            if key[0] == community_id and key[1] in earlier
        ]

    async def add_round(self, cups: Sequence[Cup]) -> None:
        for cup in cups:
            self.c.cups[(cup.community_id, cup.round, cup.number)] = cup

    async def round_page(
        self, community_id: str, round: str, after_number: int, limit: int
    ) -> list[Cup]:
        found = [
            cup
            for (cid, r, number), cup in sorted(self.c.cups.items())
            if cid == community_id and r == round and number > after_number
        ]
        return found[:limit]

    async def get(self, community_id: str, round: str, number: int) -> Cup | None:
        return self.c.cups.get((community_id, round, number))

    async def answer(
        self, community_id: str, round: str, number: int, member_id: str, answer: str, at: datetime
    ) -> bool:
        key = (community_id, round, number)
        cup = self.c.cups.get(key)
        if cup is None or member_id not in cup.members:
            return False
        seats = tuple(
            CupSeat(s.member_id, answer, at) if s.member_id == member_id else s for s in cup.seats
        )
        met = [s.answered_at for s in seats if s.answer == "met" and s.answered_at is not None]
        self.c.cups[key] = replace(cup, seats=seats, met_at=min(met, default=None))
        return True

    async def follow_ups_due(self, created_before: datetime, limit: int) -> list[Cup]:
        found = [
            cup
            for cup in self.c.cups.values()
            if cup.followed_up_at is None and cup.created_at <= created_before
        ]
        found.sort(key=lambda c: (c.created_at, c.community_id, c.round, c.number))
        return found[:limit]

    async def mark_followed_up(
        self, community_id: str, round: str, number: int, at: datetime
    ) -> bool:
        key = (community_id, round, number)
        cup = self.c.cups.get(key)
        if cup is None or cup.followed_up_at is not None:
            return False
        self.c.cups[key] = replace(cup, followed_up_at=at)
        return True

    async def oldest_unfollowed(self) -> datetime | None:
        return min(
            (c.created_at for c in self.c.cups.values() if c.followed_up_at is None), default=None
        )

    async def of_member(self, community_id: str, member_id: str) -> list[Cup]:
        found = [
            cup
            for (cid, _, _), cup in self.c.cups.items()
            if cid == community_id and member_id in cup.members
        ]
        return sorted(found, key=lambda c: (c.created_at, c.round, c.number))

    async def conversations_per_week(
        self, community_id: str, weeks: Sequence[tuple[datetime, datetime]]
    ) -> list[int]:
        met = [
            c.met_at
            for c in self.c.cups.values()
            if c.community_id == community_id and c.met_at is not None
        ]
        return [sum(1 for at in met if start <= at < end) for start, end in weeks]

    async def forget(self, community_id: str, member_id: str, redact: Redact) -> None:
        self.c.optins.pop((community_id, member_id), None)
        for key, cup in list(self.c.cups.items()):
            if key[0] != community_id:
                continue
            seats = tuple(s for s in cup.seats if s.member_id != member_id)
            reason = cup.reason
            if reason is not None:
                reason = redact(reason) or reason
            self.c.cups[key] = replace(cup, seats=seats, reason=reason)
