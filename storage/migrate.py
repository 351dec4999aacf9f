"""Bring a database to the newest schema, from code: no alembic.ini at run time.

    await upgrade("sqlite:///var/payforward.db")    # or upgrade_sync(…) outside a loop

Safe to run at every start: at head it does nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from storage.db import make_engine, sqlite_file

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url`, creating a new SQLite file and its folders.

    SQLite runs with foreign keys off (as table rebuilds need) and is checked with
    `PRAGMA foreign_key_check` before the migration commits.
    """
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not str(path).startswith("file:"):
            # A file that cannot be opened fails here, plainly: inside aiosqlite a failed
            # connect leaves its thread a step to run, and if the command has ended (it
            # says so in one line) by then, that thread prints a traceback.
            sqlite3.connect(path).close()
    engine = make_engine(url, sqlite_foreign_keys=False)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, revision)
    finally:
        await engine.dispose()


def upgrade_sync(url: str, revision: str = "head") -> None:
    asyncio.run(upgrade(url, revision))


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
    if connection.dialect.name == "sqlite":
        broken = connection.execute(text("PRAGMA foreign_key_check")).first()
        if broken is not None:
            raise RuntimeError(f"migration left a dangling foreign key: {tuple(broken)}")
