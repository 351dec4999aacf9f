"""A cups round, exactly once on a real database: several processes sharing one SQLite
file or one PostgreSQL database pair and introduce a round once, and a round left
halfway by a crash is finished, not paired again, once its lease ends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot import cups
from bot.clock import ManualClock
from bot.dispatch import Dispatcher
from bot.events import CommandInvoked, MemberInfo
from bot.jobs import CUPS, LEASE, Jobs, period_of
from bot.ports import UnitOfWorkFactory
from bot.service import PayForward
from payforward.scheduler import Scheduler
from tests.fakes import FakeChat

CID = "test:acme"
TUESDAY = datetime(2026, 11, 24, 10, tzinfo=UTC)
MONDAY = datetime(2026, 11, 30, 10, tzinfo=UTC)
ROUND = "2026-11-30"
MEMBERS = ("ana", "bo", "cy", "dee", "eve", "fay")


async def community_with_cups(uow: UnitOfWorkFactory, clock: ManualClock) -> None:
    bot = PayForward(uow, clock)
    lines = [("admin", "payforward", "config cups every 1w mon 10:00")]
    lines += [(m, "payforward", "optin cups") for m in MEMBERS]
    lines += [("ana", "ask", "How do I write pytest fixtures?")]
    for n, (who, command, text) in enumerate(lines):
        await bot.handle(
            CommandInvoked(
                event_id=f"e{n}",
                community_id=CID,
                actor=MemberInfo(who, is_admin=who == "admin"),
                channel_id="general",
                command=command,
                text=text,
            )
        )


async def intros(uow: UnitOfWorkFactory, clock: ManualClock) -> list[str]:
    chat = FakeChat()
    await Dispatcher(uow, clock, {"test": chat}, PayForward(uow, clock)).drain()
    return sorted(
        s.to for s in chat.sent if s.kind == "dm" and "Time for a cup" in s.message.plain()
    )


async def cups_stored(uow: UnitOfWorkFactory) -> int:
    async with uow() as work:
        return len(await work.cups.round_page(CID, ROUND, 0, 100))


async def test_processes_run_a_round_once(processes: list[UnitOfWorkFactory]) -> None:
    clock = ManualClock(TUESDAY)
    await community_with_cups(processes[0], clock)
    clock.set(MONDAY)
    jobs = [Jobs(uow, owner=f"process {n}") for n, uow in enumerate(processes)]
    schedulers = [
        Scheduler(j, uow, clock, lambda: None) for j, uow in zip(jobs, processes, strict=True)
    ]

    await asyncio.gather(
        *(j.run_due(MONDAY) for j in jobs),
        *(s.fire(CID) for s in schedulers),
        *(j.run(CUPS, MONDAY) for j in jobs),
    )
    for scheduler in schedulers:
        await scheduler.stop()

    assert await intros(processes[1], clock) == sorted(MEMBERS)
    assert await cups_stored(processes[0]) == 3


async def test_a_round_left_after_pairing_is_introduced_not_paired_again(
    processes: list[UnitOfWorkFactory],
) -> None:
    clock = ManualClock(TUESDAY)
    await community_with_cups(processes[0], clock)
    async with processes[0]() as uow:
        community = await uow.communities.get(CID)
        assert community is not None
        period = period_of(CUPS, community, MONDAY)
        claim = await uow.jobs.claim(CID, CUPS, period, "dead", MONDAY, MONDAY + LEASE)
        assert claim is not None
        await uow.commit()
    async with processes[0]() as uow:  # the first step, then the process died
        cursor = await cups.round_step(uow, community, period, MONDAY, None)
        assert cursor == "0" and await uow.jobs.progress(claim, cursor, MONDAY + LEASE)
        await uow.commit()
    survivor = Jobs(processes[1])

    await survivor.run_due(MONDAY + LEASE - timedelta(seconds=1))
    clock.set(MONDAY + LEASE)
    assert await intros(processes[1], clock) == []

    await survivor.run_due(MONDAY + LEASE)
    await Jobs(processes[0]).run_due(MONDAY + LEASE)

    assert await intros(processes[1], clock) == sorted(MEMBERS)
    assert await cups_stored(processes[1]) == 3
