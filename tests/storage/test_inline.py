"""SQLite units of work run inline in the event loop (storage/inline.py): waiting for
another process's write lock must never block the loop, and must end."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.faults import StorageUnavailable
from bot.ports import UnitOfWorkFactory
from storage import inline
from storage.db import make_engine
from storage.migrate import upgrade
from storage.uow import unit_of_work_factory

AT = datetime(2026, 11, 24, 10, tzinfo=UTC)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[tuple[Path, UnitOfWorkFactory]]:
    file = tmp_path / "payforward.db"
    await upgrade(f"sqlite:///{file}")
    engine = make_engine(f"sqlite:///{file}")
    try:
        yield file, unit_of_work_factory(engine)
    finally:
        await engine.dispose()


async def record(uow_factory: UnitOfWorkFactory, event_id: str) -> bool:
    async with uow_factory() as uow:
        new = await uow.events.first_time("test:acme", event_id, AT)
        await uow.commit()
    return new


def seen(file: Path) -> set[str]:
    with closing(sqlite3.connect(file)) as db:
        return {row[0] for row in db.execute("SELECT event_id FROM processed_events")}


async def test_waiting_for_another_process_lock_keeps_the_loop_running(
    database: tuple[Path, UnitOfWorkFactory],
) -> None:
    file, uow_factory = database
    other = sqlite3.connect(file, isolation_level=None)  # another process, holding the lock
    other.execute("BEGIN IMMEDIATE")
    writing = asyncio.ensure_future(record(uow_factory, "e1"))
    ticks = 0
    while ticks < 20:  # the loop goes on while the unit of work waits
        await asyncio.sleep(0.001)
        ticks += 1
        assert not writing.done()

    other.execute("COMMIT")
    other.close()

    assert await writing is True
    assert seen(file) == {"e1"}


async def test_a_lock_held_too_long_fails_the_unit_of_work_and_writes_nothing(
    database: tuple[Path, UnitOfWorkFactory], monkeypatch: pytest.MonkeyPatch
) -> None:
    file, uow_factory = database
    monkeypatch.setattr(inline, "BUSY_WAIT", 0.05)
    with closing(sqlite3.connect(file, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StorageUnavailable, match="locked"):
            await record(uow_factory, "e1")
        other.execute("ROLLBACK")

    assert await record(uow_factory, "e2") is True  # the connection is fine afterwards
    assert seen(file) == {"e2"}


async def test_a_unit_of_work_that_reads_nothing_takes_no_lock(
    database: tuple[Path, UnitOfWorkFactory],
) -> None:
    file, uow_factory = database
    with closing(sqlite3.connect(file, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        async with uow_factory():  # e.g. a tick with nothing due
            pass
        other.execute("ROLLBACK")
