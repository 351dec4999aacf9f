"""Storage fixtures: the same contract tests run against every backend in BACKENDS.

To add a backend (e.g. the in-memory fake), append a param to BACKENDS and a branch
to `open_backend`; everything else builds on those two. The fake has its branch; the
modules whose contracts it keeps list it themselves (WITH_FAKE).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.ports import UnitOfWorkFactory
from storage.db import async_url, make_engine
from storage.migrate import upgrade
from storage.uow import unit_of_work_factory
from tests.fakes import FakeDatabase

POSTGRES_ENV = "PAYFORWARD_TEST_POSTGRES_URL"

SQL_BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
BACKENDS = [*SQL_BACKENDS]
WITH_FAKE = [*BACKENDS, pytest.param("fake", id="fake")]


@dataclass(frozen=True)
class Backend:
    name: str
    uow_factory: UnitOfWorkFactory
    url: str | None = None  # a real database other engines can open too; None for fakes


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def storage(backend: str, tmp_path: Path) -> AsyncIterator[Backend]:
    async with open_backend(backend, tmp_path) as opened:
        yield opened


@pytest.fixture
def uow_factory(storage: Backend) -> UnitOfWorkFactory:
    return storage.uow_factory


@asynccontextmanager
async def open_backend(name: str, tmp_path: Path) -> AsyncIterator[Backend]:
    """A fresh, empty, migrated store of kind `name`: all backend set-up lives here."""
    if name == "fake":
        yield Backend(name, FakeDatabase().uow)
        return
    if name == "sqlite":
        url = f"sqlite:///{tmp_path / 'payforward.db'}"
        await upgrade(url)
    elif name == "postgres":
        url = await postgres_url()
    else:
        raise ValueError(f"unknown storage backend {name!r}")
    engine = make_engine(url)
    try:
        if name == "postgres":
            async with engine.begin() as conn:
                names = ", ".join(await _tables(conn, but=("alembic_version",)))
                await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        yield Backend(name, unit_of_work_factory(engine), url)
    finally:
        await engine.dispose()


@pytest.fixture
async def processes(storage: Backend) -> AsyncIterator[list[UnitOfWorkFactory]]:
    """Two more engines on the test database, as two bot processes would have."""
    assert storage.url is not None
    engines = [make_engine(storage.url) for _ in range(2)]
    try:
        yield [unit_of_work_factory(engine) for engine in engines]
    finally:
        for engine in engines:
            await engine.dispose()


_postgres_ready: str | None = None


async def postgres_url() -> str:
    """The test database, migrated from scratch once per session."""
    global _postgres_ready
    if _postgres_ready is None:
        url = await reachable_postgres()
        await reset_schema(url)
        await upgrade(url)
        _postgres_ready = url
    return _postgres_ready


async def reachable_postgres() -> str:
    """PAYFORWARD_TEST_POSTGRES_URL, once a connection to it has worked.

    Never skips: a missing or unreachable server fails the PostgreSQL tests, so a run
    cannot pass green while it has tested SQLite only.
    """
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.fail(f"{POSTGRES_ENV} is not set: point it at a PostgreSQL database for tests")
    try:
        conn = await asyncpg_connect(url)
        await conn.close()
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        shown = make_url(async_url(url)).render_as_string()  # password masked
        pytest.fail(f"PostgreSQL at {shown} ({POSTGRES_ENV}) is unreachable: {exc!r}")
    return url


async def asyncpg_connect(url: str) -> asyncpg.Connection:
    plain = make_url(async_url(url)).set(drivername="postgresql")
    return await asyncpg.connect(plain.render_as_string(hide_password=False), timeout=5)


@asynccontextmanager
async def empty_database(name: str, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a database with nothing in it yet, for migration tests."""
    if name == "sqlite":
        yield f"sqlite:///{tmp_path / 'new' / 'folder' / 'payforward.db'}"
        return
    if name != "postgres":
        raise ValueError(f"no empty database for backend {name!r}")
    url = await reachable_postgres()
    database = f"payforward_migrations_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg_connect(url)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
        try:
            yield make_url(url).set(database=database).render_as_string(hide_password=False)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await admin.close()


async def reset_schema(url: str) -> None:
    """Drop every table, so that the session migrates from scratch with today's
    revisions (the test database is the tests' own)."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for name in await _tables(conn):
                await conn.execute(text(f"DROP TABLE IF EXISTS {name} CASCADE"))
    finally:
        await engine.dispose()


async def _tables(conn: AsyncConnection, but: tuple[str, ...] = ()) -> list[str]:
    """The tables in the database, quoted: whatever the revisions made, not just ours."""
    found = await conn.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    )
    quote = conn.dialect.identifier_preparer.quote
    return [quote(name) for name in found.scalars() if name not in but]
