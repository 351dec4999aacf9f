"""The hot statements, built once and executed with a parameter dict.

Each is marked `prebuilt`, so that on SQLite it runs through a plan on the driver's
cursor (storage/direct.py).

`insert(t).values(**row)` builds a bind parameter per column and a new cache key on
every call; for a 13-column row that cost ~300 µs here, seven times the ~40 µs of
executing a statement built once with the row as its parameters. Upserts depend on
the dialect, so they are built once per dialect.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import (
    Insert,
    Integer,
    Select,
    Table,
    Update,
    bindparam,
    delete,
    exists,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from bot.domain import AskStatus, Member, OfferStatus
from storage import rows
from storage.direct import prebuilt
from storage.models import (
    asks,
    channel_names,
    communities,
    gives,
    members,
    offers,
    outbox,
    processed_events,
    week_counts,
)

ROW_ID = "row_id"  # the WHERE parameter of the updates by id (not a column name)


def _insert_for(dialect: str, table: Table) -> Any:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _by_id(table: Table) -> Update:
    return update(table).where(table.c.id == bindparam(ROW_ID))


ADD_ASK: Insert = prebuilt(insert(asks).returning(asks.c.id))
SAVE_ASK: Update = prebuilt(_by_id(asks))  # sets the columns given: see AskRepository.save
ADD_GIVE: Insert = prebuilt(insert(gives).returning(gives.c.id))
SAVE_GIVE: Update = prebuilt(_by_id(gives))
ADD_OUTBOX: Insert = prebuilt(insert(outbox).returning(outbox.c.id))

GET_COMMUNITY = prebuilt(
    select(*rows.COMMUNITY_COLUMNS).where(communities.c.community_id == bindparam("community_id"))
)
GET_MEMBER = prebuilt(
    select(*rows.MEMBER_COLUMNS).where(
        members.c.community_id == bindparam("community_id"),
        members.c.member_id == bindparam("member_id"),
    )
)
GET_ASK = prebuilt(select(*rows.ASK_COLUMNS).where(asks.c.id == bindparam(ROW_ID)))
ASK_BY_NUMBER = prebuilt(
    select(*rows.ASK_COLUMNS).where(
        asks.c.community_id == bindparam("community_id"), asks.c.number == bindparam("number")
    )
)
ASK_BY_MESSAGE = prebuilt(
    select(*rows.ASK_COLUMNS).where(
        asks.c.community_id == bindparam("community_id"),
        asks.c.message_channel_id == bindparam("channel_id"),
        asks.c.message_id == bindparam("message_id"),
    )
)
GET_OFFER = prebuilt(
    select(*rows.OFFER_COLUMNS).where(
        offers.c.ask_id == bindparam("ask_id"), offers.c.member_id == bindparam("member_id")
    )
)

OFFERS = prebuilt(
    select(*rows.OFFER_COLUMNS)
    .where(offers.c.ask_id == bindparam("ask_id"), offers.c.status == bindparam("status"))
    .order_by(offers.c.created_at, offers.c.member_id)
)
NEXT_ASK_NUMBER = prebuilt(
    update(communities)
    .where(communities.c.community_id == bindparam("of_community"))
    .values(ask_seq=communities.c.ask_seq + 1)
    .returning(communities.c.ask_seq)
)
# The ids queued by one unit of work are a short range of the primary key. `status ||
# ''` keeps SQLite from reading ix_outbox_due (status, due_at) instead: without ANALYZE
# statistics it takes that index, which walks every pending item of a backlog.
CLAIM_QUEUED = prebuilt(
    update(outbox)
    .where(
        outbox.c.id.between(bindparam("first"), bindparam("last")),
        outbox.c.status.concat("") == "pending",
        outbox.c.due_at <= bindparam("due_by"),
        outbox.c.lease_until.is_(None),
    )
    .values(
        lease_until=bindparam("lease"), owner=bindparam("owner"), attempts=outbox.c.attempts + 1
    )
    .returning(*rows.OUTBOX_COLUMNS)
)
MARK_SENT = prebuilt(
    _by_id(outbox).values(status="sent", sent_at=bindparam("at"), lease_until=None, owner=None)
)
DROP_OUTBOX = prebuilt(delete(outbox).where(outbox.c.id == bindparam(ROW_ID)))
DROP_REPLACED = prebuilt(
    delete(outbox).where(
        outbox.c.status == bindparam("status"),
        outbox.c.community_id == bindparam("community_id"),
        outbox.c.replace_key == bindparam("replace_key"),
        outbox.c.lease_until.is_(None),
    )
)


@cache
def open_asks(*, by_asker: bool, without_offers: bool) -> Select[Any]:
    """Open asks, oldest first, up to the `limit` parameter; of `asker_id` when
    `by_asker`, and only those without an active offer when `without_offers`."""
    a = asks.c
    where = [a.community_id == bindparam("community_id"), a.status == AskStatus.OPEN.value]
    if by_asker:
        where.append(a.asker_id == bindparam("asker_id"))
    if without_offers:
        where.append(
            ~exists().where(offers.c.ask_id == a.id, offers.c.status == OfferStatus.ACTIVE.value)
        )
    return prebuilt(
        select(*rows.ASK_COLUMNS)
        .where(*where)
        .order_by(a.created_at, a.id)
        .limit(bindparam("limit", type_=Integer()))
    )


# What an upsert overwrites: every value the row builders give but the key.
MEMBER_UPDATED = tuple(
    name for name in rows.member_values(Member("", "")) if name not in ("community_id", "member_id")
)
OFFER_UPDATED = ("status", "created_at", "reminders_sent")


@cache
def save_member(dialect: str) -> Any:
    stmt = _insert_for(dialect, members)
    return prebuilt(
        stmt.on_conflict_do_update(
            index_elements=[members.c.community_id, members.c.member_id],
            set_={name: stmt.excluded[name] for name in MEMBER_UPDATED},
        )
    )


@cache
def name_channel(dialect: str) -> Any:
    stmt = _insert_for(dialect, channel_names)
    return prebuilt(
        stmt.on_conflict_do_update(
            index_elements=[channel_names.c.community_id, channel_names.c.channel_id],
            set_={"name": stmt.excluded.name},
        )
    )


@cache
def save_offer(dialect: str) -> Any:
    stmt = _insert_for(dialect, offers)
    return prebuilt(
        stmt.on_conflict_do_update(
            index_elements=[offers.c.ask_id, offers.c.member_id],
            set_={name: stmt.excluded[name] for name in OFFER_UPDATED},
        )
    )


@cache
def store_week_count(dialect: str) -> Any:
    w = week_counts.c
    return prebuilt(
        _insert_for(dialect, week_counts).on_conflict_do_nothing(
            index_elements=[w.community_id, w.week_start, w.week_end]
        )
    )


@cache
def first_time(dialect: str) -> Any:
    p = processed_events.c
    return prebuilt(
        _insert_for(dialect, processed_events)
        .on_conflict_do_nothing(index_elements=[p.community_id, p.event_id])
        .returning(p.event_id)
    )
