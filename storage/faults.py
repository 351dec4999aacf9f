"""Which database errors mean "unreachable or locked" (bot.faults.StorageUnavailable)
rather than a bug: the unit of work (storage/uow.py) translates them."""

from __future__ import annotations

import sqlite3

import asyncpg
from sqlalchemy import exc

# SQLite's words for a database another process holds, or one it cannot open or write.
_SQLITE_UNAVAILABLE = ("locked", "busy", "unable to open", "disk i/o", "readonly")


def is_unavailable(error: BaseException) -> bool:
    """True for a lost or refused connection, a server shutting down or starting
    up, a pool that timed out, and SQLite's locked or unopenable file."""
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return True
        if isinstance(error, exc.InterfaceError):
            return True  # the driver's connection is closed or broken
        if isinstance(error, exc.OperationalError):
            original = error.orig
            if isinstance(original, sqlite3.OperationalError):
                return any(word in str(original).lower() for word in _SQLITE_UNAVAILABLE)
            return True  # asyncpg: connection lost, server shutting down or starting
        return _asyncpg_unavailable(error.orig)
    if isinstance(error, exc.TimeoutError):  # no connection free in the pool in time
        return True
    if isinstance(error, sqlite3.OperationalError):
        return any(word in str(error).lower() for word in _SQLITE_UNAVAILABLE)
    if isinstance(error, ConnectionError | TimeoutError):
        return True
    if isinstance(error, OSError):
        return error.errno is not None  # refused, unreachable, reset: not a bug of ours
    return _asyncpg_unavailable(error)


def _asyncpg_unavailable(error: BaseException | None) -> bool:
    """asyncpg's own classes for a server that is going away or not there yet."""
    unavailable = (
        asyncpg.PostgresConnectionError,
        asyncpg.CannotConnectNowError,
        asyncpg.exceptions.AdminShutdownError,
        asyncpg.exceptions.CrashShutdownError,
        asyncpg.exceptions.ConnectionDoesNotExistError,
        asyncpg.exceptions.TooManyConnectionsError,
        asyncpg.InterfaceError,
    )
    return isinstance(error, unavailable)
