"""The unit of work: one connection, one transaction, all the repositories on it.

It is also where a database that is unreachable or locked becomes the core's
`StorageUnavailable` (see storage/faults.py for which errors those are): whatever
the statement, the connection or the commit that met it, the unit of work is
rolled back and the core can tell "try again later" from a bug.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import TracebackType

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.faults import StorageUnavailable
from bot.ports import (
    AskRepository,
    CommunityRepository,
    ConnectorRepository,
    CupsRepository,
    DashboardQueries,
    EventLog,
    GiveRepository,
    JobRunRepository,
    MemberRepository,
    OutboxRepository,
    SignInRepository,
)
from storage.connector import SqlConnectorRepository
from storage.cups import SqlCupsRepository
from storage.dashboard import SqlDashboardQueries
from storage.db import sqlite_pragmas
from storage.faults import is_unavailable
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
from storage.sign_ins import SqlSignInRepository
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
    sign_ins: SignInRepository
    dashboard: DashboardQueries
    connector: ConnectorRepository
    cups: CupsRepository

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
        except BaseException as error:
            self._release()
            if is_unavailable(error):
                raise StorageUnavailable(_describe(error)) from error
            raise
        self.communities = SqlCommunityRepository(conn)
        self.members = SqlMemberRepository(conn)
        self.asks = SqlAskRepository(conn)
        self.gives = SqlGiveRepository(conn)
        self.outbox = SqlOutboxRepository(conn)
        self.events = SqlEventLog(conn)
        self.jobs = SqlJobRunRepository(conn)
        self.sign_ins = SqlSignInRepository(conn)
        self.dashboard = SqlDashboardQueries(conn)
        self.connector = SqlConnectorRepository(conn)
        self.cups = SqlCupsRepository(conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self._connection()
        try:
            try:
                await conn.rollback()  # a no-op after commit()
            finally:
                await conn.close()
        except Exception as error:
            if not is_unavailable(error):
                raise
            # The database went away: there is nothing left to roll back.
        finally:
            self._release()
        if exc is not None and is_unavailable(exc):
            raise StorageUnavailable(_describe(exc)) from exc

    def _release(self) -> None:
        if self._turn is not None and self._turn.locked():
            self._turn.release()

    async def commit(self) -> None:
        try:
            await self._connection().commit()
        except Exception as error:
            if is_unavailable(error):
                raise StorageUnavailable(_describe(error)) from error
            raise

    def _connection(self) -> Conn:
        if self._conn is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._conn


def _describe(error: BaseException | None) -> str:
    """One short line: the error's class and first line, never its SQL or parameters."""
    if error is None:
        return "the database went away"
    original = getattr(error, "orig", None) or error
    first = str(original).strip().splitlines()[0] if str(original).strip() else ""
    return f"{type(original).__name__}: {first[:200]}" if first else type(original).__name__


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
