"""The gives repository: what confirming a give and the weekly report ask of a year
of gives.

A benchmark runs these on SQLite with 1,000,000 gives and 100,000 members (~19,000
a week), so each is one statement on an index. Until someone runs ANALYZE, SQLite's
planner has no statistics and takes every `column = ?` for selective, even
`status = 'confirmed'`; the statements are shaped so that the right index is its
best choice anyway, and tests/storage/test_query_plans.py pins those plans.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    String,
    bindparam,
    func,
    literal,
    select,
    type_coerce,
    update,
)

from bot.domain import Give, GiveFact, GiveStatus, PairWeek
from storage import prepared, rows
from storage.direct import prebuilt
from storage.models import UtcDateTime, gives, week_counts
from storage.sql import Conn, not_for_index

CONFIRMED = GiveStatus.CONFIRMED.value


def _person_to_person() -> tuple[ColumnElement[bool], ...]:
    """Confirmed gives from one member to another: the ones that are scored."""
    c = gives.c
    return (c.status == CONFIRMED, c.receiver_id.is_not(None), c.giver_id != c.receiver_id)


def _confirmed_between(
    community_id: str | BindParameter[str],
    start: datetime | BindParameter[datetime],
    end: datetime | BindParameter[datetime],
) -> tuple[ColumnElement[bool], ...]:
    """Scored gives with `confirmed_at` in [start, end): a range of ix_gives_confirmed."""
    c = gives.c
    return (
        c.community_id == community_id,
        *_person_to_person(),
        c.confirmed_at >= start,
        c.confirmed_at < end,
    )


class SqlGiveRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def _many(self, *where: ColumnElement[bool]) -> list[Give]:
        stmt = select(*rows.GIVE_COLUMNS).where(*where).order_by(gives.c.created_at, gives.c.id)
        return [rows.give_from_row(row) for row in await self._conn.execute(stmt)]

    async def add(self, give: Give) -> Give:
        added = await self._conn.execute(prepared.ADD_GIVE, rows.give_values(give))
        return replace(give, id=added.scalar_one())

    async def get(self, give_id: int) -> Give | None:
        stmt = select(*rows.GIVE_COLUMNS).where(gives.c.id == give_id)
        row = (await self._conn.execute(stmt)).first()
        return None if row is None else rows.give_from_row(row)

    async def save(self, give: Give) -> None:
        values = rows.give_values(give) | {prepared.ROW_ID: give.id}
        await self._conn.execute(prepared.SAVE_GIVE, values)

    async def has_given(
        self, community_id: str, *, giver_id: str, receiver_id: str, before: datetime
    ) -> bool:
        """A seek on ix_gives_pair (see _HAS_GIVEN)."""
        params = {
            "community_id": community_id,
            "giver_id": giver_id,
            "receiver_id": receiver_id,
            "before": before,
        }
        return bool((await self._conn.execute(_HAS_GIVEN, params)).scalar_one())

    async def latest_received(
        self,
        community_id: str,
        *,
        member_id: str,
        since: datetime,
        before: datetime,
        not_from: str,
    ) -> Give | None:
        """ix_gives_receiver read backwards from `before` (see _LATEST_RECEIVED)."""
        params = {
            "community_id": community_id,
            "member_id": member_id,
            "since": since,
            "before": before,
            "not_from": not_from,
        }
        row = (await self._conn.execute(_LATEST_RECEIVED, params)).first()
        return None if row is None else rows.give_from_row(row)

    async def pair_weeks(self, community_id: str, start: datetime, end: datetime) -> list[PairWeek]:
        """The week's scored gives as plain rows, counted here: nearly every pair gives
        once a week, so grouping in SQL saves no rows, and SQLite's GROUP BY on two
        strings costs twice the fetch. Counted by Counter over itemgetter, both in C.
        Pairs come in the order of their first give."""
        params = {"community_id": community_id, "start": start, "end": end}
        found = (await self._conn.execute(_PAIR_WEEKS, params)).all()
        pair = itemgetter(0, 1)
        gives = Counter(map(pair, found))
        forward = Counter(map(pair, filter(itemgetter(2), found)))
        return [PairWeek(g, r, n, forward[g, r]) for (g, r), n in gives.items()]

    async def chain_ends(
        self, community_id: str, start: datetime, end: datetime, limit: int
    ) -> list[Give]:
        """The deepest first: picked from ix_gives_confirmed alone, then read by id
        (sorting whole rows read a week of gives from the table)."""
        c = gives.c
        order = (c.depth.desc(), c.confirmed_at, c.id)
        deepest = (
            select(c.id)
            .where(*_confirmed_between(community_id, start, end), c.follows.is_not(None))
            .order_by(*order)
            .limit(limit)
        )
        stmt = select(*rows.GIVE_COLUMNS).where(c.id.in_(deepest)).order_by(*order)
        return [rows.give_from_row(row) for row in await self._conn.execute(stmt)]

    async def chains_back(self, give_ids: Sequence[int], links: int) -> dict[int, list[GiveFact]]:
        paths: dict[int, list[GiveFact]] = {}
        if not give_ids:
            return paths
        result = await self._conn.execute(
            _CHAINS_BACK, {"give_ids": list(give_ids), "links": links}
        )
        for end_id, giver, receiver, at in result:
            paths.setdefault(end_id, []).append(GiveFact(giver, receiver, at))
        return paths

    async def count_confirmed(self, community_id: str, start: datetime, end: datetime) -> int:
        params = {"community_id": community_id, "start": start, "end": end}
        return int((await self._conn.execute(_COUNT_CONFIRMED, params)).scalar_one())

    async def weekly_counts(
        self,
        community_id: str,
        weeks: Sequence[tuple[datetime, datetime]],
        settled_before: datetime,
    ) -> list[int]:
        """Settled weeks come from week_counts when counted before, and are stored
        when counted now; a weekly post so counts one week, not twelve."""
        if not weeks:
            return []
        w = week_counts.c
        stored = await self._conn.execute(
            select(w.week_start, w.week_end, w.gives).where(
                w.community_id == community_id,
                w.week_start >= min(start for start, _ in weeks),
                w.week_start <= max(start for start, _ in weeks),
            )
        )
        known = {(start, end): gives for start, end, gives in stored.all()}
        counts = []
        for start, end in weeks:
            count = known.get((start, end))
            if count is None:
                count = await self.count_confirmed(community_id, start, end)
                if end <= settled_before:
                    row = {
                        "community_id": community_id,
                        "week_start": start,
                        "week_end": end,
                        "gives": count,
                    }
                    await self._conn.execute(
                        prepared.store_week_count(self._conn.dialect.name), row
                    )
            counts.append(count)
        return counts

    async def shared(self, community_id: str, start: datetime, end: datetime) -> list[Give]:
        return await self._many(
            gives.c.community_id == community_id,
            gives.c.created_at >= start,
            gives.c.created_at < end,
            gives.c.share_ok.is_(True),
            gives.c.status != GiveStatus.DECLINED.value,
        )

    async def for_ask(self, ask_id: int) -> list[Give]:
        return await self._many(gives.c.ask_id == ask_id)

    async def involving(self, community_id: str, member_id: str) -> list[Give]:
        """One query per side, so each seeks its own index (ix_gives_pair, then
        ix_gives_receiver), sorted here: given `giver = ? OR receiver = ?`, or an
        ORDER BY created_at to satisfy, SQLite reads the whole community in
        ix_gives_created order instead."""
        g = gives.c
        as_giver = select(*rows.GIVE_COLUMNS).where(
            g.community_id == community_id, g.giver_id == member_id
        )
        as_receiver = select(*rows.GIVE_COLUMNS).where(
            g.community_id == community_id, g.receiver_id == member_id, g.giver_id != member_id
        )
        found = [rows.give_from_row(row) for row in await self._conn.execute(as_giver)]
        found += [rows.give_from_row(row) for row in await self._conn.execute(as_receiver)]
        return sorted(found, key=lambda give: (give.created_at, give.id))

    async def erase_notes(self, community_id: str, member_id: str) -> None:
        """One UPDATE per side, for the same reason as `involving`."""
        for side in (gives.c.giver_id == member_id, gives.c.receiver_id == member_id):
            await self._conn.execute(
                update(gives)
                .where(gives.c.community_id == community_id, side, gives.c.note.is_not(None))
                .values(note=None)
            )


def _chains_back() -> Select[int, str, str, datetime]:
    """One recursive query along `follows` for all the week's chain ends, each step a
    primary-key lookup. Built once: composing the CTE costs more than running it."""
    c = gives.c
    step = literal(0, Integer).label("step")
    first = select(
        c.id.label("end_id"), c.id, c.giver_id, c.receiver_id, c.confirmed_at, c.follows, step
    )
    chain = first.where(c.id.in_(bindparam("give_ids", expanding=True))).cte(
        "chain", recursive=True
    )
    earlier = gives.alias("earlier")
    chain = chain.union_all(
        select(
            chain.c.end_id,
            earlier.c.id,
            earlier.c.giver_id,
            earlier.c.receiver_id,
            earlier.c.confirmed_at,
            earlier.c.follows,
            chain.c.step + 1,
        ).where(earlier.c.id == chain.c.follows, chain.c.step < bindparam("links"))
    )
    return select(
        chain.c.end_id, chain.c.giver_id, chain.c.receiver_id, chain.c.confirmed_at
    ).order_by(chain.c.end_id, chain.c.step.desc())


_CHAINS_BACK = _chains_back()


def _param(name: str, type_: Any = None) -> BindParameter[Any]:
    return bindparam(name, type_=type_ or String())


def _has_given() -> Select[Any]:
    """The status test is kept out of index selection: seen as selective, it would
    draw SQLite to ix_gives_confirmed and a scan of every confirmed give before
    `before`. SELECT 1, not the SELECT * of exists(), so that the index alone answers."""
    c = gives.c
    found = (
        select(literal(1))
        .where(
            c.community_id == _param("community_id"),
            c.giver_id == _param("giver_id"),
            c.receiver_id == _param("receiver_id"),
            c.confirmed_at < _param("before", UtcDateTime()),
            not_for_index(c.status == CONFIRMED),
            c.giver_id != c.receiver_id,
        )
        .exists()
    )
    return select(found)


def _latest_received() -> Select[Any]:
    """ix_gives_receiver's entries end with the rowid, so "latest, then highest id" is
    its own order on SQLite."""
    c = gives.c
    member = _param("member_id")
    return (
        select(*rows.GIVE_COLUMNS)
        .where(
            c.community_id == _param("community_id"),
            c.receiver_id == member,
            c.confirmed_at >= _param("since", UtcDateTime()),
            c.confirmed_at < _param("before", UtcDateTime()),
            not_for_index(c.status == CONFIRMED),
            c.giver_id != member,
            c.giver_id != _param("not_from"),
        )
        .order_by(c.confirmed_at.desc(), c.id.desc())
        .limit(1)
    )


_HAS_GIVEN = prebuilt(_has_given())
_LATEST_RECEIVED = prebuilt(_latest_received())
_THE_WEEK = _confirmed_between(
    _param("community_id"), _param("start", UtcDateTime()), _param("end", UtcDateTime())
)
# Plain tuples, and `forward` as the stored 0 or 1 (counted, not read as a bool): no
# row of the ~20,000 needs processing.
_PAIR_WEEKS = prebuilt(
    select(gives.c.giver_id, gives.c.receiver_id, type_coerce(gives.c.forward, Integer)).where(
        *_THE_WEEK
    ),
    by_position=True,
)
# The trend asks for twelve weeks in a row.
_COUNT_CONFIRMED = prebuilt(select(func.count()).select_from(gives).where(*_THE_WEEK))
