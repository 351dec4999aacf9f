"""SQLite units of work on a synchronous connection, run inline in the event loop.

Through aiosqlite every statement is a round trip to a worker thread, several for
each query, and those hops, not SQLite, were most of the cost of an event (see the
README's benchmarks). A SQLite statement on a local file takes microseconds, so
running it in the loop costs less than handing it to a thread. What must never block
the loop is waiting for another process's write lock: the transaction begins with
`BEGIN IMMEDIATE` under `busy_timeout=0`, and a busy database is retried with
`asyncio.sleep` between attempts. Once the write lock is held, WAL mode lets every
statement and the commit go through without waiting.

One connection serves all units of work of a process: they take turns anyway
(storage/uow.py), and reusing it skips the pool's checkout and reset per event.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, CursorResult
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql import Executable

from storage.direct import DirectResult, Planner

BUSY_WAIT = 10.0  # seconds to wait for another process's write lock before failing


class InlineConnection:
    """The part of `AsyncConnection` the repositories use, over a sync connection."""

    def __init__(self, conn: Connection, planner: Planner) -> None:
        self._conn = conn
        self._planner = planner
        self._begun = False

    @property
    def dialect(self) -> Any:
        return self._conn.dialect

    async def execute(
        self, statement: Executable, parameters: Any = None
    ) -> CursorResult[Any] | DirectResult:
        if not self._begun:  # lazily, so a unit of work that reads nothing locks nothing
            await self._begin_immediate()
        plan = self._planner.plan(statement, parameters)
        if plan is not None:
            return plan.run(self._driver(), parameters or {})
        return self._conn.execute(statement, parameters)

    def _driver(self) -> sqlite3.Connection:
        driver = self._conn.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        return driver

    async def _begin_immediate(self) -> None:
        """BEGIN IMMEDIATE on the driver connection (busy_timeout=0: fail at once),
        retried with asyncio.sleep until the write lock is free or BUSY_WAIT passes.
        SQLAlchemy's own transaction then begins with the first statement; with the
        driver's isolation_level=None it issues no BEGIN of its own."""
        driver = self._driver()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BUSY_WAIT
        pause = 0.001
        while True:
            try:
                driver.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
                if loop.time() >= deadline:
                    raise OperationalError("BEGIN IMMEDIATE", None, error) from error
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.05)
                continue
            self._begun = True
            return

    async def commit(self) -> None:
        """Statements run through a plan bypass SQLAlchemy's transaction, so the
        driver commits; SQLAlchemy's own commit then only ends its bookkeeping."""
        if self._begun:
            self._driver().commit()
            if self._conn.in_transaction():
                self._conn.commit()
            self._begun = False

    async def rollback(self) -> None:
        self._conn.rollback()  # ends SQLAlchemy's transaction even if BEGIN never ran
        driver = self._conn.connection.driver_connection
        if driver is not None and driver.in_transaction:  # begun, but only plans ran
            driver.execute("ROLLBACK")
        self._begun = False

    async def close(self) -> None:
        """Leave the connection for the next unit of work (rolled back by then)."""


class InlineDatabase:
    """The process's one synchronous connection to a SQLite file."""

    def __init__(self, url: URL, pragmas: tuple[str, ...]) -> None:
        self._engine: Engine = create_engine(url.set(drivername="sqlite+pysqlite"))
        # Never wait inside SQLite: BEGIN IMMEDIATE is retried in the loop instead, and
        # once the write lock is held, WAL lets statements and the commit through.
        pragmas = (*pragmas, "PRAGMA busy_timeout=0")
        self._conn: Connection | None = None
        self._planner = Planner(self._engine.dialect)

        @event.listens_for(self._engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # BEGIN is ours (see _begin_immediate)
            cursor = dbapi_connection.cursor()
            try:
                for pragma in pragmas:
                    cursor.execute(pragma)
            finally:
                cursor.close()

    async def connect(self) -> InlineConnection:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self._engine.connect()
        return InlineConnection(self._conn, self._planner)

    def dispose(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._engine.dispose()
