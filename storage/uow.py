"""The unit of work: one connection, one transaction, all the repositories on it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import TracebackType

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.ports import (
    AskRepository,
    CommunityRepository,
    ConnectorRepository,
    EventLog,
    GiveRepository,
    JobRunRepository,
    MemberRepository,
    OutboxRepository,
)
from storage.connector import SqlConnectorRepository
from storage.db import sqlite_pragmas
from storage.inline import InlineDatabase
from storage.repositories import (
    SqlAskRepository,
    SqlCommunityRepository,
    SqlEventLog,
    SqlGiveRepository,
    SqlJobRunRepository,
    SqlMemberRepository,
    SqlOutboxRepository,
)
from storage.sql import Conn

Connect = Callable[[], Awaitable[Conn]]


class SqlUnitOfWork:
    """`async with uow: …; await uow.commit()`. Leaving without commit rolls back.

    The transaction begins with the first statement, so a unit of work that turns out
    to have nothing to do never takes SQLite's write lock.

    On SQLite, units of work of one process take turns on `turn` (an asyncio lock) on
    the process's one inline connection (storage/inline.py): SQLite has one writer at
    a time anyway. Other processes are waited for without blocking the event loop.
    """

    # Typed as the ports, as bot.ports.UnitOfWork declares them (attributes of a
    # Protocol are invariant: the SQL classes here would not satisfy it).
    communities: CommunityRepository
    members: MemberRepository
    asks: AskRepository
    gives: GiveRepository
    outbox: OutboxRepository
    events: EventLog
    jobs: JobRunRepository
    connector: ConnectorRepository

    def __init__(self, connect: Connect, turn: asyncio.Lock | None = None) -> None:
        self._connect = connect
        self._turn = turn
        self._conn: Conn | None = None

    async def __aenter__(self) -> SqlUnitOfWork:
        if self._conn is not None:
            raise RuntimeError("a unit of work is entered once; make a new one")
        if self._turn is not None:
            await self._turn.acquire()
        try:
            conn = self._conn = await self._connect()
        except BaseException:
            self._release()
            raise
        self.communities = SqlCommunityRepository(conn)
        self.members = SqlMemberRepository(conn)
        self.asks = SqlAskRepository(conn)
        self.gives = SqlGiveRepository(conn)
        self.outbox = SqlOutboxRepository(conn)
        self.events = SqlEventLog(conn)
        self.jobs = SqlJobRunRepository(conn)
        self.connector = SqlConnectorRepository(conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self._connection()
        try:
            await conn.rollback()  # a no-op after commit()
        finally:
            try:
                await conn.close()
            finally:
                self._release()

    def _release(self) -> None:
        if self._turn is not None and self._turn.locked():
            self._turn.release()

    async def commit(self) -> None:
        await self._connection().commit()

    def _connection(self) -> Conn:
        if self._conn is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._conn


def unit_of_work_factory(engine: AsyncEngine) -> Callable[[], SqlUnitOfWork]:
    """What the core calls for each transaction (bot.ports.UnitOfWorkFactory).

    On SQLite the units of work run inline on one synchronous connection to the same
    file, closed when `engine` is disposed; on PostgreSQL each takes an asyncpg
    connection from the engine's pool."""
    if engine.dialect.name != "sqlite":
        return lambda: SqlUnitOfWork(engine.connect)
    inline = InlineDatabase(engine.url, sqlite_pragmas())
    event.listen(engine.sync_engine, "engine_disposed", lambda _engine: inline.dispose())
    turn = asyncio.Lock()
    return lambda: SqlUnitOfWork(inline.connect, turn)
