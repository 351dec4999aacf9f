"""Per-platform send rates: a token bucket in front of each adapter.

Platforms answer 429 when a bot sends faster than they allow. Pacing below their
limit keeps that rare; when it happens anyway, `hold` stops the whole platform for
its Retry-After, since every message would meet the same limit. Time and sleeping
are injected so tests and the console never wait on the wall clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    """`rate` tokens a second, up to `burst` saved up; `rate` 0 means no limit."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = self.burst
        self._stamp = monotonic()
        self._held_until = 0.0

    def _refill(self) -> float:
        now = self._monotonic()
        if now > self._stamp:  # during a hold the stamp lies ahead: nothing accrues
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
        return now

    def wait_time(self) -> float:
        """Seconds until a token is free (0: now)."""
        if self.rate <= 0:
            return max(0.0, self._held_until - self._monotonic())
        now = self._refill()
        held = max(0.0, self._held_until - now)
        return max(held, (1.0 - self._tokens) / self.rate if self._tokens < 1.0 else 0.0)

    async def take(self, max_wait: float | None = None) -> bool:
        """Wait for a token and spend it. With `max_wait`, give up (False) as soon as
        the wait would be longer, also when a hold lengthens it while waiting."""
        while (delay := self.wait_time()) > 0:
            if max_wait is not None and delay > max_wait:
                return False
            await self._sleep(delay)
        if self.rate > 0:
            self._tokens -= 1.0
        return True

    def hold(self, seconds: float) -> None:
        """The platform said stop for `seconds`: nobody sends until then."""
        now = self._refill()
        self._held_until = max(self._held_until, now + seconds)
        # Nothing saved survives a hold and nothing accrues during it: one send is
        # allowed when it ends, then the rate resumes.
        self._tokens = 1.0
        self._stamp = self._held_until
