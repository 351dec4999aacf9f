"""Contract tests of the connector's storage: the full-text search over asks (SQLite
FTS5, PostgreSQL tsvector), interests, consent and routing history.

They run on every backend and on the in-memory fake, which keeps the same contract;
the index itself (kept by the database, seen at once by other processes) is checked
on the real databases only.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.domain import GiveSource, Offer, OfferStatus
from bot.ports import Route, UnitOfWorkFactory
from storage.db import make_engine
from tests.storage.builders import C1, C2, T0, add_communities, at, make_ask, make_give
from tests.storage.conftest import WITH_FAKE, Backend

LATER = at(1000)


@pytest.fixture(params=WITH_FAKE)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def add_asks(
    uow_factory: UnitOfWorkFactory, *texts: str, community_id: str = C1
) -> list[int]:
    ids = []
    async with uow_factory() as uow:
        for n, value in enumerate(texts, start=1):
            ask = make_ask(n, community_id=community_id, text=value, asker=f"A{n}")
            ids.append((await uow.asks.add(ask)).id)
        await uow.commit()
    return ids


async def search(
    uow_factory: UnitOfWorkFactory,
    words: list[str],
    *,
    community_id: str = C1,
    before: object = LATER,
    limit: int = 10,
    common: float = 0.05,
    common_min: int = 20,
) -> list[tuple[int, float, tuple[tuple[str, bool], ...]]]:
    async with uow_factory() as uow:
        found = await uow.connector.similar_asks(
            community_id,
            words,
            before=before,  # type: ignore[arg-type]
            limit=limit,
            common=common,
            common_min=common_min,
        )
    return [(a.ask_id, a.similarity, tuple((h.member_id, h.gave) for h in a.helped)) for a in found]


async def test_search_ranks_asks_by_their_words_stemmed(uow_factory: UnitOfWorkFactory) -> None:
    best, other, _ = await add_asks(
        uow_factory,
        "Profiling asyncio coroutines",
        "How do I profile a Django view?",
        "Choosing a CRM for the sales team",
    )

    found = await search(uow_factory, ["asyncio", "profile"])

    assert [ask_id for ask_id, _, _ in found] == [best, other]
    assert found[0][1] == 1.0 and 0 < found[1][1] < 1.0


async def test_search_brings_the_help_given_before_the_cutoff(
    uow_factory: UnitOfWorkFactory,
) -> None:
    [ask_id] = await add_asks(uow_factory, "Helm chart values for staging")
    async with uow_factory() as uow:
        for giver, when, status in (("G1", at(5), None), ("G2", at(50), None)):
            give = make_give(giver, "A1", when, ask_id=ask_id, source=GiveSource.RESOLVE)
            await uow.gives.add(give if status is None else replace(give, status=status))
        await uow.asks.save_offer(Offer(ask_id, "O1", OfferStatus.LAPSED, at(3)))
        await uow.asks.save_offer(Offer(ask_id, "O2", OfferStatus.WITHDRAWN, at(3)))
        await uow.commit()

    [(_, _, helped)] = await search(uow_factory, ["helm"], before=at(10))

    assert sorted(helped) == [("G1", True), ("O1", False)]


async def test_search_keeps_to_its_community_and_to_asks_before_the_cutoff(
    uow_factory: UnitOfWorkFactory,
) -> None:
    [early, late] = await add_asks(uow_factory, "kubernetes ingress", "kubernetes secrets")
    await add_asks(uow_factory, "kubernetes pods", community_id=C2)

    assert [a for a, _, _ in await search(uow_factory, ["kubernetes"], before=at(1.5))] == [early]
    found = {a for a, _, _ in await search(uow_factory, ["kubernetes"])}
    assert found == {early, late}


async def test_words_in_most_asks_are_left_out_while_rarer_ones_remain(
    uow_factory: UnitOfWorkFactory,
) -> None:
    texts = [f"Quick question about topic{n}" for n in range(40)] + ["Quick question about helm"]
    ids = await add_asks(uow_factory, *texts)

    found = await search(uow_factory, ["quick", "question", "helm"])
    assert [a for a, _, _ in found] == [ids[-1]]
    only_common = await search(uow_factory, ["quick", "question"], limit=50)
    assert len(only_common) == 41  # nothing rarer: the least common word is searched


async def test_a_word_in_more_than_the_common_share_of_asks_is_left_out(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """Past `common_min` asks, the share decides: "quick" is in 7 of 10 asks, more
    than half of them, "helm" in one."""
    texts = [f"Quick note on topic{n}" for n in range(6)] + [f"Notes on topic{n}" for n in range(3)]
    ids = await add_asks(uow_factory, *texts, "Quick helm upgrade")

    found = await search(uow_factory, ["quick", "helm"], common=0.5, common_min=1)
    assert [a for a, _, _ in found] == [ids[-1]]
    kept = await search(uow_factory, ["quick", "helm"], common=0.8, common_min=1)
    assert len(kept) == 7  # in fewer than 8 of 10 asks, "quick" is searched too


async def test_search_with_no_usable_word_finds_nothing(uow_factory: UnitOfWorkFactory) -> None:
    await add_asks(uow_factory, "anything at all")
    assert await search(uow_factory, []) == []
    assert await search(uow_factory, ["zebra"]) == []


async def test_erased_ask_texts_leave_the_index(uow_factory: UnitOfWorkFactory) -> None:
    await add_asks(uow_factory, "Negotiating a renewal with procurement")
    async with uow_factory() as uow:
        await uow.asks.erase_texts(C1, "A1", "[deleted]")
        await uow.commit()
    assert await search(uow_factory, ["procurement"]) == []


# Interests and consent.


async def test_interests_are_replaced_listed_and_found_by_stem(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.connector.set_interests(
            C1, "U1", [("SQL", ["sql"]), ("public speaking", ["public", "speak"])]
        )
        await uow.connector.set_interests(C1, "U2", [("speaking", ["speak"])])
        await uow.connector.set_interests(C1, "U3", [("speaking", ["speak"])])
        await uow.connector.set_interests(C2, "U4", [("speaking", ["speak"])])
        for member in ("U1", "U2", "U4"):
            await uow.connector.set_opted_in(C1 if member != "U4" else C2, member, True)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.connector.interests(C1, "U1") == ["SQL", "public speaking"]
        found = await uow.connector.interested(C1, ["speak", "zzz"], 10)
        assert sorted(found) == [("U1", "public speaking"), ("U2", "speaking")]  # U3 never opted in
        await uow.connector.set_interests(C1, "U1", [("python", ["python"])])
        assert await uow.connector.interests(C1, "U1") == ["python"]
        assert await uow.connector.interested(C1, ["speak"], 10) == [("U2", "speaking")]
        assert await uow.connector.interested(C1, [], 10) == []


async def test_interest_matches_come_least_recently_routed_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    [ask_id] = await add_asks(uow_factory, "rust lifetimes")
    async with uow_factory() as uow:
        for member in ("U1", "U2", "U3"):
            await uow.connector.set_interests(C1, member, [("rust", ["rust"])])
            await uow.connector.set_opted_in(C1, member, True)
        await uow.connector.add_route(Route(ask_id, "U1", C1, at(5), 1, "why"))
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.connector.interested(C1, ["rust"], 2)
    assert found == [("U2", "rust"), ("U3", "rust")]


async def test_consent_and_standing(uow_factory: UnitOfWorkFactory) -> None:
    asks = await add_asks(uow_factory, "a one", "b two", "c three")
    async with uow_factory() as uow:
        assert await uow.connector.opted_in(C1, "U1") is None
        await uow.connector.set_opted_in(C1, "U1", True)
        await uow.connector.set_opted_in(C1, "U2", True)
        await uow.connector.set_opted_in(C1, "U2", False)
        for ask_id, when in zip(asks, (at(1), at(100), at(200)), strict=True):
            await uow.connector.add_route(Route(ask_id, "U1", C1, when, 1, "why"))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.connector.opted_in(C1, "U1") is True
        assert await uow.connector.opted_in(C1, "U2") is False
        standing = await uow.connector.standing(C1, ["U1", "U2", "U3"], at(50))
    assert set(standing) == {"U1", "U2"}
    assert standing["U1"].routed_since == 2 and standing["U1"].last_routed_at == at(200)
    assert standing["U2"].opted_in is False and standing["U2"].routed_since == 0


# Routing.


async def test_asks_wait_until_due_and_are_claimed_once(uow_factory: UnitOfWorkFactory) -> None:
    first, second = await add_asks(uow_factory, "one", "two")
    async with uow_factory() as uow:
        await uow.connector.schedule(C1, first, at(2))
        await uow.connector.schedule(C1, second, at(5))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.connector.next_due(T0) == at(2)
        assert await uow.connector.next_due(at(2)) == at(5)
        assert [a.id for a in await uow.connector.due(at(4), 10)] == [first]
        assert await uow.connector.claim(first, at(4)) is True
        assert await uow.connector.claim(first, at(4)) is False
        assert await uow.connector.due(at(4), 10) == []
        await uow.connector.reschedule(C1, timedelta(hours=1))  # second was created at(2)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.connector.next_due(T0) == at(3)
        assert await uow.connector.claim(second, at(9)) is True
        assert await uow.connector.next_due(T0) is None


async def test_routes_record_offers_declines_and_connections(
    uow_factory: UnitOfWorkFactory,
) -> None:
    first, second = await add_asks(uow_factory, "one", "two")
    async with uow_factory() as uow:
        await uow.connector.set_opted_in(C1, "H1", True)
        await uow.connector.add_route(Route(first, "H1", C1, at(3), 1, "you helped"))
        await uow.connector.add_route(Route(second, "H1", C1, at(4), 2, "you listed"))
        await uow.connector.add_route(Route(second, "H2", C1, at(4), 2, "you listed"))
        assert await uow.connector.mark_offered(first, "H1", at(5)) is True
        assert await uow.connector.mark_offered(first, "H1", at(6)) is False
        assert await uow.connector.mark_offered(first, "H9", at(6)) is False
        assert await uow.connector.decline(second, "H1", at(7)) is True
        assert await uow.connector.decline(second, "H1", at(8)) is True  # already; kept
        assert await uow.connector.decline(second, "H9", at(8)) is False
        for ask_id, giver in ((first, "H1"), (second, "H2")):
            give = make_give(giver, "A1", at(9), ask_id=ask_id, source=GiveSource.RESOLVE)
            await uow.gives.add(give)
        await uow.commit()
    async with uow_factory() as uow:
        routes = await uow.connector.routes_of(C1, "H1")
        assert [(r.ask_id, r.round, r.reason) for r in routes] == [
            (first, 1, "you helped"),
            (second, 2, "you listed"),
        ]
        assert routes[0].offered_at == at(5) and routes[1].declined_at == at(7)
        assert [r.member_id for r in await uow.connector.routes_for(second)] == ["H1", "H2"]
        assert await uow.connector.connections(C1, at(8), at(10)) == 1  # H2 never offered
        assert await uow.connector.connections(C1, at(10), at(20)) == 0
        standing = await uow.connector.standing(C1, ["H1"], T0)
        assert standing["H1"].last_routed_at == at(4)


async def test_forget_removes_the_members_connector_data(uow_factory: UnitOfWorkFactory) -> None:
    [ask_id] = await add_asks(uow_factory, "one")
    async with uow_factory() as uow:
        await uow.connector.set_interests(C1, "U1", [("rust", ["rust"])])
        await uow.connector.set_opted_in(C1, "U1", True)
        await uow.connector.add_route(Route(ask_id, "U1", C1, at(3), 1, "why"))
        await uow.connector.add_route(Route(ask_id, "U2", C1, at(3), 1, "why"))
        await uow.connector.forget(C1, "U1")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.connector.interests(C1, "U1") == []
        assert await uow.connector.opted_in(C1, "U1") is None
        assert await uow.connector.routes_of(C1, "U1") == []
        assert await uow.connector.interested(C1, ["rust"], 10) == []
        assert [r.member_id for r in await uow.connector.routes_for(ask_id)] == ["U2"]


# The index itself, on the real databases.


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_the_index_is_kept_by_the_database_for_every_process(
    storage: Backend, processes: list[UnitOfWorkFactory]
) -> None:
    """An ask written through one process is found at once through another, and so is a
    give confirmed later: nothing is cached in a process."""
    async with processes[0]() as uow:
        await add_communities(uow)
        ask = await uow.asks.add(make_ask(1, text="Sealed secrets in kubernetes"))
        await uow.commit()
    assert [a for a, _, _ in await search(processes[1], ["secrets"])] == [ask.id]
    async with processes[0]() as uow:
        give = make_give("G1", "U1", at(3), ask_id=ask.id, source=GiveSource.RESOLVE)
        await uow.gives.add(give)
        await uow.commit()
    [(_, _, helped)] = await search(processes[1], ["secrets"])
    assert helped == (("G1", True),)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_routing_is_claimed_once_across_processes(
    storage: Backend, processes: list[UnitOfWorkFactory]
) -> None:
    [ask_id] = await add_asks(storage.uow_factory, "one")
    async with storage.uow_factory() as uow:
        await uow.connector.schedule(C1, ask_id, at(2))
        await uow.commit()

    async def take(uow_factory: UnitOfWorkFactory) -> bool:
        async with uow_factory() as uow:
            taken = await uow.connector.claim(ask_id, at(3))
            await uow.commit()
        return taken

    taken = await asyncio.gather(*(take(processes[n % 2]) for n in range(6)))
    assert sorted(taken) == [False] * 5 + [True]


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_the_index_is_kept_by_triggers_at_head(storage: Backend) -> None:
    """A later revision that rebuilds `asks` on SQLite must create them again."""
    assert storage.url is not None
    sql = (
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'asks'"
        if storage.name == "sqlite"
        else "SELECT tgname FROM pg_trigger WHERE tgrelid = 'asks'::regclass AND NOT tgisinternal"
    )
    engine = make_engine(storage.url)
    try:
        async with engine.connect() as conn:
            names = sorted((await conn.execute(text(sql))).scalars())
    finally:
        await engine.dispose()
    expected = (
        ["ask_search_delete", "ask_search_insert", "ask_search_update"]
        if storage.name == "sqlite"
        else ["ask_search_sync"]
    )
    assert names == expected
