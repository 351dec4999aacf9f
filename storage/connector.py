"""The connector's storage (bot.ports.ConnectorRepository): interests, consent, routing
history, and the search over past asks that the ranking starts from.

The search is each database's own full-text index, kept by the database itself
(revision 0012): SQLite's FTS5 with its BM25 ranking, PostgreSQL's `tsvector` with a
GIN index and `ts_rank`. Both leave out the words found in more than a `common` share
of all asks (counted by the index itself) while rarer ones remain: they tell how
people ask, not what about, and they would make every search rank most of the asks.
On PostgreSQL, where every statement is a round trip, the counts, the search and
the help on the asks found are one statement; on SQLite, run inline, three.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    any_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from bot.domain import GiveStatus, OfferStatus
from bot.ports import ConnectorMember, Helped, Route, SimilarAsk
from storage import rows
from storage.direct import prebuilt
from storage.models import (
    UtcDateTime,
    asks,
    connector_asks,
    connector_members,
    connector_routes,
    gives,
    interest_terms,
    member_interests,
    offers,
)
from storage.sql import Conn, upsert_insert

SEARCH_TABLES = "ask_search"  # every table named so is the databases' own (revision 0012)
_WORD = re.compile(r"^[^\W_]+$")
# Run with every new ask and every offer: built once (see storage/prepared.py).
SCHEDULE = prebuilt(insert(connector_asks))
MARK_OFFERED = prebuilt(
    update(connector_routes).where(
        connector_routes.c.ask_id == bindparam("route_ask"),
        connector_routes.c.member_id == bindparam("route_member"),
        connector_routes.c.offered_at.is_(None),
    )
)
_ESTIMATE_FROM = 10_000  # PostgreSQL: below this many asks, count them instead


def outside_models(name: str | None, type_: str, parent_names: Any) -> bool:
    """For Alembic's `include_name`: the full-text search tables and their shadow
    tables are the databases' own, not storage/models.py's."""
    return not (type_ == "table" and name is not None and name.startswith(SEARCH_TABLES))


def _route(row: Any) -> Route:
    return Route(
        ask_id=row.ask_id,
        member_id=row.member_id,
        community_id=row.community_id,
        routed_at=row.routed_at,
        round=row.round,
        reason=row.reason,
        offered_at=row.offered_at,
        declined_at=row.declined_at,
    )


class SqlConnectorRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    def _one_of(self, column: ColumnElement[str], values: Sequence[str]) -> ColumnElement[bool]:
        """`column IN (values)`; on PostgreSQL as one array parameter, so that the
        statement is the same for any number of values (prepared once per
        connection) and hundreds of members cost no more parameters than one."""
        if self._conn.dialect.name == "postgresql":
            return column == any_(bindparam(None, list(values), type_=ARRAY(String)))
        return column.in_(list(values))

    # Interests and consent.

    async def interests(self, community_id: str, member_id: str) -> list[str]:
        i = member_interests.c
        stmt = (
            select(i.topic)
            .where(i.community_id == community_id, i.member_id == member_id)
            .order_by(i.position)
        )
        return list((await self._conn.execute(stmt)).scalars())

    async def set_interests(
        self, community_id: str, member_id: str, topics: Sequence[tuple[str, Sequence[str]]]
    ) -> None:
        key = {"community_id": community_id, "member_id": member_id}
        for table in (member_interests, interest_terms):
            await self._conn.execute(
                delete(table).where(
                    table.c.community_id == community_id, table.c.member_id == member_id
                )
            )
        if not topics:
            return
        await self._conn.execute(
            insert(member_interests),
            [key | {"position": n, "topic": topic} for n, (topic, _) in enumerate(topics)],
        )
        stems = {(stem, n) for n, (_, topic_stems) in enumerate(topics) for stem in topic_stems}
        if stems:
            await self._conn.execute(
                insert(interest_terms),
                [key | {"term": stem, "position": n} for stem, n in sorted(stems)],
            )

    async def interested(
        self, community_id: str, stems: Sequence[str], limit: int
    ) -> list[tuple[str, str]]:
        """From the primary key of interest_terms (community, term, …)."""
        if not stems:
            return []
        t, i, c = interest_terms.c, member_interests.c, connector_members.c
        stmt = (
            select(t.member_id, i.topic, c.last_routed_at)
            .distinct()
            .join(
                member_interests,
                (i.community_id == t.community_id)
                & (i.member_id == t.member_id)
                & (i.position == t.position),
            )
            .join(
                connector_members,
                (c.community_id == t.community_id) & (c.member_id == t.member_id),
            )
            .where(t.community_id == community_id, self._one_of(t.term, stems), c.opted_in)
            .order_by(c.last_routed_at.asc().nulls_first(), t.member_id, i.topic)
            .limit(limit)
        )
        return [(row.member_id, row.topic) for row in await self._conn.execute(stmt)]

    async def opted_in(self, community_id: str, member_id: str) -> bool | None:
        c = connector_members.c
        stmt = select(c.opted_in).where(c.community_id == community_id, c.member_id == member_id)
        found = (await self._conn.execute(stmt)).scalar_one_or_none()
        return None if found is None else bool(found)

    async def set_opted_in(self, community_id: str, member_id: str, opted_in: bool) -> None:
        c = connector_members.c
        stmt = (
            upsert_insert(self._conn, connector_members)
            .values(community_id=community_id, member_id=member_id, opted_in=opted_in)
            .on_conflict_do_update(
                index_elements=[c.community_id, c.member_id], set_={"opted_in": opted_in}
            )
        )
        await self._conn.execute(stmt)

    async def standing(
        self, community_id: str, member_ids: Sequence[str], since: datetime
    ) -> dict[str, ConnectorMember]:
        if not member_ids:
            return {}
        c, r = connector_members.c, connector_routes.c
        routed = (
            select(func.count())
            .where(
                r.community_id == c.community_id,
                r.member_id == c.member_id,
                r.routed_at >= since,
            )
            .scalar_subquery()
        )
        stmt = select(c.member_id, c.opted_in, c.last_routed_at, routed.label("routed")).where(
            c.community_id == community_id, self._one_of(c.member_id, member_ids)
        )
        return {
            row.member_id: ConnectorMember(
                row.member_id, bool(row.opted_in), int(row.routed), row.last_routed_at
            )
            for row in await self._conn.execute(stmt)
        }

    # The search.

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
        words = [w for w in dict.fromkeys(words) if _WORD.match(w)]
        if not words:
            return []
        if self._conn.dialect.name == "postgresql":
            found = await self._pg_similar(community_id, words, before, limit, common, common_min)
        else:
            found = await self._sqlite_similar(
                community_id, words, before, limit, common, common_min
            )
        if not found:
            return []
        best = found[0][1]
        return [
            SimilarAsk(
                row.id,
                row.number,
                row.asker_id,
                row.text,
                rank / best if best else 1.0,
                tuple(helped),
            )
            for row, rank, helped in found
        ]

    async def _sqlite_similar(
        self,
        community_id: str,
        words: list[str],
        before: datetime,
        limit: int,
        common: float,
        common_min: int,
    ) -> list[tuple[Any, float, list[Helped]]]:
        """Statements run inline on SQLite, so three cost no more than one: the
        words' counts, the search, and the help on the asks found."""
        total, counts = await self._sqlite_counts(words)
        threshold = max(common * total, common_min)
        kept = [w for w, n in zip(words, counts, strict=True) if n <= threshold]
        if not kept:  # only common words: search by the least common one
            kept = [min(zip(counts, words, strict=True))[1]]
        found = await self._sqlite_search(community_id, kept, before, limit)
        if not found:
            return []
        helped = await self._helped([row.id for row, _ in found], before)
        return [(row, rank, helped.get(row.id, [])) for row, rank in found]

    async def _sqlite_counts(self, words: list[str]) -> tuple[int, list[int]]:
        """How many asks hold each word, from the FTS5 index (its own tokenizer)."""
        parts = ", ".join(
            f"(SELECT count(*) FROM ask_search WHERE ask_search MATCH :w{n})"
            for n in range(len(words))
        )
        stmt = text(f"SELECT (SELECT count(*) FROM asks), {parts}")
        params = {f"w{n}": _fts5_phrase(w) for n, w in enumerate(words)}
        total, *counts = (await self._conn.execute(stmt, params)).one()
        return int(total), [int(n) for n in counts]

    async def _sqlite_search(
        self, community_id: str, words: list[str], before: datetime, limit: int
    ) -> list[tuple[Any, float]]:
        """FTS5's bm25() is lower for better matches: negated, higher is better. Ties
        go to the newest ask."""
        stmt = text(
            "SELECT a.id, a.number, a.asker_id, a.text, -bm25(ask_search) AS rank "
            "FROM ask_search JOIN asks AS a ON a.id = ask_search.rowid "
            "WHERE ask_search MATCH :query AND a.community_id = :community_id "
            "AND a.created_at <= :before "
            "ORDER BY bm25(ask_search), a.id DESC LIMIT :limit"
        ).bindparams(bindparam("before", type_=UtcDateTime()))
        params = {
            "query": " OR ".join(_fts5_phrase(w) for w in words),
            "community_id": community_id,
            "before": before,
            "limit": limit,
        }
        return [(row, float(row.rank)) for row in await self._conn.execute(stmt, params)]

    async def _pg_similar(
        self,
        community_id: str,
        words: list[str],
        before: datetime,
        limit: int,
        common: float,
        common_min: int,
    ) -> list[tuple[Any, float, list[Helped]]]:
        """The same steps as on SQLite, in one statement (_PG_SIMILAR): on PostgreSQL
        each statement is a round trip. A row per ask found and member who helped on
        it (or one with no member), best ask first."""
        stmt = text(_PG_SIMILAR).bindparams(bindparam("before", type_=UtcDateTime()))
        params = {
            "words": words,
            "community_id": community_id,
            "before": before,
            "limit": limit,
            "common": common,
            "common_min": common_min,
            "estimate_from": _ESTIMATE_FROM,
            "confirmed": GiveStatus.CONFIRMED.value,
            "withdrawn": OfferStatus.WITHDRAWN.value,
        }
        found: dict[int, tuple[Any, float, list[Helped]]] = {}
        for row in await self._conn.execute(stmt, params):
            _, _, helped = found.setdefault(row.id, (row, float(row.rank), []))
            if row.member_id is not None:
                helped.append(Helped(row.member_id, bool(row.gave), row.at))
        return list(found.values())

    async def _helped(self, ask_ids: list[int], before: datetime) -> dict[int, list[Helped]]:
        """Confirmed gives (ix_gives_ask) and offers not withdrawn (their primary key)
        on the asks found, made by `before`, in one statement."""
        g, o = gives.c, offers.c
        gave = select(
            g.ask_id, g.giver_id.label("member_id"), g.confirmed_at.label("at"), literal(1)
        ).where(
            g.ask_id.in_(ask_ids),
            g.status == GiveStatus.CONFIRMED.value,
            g.confirmed_at <= before,
        )
        offered = select(o.ask_id, o.member_id, o.created_at, literal(0)).where(
            o.ask_id.in_(ask_ids),
            o.status != OfferStatus.WITHDRAWN.value,
            o.created_at <= before,
        )
        found: dict[int, list[Helped]] = {}
        for ask_id, member_id, at, kind in await self._conn.execute(union_all(gave, offered)):
            found.setdefault(ask_id, []).append(Helped(member_id, bool(kind), at))
        return found

    # Routing.

    async def schedule(self, community_id: str, ask_id: int, due_at: datetime) -> None:
        values = {"ask_id": ask_id, "community_id": community_id, "due_at": due_at}
        await self._conn.execute(SCHEDULE, values)

    async def reschedule(self, community_id: str, delay: timedelta) -> None:
        """Few rows: only the asks younger than the old delay are still waiting."""
        ca = connector_asks.c
        waiting = (
            select(ca.ask_id, asks.c.created_at)
            .join(asks, asks.c.id == ca.ask_id)
            .where(ca.community_id == community_id, ca.routed_at.is_(None))
        )
        for row in list(await self._conn.execute(waiting)):
            await self._conn.execute(
                update(connector_asks)
                .where(ca.ask_id == row.ask_id, ca.routed_at.is_(None))
                .values(due_at=row.created_at + delay)
            )

    async def due(self, now: datetime, limit: int) -> list[Any]:
        """A range of ix_connector_asks_due, which holds only the asks still waiting."""
        ca = connector_asks.c
        stmt = (
            select(*rows.ASK_COLUMNS)
            .select_from(connector_asks)
            .join(asks, asks.c.id == ca.ask_id)
            .where(ca.routed_at.is_(None), ca.due_at <= now)
            .order_by(ca.due_at, ca.ask_id)
            .limit(limit)
        )
        return [rows.ask_from_row(row) for row in await self._conn.execute(stmt)]

    async def claim(self, ask_id: int, now: datetime) -> bool:
        """Conditional: of two processes, only one sees the row change."""
        ca = connector_asks.c
        stmt = (
            update(connector_asks)
            .where(ca.ask_id == ask_id, ca.routed_at.is_(None))
            .values(routed_at=now)
        )
        return bool((await self._conn.execute(stmt)).rowcount == 1)

    async def next_due(self, after: datetime) -> datetime | None:
        ca = connector_asks.c
        stmt = select(func.min(ca.due_at)).where(ca.routed_at.is_(None), ca.due_at > after)
        found: datetime | None = (await self._conn.execute(stmt)).scalar_one_or_none()
        return found

    def _routes(self, *where: ColumnElement[bool]) -> Select[Any]:
        r = connector_routes.c
        return select(connector_routes).where(*where).order_by(r.routed_at, r.ask_id, r.member_id)

    async def routes_for(self, ask_id: int) -> list[Route]:
        stmt = self._routes(connector_routes.c.ask_id == ask_id)
        return [_route(row) for row in await self._conn.execute(stmt)]

    async def add_route(self, route: Route) -> None:
        await self._conn.execute(
            insert(connector_routes).values(
                ask_id=route.ask_id,
                member_id=route.member_id,
                community_id=route.community_id,
                routed_at=route.routed_at,
                round=route.round,
                reason=route.reason,
                offered_at=route.offered_at,
                declined_at=route.declined_at,
            )
        )
        c = connector_members.c
        await self._conn.execute(
            update(connector_members)
            .where(c.community_id == route.community_id, c.member_id == route.member_id)
            .values(last_routed_at=route.routed_at)
        )

    async def mark_offered(self, ask_id: int, member_id: str, at: datetime) -> bool:
        values = {"route_ask": ask_id, "route_member": member_id, "offered_at": at}
        return bool((await self._conn.execute(MARK_OFFERED, values)).rowcount == 1)

    async def decline(self, ask_id: int, member_id: str, at: datetime) -> bool:
        r = connector_routes.c
        stmt = (
            update(connector_routes)
            .where(r.ask_id == ask_id, r.member_id == member_id)
            .values(declined_at=func.coalesce(r.declined_at, at))
        )
        return bool((await self._conn.execute(stmt)).rowcount == 1)

    async def routes_of(self, community_id: str, member_id: str) -> list[Route]:
        r = connector_routes.c
        stmt = self._routes(r.community_id == community_id, r.member_id == member_id)
        return [_route(row) for row in await self._conn.execute(stmt)]

    async def connections(self, community_id: str, start: datetime, end: datetime) -> int:
        """The week's confirmed gives (a range of ix_gives_confirmed), each looked up
        among the routes by its primary key."""
        g, r = gives.c, connector_routes.c
        stmt = (
            select(func.count(g.ask_id.distinct()))
            .select_from(gives)
            .join(
                connector_routes,
                (r.ask_id == g.ask_id) & (r.member_id == g.giver_id),
            )
            .where(
                g.community_id == community_id,
                g.status == GiveStatus.CONFIRMED.value,
                g.confirmed_at >= start,
                g.confirmed_at < end,
                r.offered_at.is_not(None),
            )
        )
        return int((await self._conn.execute(stmt)).scalar_one())

    async def forget(self, community_id: str, member_id: str) -> None:
        for table in (member_interests, interest_terms, connector_members, connector_routes):
            await self._conn.execute(
                delete(table).where(
                    table.c.community_id == community_id, table.c.member_id == member_id
                )
            )


