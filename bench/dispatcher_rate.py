"""The dispatcher against a rate-limited platform: queued DMs delivered per second.

A fake platform on loopback (aiohttp) accepts `--rate` messages a second — a token
bucket with a small burst — and answers 429 with a `Retry-After` (seconds) beyond it;
`--fail-rate` makes it answer some 503s at random (seeded) too. It counts each message
by the id in its text, so losses and duplicates show. The DMs are queued in a real
database (a new SQLite file, or `--database-url`) and sent by `bot.dispatch.Dispatcher`
with a token bucket at the platform's rate, drained until nothing is pending.

Baseline, measured in the same run against the same platform: a bare loop that sends
straight to it through a token bucket (no database, no outbox).

"Allowed" is what the platform would take over the time from the first send to the last
delivery: its burst, then `--rate` a second. Target (issue): 10,000 DMs at ≥ 90 % of
the allowed rate, 0 lost, 0 duplicated. Exits non-zero when a message is lost or
duplicated.

    python -m bench.dispatcher_rate [--rate 50] [--burst 5] [--messages 10000]
        [--fail-rate 0] [--baseline 1000] [--batch N] [--database-url URL] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import random
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import func, select

from bot.clock import SystemClock
from bot.dispatch import Dispatcher
from bot.domain import MessageRef
from bot.limits import Limit, Limiter
from bot.messages import (
    Delivered,
    Delivery,
    Message,
    RetryAfter,
    ToMember,
    Undeliverable,
    text,
)
from bot.ports import OutboxItem, UnitOfWork, UnitOfWorkFactory
from bot.service import PayForward
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import outbox
from storage.uow import unit_of_work_factory

PLATFORM = "bench"
CID = f"{PLATFORM}:1"
QUEUE_BATCH = 1000  # messages queued per transaction
IN_FLIGHT = 16  # the bare loop's concurrency, as the dispatcher's default
ID = re.compile(r"#(\d+)")


@dataclass
class Tally:
    """What the platform saw in one phase."""

    delivered: Counter[int] = field(default_factory=Counter)  # message id → times
    throttled: int = 0  # 429s
    failed: int = 0  # 5xx
    first: float | None = None  # first request (monotonic)
    last: float | None = None  # last delivery (monotonic)

    @property
    def span(self) -> float:
        return (self.last or 0.0) - (self.first or 0.0)

    def rate(self) -> float:
        unique = len(self.delivered)
        return unique / self.span if self.span > 0 else 0.0

    def share(self, rate: float, burst: float) -> float:
        """Delivered as a share of what the platform allowed over the span: its burst
        (full at the start) and then `rate` a second."""
        return len(self.delivered) / (burst + rate * self.span)


class FakePlatform:
    """`rate` messages a second with `burst` saved up; 429 with Retry-After beyond."""

    def __init__(self, rate: float, burst: float, fail_rate: float, seed: int) -> None:
        self.rate = rate
        self.burst = burst
        self.fail_rate = fail_rate
        self._rng = random.Random(seed)
        self._tokens = burst
        self._stamp = time.monotonic()
        self._next_ts = 0
        self.tally = Tally()

    def reset(self) -> Tally:
        done, self.tally = self.tally, Tally()
        return done

    def _admit(self, now: float) -> float:
        """0 when the request may go; otherwise the seconds until it could."""
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate

    async def dm(self, request: web.Request) -> web.Response:
        body = await request.json()
        now = time.monotonic()
        tally = self.tally
        if tally.first is None:
            tally.first = now
        wait = self._admit(now)
        if wait > 0:
            tally.throttled += 1
            return web.json_response(
                {"ok": False, "error": "rate_limited"},
                status=429,
                # Whole milliseconds, rounded up: "0.000" would read as no Retry-After.
                headers={"Retry-After": f"{math.ceil(wait * 1000) / 1000:.3f}"},
            )
        if self.fail_rate and self._rng.random() < self.fail_rate:
            tally.failed += 1  # counts against the rate, like a real platform's
            return web.json_response({"ok": False, "error": "internal"}, status=503)
        match = ID.search(body["text"])
        if match is None:
            return web.json_response({"ok": False, "error": "no id"}, status=400)
        tally.delivered[int(match.group(1))] += 1
        tally.last = now
        self._next_ts += 1
        return web.json_response({"ok": True, "ts": str(self._next_ts)})

    async def start(self) -> tuple[web.AppRunner, str]:
        app = web.Application()
        app.router.add_post("/dm", self.dm)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return runner, f"http://{host}:{port}"


class BenchChat:
    """A minimal ChatAdapter: every message is one POST to the fake platform."""

    platform = PLATFORM

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self._url = base_url + "/dm"

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def _call(self, channel: str, message: Message) -> Delivery:
        try:
            async with self._session.post(
                self._url, json={"channel": channel, "text": message.plain()}
            ) as response:
                if response.status == 200:
                    data: dict[str, Any] = await response.json()
                    return Delivered(MessageRef(channel, data["ts"]))
                if response.status == 429:
                    wait = float(response.headers.get("Retry-After", "1"))
                    return RetryAfter(wait, "rate limited", throttled=True)
                if response.status >= 500:
                    return RetryAfter(0.0, f"http {response.status}")
                return Undeliverable(f"http {response.status}")
        except aiohttp.ClientError as error:
            return RetryAfter(0.0, type(error).__name__)

    async def post(self, community_id: str, channel_id: str, message: Message) -> Delivery:
        return await self._call(channel_id, message)

    async def update(self, community_id: str, ref: MessageRef, message: Message) -> Delivery:
        return await self._call(ref.channel_id, message)

    async def send_dm(self, community_id: str, member_id: str, message: Message) -> Delivery:
        return await self._call(f"dm:{member_id}", message)


class TimedUnitsOfWork:
    """A unit-of-work factory that adds up the time spent inside its transactions."""

    def __init__(self, factory: UnitOfWorkFactory) -> None:
        self._factory = factory
        self.seconds = 0.0
        self.count = 0

    def __call__(self) -> UnitOfWork:
        return _Timed(self, self._factory())  # type: ignore[return-value]


class _Timed:
    def __init__(self, timer: TimedUnitsOfWork, inner: UnitOfWork) -> None:
        self._timer = timer
        self._inner = inner
        self._start = 0.0

    async def __aenter__(self) -> UnitOfWork:
        self._start = time.perf_counter()
        return await self._inner.__aenter__()

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await self._inner.__aexit__(*exc)
        finally:
            self._timer.seconds += time.perf_counter() - self._start
            self._timer.count += 1


def dm(number: int, total: int) -> Message:
    return Message((text(f"payforward bench message #{number} of {total}"),))


class OneBudget:
    """The platform's pacing: every DM draws on one budget."""

    def __init__(self, rate: float, burst: float) -> None:
        self.limit = Limit(PLATFORM, rate, burst)

    def limits(self, item: OutboxItem) -> tuple[Limit, ...]:
        return (self.limit,)


