"""Entities for the storage tests, with defaults for everything a test does not name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain import Ask, AskStatus, Community, Give, GiveSource, GiveStatus
from bot.messages import Message, text
from bot.ports import UnitOfWork, UnitOfWorkFactory

C1, C2 = "slack:T1", "discord:2"
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday
HELLO = Message((text("hello"),))


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def make_ask(number: int = 1, *, community_id: str = C1, asker: str = "U1", **kw: object) -> Ask:
    fields: dict[str, object] = {
        "id": 0,
        "community_id": community_id,
        "number": number,
        "asker_id": asker,
        "channel_id": "C1",
        "text": f"ask {number}",
        "status": AskStatus.OPEN,
        "created_at": at(number),
        "last_activity_at": at(number),
    }
    return Ask(**{**fields, **kw})  # type: ignore[arg-type]


def make_give(
    giver: str,
    receiver: str | None,
    confirmed: datetime | None,
    *,
    community_id: str = C1,
    status: GiveStatus = GiveStatus.CONFIRMED,
    **kw: object,
) -> Give:
    fields: dict[str, object] = {
        "id": 0,
        "community_id": community_id,
        "giver_id": giver,
        "receiver_id": receiver,
        "source": GiveSource.THANKS,
        "status": status,
        "created_at": confirmed or T0,
        "confirmed_at": confirmed,
    }
    return Give(**{**fields, **kw})  # type: ignore[arg-type]


async def add_communities(uow: UnitOfWork, *ids: str) -> None:
    for community_id in ids or (C1,):
        await uow.communities.add(Community(community_id))


async def add_gives(uow_factory: UnitOfWorkFactory, *gives: Give) -> list[Give]:
    async with uow_factory() as uow:
        added = [await uow.gives.add(give) for give in gives]
        await uow.commit()
    return added
