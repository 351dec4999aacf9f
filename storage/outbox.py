"""The outbox repository: queued messages, leased to one sender at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, or_, select, update

from bot import codec
from bot.erasure import Redact
from bot.messages import Message, Priority, Target
from bot.ports import OutboxItem
from storage import prepared, rows
from storage.erasure import forget_in_outbox
from storage.models import outbox
from storage.sql import Conn

PENDING, SENT, FAILED = "pending", "sent", "failed"  # outbox.status


class SqlOutboxRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn
        # Queued by this unit of work, for claim_queued. Those leased as they were
        # queued (hand_over) are the ones with an attempt already counted.
        self._queued: dict[int, OutboxItem] = {}
        self._hand_over: tuple[datetime, datetime] | None = None  # (now, lease_until)
        self._replaceable: dict[tuple[str, str], int] = {}  # (community, key) → leased id

    def hand_over(self, now: datetime, lease_until: datetime) -> None:
        self._hand_over = (now, lease_until)

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
        hand_over = self._hand_over
        lease = hand_over[1] if hand_over is not None and due_at <= hand_over[0] else None
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

    async def claim_queued(self, now: datetime, lease_until: datetime) -> list[OutboxItem]:
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

    async def claim_due(self, now: datetime, limit: int, lease_until: datetime) -> list[OutboxItem]:
        """Select, then lease. PostgreSQL skips rows another claimer has locked (FOR
        UPDATE SKIP LOCKED); SQLite renders no FOR UPDATE, and needs none since
        BEGIN IMMEDIATE lets one writer in at a time."""
        o = outbox.c
        due = (
            select(o.id)
            .where(
                o.status == PENDING,
                o.due_at <= now,
                or_(o.lease_until.is_(None), o.lease_until <= now),
            )
            .order_by(o.due_at, o.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list((await self._conn.execute(due)).scalars())
        if not ids:
            return []
        lease = (
            update(outbox)
            .where(o.id.in_(ids))
            .values(lease_until=lease_until, attempts=o.attempts + 1)
            .returning(*rows.OUTBOX_COLUMNS)
        )
        items = [rows.outbox_item_from_row(row) for row in await self._conn.execute(lease)]
        items.sort(key=lambda item: (item.due_at, item.id))
        return items

    async def _finish(self, item_id: int, **values: Any) -> None:
        await self._conn.execute(
            update(outbox).where(outbox.c.id == item_id).values(lease_until=None, **values)
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
        """A seek on ix_outbox_due (status, due_at)."""
        o = outbox.c
        stmt = select(func.min(o.due_at)).where(o.status == PENDING, o.due_at > after)
        due: datetime | None = (await self._conn.execute(stmt)).scalar_one()
        return due

    async def prune(self, before: datetime) -> int:
        """Ranges of ix_outbox_sent (status, sent_at)."""
        o = outbox.c
        stmt = delete(outbox).where(o.status.in_((SENT, FAILED)), o.sent_at < before)
        return (await self._conn.execute(stmt)).rowcount
