"""The repositories of bot/ports.py over SQL, one class per Protocol.

Each works inside the unit of work's connection and transaction and uses Core
statements, building only the domain objects it returns (storage/rows.py). The
gives and the outbox, the two with hot paths, live in their own modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Update, delete, exists, select, true, update

from bot.domain import Ask, AskStatus, Community, Member, MessageRef, Offer, OfferStatus, OptOut
from bot.ports import FollowUpMarks
from storage import prepared, rows
from storage.gives import SqlGiveRepository
from storage.jobs import SqlJobRunRepository
from storage.models import asks, channel_names, communities, members, offers, processed_events
from storage.outbox import SqlOutboxRepository
from storage.sql import Conn, not_for_index, upsert_insert

__all__ = [
    "SqlAskRepository",
    "SqlCommunityRepository",
    "SqlEventLog",
    "SqlGiveRepository",
    "SqlJobRunRepository",
    "SqlMemberRepository",
    "SqlOutboxRepository",
]

OPEN, ACTIVE = AskStatus.OPEN.value, OfferStatus.ACTIVE.value
REMINDER_COUNTS = (0, 1, 2)  # FollowUpMarks.offers: one mark per count


class SqlCommunityRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def get(self, community_id: str) -> Community | None:
        found = await self._conn.execute(prepared.GET_COMMUNITY, {"community_id": community_id})
        row = found.first()
        return None if row is None else rows.community_from_row(row)

    async def add(self, community: Community) -> None:
        """An upsert that keeps the row already there: two processes may meet a new
        community's first events at once (a read, then a plain INSERT, raced)."""
        values = rows.community_values(community)
        stmt = upsert_insert(self._conn, communities).values(
            community_id=community.community_id, **values
        )
        await self._conn.execute(stmt.on_conflict_do_nothing(index_elements=["community_id"]))

    async def save(self, community: Community) -> None:
        await self._conn.execute(
            update(communities)
            .where(communities.c.community_id == community.community_id)
            .values(**rows.community_values(community))
        )

    async def rename(self, community_id: str, name: str) -> None:
        await self._conn.execute(
            update(communities).where(communities.c.community_id == community_id).values(name=name)
        )

    async def name_channel(self, community_id: str, channel_id: str, name: str) -> None:
        values = {"community_id": community_id, "channel_id": channel_id, "name": name}
        await self._conn.execute(prepared.name_channel(self._conn.dialect.name), values)

    async def channel_names(self, community_id: str, channel_ids: Sequence[str]) -> dict[str, str]:
        c = channel_names.c
        found = await self._conn.execute(
            select(c.channel_id, c.name).where(
                c.community_id == community_id, c.channel_id.in_(list(channel_ids))
            )
        )
        return {row.channel_id: row.name for row in found}

    async def next_ask_number(self, community_id: str) -> int:
        """One UPDATE … RETURNING: the row lock serializes concurrent callers."""
        found = await self._conn.execute(prepared.NEXT_ASK_NUMBER, {"of_community": community_id})
        number = found.scalar_one_or_none()
        if number is None:
            raise LookupError(f"no community {community_id!r}")
        return int(number)

    async def all(self) -> list[Community]:
        stmt = select(*rows.COMMUNITY_COLUMNS).order_by(communities.c.community_id)
        return [rows.community_from_row(row) for row in await self._conn.execute(stmt)]


class SqlMemberRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def get(self, community_id: str, member_id: str) -> Member | None:
        key = {"community_id": community_id, "member_id": member_id}
        row = (await self._conn.execute(prepared.GET_MEMBER, key)).first()
        return None if row is None else rows.member_from_row(row)

    async def save(self, member: Member) -> None:
        stmt = prepared.save_member(self._conn.dialect.name)
        await self._conn.execute(stmt, rows.member_values(member))

    async def opted_out(self, community_id: str, opt_out: OptOut) -> set[str]:
        column = rows.OPT_OUT_COLUMNS[opt_out]
        stmt = select(members.c.member_id).where(  # `= true`: ix_members_hidden's words
            members.c.community_id == community_id, column == true()
        )
        return set((await self._conn.execute(stmt)).scalars())

    async def active_page(
        self, community_id: str, since: datetime, after_member_id: str | None, limit: int
    ) -> list[Member]:
        """Walks the primary key, filtering on activity, so each page starts where the
        last ended (an index on activity would sort every active member of the
        community again for each page; there is none)."""
        where = [members.c.community_id == community_id, members.c.last_active_at >= since]
        if after_member_id is not None:
            where.append(members.c.member_id > after_member_id)
        stmt = select(*rows.MEMBER_COLUMNS).where(*where).order_by(members.c.member_id).limit(limit)
        return [rows.member_from_row(row) for row in await self._conn.execute(stmt)]


class SqlAskRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn
        # Each ask's columns as this unit of work last read or wrote them, so `save`
        # writes only what changed.
        self._known: dict[int, rows.Values] = {}

    async def _one(self, stmt: Select[Any], **key: Any) -> Ask | None:
        row = (await self._conn.execute(stmt, key)).first()
        if row is None:
            return None
        ask = rows.ask_from_row(row)
        self._known[ask.id] = rows.ask_values(ask)
        return ask

    async def _many(self, *where: ColumnElement[bool], limit: int | None = None) -> list[Ask]:
        stmt = select(*rows.ASK_COLUMNS).where(*where).order_by(asks.c.created_at, asks.c.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [rows.ask_from_row(row) for row in await self._conn.execute(stmt)]

    async def add(self, ask: Ask) -> Ask:
        values = rows.ask_values(ask)
        ask_id = (await self._conn.execute(prepared.ADD_ASK, values)).scalar_one()
        self._known[ask_id] = values
        return replace(ask, id=ask_id)

    async def get(self, ask_id: int) -> Ask | None:
        return await self._one(prepared.GET_ASK, **{prepared.ROW_ID: ask_id})

    async def by_number(self, community_id: str, number: int) -> Ask | None:
        return await self._one(prepared.ASK_BY_NUMBER, community_id=community_id, number=number)

    async def by_message(self, community_id: str, ref: MessageRef) -> Ask | None:
        return await self._one(
            prepared.ASK_BY_MESSAGE,
            community_id=community_id,
            channel_id=ref.channel_id,
            message_id=ref.message_id,
        )

    async def save(self, ask: Ask) -> None:
        """Only the columns that changed since this unit of work read the ask: SQLite
        rewrites the index entries of every column an UPDATE sets, and a full row
        touched all four indexes of asks (8 WAL pages a save instead of 3)."""
        values = rows.ask_values(ask)
        known = self._known.get(ask.id)
        changed = values if known is None else {k: v for k, v in values.items() if known[k] != v}
        self._known[ask.id] = values
        if changed:
            await self._conn.execute(prepared.SAVE_ASK, changed | {prepared.ROW_ID: ask.id})

    async def open_asks(
        self,
        community_id: str,
        *,
        asker_id: str | None = None,
        without_offers: bool = False,
        limit: int = 10,
    ) -> list[Ask]:
        stmt = prepared.open_asks(by_asker=asker_id is not None, without_offers=without_offers)
        params = {"community_id": community_id, "asker_id": asker_id, "limit": limit}
        return [rows.ask_from_row(row) for row in await self._conn.execute(stmt, params)]

    async def by_asker(self, community_id: str, asker_id: str) -> list[Ask]:
        return await self._many(asks.c.community_id == community_id, asks.c.asker_id == asker_id)

    async def get_offer(self, ask_id: int, member_id: str) -> Offer | None:
        key = {"ask_id": ask_id, "member_id": member_id}
        row = (await self._conn.execute(prepared.GET_OFFER, key)).first()
        return None if row is None else rows.offer_from_row(row)

    async def save_offer(self, offer: Offer) -> None:
        stmt = prepared.save_offer(self._conn.dialect.name)
        await self._conn.execute(stmt, rows.offer_values(offer))

    async def offers(self, ask_id: int, status: OfferStatus = OfferStatus.ACTIVE) -> list[Offer]:
        key = {"ask_id": ask_id, "status": status.value}
        return [rows.offer_from_row(row) for row in await self._conn.execute(prepared.OFFERS, key)]

    async def offers_by(self, community_id: str, member_id: str) -> list[Offer]:
        """Driven from ix_offers_member; each ask is then found by its id."""
        stmt = (
            select(*rows.OFFER_COLUMNS)
            .join(asks, asks.c.id == offers.c.ask_id)
            .where(
                offers.c.member_id == member_id,
                not_for_index(asks.c.community_id == community_id),
            )
            .order_by(offers.c.created_at, offers.c.ask_id)
        )
        return [rows.offer_from_row(row) for row in await self._conn.execute(stmt)]

    async def latest_channel(self, community_id: str) -> str | None:
        """The newest ask is the one with the highest number: a seek on uq_asks_number."""
        stmt = (
            select(asks.c.channel_id)
            .where(asks.c.community_id == community_id)
            .order_by(asks.c.number.desc())
            .limit(1)
        )
        channel: str | None = (await self._conn.execute(stmt)).scalar_one_or_none()
        return channel

    async def erase_texts(self, community_id: str, asker_id: str, replacement: str) -> None:
        await self._conn.execute(
            update(asks)
            .where(asks.c.community_id == community_id, asks.c.asker_id == asker_id)
            .values(text=replacement)
        )

    # Follow-ups, across every community. Active offers stay active when their ask is
    # resolved or closed, so offers are reached from the open asks (an index led by
    # status), which close_stale keeps few, never from an index of every offer made.

    async def _changed(self, stmt: Update) -> bool:
        """Conditional updates: the condition is in the WHERE, so of two processes
        acting on the same item at once, only one sees a row change."""
        return (await self._conn.execute(stmt)).rowcount == 1

    @staticmethod
    def _offers_on_open_asks(*columns: ColumnElement[Any], reminders_sent: int) -> Select[Any]:
        return (
            select(*columns)
            .select_from(asks)
            .join(offers, offers.c.ask_id == asks.c.id)
            .where(
                asks.c.status == OPEN,
                offers.c.status == ACTIVE,
                offers.c.reminders_sent == reminders_sent,
            )
        )

    async def offers_due(
        self, reminders_sent: int, made_before: datetime, limit: int
    ) -> list[tuple[Ask, Offer]]:
        stmt = (
            self._offers_on_open_asks(*rows.ASK_AND_OFFER_COLUMNS, reminders_sent=reminders_sent)
            .where(offers.c.created_at <= made_before)
            .order_by(offers.c.created_at, offers.c.ask_id, offers.c.member_id)
            .limit(limit)
        )
        return [rows.ask_and_offer_from_row(row) for row in await self._conn.execute(stmt)]

    @staticmethod
    def _offer_now(ask_id: int, member_id: str, reminders_sent: int) -> Update:
        return update(offers).where(
            offers.c.ask_id == ask_id,
            offers.c.member_id == member_id,
            offers.c.status == ACTIVE,
            offers.c.reminders_sent == reminders_sent,
        )

    async def advance_offer(self, ask_id: int, member_id: str, reminders_sent: int) -> bool:
        stmt = self._offer_now(ask_id, member_id, reminders_sent)
        return await self._changed(stmt.values(reminders_sent=offers.c.reminders_sent + 1))

    async def lapse_offer(self, ask_id: int, member_id: str, reminders_sent: int) -> bool:
        stmt = self._offer_now(ask_id, member_id, reminders_sent)
        return await self._changed(stmt.values(status=OfferStatus.LAPSED.value))

    @staticmethod
    def _unbumped() -> tuple[ColumnElement[bool], ...]:
        active = exists().where(offers.c.ask_id == asks.c.id, offers.c.status == ACTIVE)
        return (asks.c.status == OPEN, asks.c.bumped_at.is_(None), ~active)

    async def asks_to_bump(
        self, created_before: datetime, created_after: datetime, limit: int
    ) -> list[Ask]:
        """A range of ix_asks_bump (status, bumped_at, created_at)."""
        return await self._many(
            *self._unbumped(),
            asks.c.created_at > created_after,
            asks.c.created_at <= created_before,
            limit=limit,
        )

    async def mark_bumped(self, ask_id: int, at: datetime) -> bool:
        stmt = (
            update(asks)
            .where(asks.c.id == ask_id, asks.c.status == OPEN, asks.c.bumped_at.is_(None))
            .values(bumped_at=at)
        )
        return await self._changed(stmt)

    @staticmethod
    def _stale(inactive_since: datetime) -> tuple[ColumnElement[bool], ...]:
        return (asks.c.status == OPEN, asks.c.last_activity_at <= inactive_since)

    async def stale_asks(self, inactive_since: datetime, limit: int) -> list[Ask]:
        """A range of ix_asks_activity (status, last_activity_at)."""
        stmt = (
            select(*rows.ASK_COLUMNS)
            .where(*self._stale(inactive_since))
            .order_by(asks.c.last_activity_at, asks.c.id)
            .limit(limit)
        )
        return [rows.ask_from_row(row) for row in await self._conn.execute(stmt)]

    async def close_stale(self, ask_id: int, inactive_since: datetime) -> bool:
        stmt = (
            update(asks)
            .where(asks.c.id == ask_id, *self._stale(inactive_since))
            .values(status=AskStatus.CLOSED.value)
        )
        return await self._changed(stmt)

    async def follow_up_marks(self, bump_after: datetime) -> FollowUpMarks:
        """One SELECT of five "oldest first, take one" subqueries, each on an index."""
        created, activity = asks.c.created_at, asks.c.last_activity_at
        oldest_offers = [
            self._offers_on_open_asks(offers.c.created_at, reminders_sent=count)
            .order_by(offers.c.created_at)
            .limit(1)
            .scalar_subquery()
            for count in REMINDER_COUNTS
        ]
        unbumped = (
            select(created)
            .where(*self._unbumped(), created > bump_after)
            .order_by(created)
            .limit(1)
        )
        inactive = select(activity).where(asks.c.status == OPEN).order_by(activity).limit(1)
        stmt = select(*oldest_offers, unbumped.scalar_subquery(), inactive.scalar_subquery())
        *marks, oldest_unbumped, least_active = (await self._conn.execute(stmt)).one()
        return FollowUpMarks(tuple(marks), oldest_unbumped, least_active)


class SqlEventLog:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def first_time(self, community_id: str, event_id: str, at: datetime) -> bool:
        """INSERT … ON CONFLICT DO NOTHING RETURNING: a row comes back only if new."""
        stmt = prepared.first_time(self._conn.dialect.name)
        values = {"community_id": community_id, "event_id": event_id, "seen_at": at}
        return (await self._conn.execute(stmt, values)).first() is not None

    async def prune(self, before: datetime) -> int:
        """A range of ix_processed_events_seen."""
        stmt = delete(processed_events).where(processed_events.c.seen_at < before)
        return (await self._conn.execute(stmt)).rowcount
