"""What an operator's metrics read from the database at scrape time: the outbox's depth
and how long its oldest due message has waited, by platform and class.

One grouped query over the pending rows (the `ix_outbox_due` index leads with status),
folded by platform here: a community id starts with its platform (`slack:T1`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import case, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.messages import Priority
from storage.models import OutboxRow


@dataclass(frozen=True)
class OutboxGauge:
    platform: str
    priority: Priority
    depth: int  # messages waiting, due or deferred (quiet hours, a retry's backoff)
    oldest_due_seconds: float  # how long the oldest message due by now has waited; 0: none


async def outbox_gauges(engine: AsyncEngine, now: datetime) -> list[OutboxGauge]:
    row = OutboxRow
    due = case((row.due_at <= now, row.due_at), else_=None)
    query = (
        select(row.community_id, row.priority, func.count(), func.min(due))
        .where(row.status == "pending")
        .group_by(row.community_id, row.priority)
    )
    depth: dict[tuple[str, int], int] = defaultdict(int)
    oldest: dict[tuple[str, int], datetime] = {}
    async with engine.connect() as conn:
        for community_id, priority, count, first_due in await conn.execute(query):
            key = (str(community_id).partition(":")[0], int(priority))
            depth[key] += int(count)
            if first_due is not None:
                first_due = _aware(first_due)
                oldest[key] = min(oldest.get(key, first_due), first_due)
    return [
        OutboxGauge(
            platform,
            Priority(priority),
            count,
            max(0.0, (now - oldest[(platform, priority)]).total_seconds())
            if (platform, priority) in oldest
            else 0.0,
        )
        for (platform, priority), count in sorted(depth.items())
    ]


async def database_reachable(engine: AsyncEngine) -> None:
    """Raises when the database does not answer a trivial query."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def _aware(value: datetime | str) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC) for an aggregate's result."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
