"""What is decided when a give is confirmed, seen through the commands that confirm it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot import copy
from bot.domain import Give
from bot.report import weekly_report
from bot.weeks import week_of
from tests.unit.conftest import CID, World, plain


def gives(world: World) -> list[Give]:
    return sorted(world.db.state.gives.values(), key=lambda g: g.id)


async def test_a_first_give_between_two_people_is_forward(world: World) -> None:
    await world.cmd("bob", "thanks", "<@ann> tip")
    [give] = gives(world)
    assert give.forward and give.follows is None and give.depth == 0


async def test_helping_back_someone_who_helped_you_is_not_forward(world: World) -> None:
    await world.cmd("bob", "thanks", "<@ann> tip")  # ann helped bob
    world.clock.advance(timedelta(hours=1))
    await world.cmd("ann", "thanks", "<@bob> tip back")  # bob helped ann: a return
    assert [g.forward for g in gives(world)] == [True, False]
    world.clock.advance(timedelta(hours=1))
    await world.cmd("bob", "thanks", "<@ann> again")  # ann helps bob again: bob had helped ann
    assert gives(world)[-1].forward is False


async def test_a_reported_give_is_judged_when_it_is_confirmed(world: World) -> None:
    await world.cmd("ann", "give", "<@bob> reviewed the slides")  # ann→bob, pending
    world.clock.advance(timedelta(hours=1))
    await world.cmd("ann", "thanks", "<@bob> tip")  # meanwhile bob→ann, confirmed
    report = next(g for g in gives(world) if g.giver_id == "ann")
    world.clock.advance(timedelta(hours=1))
    await world.press("bob", copy.CONFIRM_GIVE, str(report.id))
    confirmed = world.db.state.gives[report.id]
    assert confirmed.confirmed_at == world.clock.now() and confirmed.forward is False


async def test_help_paid_forward_links_to_the_help_received(world: World) -> None:
    await world.cmd("bob", "thanks", "<@ann> tip")  # ann → bob
    world.clock.advance(timedelta(days=1))
    await world.cmd("cat", "thanks", "<@bob> fix")  # bob → cat
    world.clock.advance(timedelta(days=1))
    await world.cmd("dan", "thanks", "<@cat> idea")  # cat → dan
    first, second, third = gives(world)
    assert (second.follows, second.depth) == (first.id, 1)
    assert (third.follows, third.depth) == (second.id, 2)
    async with world.db.uow() as uow:
        community = await uow.communities.get(CID)
        assert community is not None
        report = await weekly_report(
            uow, community, *week_of(world.clock.now(), "UTC"), public=True
        )
    assert [c.members for c in report.chains] == [("ann", "bob", "cat", "dan")]


async def test_help_returned_is_no_chain_link(world: World) -> None:
    await world.cmd("bob", "thanks", "<@ann> tip")  # ann → bob
    await world.cmd("ann", "thanks", "<@bob> back")  # bob → ann: not paid forward to someone new
    assert gives(world)[-1].follows is None


async def test_help_received_long_ago_starts_no_chain(world: World) -> None:
    await world.cmd("bob", "thanks", "<@ann> tip")
    world.clock.advance(timedelta(weeks=13))
    await world.cmd("cat", "thanks", "<@bob> fix")
    assert gives(world)[-1].follows is None


async def test_the_week_ends_at_midnight_in_the_community_timezone(world: World) -> None:
    await world.cmd("admin", "payforward", "config timezone Europe/Berlin")
    world.clock.set(datetime(2026, 11, 29, 22, 30, tzinfo=UTC))  # Sunday 23:30 in Berlin
    await world.cmd("bob", "thanks", "<@ann> late sunday")
    world.clock.set(datetime(2026, 11, 29, 23, 30, tzinfo=UTC))  # Monday 00:30 in Berlin
    board = plain((await world.cmd("carol", "payforward", "leaderboard"))[0])
    assert "No confirmed help yet this week" in board and "@ann" not in board.split("Asks")[0]
    world.clock.set(datetime(2026, 11, 29, 22, 59, tzinfo=UTC))  # Sunday 23:59 in Berlin
    board = plain((await world.cmd("carol", "payforward", "leaderboard"))[0])
    assert "1. @ann — helped 1 · forward 1 · gives 1" in board
    assert "23–29 Nov 2026" in board
