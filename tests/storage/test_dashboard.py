"""The dashboard's storage: sign-in links and sessions, and its own reads, on SQLite,
PostgreSQL and the in-memory fake alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.domain import GiveSource, GiveStatus, Member
from bot.ports import Route, SignInLink, UnitOfWorkFactory, WebSession
from tests.storage.builders import C1, C2, T0, add_communities, add_gives, at, make_ask, make_give
from tests.storage.conftest import WITH_FAKE

pytestmark = pytest.mark.parametrize("backend", WITH_FAKE, indirect=True)

WEEK = timedelta(weeks=1)


async def test_a_link_is_used_once_and_not_after_it_expires(uow_factory: UnitOfWorkFactory) -> None:
    link = SignInLink(C1, "U1", T0 + timedelta(minutes=15))
    async with uow_factory() as uow:
        await uow.sign_ins.add_link("h1", link, T0)
        await uow.sign_ins.add_link("h2", link, T0)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.sign_ins.link("h1") == link
        assert await uow.sign_ins.link("nope") is None
        assert await uow.sign_ins.links_since(C1, "U1", T0) == 2
        assert await uow.sign_ins.links_since(C1, "U1", T0 + timedelta(seconds=1)) == 0
        assert await uow.sign_ins.use_link("h1", at(0.1))
        assert not await uow.sign_ins.use_link("h1", at(0.1))  # used
        assert not await uow.sign_ins.use_link("h2", T0 + timedelta(minutes=15))  # expired
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.sign_ins.link("h1") == replace(link, used_at=at(0.1))


async def test_sessions_last_until_they_expire_or_end(uow_factory: UnitOfWorkFactory) -> None:
    mine = WebSession("slack", "U1", "csrf-1", at(12))
    other = WebSession("slack", "U2", "csrf-2", at(12))
    async with uow_factory() as uow:
        await uow.sign_ins.add_session("s1", mine, T0)
        await uow.sign_ins.add_session("s1b", mine, T0)
        await uow.sign_ins.add_session("s2", other, T0)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.sign_ins.session("s1", at(11)) == mine
        assert await uow.sign_ins.session("s1", at(12)) is None
        await uow.sign_ins.end_session("s1")
        assert await uow.sign_ins.session("s1", at(1)) is None
        await uow.sign_ins.end_sessions_of("slack", "U1")
        assert await uow.sign_ins.session("s1b", at(1)) is None
        assert await uow.sign_ins.session("s2", at(1)) == other
        await uow.commit()


async def test_prune_deletes_what_expired(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.sign_ins.add_link("old", SignInLink(C1, "U1", at(1)), T0)
        await uow.sign_ins.add_link("new", SignInLink(C1, "U1", at(3)), T0)
        await uow.sign_ins.add_session("s", WebSession("slack", "U1", "x", at(2)), T0)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.sign_ins.prune(at(2)) == 2
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.sign_ins.link("old") is None
        assert await uow.sign_ins.link("new") is not None


async def test_a_persons_communities_are_those_of_their_platform(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        for cid, member, forgotten in (
            ("discord:1", "42", False),
            ("discord:2", "42", False),
            ("discord:3", "42", True),
            ("discord:4", "43", False),
            ("slack:T1", "42", False),
        ):
            await uow.members.save(Member(cid, member, f"name {member}", forgotten=forgotten))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.dashboard.communities_of("discord", "42") == ["discord:1", "discord:2"]
        assert await uow.dashboard.names("discord:1", ["42", "43", "44"]) == {"42": "name 42"}


async def test_people_helped_counts_distinct_receivers_per_week(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await add_gives(
        uow_factory,
        make_give("U1", "U2", at(1)),
        make_give("U3", "U2", at(2)),  # U2 again: one person helped
        make_give("U1", "U4", at(3)),
        make_give("U1", "U1", at(4)),  # a self-give never counts
        make_give("U1", None, at(5)),  # shared with everyone: nobody in particular
        make_give("U5", "U6", at(6), status=GiveStatus.PENDING),
        make_give("U1", "U2", T0 + WEEK + timedelta(hours=1)),
        make_give("U1", "U2", at(1), community_id=C2),
    )
    weeks = [(T0, T0 + WEEK), (T0 + WEEK, T0 + 2 * WEEK)]
    for _ in range(2):  # the second time, the settled week is read back
        async with uow_factory() as uow:
            assert await uow.dashboard.people_helped(C1, weeks, settled_before=T0 + WEEK) == [2, 1]
            await uow.commit()


async def test_a_members_gives_and_chains(uow_factory: UnitOfWorkFactory) -> None:
    # U1 helped U2; U2 paid it forward to U3 (follows the first give); U3 to U4.
    first, other = await add_gives(
        uow_factory, make_give("U1", "U2", at(1)), make_give("U9", "U1", at(2))
    )
    [second] = await add_gives(
        uow_factory, make_give("U2", "U3", at(3), follows=first.id, depth=1, forward=True)
    )
    [third] = await add_gives(
        uow_factory, make_give("U3", "U4", at(4), follows=second.id, depth=2, forward=True)
    )
    async with uow_factory() as uow:
        given, received = await uow.dashboard.member_gives(C1, "U1", T0, at(10))
        assert (given, received) == ([at(1)], [at(2)])
        assert await uow.dashboard.member_gives(C1, "U1", at(1.5), at(10)) == ([], [at(2)])
        assert set(await uow.dashboard.member_chain_ends(C1, "U1", 10)) == {second.id}
        assert set(await uow.dashboard.member_chain_ends(C1, "U2", 10)) == {second.id, third.id}
        assert set(await uow.dashboard.member_chain_ends(C1, "U4", 10)) == {third.id}
        assert await uow.dashboard.member_chain_ends(C1, "U9", 10) == []
    assert other.id not in (second.id, third.id)


async def test_channels_are_where_asks_were_posted_newest_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await add_communities(uow, C1)
        await uow.asks.add(make_ask(1, channel_id="C-old"))
        await uow.asks.add(make_ask(2, channel_id="C-new"))
        await uow.asks.add(make_ask(3, channel_id="C-old", created_at=at(0.5)))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.dashboard.channels(C1, 10) == ["C-new", "C-old"]
        assert await uow.dashboard.channels(C1, 1) == ["C-new"]


async def test_connections_per_week_keep_a_finished_week_as_counted(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """A week's connections are the asks resolved with a give from a member the
    connector routed the ask to and who offered; a finished week is counted once."""
    async with uow_factory() as uow:
        await add_communities(uow, C1, C2)
        asks = [await uow.asks.add(make_ask(n, created_at=at(0.1))) for n in (1, 2, 3)]
        other = await uow.asks.add(make_ask(1, community_id=C2, created_at=at(0.1)))
        for ask, member in ((asks[0], "H1"), (asks[1], "H2"), (asks[2], "H3"), (other, "H1")):
            await uow.connector.add_route(Route(ask.id, member, ask.community_id, at(1), 1, "-"))
        for ask, member in ((asks[0], "H1"), (asks[2], "H3"), (other, "H1")):
            await uow.connector.mark_offered(ask.id, member, at(2))
        await uow.commit()
    await add_gives(
        uow_factory,
        make_give("H1", "U1", at(3), ask_id=asks[0].id, source=GiveSource.RESOLVE),
        make_give("H2", "U1", at(3), ask_id=asks[1].id, source=GiveSource.RESOLVE),  # no offer
        make_give("H9", "U1", at(3), ask_id=asks[1].id, source=GiveSource.RESOLVE),  # not routed
        make_give("H3", "U1", at(1) + WEEK, ask_id=asks[2].id, source=GiveSource.RESOLVE),
        make_give("H1", "U1", at(3), ask_id=other.id, community_id=C2, source=GiveSource.RESOLVE),
    )
    weeks = [(T0, T0 + WEEK), (T0 + WEEK, T0 + 2 * WEEK)]
    async with uow_factory() as uow:
        assert await uow.dashboard.connections_per_week(C1, weeks, T0 + WEEK) == [1, 1]
        assert await uow.dashboard.connections_per_week(C1, [], T0 + WEEK) == []
        await uow.commit()
    async with uow_factory() as uow:  # both helpers forgotten: their routes are gone
        await uow.connector.forget(C1, "H1")
        await uow.connector.forget(C1, "H3")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.dashboard.connections_per_week(C1, weeks, T0 + WEEK) == [1, 0]
        assert await uow.dashboard.connections_per_week(C2, weeks, T0 + WEEK) == [1, 0]
