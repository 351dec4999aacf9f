"""Core throughput: asks, offers and thanks handled per second through the
use cases (PayForward.handle, one unit of work each; no rendering, no sending).

Baseline, measured in the same run on the same engine: the cheapest possible durable
event — one transaction that records the event id and commits.

    python -m bench.core_throughput [--asks 2000] [--concurrency 1] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import ManualClock
from bot.domain import MessageRef
from bot.events import CommandInvoked, MemberInfo, ReactionAdded
from bot.service import PayForward
from payforward.bootstrap import tune_garbage_collector
from storage.db import make_engine
from storage.migrate import upgrade
from storage.uow import unit_of_work_factory

CID = "bench:acme"


async def in_flight(coros: list[Awaitable[object]], concurrency: int) -> float:
    """Seconds to run them all with at most `concurrency` at a time, as events arrive
    from a busy community."""
    gate = asyncio.Semaphore(concurrency)

    async def one(coro: Awaitable[object]) -> None:
        async with gate:
            await coro

    start = time.perf_counter()
    await asyncio.gather(*(one(c) for c in coros))
    return time.perf_counter() - start


async def run(asks: int, url: str | None, concurrency: int) -> None:
    if url is None:
        folder = Path(tempfile.mkdtemp(prefix="payforward-bench-"))
        url = f"sqlite:///{folder / 'bench.db'}"
    await upgrade(url)
    engine = make_engine(url)
    uow = unit_of_work_factory(engine)
    bot = PayForward(uow, ManualClock(datetime(2026, 11, 24, 10, tzinfo=UTC)))
    members = [MemberInfo(f"U{i}", f"member{i}") for i in range(200)]
    tune_garbage_collector()  # as `payforward run` does once it has started

    async def bare(i: int) -> None:
        async with uow() as u:
            await u.events.first_time(CID, f"base{i}", datetime.now(UTC))
            await u.commit()

    baseline = asks / await in_flight([bare(i) for i in range(asks)], concurrency)

    def member(i: int) -> MemberInfo:
        return members[i % len(members)]

    def ask(i: int) -> CommandInvoked:
        return CommandInvoked(
            event_id=f"a{i}",
            community_id=CID,
            actor=member(i),
            channel_id="C1",
            command="ask",
            text=f"question {i}",
        )

    def offer(i: int) -> ReactionAdded:
        return ReactionAdded(
            event_id=f"r{i}",
            community_id=CID,
            actor=member(i + 7),
            channel_id="C1",
            message=MessageRef("C1", f"ts{i + 1}"),
            emoji="raising_hand",
        )

    def thanks(i: int) -> CommandInvoked:
        helper = member(i + 7)
        return CommandInvoked(
            event_id=f"t{i}",
            community_id=CID,
            actor=member(i),
            channel_id="C1",
            command="thanks",
            text=f"<@{helper.member_id}> thanks!",
            mentions={helper.member_id: helper},
        )

    timings = {"ask": await in_flight([bot.handle(ask(i)) for i in range(asks)], concurrency)}
    # Give every card a message ref, as the dispatcher does once it has posted it.
    async with uow() as u:
        for number in range(1, asks + 1):
            posted = await u.asks.by_number(CID, number)
            assert posted is not None
            await u.asks.save(replace(posted, message=MessageRef("C1", f"ts{number}")))
        await u.commit()
    for kind, make in (("offer", offer), ("thanks", thanks)):
        timings[kind] = await in_flight([bot.handle(make(i)) for i in range(asks)], concurrency)

    async with uow() as u:
        queued = await u.outbox.pending_count()
    await engine.dispose()
    total = sum(timings.values())
    print(
        f"core throughput on {engine.dialect.name}, {concurrency} in flight"
        f" ({asks} asks, {asks} offers, {asks} thanks)"
    )
    for kind, seconds in timings.items():
        print(f"  {kind:<7} {asks / seconds:8.0f} events/s")
    print(f"  all     {3 * asks / total:8.0f} events/s   (target ≥ 1,000)")
    print(
        f"  baseline: bare event-id transaction {baseline:8.0f} /s"
        f"  → core at {3 * asks / total / baseline:.0%} of it"
    )
    print(f"  queued messages: {queued} (cards, offer DMs, card edits, thanks DMs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--asks", type=int, default=2000)
    parser.add_argument("--database-url", help="an empty database; default: a new SQLite file")
    parser.add_argument("--concurrency", type=int, default=1, help="events in flight at once")
    args = parser.parse_args()
    asyncio.run(run(args.asks, args.database_url, args.concurrency))


if __name__ == "__main__":
    main()
