"""Virtual time for the dispatcher and its limiter: sleeps that wait on a fake clock,
never the wall's."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from bot.clock import ManualClock

T = TypeVar("T")

START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


async def settle() -> None:
    """Let every task that can run, run (fakes never wait on anything real)."""
    for _ in range(100):
        await asyncio.sleep(0)


class VirtualTime:
    """Monotonic seconds and a `sleep` that wait on virtual time: a
    sleeper wakes only when `advance` or `run` moves the clock to its wake-up. A
    ManualClock (the World's, say) moves along, so the dispatcher's `now` agrees; moving
    that clock directly moves this time too."""

    def __init__(self, clock: ManualClock | None = None) -> None:
        self.clock = clock or ManualClock(START)
        self._seen = self.clock.now()
        self._now = 0.0  # kept as a float: timedelta would round wake-ups to microseconds
        self.sleeps: list[float] = []  # every sleep asked for, in seconds
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        if (moved := self.clock.now() - self._seen) != timedelta(0):
            self._now += moved.total_seconds()
            self._seen = self.clock.now()
        return self._now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        now = self.monotonic()
        # Time always moves, as it does for a real sleep, however small the wait: a
        # bucket a rounding error short of a token would otherwise wait forever.
        at = max(now + seconds, math.nextafter(now, math.inf))
        wake = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (at, next(self._seq), wake))
        await wake

    def advance(self, seconds: float) -> None:
        """Move time on and wake whoever is due by then."""
        now = self.monotonic() + seconds
        self.clock.advance(timedelta(seconds=seconds))
        self._seen, self._now = self.clock.now(), now
        while self._sleepers and self._sleepers[0][0] <= now:
            _, _, wake = heapq.heappop(self._sleepers)
            if not wake.done():  # a sleep given up on (cancelled) wakes nobody
                wake.set_result(None)

    async def run_for(self, seconds: float) -> None:
        """Let `seconds` pass, waking each sleeper at its own moment on the way."""
        end = self.monotonic() + seconds
        while True:
            await settle()
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)  # cancelled sleeps
            if not self._sleepers or self._sleepers[0][0] > end:
                break
            self.advance(max(0.0, self._sleepers[0][0] - self.monotonic()))
        self.advance(end - self.monotonic())
        await settle()

    async def run(self, awaitable: Awaitable[T]) -> T:
        """Await it, moving time to the next wake-up whenever everything sleeps."""
        task = asyncio.ensure_future(awaitable)
        while True:
            await settle()
            if task.done():
                return task.result()
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)  # cancelled sleeps
            if not self._sleepers:
                task.cancel()
                raise AssertionError("stuck: nothing runs and nobody sleeps")
            self.advance(self._sleepers[0][0] - self.monotonic())