# The PostgreSQL search in one statement: how many asks are indexed (the planner's
# estimate, or a count when few); how many hold each word, from the GIN index,
# counted only up to the threshold (past it, the rule needs to know no more); the
# words kept (or the least common one, when all are common); the asks that match
# them best, ranked in ask_search alone and then joined to the few asks kept
# (joined first, the planner hashes the whole asks table); and the confirmed gives
# (ix_gives_ask) and offers not withdrawn (ix_offers_status) on those, made by
# `before`. Each step reads an index, a few rows, or the row before.
_PG_SIMILAR = """
WITH size AS (
    SELECT CASE WHEN c.reltuples >= :estimate_from THEN c.reltuples::bigint
           ELSE (SELECT count(*) FROM ask_search) END AS n
    FROM pg_class AS c WHERE c.oid = 'ask_search'::regclass
), bounds AS (
    SELECT GREATEST(n * CAST(:common AS double precision), :common_min) AS threshold
    FROM size
), counted AS (
    SELECT w.word, w.ord, (
        SELECT count(*) FROM (
            SELECT 1 FROM ask_search AS s
            WHERE s.document @@ plainto_tsquery('english', w.word)
            LIMIT (SELECT threshold::bigint + 1 FROM bounds)
        ) AS hit
    ) AS hits
    FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS w (word, ord)
), kept AS (
    SELECT word, ord FROM counted, bounds WHERE hits <= threshold
    UNION ALL (
        SELECT word, ord FROM counted, bounds
        WHERE NOT EXISTS (SELECT FROM counted AS c WHERE c.hits <= threshold)
        ORDER BY hits, word COLLATE "C" LIMIT 1
    )
), top AS (
    SELECT s.ask_id, ts_rank(s.document, q.query) AS rank
    FROM (
        SELECT to_tsquery('english', string_agg(word, ' | ' ORDER BY ord)) AS query
        FROM kept
    ) AS q, ask_search AS s
    WHERE s.document @@ q.query AND s.community_id = :community_id
    AND s.created_at <= :before
    ORDER BY rank DESC, s.ask_id DESC LIMIT :limit
), helped AS (
    SELECT g.ask_id, g.giver_id AS member_id, g.confirmed_at AS at, true AS gave
    FROM top JOIN gives AS g ON g.ask_id = top.ask_id
    WHERE g.status = :confirmed AND g.confirmed_at <= :before
    UNION ALL
    SELECT o.ask_id, o.member_id, o.created_at, false
    FROM top JOIN offers AS o ON o.ask_id = top.ask_id
    WHERE o.status <> :withdrawn AND o.created_at <= :before
)
SELECT a.id, a.number, a.asker_id, a.text, top.rank, h.member_id, h.at, h.gave
FROM top JOIN asks AS a ON a.id = top.ask_id
LEFT JOIN helped AS h ON h.ask_id = top.ask_id
ORDER BY top.rank DESC, a.id DESC, h.gave DESC, h.at, h.member_id
"""


def _fts5_phrase(word: str) -> str:
    """A word as an FTS5 string: quoted, so words like AND or NEAR are just words."""
    return '"' + word.replace('"', '""') + '"'
