"""Several processes share one database: separate engines stand in for them here
(the `processes` fixture, in conftest.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.domain import Community
from bot.messages import Message, ToChannel, text
from bot.ports import UnitOfWorkFactory
from storage.db import make_engine
from storage.migrate import upgrade
from storage.slack_installations import SlackInstallations, installations
from storage.uow import unit_of_work_factory
from tests.storage.conftest import SQL_BACKENDS, Backend

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
HELLO = Message((text("hello"),))


@pytest.fixture(params=SQL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_concurrent_ask_numbers_never_repeat(
    uow_factory: UnitOfWorkFactory, processes: list[UnitOfWorkFactory]
) -> None:
    async with uow_factory() as uow:
        await uow.communities.add(Community("slack:T1"))
        await uow.commit()

    async def take_number(factory: UnitOfWorkFactory) -> int:
        async with factory() as uow:
            await uow.communities.get("slack:T1")  # read first, then write: no deadlock
            number = await uow.communities.next_ask_number("slack:T1")
            await uow.commit()
        return number

    numbers = await asyncio.gather(*(take_number(processes[n % 2]) for n in range(40)))
    assert sorted(numbers) == list(range(1, 41))


async def test_concurrent_claimers_never_get_the_same_item(
    uow_factory: UnitOfWorkFactory, processes: list[UnitOfWorkFactory]
) -> None:
    async with uow_factory() as uow:
        queued = [await uow.outbox.add("slack:T1", ToChannel("C1"), HELLO, NOW) for _ in range(30)]
        await uow.commit()

    async def sender(factory: UnitOfWorkFactory) -> list[int]:
        taken: list[int] = []
        for _ in range(len(queued)):  # more rounds than that: items came back twice
            async with factory() as uow:
                items = await uow.outbox.claim_due(NOW, 2, NOW + timedelta(hours=1))
                await uow.commit()
            if not items:
                return taken
            taken += [item.id for item in items]
            await asyncio.sleep(0)
        return taken

    claimed = await asyncio.gather(*(sender(processes[n % 2]) for n in range(6)))
    every = [item_id for ids in claimed for item_id in ids]
    assert sorted(every) == sorted(queued)


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_open_claim_hides_its_items_without_blocking_a_second_claimer(
    backend: str, uow_factory: UnitOfWorkFactory, processes: list[UnitOfWorkFactory]
) -> None:
    """PostgreSQL runs claimers in parallel: SKIP LOCKED passes over rows another
    transaction is leasing right now instead of waiting for it or taking them too."""
    async with uow_factory() as uow:
        queued = [await uow.outbox.add("slack:T1", ToChannel("C1"), HELLO, NOW) for _ in range(4)]
        await uow.commit()
    lease = NOW + timedelta(minutes=5)
    async with processes[0]() as first, processes[1]() as second:
        mine = await first.outbox.claim_due(NOW, 2, lease)
        theirs = await asyncio.wait_for(second.outbox.claim_due(NOW, 10, lease), timeout=5)
        await first.commit()
        await second.commit()
    assert [i.id for i in mine] == queued[:2]
    assert [i.id for i in theirs] == queued[2:]


async def test_concurrent_units_of_work_on_sqlite_take_turns_and_all_commit(tmp_path: Path) -> None:
    """A burst of events in one process must queue, not fail with "database is locked"."""
    url = f"sqlite:///{tmp_path / 'burst.db'}"
    await upgrade(url)
    engine = make_engine(url)
    factory = unit_of_work_factory(engine)
    inside, most = 0, 0

    async def event(i: int) -> None:
        nonlocal inside, most
        async with factory() as uow:
            inside += 1
            most = max(most, inside)
            assert await uow.events.first_time("slack:T1", f"e{i}", NOW)
            await asyncio.sleep(0)  # give every other unit of work a chance to barge in
            await uow.commit()
            inside -= 1

    try:
        await asyncio.gather(*(event(i) for i in range(40)))
        async with factory() as uow:
            assert not await uow.events.first_time("slack:T1", "e39", NOW)
    finally:
        await engine.dispose()
    assert most == 1


async def test_two_processes_saving_one_workspace_at_once_keep_one_row(storage: Backend) -> None:
    """Two processes finishing the same workspace's OAuth at once: a delete-then-insert
    would collide on the workspace's unique key; the upsert keeps one row, the latest."""
    assert storage.url is not None
    engines = [make_engine(storage.url) for _ in range(2)]
    stores = [SlackInstallations(engine) for engine in engines]
    try:
        for round_ in range(10):
            await asyncio.gather(
                *(
                    store.save(None, "T1", f'{{"round": {round_}, "by": {n}}}', NOW)
                    for n, store in enumerate(stores)
                )
            )
        async with engines[0].connect() as conn:
            rows = (await conn.execute(select(installations.c.data))).scalars().all()
        assert len(rows) == 1 and '"round": 9' in rows[0]
        assert await stores[1].find(None, "T1") == rows[0]
    finally:
        for engine in engines:
            await engine.dispose()
