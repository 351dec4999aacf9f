"""Prebuilt statements on SQLite's driver cursor (storage/direct.py): the same values,
errors and transactions as through SQLAlchemy, and SQLAlchemy left out of the way."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, bindparam, event, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError

from bot.domain import Ask, AskStatus, Community, Member, OptOut
from bot.ports import UnitOfWorkFactory
from storage import prepared
from storage.direct import Planner, prebuilt
from storage.models import members

C = "slack:T1"
AT = datetime(2025, 3, 3, 10, tzinfo=UTC)


def new_ask(number: int, text: str) -> Ask:
    return Ask(0, C, number, "U1", "C1", text, AskStatus.OPEN, AT, AT)


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def through_sqlalchemy() -> Iterator[list[str]]:
    """The SQL that went through SQLAlchemy's execution, from every engine."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        sent.append(sql)

    event.listen(Engine, "before_cursor_execute", record)
    yield sent
    event.remove(Engine, "before_cursor_execute", record)


async def test_an_event_made_of_prebuilt_statements_skips_sqlalchemy(
    uow_factory: UnitOfWorkFactory, through_sqlalchemy: list[str]
) -> None:
    async with uow_factory() as uow:
        await uow.communities.add(Community(C))  # not prebuilt: one statement
        await uow.commit()
    through_sqlalchemy.clear()
    async with uow_factory() as uow:
        assert await uow.events.first_time(C, "E1", AT)
        community = await uow.communities.get(C)
        await uow.members.save(Member(C, "U1", "ada", last_active_at=AT))
        number = await uow.communities.next_ask_number(C)
        ask = await uow.asks.add(new_ask(number, "<!channel> help"))
        await uow.commit()
    assert through_sqlalchemy == []
    assert community == Community(C)
    async with uow_factory() as uow:
        assert ask.id is not None
        assert await uow.asks.get(ask.id) == ask
        assert not await uow.events.first_time(C, "E1", AT)


async def test_values_read_back_the_same_whichever_path_wrote_them(
    uow_factory: UnitOfWorkFactory,
) -> None:
    kolkata = timezone(timedelta(hours=5, minutes=30))
    member = Member(
        C,
        "U1",
        "ada",
        tz="Asia/Kolkata",
        opt_outs=frozenset({OptOut.PROMPTS}),
        last_active_at=datetime(2025, 3, 3, 15, 30, 0, 7, tzinfo=kolkata),
    )
    async with uow_factory() as uow:
        await uow.members.save(member)  # a plan
        await uow.commit()
    async with uow_factory() as uow:
        by_plan = await uow.members.get(C, "U1")
        by_sqlalchemy = await uow.members.active_page(C, AT - timedelta(days=1), None, 10)
        opted_out = await uow.members.opted_out(C, OptOut.PROMPTS)
    assert by_plan == by_sqlalchemy[0] == member
    assert by_plan is not None and by_plan.last_active_at == datetime(2025, 3, 3, 10, 0, 0, 7, UTC)
    assert by_plan.last_active_at.tzinfo is UTC
    assert opted_out == {"U1"}


async def test_writes_through_plans_roll_back_with_the_unit_of_work(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.members.save(Member(C, "U1", "ada", last_active_at=AT))
        await uow.commit()
    async with uow_factory() as uow:
        await uow.members.save(Member(C, "U1", "renamed", last_active_at=AT))
        await uow.members.save(Member(C, "U2", "bob", last_active_at=AT))
    async with uow_factory() as uow:
        kept = await uow.members.get(C, "U1")
        assert kept is not None and kept.display_name == "ada"
        assert await uow.members.get(C, "U2") is None


async def test_a_broken_constraint_is_sqlalchemys_integrity_error(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ask = new_ask(1, "help")
    async with uow_factory() as uow:
        await uow.asks.add(ask)
        with pytest.raises(IntegrityError, match="UNIQUE"):
            await uow.asks.add(replace(ask, text="again"))  # the same number


def test_only_statements_sqlalchemy_need_not_finish_get_a_plan() -> None:
    planner = Planner(sqlite.dialect())
    table = Table(
        "t",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("name", String, default="x"),  # a Python-side default
    )
    by_member = select(members.c.member_id).where(members.c.member_id == bindparam("member_id"))
    assert planner.plan(by_member, {"member_id": "U1"}) is None  # not marked prebuilt
    marked = prebuilt(by_member)
    plan = planner.plan(marked, {"member_id": "U1"})
    assert plan is not None and plan.parameters({"member_id": "U1"}) == ["U1"]
    assert planner.plan(marked, {}) is None  # SQLAlchemy's path says what is missing
    assert planner.plan(prebuilt(table.insert()), {"id": 1}) is None
    in_list = select(table.c.id).where(table.c.id.in_(bindparam("ids", expanding=True)))
    assert planner.plan(prebuilt(in_list), {"ids": [1, 2]}) is None


def test_the_plan_of_a_statement_depends_on_the_names_given() -> None:
    planner = Planner(sqlite.dialect())
    full = prepared.save_member("sqlite")
    plan = planner.plan(full, {"community_id": C, "member_id": "U1"})
    assert plan is not None and plan.sql.startswith(
        "INSERT INTO members (community_id, member_id) VALUES (?, ?)"
    )
    assert planner.plan(full, {"community_id": C, "member_id": "U1"}) is plan


def test_rows_read_by_position_come_back_as_plain_tuples() -> None:
    planner = Planner(sqlite.dialect())
    ids = select(members.c.member_id, members.c.display_name)
    named = planner.plan(prebuilt(ids), None)
    plain = planner.plan(prebuilt(ids.limit(5), by_position=True), None)
    assert (
        named is not None
        and named.row is not None
        and named.row._fields
        == (
            "member_id",
            "display_name",
        )
    )
    assert plain is not None and plain.returns_rows and plain.row is None
