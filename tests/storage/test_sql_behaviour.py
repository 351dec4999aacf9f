"""What the SQL backends do beyond the ports' contract (the in-memory fake need not)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError

from bot.domain import Member, PairWeek
from bot.ports import UnitOfWorkFactory
from tests.storage.builders import add_gives, make_give
from tests.storage.conftest import SQL_BACKENDS

KOLKATA = timezone(timedelta(hours=5, minutes=30))


@pytest.fixture(params=SQL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_naive_datetime_is_refused(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        with pytest.raises(StatementError, match="naive datetime"):
            await uow.members.save(Member("slack:T1", "U1", last_active_at=datetime(2025, 3, 3)))


async def test_datetimes_come_back_as_the_same_instant_in_utc(
    uow_factory: UnitOfWorkFactory,
) -> None:
    local = datetime(2025, 3, 3, 10, 0, 0, 1, tzinfo=KOLKATA)
    async with uow_factory() as uow:
        await uow.members.save(Member("slack:T1", "U1", last_active_at=local))
        await uow.commit()
    async with uow_factory() as uow:
        member = await uow.members.get("slack:T1", "U1")
    assert member is not None and member.last_active_at is not None
    assert member.last_active_at == local
    assert member.last_active_at.tzinfo is UTC


async def test_windows_compare_instants_whatever_their_offsets(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """10:00 in Kolkata is 04:30 UTC: inside [04:00, 05:00) UTC, though "10:00" is not."""
    local = datetime(2025, 3, 3, 10, 0, tzinfo=KOLKATA)
    await add_gives(uow_factory, make_give("U1", "U2", local, community_id="slack:T1"))
    start = datetime(2025, 3, 3, 4, 0, tzinfo=UTC)
    async with uow_factory() as uow:
        inside = await uow.gives.pair_weeks("slack:T1", start, start + timedelta(hours=1))
        wrong = await uow.gives.count_confirmed(
            "slack:T1", start.replace(hour=9), start.replace(hour=11)
        )
    assert inside == [PairWeek("U1", "U2", 1, 0)]
    assert wrong == 0


async def test_ask_number_of_an_unknown_community_is_an_error(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """The counter lives on the community's row; the core adds a community before
    its first ask."""
    async with uow_factory() as uow:
        with pytest.raises(LookupError):
            await uow.communities.next_ask_number("slack:unknown")
