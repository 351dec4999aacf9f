"""Small SQL helpers shared by the repositories."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import ColumnElement, Table, case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Dialect
from sqlalchemy.sql import Executable


class Conn(Protocol):
    """What the repositories need of a connection: an `AsyncConnection` (PostgreSQL)
    or storage/inline.py's `InlineConnection` (SQLite)."""

    @property
    def dialect(self) -> Dialect: ...

    async def execute(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def close(self) -> None: ...


def upsert_insert(conn: Conn, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that supports ON CONFLICT, in the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def not_for_index(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """`condition`, hidden from index selection.

    Without ANALYZE statistics SQLite takes every `column = ?` for selective, even
    `status = 'confirmed'` or `community_id = ?` in a one-community database, and
    may pick the wrong index for it. Wrapped in CASE the test still filters rows
    but no longer steers the plan (SQLite's own advice is a unary `+`, which
    SQLAlchemy has no public construct for). PostgreSQL, which keeps statistics,
    plans well either way.
    """
    return case((condition, 1), else_=0) == 1
