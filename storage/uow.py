"""The unit of work: one connection, one transaction, all the repositories on it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.ports import (
    AskRepository,
    CommunityRepository,
    EventLog,
    GiveRepository,
    JobRunRepository,
    MemberRepository,
    OutboxRepository,
)
from storage.repositories import (
    SqlAskRepository,
    SqlCommunityRepository,
    SqlEventLog,
    SqlGiveRepository,
    SqlJobRunRepository,
    SqlMemberRepository,
    SqlOutboxRepository,
)


class SqlUnitOfWork:
    """`async with uow: …; await uow.commit()`. Leaving without commit rolls back.

    The transaction begins with the first statement (SQLAlchemy's autobegin), so a
    unit of work that turns out to have nothing to do never takes SQLite's write lock.

    On SQLite, units of work of one process take turns on `turn` (an asyncio lock):
    SQLite has one writer at a time anyway, and a burst of concurrent events would
    otherwise wait in SQLite's busy loop, where those past busy_timeout fail with
    "database is locked". Other processes still wait through busy_timeout.
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

    def __init__(self, engine: AsyncEngine, turn: asyncio.Lock | None = None) -> None:
        self._engine = engine
        self._turn = turn
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> SqlUnitOfWork:
        if self._conn is not None:
            raise RuntimeError("a unit of work is entered once; make a new one")
        if self._turn is not None:
            await self._turn.acquire()
        try:
            conn = self._conn = await self._engine.connect()
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

    def _connection(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._conn


def unit_of_work_factory(engine: AsyncEngine) -> Callable[[], SqlUnitOfWork]:
    """What the core calls for each transaction (bot.ports.UnitOfWorkFactory)."""
    turn = asyncio.Lock() if engine.dialect.name == "sqlite" else None
    return lambda: SqlUnitOfWork(engine, turn)
