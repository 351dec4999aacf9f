"""The in-memory fake of bot.ports.ConnectorRepository, over the fake database's state.

Its search is a plain BM25 over the stems of the asks (bot/terms.py), with the same
rule as the databases' search for words too common to say anything.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import terms
from bot.domain import Ask, GiveStatus, OfferStatus
from bot.ports import ConnectorMember, Helped, Route, SimilarAsk

if TYPE_CHECKING:
    from tests.fakes import FakeState

K1, B = 1.2, 0.75


@dataclass
class ConnectorState:
    interests: dict[tuple[str, str], list[tuple[str, list[str]]]] = field(default_factory=dict)
    choices: dict[tuple[str, str], bool] = field(default_factory=dict)
    last_routed: dict[tuple[str, str], datetime] = field(default_factory=dict)
    scheduled: dict[int, tuple[datetime, datetime | None]] = field(default_factory=dict)
    routes: dict[tuple[int, str], Route] = field(default_factory=dict)


class FakeConnector:
    def __init__(self, s: FakeState) -> None:
        self.s = s
        self.c = s.connector

    async def interests(self, community_id: str, member_id: str) -> list[str]:
        return [topic for topic, _ in self.c.interests.get((community_id, member_id), [])]

    async def set_interests(
        self, community_id: str, member_id: str, topics: Sequence[tuple[str, Sequence[str]]]
    ) -> None:
        self.c.interests[(community_id, member_id)] = [(t, list(s)) for t, s in topics]

    async def interested(
        self, community_id: str, stems: Sequence[str], limit: int
    ) -> list[tuple[str, str]]:
        wanted = set(stems)
        found = [
            (self.c.last_routed.get((cid, mid)), mid, topic)
            for (cid, mid), topics in self.c.interests.items()
            if cid == community_id and self.c.choices.get((cid, mid))
            for topic, topic_stems in topics
            if wanted & set(topic_stems)
        ]
        found.sort(key=lambda row: (row[0] is not None, row[0] or datetime.min, row[1]))
        return [(mid, topic) for _, mid, topic in found[:limit]]

    async def opted_in(self, community_id: str, member_id: str) -> bool | None:
        return self.c.choices.get((community_id, member_id))

    async def set_opted_in(self, community_id: str, member_id: str, opted_in: bool) -> None:
        self.c.choices[(community_id, member_id)] = opted_in

    async def standing(
        self, community_id: str, member_ids: Sequence[str], since: datetime
    ) -> dict[str, ConnectorMember]:
        routed = Counter(
            r.member_id
            for r in self.c.routes.values()
            if r.community_id == community_id and r.routed_at >= since
        )
        return {
            mid: ConnectorMember(
                mid,
                self.c.choices[(community_id, mid)],
                routed[mid],
                self.c.last_routed.get((community_id, mid)),
            )
            for mid in member_ids
            if (community_id, mid) in self.c.choices
        }

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
        docs = {a.id: Counter(terms.stem(w) for w in terms.words(a.text)) for a in self._all()}
        if not docs:
            return []
        df = Counter(stem for counts in docs.values() for stem in counts)
        query = list(dict.fromkeys(terms.stem(w) for w in words))
        kept = [q for q in query if df[q] <= max(common * len(docs), common_min)]
        query = kept or sorted(query, key=lambda q: df[q])[:1]
        average = sum(sum(c.values()) for c in docs.values()) / len(docs)
        scored = []
        for ask in self._all():
            if ask.community_id != community_id or ask.created_at > before:
                continue
            counts = docs[ask.id]
            length = sum(counts.values())
            score = 0.0
            for q in query:
                if counts[q]:
                    idf = math.log(1 + (len(docs) - df[q] + 0.5) / (df[q] + 0.5))
                    tf = counts[q]
                    score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / average))
            if score > 0:
                scored.append((score, ask))
        scored.sort(key=lambda pair: (-pair[0], -pair[1].id))
        best = scored[0][0] if scored else 1.0
        return [
            SimilarAsk(a.id, a.number, a.asker_id, a.text, score / best, self._helped(a, before))
            for score, a in scored[:limit]
        ]

    def _all(self) -> list[Ask]:
        return sorted(self.s.asks.values(), key=lambda a: a.id)

    def _helped(self, ask: Ask, before: datetime) -> tuple[Helped, ...]:
        gave = [
            Helped(g.giver_id, True, g.confirmed_at)
            for g in self.s.gives.values()
            if g.ask_id == ask.id
            and g.status is GiveStatus.CONFIRMED
            and g.confirmed_at is not None
            and g.confirmed_at <= before
        ]
        offered = [
            Helped(o.member_id, False, o.created_at)
            for (aid, _), o in self.s.offers.items()
            if aid == ask.id and o.status is not OfferStatus.WITHDRAWN and o.created_at <= before
        ]
        return tuple(gave + offered)

    async def schedule(self, community_id: str, ask_id: int, due_at: datetime) -> None:
        self.c.scheduled[ask_id] = (due_at, None)

    async def reschedule(self, community_id: str, delay: timedelta) -> None:
        for ask_id, (_, routed_at) in list(self.c.scheduled.items()):
            ask = self.s.asks[ask_id]
            if ask.community_id == community_id and routed_at is None:
                self.c.scheduled[ask_id] = (ask.created_at + delay, None)

    async def due(self, now: datetime, limit: int) -> list[Ask]:
        waiting = sorted(
            (due_at, ask_id)
            for ask_id, (due_at, routed_at) in self.c.scheduled.items()
            if routed_at is None and due_at <= now
        )
        return [self.s.asks[ask_id] for _, ask_id in waiting[:limit]]

    async def claim(self, ask_id: int, now: datetime) -> bool:
        due_at, routed_at = self.c.scheduled.get(ask_id, (None, None))
        if due_at is None or routed_at is not None:
            return False
        self.c.scheduled[ask_id] = (due_at, now)
        return True

    async def next_due(self, after: datetime) -> datetime | None:
        return min(
            (d for d, routed_at in self.c.scheduled.values() if routed_at is None and d > after),
            default=None,
        )

    async def routes_for(self, ask_id: int) -> list[Route]:
        return sorted(
            (r for (aid, _), r in self.c.routes.items() if aid == ask_id),
            key=lambda r: (r.routed_at, r.member_id),
        )

    async def add_route(self, route: Route) -> None:
        self.c.routes[(route.ask_id, route.member_id)] = route
        self.c.last_routed[(route.community_id, route.member_id)] = route.routed_at

    async def mark_offered(self, ask_id: int, member_id: str, at: datetime) -> bool:
        route = self.c.routes.get((ask_id, member_id))
        if route is None or route.offered_at is not None:
            return False
        self.c.routes[(ask_id, member_id)] = replace(route, offered_at=at)
        return True

    async def decline(self, ask_id: int, member_id: str, at: datetime) -> bool:
        route = self.c.routes.get((ask_id, member_id))
        if route is None:
            return False
        if route.declined_at is None:
            self.c.routes[(ask_id, member_id)] = replace(route, declined_at=at)
        return True

    async def routes_of(self, community_id: str, member_id: str) -> list[Route]:
        return sorted(
            (
                r
                for r in self.c.routes.values()
                if (r.community_id, r.member_id) == (community_id, member_id)
            ),
            key=lambda r: (r.routed_at, r.ask_id),
        )

    async def connections(self, community_id: str, start: datetime, end: datetime) -> int:
        found = {
            g.ask_id
            for g in self.s.gives.values()
            if g.community_id == community_id
            and g.status is GiveStatus.CONFIRMED
            and g.confirmed_at is not None
            and start <= g.confirmed_at < end
            and g.ask_id is not None
            and (route := self.c.routes.get((g.ask_id, g.giver_id))) is not None
            and route.offered_at is not None
        }
        return len(found)

    async def forget(self, community_id: str, member_id: str) -> None:
        key = (community_id, member_id)
        self.c.interests.pop(key, None)
        self.c.choices.pop(key, None)
        self.c.last_routed.pop(key, None)
        for route_key, route in list(self.c.routes.items()):
            if (route.community_id, route.member_id) == key:
                del self.c.routes[route_key]