async def bare(chat: BenchChat, ids: range, rate: float, burst: float, total: int) -> None:
    """The baseline: each message straight to the platform through the same limiter,
    IN_FLIGHT at once; a 429 holds it, anything else not delivered is retried."""
    limiter = Limiter()
    limits = OneBudget(rate, burst).limits
    queue = list(reversed(ids))

    async def worker() -> None:
        while queue:
            number = queue.pop()
            while True:
                budget = limits(None)  # type: ignore[arg-type]
                while (wait := limiter.wait(budget)) > 0:  # noqa: ASYNC110
                    await asyncio.sleep(wait)
                limiter.take(budget)
                result = await chat.send_dm(CID, f"U{number}", dm(number, total))
                if isinstance(result, Delivered):
                    break
                if isinstance(result, RetryAfter) and result.throttled:
                    limiter.throttled(budget, result.seconds)

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))


async def run(
    messages: int,
    rate: float,
    burst: float,
    fail_rate: float,
    sample: int,
    url: str | None,
    batch: int | None,
) -> int:
    if url is None:
        folder = Path(tempfile.mkdtemp(prefix="payforward-bench-"))
        url = f"sqlite:///{folder / 'bench.db'}"
    await upgrade(url)
    engine = make_engine(url)
    uow = unit_of_work_factory(engine)
    clock = SystemClock()
    platform = FakePlatform(rate, burst, fail_rate, seed=1)
    runner, base_url = await platform.start()
    async with aiohttp.ClientSession() as session:
        chat = BenchChat(session, base_url)

        # Baseline: ids above the dispatcher's, so the phases never mix.
        await bare(chat, range(messages + 1, messages + sample + 1), rate, burst, sample)
        baseline = platform.reset()
        await asyncio.sleep(burst / rate + 0.5)  # let the platform's bucket fill again

        queue_start = time.perf_counter()
        for start in range(1, messages + 1, QUEUE_BATCH):
            async with uow() as u:
                for number in range(start, min(start + QUEUE_BATCH, messages + 1)):
                    await u.outbox.add(
                        CID, ToMember(f"U{number}"), dm(number, messages), clock.now()
                    )
                await u.commit()
        queued_in = time.perf_counter() - queue_start

        timed = TimedUnitsOfWork(uow)
        bot = PayForward(timed, clock)
        sizes = {} if batch is None else {"batch": batch}
        pacing = {PLATFORM: OneBudget(rate, burst)}
        dispatcher = Dispatcher(timed, clock, {PLATFORM: chat}, bot, pacing=pacing, **sizes)
        started = time.perf_counter()
        drains = 0
        while True:
            await dispatcher.drain()
            drains += 1
            async with uow() as u:
                left = await u.outbox.pending_count()
                now = clock.now()
                due = await u.outbox.next_due(now)
            if left == 0:
                break
            pause = 0.01 if due is None else (due - now).total_seconds()
            await asyncio.sleep(min(max(pause, 0.0), 1.0))
        wall = time.perf_counter() - started
        tally = platform.reset()
    await runner.cleanup()

    async with engine.connect() as conn:
        by_status = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        counts = {status: n for status, n in await conn.execute(by_status)}
    await engine.dispose()

    expected = set(range(1, messages + 1))
    unique = set(tally.delivered) & expected
    strays = set(tally.delivered) - expected
    lost = len(expected - unique)
    duplicated = sum(n - 1 for n in tally.delivered.values() if n > 1)
    achieved = tally.rate()
    share = tally.share(rate, burst)
    print(
        f"dispatcher rate on {engine.dialect.name}: {messages} DMs to {messages} members,"
        f" platform allows {rate:g}/s (burst {burst:g}), fail rate {fail_rate:.0%}"
    )
    print(f"  queued in             {queued_in:8.1f} s ({messages / queued_in:.0f}/s)")
    print(
        f"  achieved              {achieved:8.1f} msg/s = {share:.1%} of allowed   (target ≥ 90 %)"
    )
    print(
        f"  first send→last dlvr  {tally.span:8.1f} s   (drain loop {wall:.1f} s, {drains} drains)"
    )
    print(
        f"  in transactions       {timed.seconds:8.1f} s   ({timed.count} claims, renewals"
        " and recordings, one per delivery; sends go on meanwhile)"
    )
    print(f"  429s seen             {tally.throttled:8d}")
    print(f"  5xx seen              {tally.failed:8d}")
    print(f"  delivered unique      {len(unique):8d} of {messages} queued")
    print(f"  lost                  {lost:8d}")
    print(f"  duplicated            {duplicated:8d}")
    if strays:
        print(f"  unexpected ids        {len(strays):8d}")
    print(f"  outbox afterwards     {counts}")
    print(
        f"  baseline: bare token-bucket loop, {sample} DMs, no database:"
        f" {baseline.rate():.1f} msg/s = {baseline.share(rate, burst):.1%} of allowed,"
        f" 429s {baseline.throttled}, 5xx {baseline.failed}"
        f"  → dispatcher at {share / baseline.share(rate, burst):.0%} of it"
    )
    return 1 if lost or duplicated or strays else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=50.0, help="messages/s the platform allows")
    parser.add_argument(
        "--burst", type=float, help="messages the platform lets through at once (default rate/10)"
    )
    parser.add_argument("--messages", type=int, help="DMs to queue (default 10,000)")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="share of 503 answers")
    parser.add_argument("--baseline", type=int, help="DMs the bare loop sends (default 1,000)")
    parser.add_argument("--database-url", help="an empty database; default: a new SQLite file")
    parser.add_argument("--batch", type=int, help="the dispatcher's batch (default: its own)")
    parser.add_argument("--quick", action="store_true", help="1,000 messages, 500 for the baseline")
    args = parser.parse_args()
    quick = args.quick
    args.messages = args.messages or (1000 if quick else 10_000)
    args.baseline = args.baseline or (500 if quick else 1000)
    burst = args.burst if args.burst is not None else max(1.0, args.rate / 10)
    logging.basicConfig(level=logging.ERROR)
    code = asyncio.run(
        run(
            args.messages,
            args.rate,
            burst,
            args.fail_rate,
            args.baseline,
            args.database_url,
            args.batch,
        )
    )
    sys.exit(code)


if __name__ == "__main__":
    main()
