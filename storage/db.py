"""Database URLs and engines.

Operators write the URLs they know (`sqlite:///payforward.db`, `postgres://…`); the bot
only runs on async drivers, so `async_url` picks the driver and `make_engine` sets up
each backend for the way payforward uses it: short transactions, several processes
(bot, scheduler, CLI) sharing one database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_ASYNC_SCHEMES = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",  # Heroku-style URLs
}

_SQLITE_PRAGMAS = (
    # WAL lets readers go on while one process writes; NORMAL is durable enough in WAL
    # (a power cut may lose the last commits, never corrupt the file).
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    # Wait for another process's write lock instead of failing with "database is locked".
    "PRAGMA busy_timeout=5000",
)


def async_url(url: str) -> str:
    """The URL with its async driver named: `sqlite+aiosqlite` or `postgresql+asyncpg`.

    URLs that already name a driver are returned unchanged. The error message never
    repeats the URL, which may hold a password.
    """
    scheme, sep, rest = url.partition("://")
    family, plus, driver = scheme.partition("+")
    if not sep or family not in _ASYNC_SCHEMES:
        raise ValueError(
            f"unsupported database URL scheme {scheme!r}: "
            "use sqlite:///path/to/file.db or postgresql://user:password@host/dbname"
        )
    if plus:
        if not driver:
            raise ValueError(f"database URL scheme {scheme!r} names an empty driver")
        if family == "postgres":  # SQLAlchemy only knows the dialect as "postgresql"
            return f"postgresql+{driver}://{rest}"
        return url
    return f"{_ASYNC_SCHEMES[family]}://{rest}"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL, or None for PostgreSQL and in-memory databases."""
    parsed = make_url(async_url(url))
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database)


def make_engine(url: str, *, sqlite_foreign_keys: bool = True) -> AsyncEngine:
    """An async engine for `url` (see `async_url` for the accepted forms).

    `sqlite_foreign_keys=False` is for migrations only: SQLite rebuilds tables to alter
    them, and dropping the old copy would fire ON DELETE CASCADE with foreign keys on.
    """
    full = async_url(url)
    if make_url(full).get_backend_name() == "sqlite":
        return _sqlite_engine(full, foreign_keys=sqlite_foreign_keys)
    return create_async_engine(full, pool_pre_ping=True)


def sqlite_pragmas(*, foreign_keys: bool = True) -> tuple[str, ...]:
    """What every SQLite connection runs first."""
    return (*_SQLITE_PRAGMAS, f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")


def _sqlite_engine(url: str, *, foreign_keys: bool) -> AsyncEngine:
    """SQLite with WAL and every transaction begun as `BEGIN IMMEDIATE`.

    A deferred `BEGIN` takes the write lock only at the first write; when two
    processes both read then write, the second upgrade fails at once with "database
    is locked" (busy_timeout cannot help a deadlock). Taking the lock at BEGIN makes
    writers queue up behind busy_timeout instead. The sqlite3 driver's own BEGIN is
    switched off (isolation_level=None) so that SQLAlchemy's "begin" event owns it,
    as the SQLAlchemy SQLite transaction notes describe.
    """
    engine = create_async_engine(url)
    pragmas = sqlite_pragmas(foreign_keys=foreign_keys)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
