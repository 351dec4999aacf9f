"""The outbox repository: queued messages, leased to one sender at a time.

A sender (a process: its `owner` id) holds what it claimed, or what its events
queued, under a short lease that its heartbeat (`renew`) extends for everything it
holds in one statement. The same heartbeat keeps it in `senders`, where the live
senders are counted to share the platforms' rate budgets.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, literal_column, or_, select, union_all, update

from bot import codec
from bot.erasure import Redact
from bot.messages import Message, Priority, Target
from bot.ports import OutboxItem, Renewal
from storage import prepared, rows
from storage.erasure import forget_in_outbox
from storage.models import outbox, senders
from storage.sql import Conn, upsert_insert

PENDING, SENT, FAILED = "pending", "sent", "failed"  # outbox.status
SENDERS_KEPT = timedelta(hours=1)  # a dead sender's row is swept out after this
# Spelled as a literal, not a parameter, so both databases see that a query about
# pending items may read ix_outbox_queue, which holds only those.
IS_PENDING = outbox.c.status == literal_column("'pending'")


class SqlOutboxRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn
        # Queued by this unit of work, for claim_queued. Those leased as they were
        # queued (hand_over) are the ones with an attempt already counted.
        self._queued: dict[int, OutboxItem] = {}
        self._hand_over: tuple[datetime, datetime, str] | None = None  # now, lease, owner
        self._replaceable: dict[tuple[str, str], int] = {}  # (community, key) → leased id

    def hand_over(self, now: datetime, lease_until: datetime, *, owner: str = "") -> None:
        self._hand_over = (now, lease_until, owner)

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
        """With `replace_key`, only items never claimed (or released by `retry_at`) are
        dropped: a leased one may be on its way right now. The port gives no `now`, so
        an item whose sender died with the lease is not told apart and stays too."""
        if replace_key is not None:
            key = {"status": PENDING, "community_id": community_id, "replace_key": replace_key}
            await self._conn.execute(prepared.DROP_REPLACED, key)
            mine = self._replaceable.pop((community_id, replace_key), None)
            if mine is not None:  # leased, but by this unit of work: not on its way yet
                await self._conn.execute(prepared.DROP_OUTBOX, {prepared.ROW_ID: mine})
                del self._queued[mine]
        lease: datetime | None = None
        owner: str | None = None
        if self._hand_over is not None and due_at <= self._hand_over[0]:
            _, lease, owner = self._hand_over
        values = {
            "community_id": community_id,
            "target": rows.to_json(codec.target_to_data(target)),
            "member_id": codec.target_member(target),
            "message": rows.to_json(codec.message_to_data(message)),
            "purpose": purpose,
            "priority": int(priority),
            "replace_key": replace_key,
            "status": PENDING,
            "due_at": due_at,
            "lease_until": lease,
            "owner": owner,
            "attempts": 0 if lease is None else 1,
        }
        item_id = int((await self._conn.execute(prepared.ADD_OUTBOX, values)).scalar_one())
        item = OutboxItem(
            item_id, community_id, target, message, due_at, values["attempts"], purpose, priority
        )
        self._queued[item_id] = item
        if lease is not None and replace_key is not None:
            self._replaceable[(community_id, replace_key)] = item_id
        return item_id

    async def claim_queued(
        self, now: datetime, lease_until: datetime, *, owner: str = ""
    ) -> list[OutboxItem]:
        """What was leased as it was queued (hand_over), and one UPDATE over the range
        of the other ids queued here (replaced ones are gone). On PostgreSQL, other
        transactions' ids may interleave: their due items in the range are claimed
        too, which is what claim_due would do with them. The items queued here come
        back as built, without decoding their JSON again."""
        claimed = [item for item in self._queued.values() if item.attempts]
        unleased = [item.id for item in self._queued.values() if not item.attempts]
        if unleased:
            params = {
                "first": min(unleased),
                "last": max(unleased),
                "due_by": now,
                "lease": lease_until,
                "owner": owner,
            }
            for row in await self._conn.execute(prepared.CLAIM_QUEUED, params):
                mine = self._queued.get(row.id)
                claimed.append(
                    rows.outbox_item_from_row(row)
                    if mine is None
                    else replace(mine, attempts=row.attempts)
                )
        self._queued.clear()
        self._replaceable.clear()
        return sorted(claimed, key=lambda item: item.id)

    async def claim_due(
        self,
        now: datetime,
        limit: int,
        lease_until: datetime,
        *,
        owner: str = "",
        skip: Collection[str] = (),
    ) -> list[OutboxItem]:
        """Select in the claim order, one seek of ix_outbox_queue per class, then lease.
        PostgreSQL skips rows another claimer has locked (FOR UPDATE SKIP LOCKED);
        SQLite renders no FOR UPDATE, and needs none since BEGIN IMMEDIATE lets one
        writer in at a time."""
        o = outbox.c
        ids: list[int] = []
        for priority in Priority:
            due = (
                select(o.id)
                .where(
                    IS_PENDING,
                    o.priority == literal_column(str(int(priority))),
                    o.due_at <= now,
                    or_(o.lease_until.is_(None), o.lease_until <= now),
                )
                .order_by(o.due_at, o.id)
                .limit(limit - len(ids))
                .with_for_update(skip_locked=True)
            )
            if skip:
                due = due.where(o.community_id.not_in(list(skip)))
            ids += (await self._conn.execute(due)).scalars()
            if len(ids) >= limit:
                break
        if not ids:
            return []
        lease = (
            update(outbox)
            .where(o.id.in_(ids))
            .values(lease_until=lease_until, owner=owner, attempts=o.attempts + 1)
            .returning(*rows.OUTBOX_COLUMNS)
        )
        items = [rows.outbox_item_from_row(row) for row in await self._conn.execute(lease)]
        items.sort(key=lambda item: (item.priority, item.due_at, item.id))
        return items

    async def renew(self, owner: str, now: datetime, lease_until: datetime) -> Renewal:
        """One UPDATE over ix_outbox_owner for the leases, one upsert for the sender,
        one count of the live ones (and the long dead are swept out)."""
        o = outbox.c
        renewed = (
            update(outbox)
            .where(o.owner == owner, IS_PENDING)
            .values(lease_until=lease_until)
            .returning(o.id)
        )
        held = frozenset((await self._conn.execute(renewed)).scalars())
        alive = upsert_insert(self._conn, senders).values(owner=owner, alive_until=lease_until)
        await self._conn.execute(
            alive.on_conflict_do_update(
                index_elements=[senders.c.owner], set_={"alive_until": lease_until}
            )
        )
        s = senders.c
        await self._conn.execute(delete(senders).where(s.alive_until < now - SENDERS_KEPT))
        live = select(func.count()).select_from(senders).where(s.alive_until > now)
        return Renewal(held, int((await self._conn.execute(live)).scalar_one()))

    async def leave(self, owner: str) -> None:
        await self._conn.execute(delete(senders).where(senders.c.owner == owner))

    async def due_count(self, now: datetime) -> int:
        stmt = select(func.count()).select_from(outbox).where(IS_PENDING, outbox.c.due_at <= now)
        return int((await self._conn.execute(stmt)).scalar_one())

    async def _finish(self, item_id: int, **values: Any) -> None:
        await self._conn.execute(
            update(outbox)
            .where(outbox.c.id == item_id)
            .values(lease_until=None, owner=None, **values)
        )

    async def mark_sent(self, item_id: int, at: datetime) -> None:
        await self._conn.execute(prepared.MARK_SENT, {prepared.ROW_ID: item_id, "at": at})

    async def retry_at(
        self, item_id: int, due_at: datetime, error: str, *, refund: bool = False
    ) -> None:
        values: dict[str, Any] = {"status": PENDING, "due_at": due_at, "last_error": error}
        if refund:
            o = outbox.c
            values["attempts"] = case((o.attempts > 0, o.attempts - 1), else_=0)
        await self._finish(item_id, **values)

    async def mark_failed(self, item_id: int, at: datetime, reason: str) -> None:
        await self._finish(item_id, status=FAILED, sent_at=at, last_error=reason)

    async def pending_count(self) -> int:
        stmt = select(func.count()).select_from(outbox).where(outbox.c.status == PENDING)
        return int((await self._conn.execute(stmt)).scalar_one())

    async def drop_pending_to(self, community_id: str, member_id: str) -> None:
        await self._conn.execute(
            delete(outbox).where(
                outbox.c.status == PENDING,
                outbox.c.community_id == community_id,
                outbox.c.member_id == member_id,
            )
        )

    async def forget(self, community_id: str, member_id: str, redact: Redact) -> None:
        await forget_in_outbox(self._conn, community_id, member_id, redact)

    async def next_due(self, after: datetime) -> datetime | None:
        """One seek on ix_outbox_queue (priority, due_at) per class."""
        o = outbox.c
        firsts = union_all(
            *(
                select(func.min(o.due_at).label("due")).where(
                    IS_PENDING, o.priority == literal_column(str(int(p))), o.due_at > after
                )
                for p in Priority
            )
        ).subquery()
        stmt = select(func.min(firsts.c.due))
        due: datetime | None = (await self._conn.execute(stmt)).scalar_one()
        return due

    async def prune(self, before: datetime) -> int:
        """Ranges of ix_outbox_sent (status, sent_at)."""
        o = outbox.c
        stmt = delete(outbox).where(o.status.in_((SENT, FAILED)), o.sent_at < before)
        return (await self._conn.execute(stmt)).rowcount
