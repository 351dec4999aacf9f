"""Faults the core tells apart from bugs, and the patience it has with them.

`StorageUnavailable` is what storage raises when the database is unreachable or
locked (PostgreSQL stopped or restarting, SQLite's write lock held by another
process): nothing of the unit of work was kept, and the same work can simply run
again later. Anything else that escapes a unit of work is a bug.

`Patience` is the bounded wait for such a fault to pass: capped exponential
backoff up to a deadline (two minutes by default, well inside a Discord
interaction token's 15 minutes and a Slack `response_url`'s 30).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


class StorageUnavailable(Exception):
    """The database could not be reached or was locked; nothing was saved."""


Sleep = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]


@dataclass(frozen=True)
class Patience:
    """How long to keep retrying work that met `StorageUnavailable`."""

    total: float = 120.0  # seconds, from the first attempt
    first: float = 0.25  # the first pause; each next one doubles …
    cap: float = 8.0  # … up to this
    sleep: Sleep = field(default=asyncio.sleep, compare=False)
    monotonic: Monotonic = field(default=time.monotonic, compare=False)

    async def retry(
        self, work: Callable[[], Awaitable[T]], on_wait: Callable[[int], None] | None = None
    ) -> T:
        """Run `work`, again after each pause while it raises StorageUnavailable; the
        last StorageUnavailable is raised once `total` has passed. `on_wait` is told
        the attempt number before each pause."""
        deadline = self.monotonic() + self.total
        pause = self.first
        attempt = 0
        while True:
            attempt += 1
            try:
                return await work()
            except StorageUnavailable:
                left = deadline - self.monotonic()
                if left <= 0:
                    raise
                if on_wait is not None:
                    on_wait(attempt)
                await self.sleep(min(pause, left))
                pause = min(pause * 2, self.cap)
