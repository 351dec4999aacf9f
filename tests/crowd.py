"""A crowd to fan out to: communities of active members seeded straight into storage,
for the tests and benchmarks that run a real `payforward` on the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain import Community, Member
from bot.ports import UnitOfWorkFactory


def daytime_zone(now: datetime | None = None) -> str:
    """An `Etc/GMT±N` zone where it is about noon at `now`: members living there are
    never in their quiet hours, so their DMs are not deferred whenever a test runs."""
    hour = (now or datetime.now(UTC)).astimezone(UTC).hour
    offset = 12 - hour  # hours east of UTC
    if offset > 14:
        offset -= 24
    if offset < -12:
        offset += 24
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/UTC"


def member_ids(count: int, prefix: str = "UM") -> list[str]:
    return [f"{prefix}{n:05d}" for n in range(count)]


async def seed(
    uow: UnitOfWorkFactory,
    community_id: str,
    members: list[str],
    *,
    channel: str = "C1",
    now: datetime | None = None,
) -> None:
    """The community (its posts go to `channel`) and its members, all active just now
    and living where it is daytime."""
    now = now or datetime.now(UTC)
    zone = daytime_zone(now)
    async with uow() as unit:
        if await unit.communities.get(community_id) is None:
            await unit.communities.add(Community(community_id, channel_id=channel, timezone=zone))
        for member_id in members:
            await unit.members.save(Member(community_id, member_id, tz=zone, last_active_at=now))
        await unit.commit()
