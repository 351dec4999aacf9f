"""The weekly post and its exactly-once claims: on time in local time, once per week,
caught up after downtime, resumed after a crash, and runnable by hand."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from bot.domain import Community
from bot.jobs import LEADERBOARD, PROMPTS, Jobs, Result, period_of
from tests.unit.conftest import CID, START, World, utc

MONDAY = utc(2026, 11, 30, 9)  # the first Monday 09:00 after the World's start


def weekly_posts(world: World, channel: str = "general") -> list[tuple[datetime, str]]:
    return [
        (at, text) for at, text in world.sent_at("post", channel) if "Pay-it-forward week" in text
    ]


async def a_week_with_help(world: World) -> None:
    """alice asks, bob offers, alice thanks bob: bob helped one person this week."""
    ask = await world.ask("alice")
    await world.react("bob", ask)
    await world.cmd("alice", "thanks", "<@bob> for the py-spy tip")


async def test_the_weekly_post_goes_out_monday_at_nine_once(world: World) -> None:
    await a_week_with_help(world)

    await world.until(timedelta(days=7))

    [(at, post)] = weekly_posts(world)
    assert at == MONDAY
    assert "23–29 Nov 2026" in post
    assert "1. @bob — helped 1 · forward 1 · gives 1" in post
    assert len(weekly_posts(world)) == 1


async def test_an_empty_week_gets_a_warm_nudge(world: World) -> None:
    await a_week_with_help(world)
    await world.until(timedelta(days=14))

    _, second = weekly_posts(world)
    assert second[0] == MONDAY + timedelta(days=7)
    assert "30 Nov – 6 Dec 2026" in second[1]
    assert "A quiet week" in second[1] and "1. @" not in second[1]


async def test_another_process_on_the_same_database_does_not_post_again(world: World) -> None:
    await a_week_with_help(world)
    await world.until(timedelta(days=7))
    other = Jobs(world.db.uow, owner="other")

    ran = await other.run_due(MONDAY + timedelta(minutes=1))
    await world.dispatcher.drain()

    assert [r.result for r in ran if r.job == LEADERBOARD] == [Result.SETTLED]
    assert len(weekly_posts(world)) == 1


async def test_two_schedulers_firing_together_post_once(world: World) -> None:
    await a_week_with_help(world)
    world.clock.set(MONDAY)
    one, two = Jobs(world.db.uow, owner="one"), Jobs(world.db.uow, owner="two")

    await asyncio.gather(one.run_due(MONDAY), two.run_due(MONDAY))
    await world.dispatcher.drain()

    assert len(weekly_posts(world)) == 1


async def test_a_post_missed_by_downtime_is_caught_up_within_a_day(world: World) -> None:
    await a_week_with_help(world)
    world.clock.set(MONDAY + timedelta(hours=23, minutes=59))  # down since Sunday

    await world.jobs.run_due(world.clock.now())
    await world.dispatcher.drain()

    [(at, post)] = weekly_posts(world)
    assert at == MONDAY + timedelta(hours=23, minutes=59) and "@bob" in post


async def test_a_post_missed_by_more_than_a_day_is_skipped(world: World) -> None:
    await a_week_with_help(world)
    world.clock.set(MONDAY + timedelta(hours=24, minutes=1))

    await world.jobs.run_due(world.clock.now())
    await world.dispatcher.drain()

    assert weekly_posts(world) == []


async def test_a_claim_left_by_a_crashed_process_is_taken_over_after_its_lease(
    world: World,
) -> None:
    await a_week_with_help(world)
    community = Community("test:acme")
    period = period_of(LEADERBOARD, community, MONDAY)
    async with world.db.uow() as uow:  # a process claims the run, then dies before posting
        claim = await uow.jobs.claim(
            "test:acme", LEADERBOARD, period, "crashed", MONDAY, MONDAY + timedelta(minutes=5)
        )
        await uow.commit()
    assert claim is not None

    world.clock.set(MONDAY + timedelta(minutes=1))
    await world.jobs.run_due(world.clock.now())
    await world.dispatcher.drain()
    assert weekly_posts(world) == []  # the lease still holds: it might only be slow

    await world.until(timedelta(minutes=10))  # the lease ran out at 09:05
    [(at, _)] = weekly_posts(world)
    assert at == MONDAY + timedelta(minutes=11)

    async with world.db.uow() as uow:  # the crashed process wakes up: its claim is gone
        assert not await uow.jobs.finish(claim, world.clock.now())


async def test_posts_follow_the_community_timezone_across_dst(world: World) -> None:
    world.clock.set(utc(2026, 10, 17, 12))
    await world.cmd("admin", "payforward", "config timezone Europe/Berlin")
    await world.cmd("admin", "payforward", "config channel <#kudos>")

    await world.until(timedelta(days=16))

    assert [at for at, _ in weekly_posts(world, "kudos")] == [
        utc(2026, 10, 19, 7),  # 09:00 CEST
        utc(2026, 10, 26, 8),  # 09:00 CET: the clocks went back on Sunday
        utc(2026, 11, 2, 8),
    ]


async def test_new_york_week_boundaries_and_schedule(world: World) -> None:
    world.clock.set(utc(2026, 10, 30, 12))
    await world.cmd("admin", "payforward", "config timezone America/New_York")
    # Sunday 23:30 in New York is Monday 04:30 UTC: it still belongs to the old week.
    world.clock.set(utc(2026, 11, 2, 4, 30))
    await a_week_with_help(world)

    await world.until(timedelta(days=1))

    [(at, post)] = weekly_posts(world)
    assert at == utc(2026, 11, 2, 14)  # 09:00 EST
    assert "26 Oct – 1 Nov 2026" in post and "@bob" in post


async def test_a_schedule_change_applies_at_once_and_never_posts_a_week_twice(
    world: World,
) -> None:
    told: list[str] = []

    async def listener(community_id: str) -> None:
        told.append(community_id)

    world.bot.on_config = listener
    # No routing 30 minutes after the ask: stopping the clock there would catch up
    # last week's post (Tuesday 08:00 is less than 24 h before), as a real tick would.
    await world.cmd("admin", "payforward", "config connector off")
    await a_week_with_help(world)
    await world.cmd("admin", "payforward", "config leaderboard tue 08:00")
    assert told == ["test:acme", "test:acme"]

    await world.until(timedelta(days=7))  # Tuesday 08:00, not Monday 09:00
    [(at, _)] = weekly_posts(world)
    assert at == utc(2026, 12, 1, 8)

    await world.cmd("admin", "payforward", "config leaderboard wed 09:00")
    await world.until(timedelta(days=1, hours=2))  # Wednesday 09:00: same week reported
    assert len(weekly_posts(world)) == 1


async def test_running_the_job_by_hand_twice_posts_once(world: World) -> None:
    await a_week_with_help(world)
    at = MONDAY + timedelta(hours=3)

    first = await world.jobs.run(LEADERBOARD, at, world.clock.now())
    second = await Jobs(world.db.uow, owner="cli").run(LEADERBOARD, at, world.clock.now())
    await world.dispatcher.drain()

    assert [r.result for r in first] == [Result.DONE]
    assert [r.result for r in second] == [Result.SETTLED]
    assert len(weekly_posts(world)) == 1


async def test_prompts_run_by_hand_respect_prompts_off(world: World) -> None:
    await world.cmd("admin", "payforward", "config prompts off")

    ran = await world.jobs.run(PROMPTS, MONDAY)

    assert [r.result for r in ran] == [Result.OFF]


async def test_no_channel_and_no_asks_means_nothing_to_post_to(world: World) -> None:
    await world.cmd("admin", "payforward", "me")  # the community exists, nothing asked

    ran = await world.jobs.run(LEADERBOARD, MONDAY)

    assert [r.result for r in ran] == [Result.NO_CHANNEL]


async def test_next_due_names_the_first_moment_anything_falls_due(world: World) -> None:
    await world.cmd("admin", "payforward", "me")

    assert await world.jobs.next_due(world.clock.now()) == utc(2026, 11, 27, 15)  # Fri prompts
    assert await world.jobs.next_due(utc(2026, 11, 27, 15)) == MONDAY


async def test_housekeeping_forgets_old_event_ids_sent_messages_and_runs(world: World) -> None:
    await a_week_with_help(world)
    events_then = set(world.db.state.events)

    await world.until(timedelta(days=8))  # the week's post ran on Monday
    assert events_then and not events_then & set(world.db.state.events)  # > 7 days old
    assert any(r.status == "sent" for r in world.db.state.outbox.values())
    assert world.db.state.job_runs

    await world.until(timedelta(days=92))
    sent_long_ago = [
        r
        for r in world.db.state.outbox.values()
        if r.sent_at and r.sent_at < START + timedelta(days=60)
    ]
    assert sent_long_ago == []
    assert (CID, LEADERBOARD, "2026-11-23") not in world.db.state.job_runs
