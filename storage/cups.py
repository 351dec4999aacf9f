"""Cups' storage (bot.ports.CupsRepository): who opted in, the cups of each round with
each member's seat and answer, and the one bulk read a round pairs on.

The bulk read (`profiles`) is a handful of statements over the community, each led
by the members who can be paired (opted in, active lately, not forgotten): their
first ask, offer or give (when each was first seen), their latest asks and their
latest help, numbered per member with ROW_NUMBER() on both databases. Offers are
read ask by ask (their primary key leads with the ask): SQLite would otherwise probe
each ask once per eligible member.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    case,
    delete,
    false,
    func,
    literal,
    select,
    true,
    tuple_,
    type_coerce,
    union_all,
    update,
)

from bot import codec
from bot.domain import GiveStatus, OfferStatus
from bot.erasure import ERASED, Redact
from bot.messages import Message
from bot.ports import Cup, CupSeat, CupsProfiles, HelpedOn, TopicAsk
from storage import rows
from storage.models import (
    UtcDateTime,
    asks,
    cup_seats,
    cups,
    cups_optins,
    gives,
    interest_terms,
    member_interests,
    members,
    offers,
)
from storage.sql import Conn, not_for_index, upsert_insert

MET = "met"


def _reason_json(cup: Cup) -> str | None:
    return None if cup.reason is None else rows.to_json(codec.message_to_data(cup.reason))


def _reason(value: str | None) -> Message | None:
    return None if value is None else codec.message_from_data(json.loads(value))


class SqlCupsRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    # Consent.

    async def opted_in(self, community_id: str, member_id: str) -> bool:
        o = cups_optins.c
        stmt = select(literal(1)).where(o.community_id == community_id, o.member_id == member_id)
        return (await self._conn.execute(stmt)).first() is not None

    async def set_opted_in(
        self, community_id: str, member_id: str, opted_in: bool, at: datetime
    ) -> None:
        o = cups_optins.c
        if not opted_in:
            await self._conn.execute(
                delete(cups_optins).where(o.community_id == community_id, o.member_id == member_id)
            )
            return
        stmt = upsert_insert(self._conn, cups_optins).values(
            community_id=community_id, member_id=member_id, since=at
        )
        await self._conn.execute(stmt.on_conflict_do_nothing())

    # The bulk read of a round.

    def _eligible(self, community_id: str, active_since: datetime) -> Select[Any]:
        o, m = cups_optins.c, members.c
        return (
            select(o.member_id)
            .join(members, and_(m.community_id == o.community_id, m.member_id == o.member_id))
            .where(
                o.community_id == community_id,
                m.last_active_at >= active_since,
                m.forgotten == false(),
            )
        )

    async def profiles(
        self,
        community_id: str,
        *,
        active_since: datetime,
        asks_since: datetime,
        asks_per_member: int,
        helps_per_member: int,
    ) -> CupsProfiles:
        eligible = self._eligible(community_id, active_since)
        ids = sorted((await self._conn.execute(eligible)).scalars())
        if not ids:
            return CupsProfiles({}, [], [], [])
        first_seen: dict[str, datetime | None] = dict.fromkeys(ids)
        first_seen.update(await self._first_seen(community_id, eligible))
        return CupsProfiles(
            first_seen=first_seen,
            asked=await self._asked(community_id, eligible, asks_since, asks_per_member),
            helped=await self._helped(community_id, eligible, asks_since, helps_per_member),
            interests=await self._interests(community_id, eligible),
        )

    async def _first_seen(self, community_id: str, eligible: Select[Any]) -> dict[str, datetime]:
        a, o, g = asks.c, offers.c, gives.c
        moments = union_all(
            select(a.asker_id.label("member_id"), func.min(a.created_at).label("at"))
            .where(a.community_id == community_id, a.asker_id.in_(eligible))
            .group_by(a.asker_id),
            select(o.member_id, func.min(o.created_at))
            .join(asks, a.id == o.ask_id)
            .where(a.community_id == community_id, not_for_index(o.member_id.in_(eligible)))
            .group_by(o.member_id),
            select(g.giver_id, func.min(g.created_at))
            .where(g.community_id == community_id, g.giver_id.in_(eligible))
            .group_by(g.giver_id),
            select(g.receiver_id, func.min(g.created_at))
            .where(g.community_id == community_id, g.receiver_id.in_(eligible))
            .group_by(g.receiver_id),
        ).subquery()
        first = type_coerce(func.min(moments.c.at), UtcDateTime())  # through a UNION
        stmt = select(moments.c.member_id, first).group_by(moments.c.member_id)
        return {row[0]: row[1] for row in await self._conn.execute(stmt)}

    async def _asked(
        self, community_id: str, eligible: Select[Any], since: datetime, limit: int
    ) -> list[TopicAsk]:
        a = asks.c
        newest = func.row_number().over(
            partition_by=a.asker_id, order_by=(a.created_at.desc(), a.id.desc())
        )
        ranked = (
            select(a.id, a.number, a.asker_id, a.text, a.created_at, newest.label("n"))
            .where(
                a.community_id == community_id,
                a.asker_id.in_(eligible),
                a.created_at >= since,
                a.text != ERASED,
            )
            .subquery()
        )
        stmt = (
            select(ranked.c.id, ranked.c.number, ranked.c.asker_id, ranked.c.text)
            .add_columns(ranked.c.created_at)
            .where(ranked.c.n <= limit)
            .order_by(ranked.c.asker_id, ranked.c.created_at, ranked.c.id)
        )
        return [TopicAsk(*row) for row in await self._conn.execute(stmt)]

    async def _helped(
        self, community_id: str, eligible: Select[Any], since: datetime, limit: int
    ) -> list[HelpedOn]:
        a, o, g = asks.c, offers.c, gives.c
        help_ = union_all(
            select(
                g.giver_id.label("member_id"),
                g.ask_id.label("ask_id"),
                true().label("gave"),
                g.confirmed_at.label("at"),
            ).where(
                g.community_id == community_id,
                g.giver_id.in_(eligible),
                g.status == GiveStatus.CONFIRMED.value,
                g.ask_id.is_not(None),
                g.confirmed_at >= since,
            ),
            select(o.member_id, o.ask_id, false(), o.created_at)
            .join(asks, a.id == o.ask_id)
            .where(
                a.community_id == community_id,
                not_for_index(o.member_id.in_(eligible)),
                o.status != OfferStatus.WITHDRAWN.value,
                o.created_at >= since,
            ),
        ).subquery()
        newest = func.row_number().over(
            partition_by=help_.c.member_id, order_by=(help_.c.at.desc(), help_.c.ask_id.desc())
        )
        ranked = select(help_, newest.label("n")).subquery()
        stmt = (
            select(
                ranked.c.member_id,
                ranked.c.gave,
                type_coerce(ranked.c.at, UtcDateTime()),  # through a UNION
                a.id,
                a.number,
                a.asker_id,
                a.text,
                a.created_at,
            )
            .join(asks, a.id == ranked.c.ask_id)
            .where(ranked.c.n <= limit, a.text != ERASED)
            .order_by(ranked.c.member_id, ranked.c.at, a.id)
        )
        return [
            HelpedOn(row[0], TopicAsk(*row[3:]), bool(row[1]), row[2])
            for row in await self._conn.execute(stmt)
        ]

    async def _interests(
        self, community_id: str, eligible: Select[Any]
    ) -> list[tuple[str, str, tuple[str, ...]]]:
        i, t = member_interests.c, interest_terms.c
        topics = await self._conn.execute(
            select(i.member_id, i.position, i.topic)
            .where(i.community_id == community_id, i.member_id.in_(eligible))
            .order_by(i.member_id, i.position)
        )
        stems: dict[tuple[str, int], list[str]] = defaultdict(list)
        for member_id, position, term in await self._conn.execute(
            select(t.member_id, t.position, t.term)
            .where(t.community_id == community_id, t.member_id.in_(eligible))
            .order_by(t.member_id, t.position, t.term)
        ):
            stems[(member_id, position)].append(term)
        return [
            (member_id, topic, tuple(stems.get((member_id, position), ())))
            for member_id, position, topic in topics
        ]

    async def recent_groups(
        self, community_id: str, before_round: str, rounds: int
    ) -> list[tuple[str, ...]]:
        c, s = cups.c, cup_seats.c
        earlier = (
            select(c.round)
            .distinct()
            .where(c.community_id == community_id, c.round < before_round)
            .order_by(c.round.desc())
            .limit(rounds)
        )
        found = list((await self._conn.execute(earlier)).scalars())
        if not found:
            return []
        stmt = (
            select(s.round, s.number, s.member_id)
            .where(s.community_id == community_id, s.round.in_(found))
            .order_by(s.round, s.number, s.member_id)
        )
        groups: dict[tuple[str, int], list[str]] = defaultdict(list)
        for round_, number, member_id in await self._conn.execute(stmt):
            groups[(round_, number)].append(member_id)
        return [tuple(members_) for members_ in groups.values()]

    # Cups and answers.

    async def add_round(self, found: Sequence[Cup]) -> None:
        await self._conn.execute(
            cups.insert(),
            [
                {
                    "community_id": cup.community_id,
                    "round": cup.round,
                    "number": cup.number,
                    "created_at": cup.created_at,
                    "reason": _reason_json(cup),
                    "upside_down": cup.upside_down,
                    "met_at": cup.met_at,
                    "followed_up_at": cup.followed_up_at,
                }
                for cup in found
            ],
        )
        await self._conn.execute(
            cup_seats.insert(),
            [
                {
                    "community_id": cup.community_id,
                    "round": cup.round,
                    "number": cup.number,
                    "member_id": seat.member_id,
                    "answer": seat.answer,
                    "answered_at": seat.answered_at,
                }
                for cup in found
                for seat in cup.seats
            ],
        )

    async def _with_seats(self, stmt: Select[Any]) -> list[Cup]:
        """The cups `stmt` selects (all of cups' columns), each with its seats."""
        found = list(await self._conn.execute(stmt))
        if not found:
            return []
        s = cup_seats.c
        keys = [(row.community_id, row.round, row.number) for row in found]
        seats: dict[tuple[str, str, int], list[CupSeat]] = defaultdict(list)
        for row in await self._conn.execute(
            select(s.community_id, s.round, s.number, s.member_id, s.answer, s.answered_at)
            .where(tuple_(s.community_id, s.round, s.number).in_(keys))
            .order_by(s.community_id, s.round, s.number, s.member_id)
        ):
            seats[(row[0], row[1], row[2])].append(CupSeat(row[3], row[4], row[5]))
        return [
            Cup(
                community_id=row.community_id,
                round=row.round,
                number=row.number,
                created_at=row.created_at,
                seats=tuple(seats[(row.community_id, row.round, row.number)]),
                reason=_reason(row.reason),
                upside_down=bool(row.upside_down),
                met_at=row.met_at,
                followed_up_at=row.followed_up_at,
            )
            for row in found
        ]

    async def round_page(
        self, community_id: str, round: str, after_number: int, limit: int
    ) -> list[Cup]:
        c = cups.c
        return await self._with_seats(
            select(cups)
            .where(c.community_id == community_id, c.round == round, c.number > after_number)
            .order_by(c.number)
            .limit(limit)
        )

    async def get(self, community_id: str, round: str, number: int) -> Cup | None:
        c = cups.c
        found = await self._with_seats(
            select(cups).where(c.community_id == community_id, c.round == round, c.number == number)
        )
        return found[0] if found else None

    async def answer(
        self, community_id: str, round: str, number: int, member_id: str, answer: str, at: datetime
    ) -> bool:
        c, s = cups.c, cup_seats.c
        in_cup = (s.community_id == community_id, s.round == round, s.number == number)
        done = await self._conn.execute(
            update(cup_seats)
            .where(*in_cup, s.member_id == member_id)
            .values(answer=answer, answered_at=at)
        )
        if done.rowcount != 1:
            return False
        first_met = (
            select(func.min(s.answered_at)).where(*in_cup, s.answer == MET).scalar_subquery()
        )
        await self._conn.execute(
            update(cups)
            .where(c.community_id == community_id, c.round == round, c.number == number)
            .values(met_at=first_met)
        )
        return True

    async def follow_ups_due(self, created_before: datetime, limit: int) -> list[Cup]:
        c = cups.c
        return await self._with_seats(
            select(cups)
            .where(c.followed_up_at.is_(None), c.created_at <= created_before)
            .order_by(c.created_at, c.community_id, c.round, c.number)
            .limit(limit)
        )

    async def mark_followed_up(
        self, community_id: str, round: str, number: int, at: datetime
    ) -> bool:
        c = cups.c
        done = await self._conn.execute(
            update(cups)
            .where(
                c.community_id == community_id,
                c.round == round,
                c.number == number,
                c.followed_up_at.is_(None),
            )
            .values(followed_up_at=at)
        )
        return done.rowcount == 1

    async def oldest_unfollowed(self) -> datetime | None:
        c = cups.c
        stmt = select(func.min(c.created_at)).where(c.followed_up_at.is_(None))
        found = (await self._conn.execute(stmt)).scalar_one_or_none()
        return found

    async def of_member(self, community_id: str, member_id: str) -> list[Cup]:
        c, s = cups.c, cup_seats.c
        theirs = select(s.round, s.number).where(
            s.community_id == community_id, s.member_id == member_id
        )
        return await self._with_seats(
            select(cups)
            .where(c.community_id == community_id, tuple_(c.round, c.number).in_(theirs))
            .order_by(c.created_at, c.round, c.number)
        )

    async def conversations_per_week(
        self, community_id: str, weeks: Sequence[tuple[datetime, datetime]]
    ) -> list[int]:
        if not weeks:
            return []
        c = cups.c
        counts = [
            func.coalesce(func.sum(case((and_(c.met_at >= start, c.met_at < end), 1), else_=0)), 0)
            for start, end in weeks
        ]
        stmt = select(*counts).where(
            c.community_id == community_id,
            c.met_at >= min(start for start, _ in weeks),
            c.met_at < max(end for _, end in weeks),
        )
        row = (await self._conn.execute(stmt)).one()
        return [int(value) for value in row]

    async def forget(self, community_id: str, member_id: str, redact: Redact) -> None:
        o, c, s = cups_optins.c, cups.c, cup_seats.c
        await self._conn.execute(
            delete(cups_optins).where(o.community_id == community_id, o.member_id == member_id)
        )
        await self._conn.execute(
            delete(cup_seats).where(s.community_id == community_id, s.member_id == member_id)
        )
        stmt = select(c.round, c.number, c.reason).where(
            c.community_id == community_id, c.reason.is_not(None)
        )
        for round_, number, reason in list(await self._conn.execute(stmt)):
            redacted = redact(codec.message_from_data(json.loads(reason)))
            if redacted is not None:
                await self._conn.execute(
                    update(cups)
                    .where(c.community_id == community_id, c.round == round_, c.number == number)
                    .values(reason=rows.to_json(codec.message_to_data(redacted)))
                )
