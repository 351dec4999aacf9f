"""URLs and engine set-up."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import async_url, make_engine, sqlite_file
from storage.migrate import upgrade


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///payforward.db", "sqlite+aiosqlite:///payforward.db"),
        ("sqlite:////var/lib/pf/payforward.db", "sqlite+aiosqlite:////var/lib/pf/payforward.db"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://u:p@db:5432/pf", "postgresql+asyncpg://u:p@db:5432/pf"),
        ("postgres://u:p@db/pf?sslmode=require", "postgresql+asyncpg://u:p@db/pf?sslmode=require"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql+asyncpg://u@db/pf", "postgresql+asyncpg://u@db/pf"),
        ("postgresql+psycopg://u@db/pf", "postgresql+psycopg://u@db/pf"),
        ("postgres+asyncpg://u@db/pf", "postgresql+asyncpg://u@db/pf"),
    ],
)
def test_async_url_names_the_async_driver(url: str, expected: str) -> None:
    assert async_url(url) == expected


@pytest.mark.parametrize(
    "url", ["mysql://u:p@db/pf", "payforward.db", "", "http://example.com", "sqlite+://x"]
)
def test_async_url_refuses_other_databases(url: str) -> None:
    with pytest.raises(ValueError, match="database URL"):
        async_url(url)


def test_async_url_error_does_not_repeat_the_password() -> None:
    with pytest.raises(ValueError) as caught:
        async_url("mysql://user:s3cret@db/pf")
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///data/pf.db", Path("data/pf.db")),
        ("sqlite:////abs/pf.db", Path("/abs/pf.db")),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("postgresql://u@db/pf", None),
    ],
)
def test_sqlite_file(url: str, expected: Path | None) -> None:
    assert sqlite_file(url) == expected


async def test_sqlite_engine_runs_wal_with_foreign_keys_and_a_busy_timeout(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        async with engine.connect() as conn:
            pragmas = {
                name: (await conn.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        await engine.dispose()
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 5000,
    }


async def test_sqlite_transactions_take_the_write_lock_at_begin(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE: a transaction that has only read already holds the write lock,
    so a second writer waits for it instead of deadlocking with it later."""
    path = tmp_path / "x.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        async with engine.connect() as holder:
            await holder.execute(text("SELECT 1"))  # autobegins the transaction
            other = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
                await holder.rollback()
                other.execute("BEGIN IMMEDIATE")  # free again once the holder is done
                other.execute("ROLLBACK")
            finally:
                other.close()
    finally:
        await engine.dispose()


async def test_a_sqlite_file_that_cannot_be_opened_fails_before_the_async_driver() -> None:
    """The driver's own error, not SQLAlchemy's wrapping of aiosqlite's: no driver
    thread was started to outlive the command that says so in one line."""
    with pytest.raises(sqlite3.OperationalError, match="unable to open database file"):
        await upgrade("sqlite:////proc/payforward.db")
