"""SQLite query plans of the hot paths, pinned.

Without ANALYZE statistics SQLite plans a 1,000,000-row table as it plans an empty
one, so a small test database shows the plans a large one gets. Each query below
once had a plan that read a whole community per call; these tests keep them on
their indexes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event

from bot.domain import OptOut
from bot.messages import Message, ToChannel, text
from bot.ports import UnitOfWork
from storage.db import make_engine, sqlite_file
from storage.direct import DirectResult, Plan
from storage.uow import unit_of_work_factory
from tests.storage.conftest import Backend

C = "slack:T1"
START = datetime(2025, 3, 3, tzinfo=UTC)
END = START + timedelta(days=7)

Query = Callable[[UnitOfWork], Awaitable[Any]]


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
async def plan_of(
    storage: Backend, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[[Query], Awaitable[str]]]:
    """Runs a repository call and returns SQLite's plans for the statements it sent:
    through SQLAlchemy (recorded from every engine: the units of work run on their
    own, storage/inline.py) and through plans on the driver (storage/direct.py)."""
    assert storage.url is not None
    engine = make_engine(storage.url)
    file = sqlite_file(storage.url)
    assert file is not None
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        if sql.lstrip().upper().startswith(("SELECT", "WITH", "UPDATE", "DELETE", "INSERT")):
            sent.append((sql, params))

    run = Plan.run

    def run_recorded(plan: Plan, driver: sqlite3.Connection, given: Any) -> DirectResult:
        sent.append((plan.sql, plan.parameters(given)))
        return run(plan, driver, given)

    monkeypatch.setattr(Plan, "run", run_recorded)

    async def plan_of(query: Query) -> str:
        async with unit_of_work_factory(engine)() as uow:
            del sent[:]
            await query(uow)
        with closing(sqlite3.connect(file)) as db:
            return "\n".join(
                str(row[-1])
                for sql, params in sent
                for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            )

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield plan_of
    finally:
        event.remove(Engine, "before_cursor_execute", record)
        await engine.dispose()


RANGE = "ix_gives_confirmed (community_id=? AND status=? AND confirmed_at>? AND confirmed_at<?)"


async def test_the_weeks_gives_are_a_range_of_ix_gives_confirmed(plan_of: Any) -> None:
    for query in (
        lambda uow: uow.gives.pair_weeks(C, START, END),
        lambda uow: uow.gives.count_confirmed(C, START, END),
    ):
        assert f"USING COVERING INDEX {RANGE}" in await plan_of(query)
    plan = await plan_of(lambda uow: uow.gives.chain_ends(C, START, END, 30))
    assert f"USING COVERING INDEX {RANGE}" in plan  # the deepest ends: their ids only
    assert "SEARCH gives USING INTEGER PRIMARY KEY (rowid=?)" in plan  # then their rows


async def test_confirming_a_give_seeks_the_pair_and_the_receiver(plan_of: Any) -> None:
    plan = await plan_of(
        lambda uow: uow.gives.has_given(C, giver_id="U1", receiver_id="U2", before=END)
    )
    assert (
        "USING COVERING INDEX ix_gives_pair"
        " (community_id=? AND giver_id=? AND receiver_id=? AND confirmed_at<?)" in plan
    )
    plan = await plan_of(
        lambda uow: uow.gives.latest_received(
            C, member_id="U1", since=START, before=END, not_from="U2"
        )
    )
    assert (
        "ix_gives_receiver (community_id=? AND receiver_id=? AND confirmed_at>? AND confirmed_at<?)"
        in plan
    )
    assert "TEMP B-TREE" not in plan  # newest first is the index's own order


async def test_a_chain_is_walked_by_primary_key(plan_of: Any) -> None:
    plan = await plan_of(lambda uow: uow.gives.chains_back([1, 2], 5))
    assert plan.count("USING INTEGER PRIMARY KEY (rowid=?)") == 2  # the first give, each step


async def test_a_members_gives_are_two_seeks(plan_of: Any) -> None:
    for query in (
        lambda uow: uow.gives.involving(C, "U1"),
        lambda uow: uow.gives.erase_notes(C, "U1"),
    ):
        plan = await plan_of(query)
        assert "ix_gives_pair (community_id=? AND giver_id=?)" in plan
        assert "ix_gives_receiver (community_id=? AND receiver_id=?)" in plan


async def test_shared_is_a_range_of_ix_gives_created(plan_of: Any) -> None:
    plan = await plan_of(lambda uow: uow.gives.shared(C, START, END))
    assert "ix_gives_created (community_id=? AND created_at>? AND created_at<?)" in plan


async def test_an_asks_gives_are_a_seek(plan_of: Any) -> None:
    assert "ix_gives_ask (ask_id=?)" in await plan_of(lambda uow: uow.gives.for_ask(1))


async def test_a_newer_card_finds_the_queued_one_by_its_key(plan_of: Any) -> None:
    card = Message(blocks=(text("#1"),))
    plan = await plan_of(
        lambda uow: uow.outbox.add(C, ToChannel("C1"), card, START, replace_key="card:1")
    )
    assert "USING INDEX ix_outbox_replace (community_id=? AND replace_key=?)" in plan, plan


async def test_claiming_what_an_event_queued_seeks_its_ids(plan_of: Any) -> None:
    card = Message(blocks=(text("#1"),))

    async def queue_then_claim(uow: UnitOfWork) -> list[Any]:
        await uow.outbox.add(C, ToChannel("C1"), card, START)
        return await uow.outbox.claim_queued(START, END)

    plan = await plan_of(queue_then_claim)
    assert plan.endswith("SEARCH outbox USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"), plan


async def test_a_members_offers_start_from_the_member(plan_of: Any) -> None:
    plan = await plan_of(lambda uow: uow.asks.offers_by(C, "U1"))
    assert plan.startswith("SEARCH offers USING INDEX ix_offers_member (member_id=?)")


async def test_follow_ups_start_from_the_open_asks(plan_of: Any) -> None:
    """Across every community, so by status. Offers stay active when their ask is
    resolved, so they are reached from the open asks, never scanned themselves."""
    plan = await plan_of(lambda uow: uow.asks.offers_due(0, START, 10))
    assert plan.startswith("SEARCH asks USING INDEX ix_asks_") and "(status=?)" in plan, plan
    assert "SEARCH offers USING INDEX ix_offers_status (ask_id=? AND status=?)" in plan, plan
    plan = await plan_of(lambda uow: uow.asks.asks_to_bump(END, START, 10))
    assert (
        "SEARCH asks USING INDEX ix_asks_bump"
        " (status=? AND bumped_at=? AND created_at>? AND created_at<?)" in plan
    ), plan
    assert "TEMP B-TREE" not in plan  # oldest first is the index's own order
    plan = await plan_of(lambda uow: uow.asks.stale_asks(START, 10))
    assert plan == "SEARCH asks USING INDEX ix_asks_activity (status=? AND last_activity_at<?)"
    plan = await plan_of(lambda uow: uow.asks.follow_up_marks(START))
    assert (
        "ix_asks_activity (status=?)" in plan and "ix_asks_bump (status=? AND bumped_at=?" in plan
    )


async def test_a_page_of_members_continues_along_the_primary_key(plan_of: Any) -> None:
    plan = await plan_of(lambda uow: uow.members.active_page(C, START, "U1", 100))
    assert (
        plan
        == "SEARCH members USING INDEX sqlite_autoindex_members_1 (community_id=? AND member_id>?)"
    )


async def test_the_hidden_members_are_read_from_their_own_index(plan_of: Any) -> None:
    plan = await plan_of(lambda uow: uow.members.opted_out(C, OptOut.LEADERBOARD))
    assert plan == "SEARCH members USING INDEX ix_members_hidden (community_id=?)"


async def test_a_claim_seeks_each_class_in_order_and_a_heartbeat_seeks_its_owner(
    plan_of: Any,
) -> None:
    plan = await plan_of(lambda uow: uow.outbox.claim_due(START, 10, END, owner="a", skip=["x"]))
    seek = "SEARCH outbox USING INDEX ix_outbox_queue (priority=? AND due_at<?)"
    assert plan.splitlines() == [seek] * 3, plan  # now, soon, bulk; no sort
    plan = await plan_of(lambda uow: uow.outbox.renew("a", START, END))
    assert plan.splitlines()[0] == "SEARCH outbox USING INDEX ix_outbox_owner (owner=?)", plan


async def test_pruning_reads_only_what_is_old(plan_of: Any) -> None:
    plan = await plan_of(lambda uow: uow.outbox.prune(START))
    assert "ix_outbox_sent (status=? AND sent_at<?)" in plan, plan
    plan = await plan_of(lambda uow: uow.events.prune(START))
    assert "ix_processed_events_seen (seen_at<?)" in plan, plan


@pytest.mark.parametrize(
    "query",
    [
        lambda uow: uow.gives.has_given(C, giver_id="U1", receiver_id="U2", before=END),
        lambda uow: uow.gives.latest_received(
            C, member_id="U1", since=START, before=END, not_from="U2"
        ),
        lambda uow: uow.gives.pair_weeks(C, START, END),
        lambda uow: uow.gives.chain_ends(C, START, END, 30),
        lambda uow: uow.gives.chains_back([1, 2], 5),
        lambda uow: uow.gives.count_confirmed(C, START, END),
        lambda uow: uow.gives.shared(C, START, END),
        lambda uow: uow.gives.for_ask(1),
        lambda uow: uow.gives.involving(C, "U1"),
        lambda uow: uow.gives.erase_notes(C, "U1"),
        lambda uow: uow.asks.open_asks(C, without_offers=True),
        lambda uow: uow.asks.open_asks(C, asker_id="U1"),
        lambda uow: uow.asks.by_asker(C, "U1"),
        lambda uow: uow.asks.erase_texts(C, "U1", "-"),
        lambda uow: uow.asks.offers_by(C, "U1"),
        lambda uow: uow.outbox.claim_due(START, 10, END),
        lambda uow: uow.outbox.next_due(START),
        lambda uow: uow.outbox.prune(START),
        lambda uow: uow.events.prune(START),
        lambda uow: uow.asks.offers_due(0, START, 10),
        lambda uow: uow.asks.asks_to_bump(END, START, 10),
        lambda uow: uow.asks.stale_asks(START, 10),
        lambda uow: uow.asks.follow_up_marks(START),
        lambda uow: uow.members.active_page(C, START, "U1", 100),
    ],
)
async def test_no_hot_path_reads_a_whole_table_or_community(plan_of: Any, query: Query) -> None:
    plan = await plan_of(query)
    for line in plan.splitlines():
        words = line.split()
        if words[:1] == ["SCAN"]:  # the chain walk's own rows, or SELECT EXISTS (…)
            assert words[1] in ("chain", "CONSTANT"), plan
        assert not line.endswith("(community_id=?)"), plan


async def test_the_dashboards_reads_stay_on_their_indexes(plan_of: Any) -> None:
    plan = await plan_of(lambda uow: uow.dashboard.people_helped(C, [(START, END)], START))
    assert f"USING COVERING INDEX {RANGE}" in plan
    plan = await plan_of(lambda uow: uow.dashboard.member_gives(C, "U1", START, END))
    assert "ix_gives_pair (community_id=? AND giver_id=?" in plan
    assert "ix_gives_receiver (community_id=? AND receiver_id=? AND confirmed_at>?" in plan
    plan = await plan_of(lambda uow: uow.dashboard.member_chain_ends(C, "U1", 10))
    assert "ix_gives_pair (community_id=? AND giver_id=?" in plan
    assert "ix_gives_receiver (community_id=? AND receiver_id=?" in plan
    assert "SCAN gives" not in plan
    plan = await plan_of(lambda uow: uow.dashboard.communities_of("slack", "U1"))
    assert "ix_members_member (member_id=?)" in plan


async def test_connections_per_week_read_their_tallies_and_count_one_week(plan_of: Any) -> None:
    plan = await plan_of(
        lambda uow: uow.dashboard.connections_per_week(C, [(START, END)], settled_before=START)
    )
    assert "week_tallies USING INDEX" in plan and "(community_id=? AND tally=?" in plan
    assert RANGE in plan
    assert "connector_routes USING INDEX sqlite_autoindex_connector_routes_1" in plan
    assert "SCAN" not in plan
