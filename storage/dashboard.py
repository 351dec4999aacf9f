"""The dashboard's own reads (bot.ports.DashboardQueries); the weekly report's come
from the gives repository as they are.

Each statement is bounded (a week of index entries, one member's gives, a list of
ids) and shaped for its index, like storage/gives.py: without ANALYZE statistics
SQLite takes `status = ?` for selective and would favour ix_gives_confirmed, whose
range is a year of the community, so the status tests stay out of index selection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, desc, distinct, func, select

from bot.domain import GiveStatus
from storage.connector import SqlConnectorRepository
from storage.models import asks, gives, members, week_people, week_tallies
from storage.sql import Conn, not_for_index, upsert_insert

CONFIRMED = GiveStatus.CONFIRMED.value
NAMES_AT_ONCE = 500  # ids per IN list

WeekCount = Callable[[str, datetime, datetime], Awaitable[int]]  # community, start, end


def _scored(*where: ColumnElement[bool]) -> tuple[ColumnElement[bool], ...]:
    """Confirmed gives from one member to another, as the weekly table counts them."""
    c = gives.c
    return (*where, c.receiver_id.is_not(None), c.giver_id != c.receiver_id)


class SqlDashboardQueries:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def communities_of(self, platform: str, member_id: str) -> list[str]:
        """A seek on ix_members_member."""
        m = members.c
        found = await self._conn.execute(
            select(m.community_id)
            .where(
                m.member_id == member_id,
                m.community_id.startswith(f"{platform}:", autoescape=True),
                m.forgotten.is_(False),
            )
            .order_by(m.community_id)
        )
        return list(found.scalars())

    async def names(self, community_id: str, member_ids: Collection[str]) -> dict[str, str]:
        m = members.c
        wanted = sorted(set(member_ids))
        names: dict[str, str] = {}
        for k in range(0, len(wanted), NAMES_AT_ONCE):
            found = await self._conn.execute(
                select(m.member_id, m.display_name).where(
                    m.community_id == community_id,
                    m.member_id.in_(wanted[k : k + NAMES_AT_ONCE]),
                    m.display_name.is_not(None),
                )
            )
            names.update({member_id: name for member_id, name in found})
        return names

    async def people_helped(
        self,
        community_id: str,
        weeks: Sequence[tuple[datetime, datetime]],
        settled_before: datetime,
    ) -> list[int]:
        """Settled weeks are counted once (like week_counts): a year of them costs a
        read of 52 small rows, and this week a range of ix_gives_confirmed."""
        if not weeks:
            return []
        w = week_people.c
        stored = await self._conn.execute(
            select(w.week_start, w.week_end, w.helped).where(
                w.community_id == community_id,
                w.week_start >= min(start for start, _ in weeks),
                w.week_start <= max(start for start, _ in weeks),
            )
        )
        known = {(start, end): helped for start, end, helped in stored.all()}
        counts = []
        for start, end in weeks:
            helped = known.get((start, end))
            if helped is None:
                helped = await self._count_helped(community_id, start, end)
                if end <= settled_before:
                    insert = upsert_insert(self._conn, week_people)
                    await self._conn.execute(
                        insert.values(
                            community_id=community_id, week_start=start, week_end=end, helped=helped
                        ).on_conflict_do_nothing()
                    )
            counts.append(helped)
        return counts

    async def connections_per_week(
        self,
        community_id: str,
        weeks: Sequence[tuple[datetime, datetime]],
        settled_before: datetime,
    ) -> list[int]:
        """Each week as the weekly post counts it (ConnectorRepository.connections)."""
        count = SqlConnectorRepository(self._conn).connections
        return await self._tallied("connections", community_id, weeks, settled_before, count)

    async def _tallied(
        self,
        tally: str,
        community_id: str,
        weeks: Sequence[tuple[datetime, datetime]],
        settled_before: datetime,
        count: WeekCount,
    ) -> list[int]:
        """`count` of each week; a week that ended by `settled_before` is counted once
        and read back from week_tallies under the name `tally` after (a year of them
        is one small read). Any per-week count of the charts can be kept this way."""
        if not weeks:
            return []
        t = week_tallies.c
        stored = await self._conn.execute(
            select(t.week_start, t.week_end, t.value).where(
                t.community_id == community_id,
                t.tally == tally,
                t.week_start >= min(start for start, _ in weeks),
                t.week_start <= max(start for start, _ in weeks),
            )
        )
        known = {(start, end): value for start, end, value in stored.all()}
        counts = []
        for start, end in weeks:
            value = known.get((start, end))
            if value is None:
                value = await count(community_id, start, end)
                if end <= settled_before:
                    insert = upsert_insert(self._conn, week_tallies)
                    await self._conn.execute(
                        insert.values(
                            community_id=community_id,
                            tally=tally,
                            week_start=start,
                            week_end=end,
                            value=value,
                        ).on_conflict_do_nothing()
                    )
            counts.append(value)
        return counts

    async def _count_helped(self, community_id: str, start: datetime, end: datetime) -> int:
        """A range of ix_gives_confirmed, from the index alone."""
        c = gives.c
        found = await self._conn.execute(
            select(func.count(distinct(c.receiver_id))).where(
                *_scored(
                    c.community_id == community_id,
                    c.status == CONFIRMED,
                    c.confirmed_at >= start,
                    c.confirmed_at < end,
                )
            )
        )
        return int(found.scalar_one())

    async def member_gives(
        self, community_id: str, member_id: str, start: datetime, end: datetime
    ) -> tuple[list[datetime], list[datetime]]:
        """Given: the member's entries of ix_gives_pair; received: a range of
        ix_gives_receiver."""
        c = gives.c
        between = (c.confirmed_at >= start, c.confirmed_at < end)
        confirmed = not_for_index(c.status == CONFIRMED)
        given = await self._conn.execute(
            select(c.confirmed_at).where(
                *_scored(c.community_id == community_id, c.giver_id == member_id),
                *between,
                confirmed,
            )
        )
        received = await self._conn.execute(
            select(c.confirmed_at).where(
                *_scored(c.community_id == community_id, c.receiver_id == member_id),
                *between,
                confirmed,
            )
        )
        return list(given.scalars()), list(received.scalars())

    async def member_chain_ends(self, community_id: str, member_id: str, limit: int) -> list[int]:
        c = gives.c
        confirmed = not_for_index(c.status == CONFIRMED)
        latest = (desc(c.confirmed_at), desc(c.id))
        ends: list[int] = []
        for side in (c.giver_id == member_id, c.receiver_id == member_id):
            found = await self._conn.execute(
                select(c.id)
                .where(
                    *_scored(c.community_id == community_id, side),
                    c.follows.is_not(None),
                    confirmed,
                )
                .order_by(*latest)
                .limit(limit)
            )
            ends.extend(found.scalars())
        # Where the member's help went on: gives by the people they helped lately that
        # follow those gives (one seek of ix_gives_pair per person).
        mine = (
            await self._conn.execute(
                select(c.id, c.receiver_id)
                .where(*_scored(c.community_id == community_id, c.giver_id == member_id), confirmed)
                .order_by(*latest)
                .limit(limit)
            )
        ).all()
        if mine:
            found = await self._conn.execute(
                select(c.id)
                .where(
                    c.community_id == community_id,
                    c.giver_id.in_(sorted({receiver for _, receiver in mine})),
                    c.follows.in_([give_id for give_id, _ in mine]),
                    confirmed,
                )
                .order_by(*latest)
                .limit(limit)
            )
            ends.extend(found.scalars())
        return list(dict.fromkeys(ends))

    async def channels(self, community_id: str, limit: int) -> list[str]:
        a = asks.c
        found = await self._conn.execute(
            select(a.channel_id)
            .where(a.community_id == community_id)
            .group_by(a.channel_id)
            .order_by(desc(func.max(a.created_at)))
            .limit(limit)
        )
        return list(found.scalars())
