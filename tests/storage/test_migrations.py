"""The migrations build exactly the schema of storage/models.py, once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, MetaData, String, inspect, text

from storage.connector import outside_models
from storage.db import make_engine
from storage.migrate import alembic_config, upgrade
from storage.models import Base
from tests.storage.conftest import SQL_BACKENDS, empty_database


@pytest.fixture(params=SQL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    async with empty_database(backend, tmp_path) as fresh:
        yield fresh


async def _run(url: str, sql: str) -> list[Any]:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(sql))
            return list(result) if result.returns_rows else []
    finally:
        await engine.dispose()


async def _differences(url: str, metadata: MetaData) -> list[Any]:
    def compare(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"include_name": outside_models})
        return list(compare_metadata(context, metadata))

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(compare)
    finally:
        await engine.dispose()


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def test_upgrade_creates_the_schema_at_head(url: str) -> None:
    await upgrade(url)
    assert await _run(url, "SELECT version_num FROM alembic_version") == [(_head(),)]
    assert await _run(url, "SELECT count(*) FROM gives") == [(0,)]


async def test_migrated_schema_matches_the_models(url: str) -> None:
    await upgrade(url)
    assert await _differences(url, Base.metadata) == []


async def test_schema_comparison_notices_a_column_the_migrations_lack(url: str) -> None:
    """Guards the test above: an empty diff must mean something."""
    await upgrade(url)
    metadata = MetaData()
    for table in Base.metadata.sorted_tables:
        copy = table.to_metadata(metadata)
        if table.name == "gives":
            copy.append_column(Column("extra", String()))
    differences = await _differences(url, metadata)
    assert [(d[0], d[3].name) for d in differences] == [("add_column", "extra")]


async def _downgrade(url: str, revision: str) -> None:
    def downgrade(conn: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, revision)

    engine = make_engine(url, sqlite_foreign_keys=False)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(downgrade)
    finally:
        await engine.dispose()


async def _table_names(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return sorted(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


def _named(difference: Any) -> tuple[str, str]:
    """One autogenerate difference as (kind, what): an index or table by its name, a
    column as table.column."""
    if difference[0] in ("add_column", "remove_column"):
        return difference[0], f"{difference[2]}.{difference[3].name}"
    return difference[0], difference[1].name


CONNECTOR = {  # revision 0012
    ("add_column", "communities.connector_minutes"),
    ("add_table", "member_interests"),
    ("add_table", "interest_terms"),
    ("add_table", "connector_members"),
    ("add_table", "connector_asks"),
    ("add_table", "connector_routes"),
    ("add_index", "ix_interest_terms_member"),
    ("add_index", "ix_connector_asks_due"),
    ("add_index", "ix_connector_routes_member"),
} | {("add_table", "week_tallies")}  # and revision 0013, the dashboard's weekly tallies


CUPS = (
    {  # revision 0015
        ("add_column", "communities.cups_weeks"),
        ("add_column", "communities.cups_weekday"),
        ("add_column", "communities.cups_time"),
        ("add_column", "communities.cups_anchor"),
        ("add_table", "cups_optins"),
        ("add_table", "cups"),
        ("add_table", "cup_seats"),
        ("add_index", "ix_cups_follow_up"),
        ("add_index", "ix_cups_met"),
        ("add_index", "ix_cup_seats_member"),
    }
    | {("add_column", "communities.name")}
    | {  # and revisions 0016-0017: names
        ("add_table", "channel_names")
    }
)


async def test_downgrades_undo_their_upgrades(url: str) -> None:
    await upgrade(url)
    await _downgrade(url, "0016")
    assert {_named(d) for d in await _differences(url, Base.metadata)} == {
        ("add_table", "channel_names")
    }
    await _downgrade(url, "0015")
    assert {_named(d) for d in await _differences(url, Base.metadata)} == {
        ("add_column", "communities.name"),
        ("add_table", "channel_names"),
    }
    await _downgrade(url, "0014")
    assert {_named(d) for d in await _differences(url, Base.metadata)} == CUPS
    await _downgrade(url, "0013")
    senders = {  # revision 0014
        ("add_column", "outbox.owner"),
        ("add_table", "senders"),
        ("add_index", "ix_outbox_queue"),
        ("add_index", "ix_outbox_owner"),
        ("remove_index", "ix_outbox_due"),
    }
    assert {_named(d) for d in await _differences(url, Base.metadata)} == CUPS | senders
    await _downgrade(url, "0012")
    assert {_named(d) for d in await _differences(url, Base.metadata)} == CUPS | senders | {
        ("add_table", "week_tallies")
    }
    await _downgrade(url, "0011")
    assert {_named(d) for d in await _differences(url, Base.metadata)} == (
        CUPS | senders | CONNECTOR
    )
    await _downgrade(url, "0010")
    dashboard = {  # revision 0011
        ("add_column", "members.is_admin"),
        ("add_index", "ix_members_member"),
        ("add_table", "sign_in_links"),
        ("add_index", "ix_sign_in_links_member"),
        ("add_index", "ix_sign_in_links_expires"),
        ("add_table", "web_sessions"),
        ("add_index", "ix_web_sessions_member"),
        ("add_index", "ix_web_sessions_expires"),
        ("add_table", "week_people"),
    }
    later = CUPS | senders | CONNECTOR | dashboard
    assert {_named(d) for d in await _differences(url, Base.metadata)} == later
    await _downgrade(url, "0009")
    undone = {_named(d) for d in await _differences(url, Base.metadata)} - later
    assert undone == {("add_column", "outbox.priority")}
    priority = {("add_column", "outbox.priority")} | later
    await _downgrade(url, "0007")
    undone = {_named(d) for d in await _differences(url, Base.metadata)} - priority
    report_indexes = {
        (change, name)
        for change in ("add_index", "remove_index")
        for name in ("ix_gives_confirmed", "ix_gives_created")
    }  # narrower: each shows as one removed and one added
    assert undone == report_indexes
    await _downgrade(url, "0006")
    undone = {_named(d) for d in await _differences(url, Base.metadata)} - priority
    assert undone == report_indexes | {("remove_index", "ix_members_activity")}
    await _downgrade(url, "0005")
    undone = {_named(d) for d in await _differences(url, Base.metadata)} - priority
    assert undone == report_indexes | {
        ("remove_index", "ix_members_activity"),
        ("add_index", "ix_members_hidden"),
    }
    await _downgrade(url, "0004")
    undone = {_named(d) for d in await _differences(url, Base.metadata)} - priority
    assert undone == report_indexes | {
        ("remove_index", "ix_members_activity"),
        ("add_table", "week_counts"),
        ("add_index", "ix_members_hidden"),
    }
    await _downgrade(url, "0003")
    undone = {_named(d) for d in await _differences(url, Base.metadata)} - priority
    assert undone == report_indexes | {
        ("remove_index", "ix_members_activity"),
        ("add_index", "ix_members_hidden"),
        ("add_table", "week_counts"),
        ("add_table", "job_runs"),
        ("add_index", "ix_asks_activity"),
        ("add_index", "ix_asks_bump"),
        ("add_index", "ix_outbox_sent"),
        ("add_index", "ix_processed_events_seen"),
    }
    await _downgrade(url, "base")
    assert await _table_names(url) == ["alembic_version"]
    await upgrade(url)
    assert await _differences(url, Base.metadata) == []


async def _outbox_partial_indexes(url: str) -> dict[str, bool]:
    """Which of the outbox's partial indexes (revision 0009) have a WHERE: the schema
    comparison above does not look at index predicates."""
    sql = (
        "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'outbox' AND type = 'index'"
        if url.startswith("sqlite")
        else "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'outbox'"
    )
    wanted = ("ix_outbox_replace", "ix_outbox_sent")
    return {n: " WHERE " in d.upper() for n, d in await _run(url, sql) if n in wanted}


async def test_the_outbox_indexes_are_partial_from_0009_on(url: str) -> None:
    await upgrade(url)
    assert await _outbox_partial_indexes(url) == {"ix_outbox_replace": True, "ix_outbox_sent": True}
    await _downgrade(url, "0008")
    assert await _outbox_partial_indexes(url) == {
        "ix_outbox_replace": False,
        "ix_outbox_sent": False,
    }


async def test_upgrade_twice_is_a_no_op(url: str) -> None:
    await upgrade(url)
    await _run(
        url,
        "INSERT INTO communities (community_id, timezone, leaderboard_weekday,"
        " leaderboard_time, offer_emoji) VALUES ('slack:T1', 'UTC', 0, '09:00', 'wave')",
    )
    await upgrade(url)
    assert await _run(url, "SELECT community_id FROM communities") == [("slack:T1",)]
    assert await _run(url, "SELECT version_num FROM alembic_version") == [(_head(),)]


async def test_upgrade_fills_an_existing_empty_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    await upgrade(f"sqlite:///{path}")
    assert path.stat().st_size > 0
    assert await _run(f"sqlite:///{path}", "SELECT count(*) FROM outbox") == [(0,)]


async def test_upgrade_creates_missing_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "payforward.db"
    await upgrade(f"sqlite:///{path}")
    assert path.is_file()
