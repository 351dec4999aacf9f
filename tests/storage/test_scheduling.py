"""Exactly once on a real database: bot processes sharing one SQLite file or one
PostgreSQL database post each weekly leaderboard once, and a run left by a crash is
taken over once its lease ends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.clock import ManualClock
from bot.dispatch import Dispatcher
from bot.domain import Community
from bot.events import CommandInvoked, MemberInfo
from bot.jobs import LEADERBOARD, LEASE, Jobs, period_of
from bot.ports import UnitOfWorkFactory
from bot.service import PayForward
from payforward.scheduler import Scheduler
from tests.fakes import FakeChat

CID = "test:acme"
TUESDAY = datetime(2026, 11, 24, 10, tzinfo=UTC)
MONDAY = datetime(2026, 11, 30, 9, tzinfo=UTC)


async def a_week_with_help(uow: UnitOfWorkFactory, clock: ManualClock) -> None:
    bot = PayForward(uow, clock)
    for n, (who, command, text) in enumerate(
        [("alice", "ask", "Anyone know py-spy?"), ("alice", "thanks", "<@bob> for the tip")]
    ):
        await bot.handle(
            CommandInvoked(
                event_id=f"e{n}",
                community_id=CID,
                actor=MemberInfo(who),
                channel_id="general",
                command=command,
                text=text,
                mentions={"bob": MemberInfo("bob")},
            )
        )


async def weekly_posts(uow: UnitOfWorkFactory, clock: ManualClock) -> list[str]:
    chat = FakeChat()
    await Dispatcher(uow, clock, {"test": chat}, PayForward(uow, clock)).drain()
    return [m.plain() for m in chat.to("post", "general") if "Pay-it-forward week" in m.plain()]


async def test_schedulers_in_two_processes_post_the_week_once(
    processes: list[UnitOfWorkFactory],
) -> None:
    clock = ManualClock(TUESDAY)
    await a_week_with_help(processes[0], clock)
    clock.set(MONDAY)
    schedulers = [
        Scheduler(Jobs(uow), uow, clock, lambda: None) for uow in processes for _ in range(2)
    ]

    await asyncio.gather(*(s.fire(CID) for s in schedulers), *(s.tick() for s in schedulers))
    for scheduler in schedulers:
        await scheduler.stop()

    [post] = await weekly_posts(processes[0], clock)
    assert "1. @bob" in post


async def test_a_run_left_by_a_crash_is_taken_over_after_its_lease(
    processes: list[UnitOfWorkFactory],
) -> None:
    clock = ManualClock(TUESDAY)
    await a_week_with_help(processes[0], clock)
    period = period_of(LEADERBOARD, Community(CID), MONDAY)
    async with processes[0]() as uow:  # claimed, then the process died before posting
        assert await uow.jobs.claim(CID, LEADERBOARD, period, "dead", MONDAY, MONDAY + LEASE)
        await uow.commit()
    survivor = Jobs(processes[1])

    await survivor.run_due(MONDAY + LEASE - timedelta(seconds=1))
    assert await weekly_posts(processes[1], clock) == []

    clock.set(MONDAY + LEASE)
    await survivor.run_due(clock.now())
    await Jobs(processes[0]).run_due(clock.now())
    assert len(await weekly_posts(processes[1], clock)) == 1
