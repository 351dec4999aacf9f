"""Rate limits keyed the way the platforms key them, and learned from their 429s.

An adapter describes, as data, which limits one send uses: a few `Limit(key, rate,
burst)`, e.g. Slack's `chat.postMessage` budget of the workspace and the one of the
channel posted in. The `Limiter` keeps a token bucket per key, so one workspace's
fan-out never spends another's budget, and a 429 holds only the key it was answered
for, for its Retry-After.

Configured rates are ceilings, not promises: on a 429 a key's rate drops by
`DECREASE` (once per hold: the 429s of sends already on their way count once), and
after `QUIET` seconds without one it climbs back by `RECOVERY` of the ceiling a
second. Several processes sending for the same workspaces each use `share` of every
budget (1/N of N live senders, see the outbox's heartbeat).

Pure: time is injected (`monotonic`), nothing sleeps here; the dispatcher waits.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.ports import OutboxItem

Monotonic = Callable[[], float]

DECREASE = 0.7  # a 429 multiplies the key's rate by this
FLOOR = 0.1  # never below this share of the configured rate
QUIET = 3.0  # seconds without a 429 before a slowed key speeds up again
RECOVERY = 0.05  # then this share of the configured rate is added back each second
EPSILON = 1e-9  # a token short by less than this is a token (float sums of refills)
FORGET_AFTER = 60.0  # seconds unused after which a key at rest is forgotten


@dataclass(frozen=True)
class Limit:
    """One budget a send draws on: `rate` sends a second with `burst` saved up."""

    key: str
    rate: float
    burst: float = 1.0


class Pacing(Protocol):
    """A platform's rate-limit model: which limits sending this item uses."""

    def limits(self, item: OutboxItem) -> tuple[Limit, ...]: ...


class Unpaced:
    """For platforms with no limits of their own to keep (the console, test fakes)."""

    def limits(self, item: OutboxItem) -> tuple[Limit, ...]:
        return ()


@dataclass
class _Budget:
    limit: Limit
    rate: float  # learned, ≤ limit.rate, as of `slowed_at`
    tokens: float
    stamp: float  # when `tokens` was last brought up to date
    held_until: float = 0.0
    slowed_at: float = -math.inf  # the last 429
    hold_ends: float = -math.inf  # end of the hold of the last decrease


class Limiter:
    def __init__(self, monotonic: Monotonic = time.monotonic) -> None:
        self._monotonic = monotonic
        self._budgets: dict[str, _Budget] = {}
        self.share = 1.0  # of every budget, for this process (1/N of N live senders)

    def rate(self, key: str) -> float | None:
        """The key's learned rate now (before `share`), None for a key never used."""
        budget = self._budgets.get(key)
        return None if budget is None else self._rate(budget, self._monotonic())

    def wait(self, limits: Sequence[Limit]) -> float:
        """Seconds until every limit has a token to spend (0: now)."""
        now = self._monotonic()
        return max((self._wait(self._budget(limit, now), now) for limit in limits), default=0.0)

    def short(self, limits: Sequence[Limit]) -> list[str]:
        """The keys among `limits` that cannot be spent right now."""
        now = self._monotonic()
        return [limit.key for limit in limits if self._wait(self._budget(limit, now), now) > 0]

    def take(self, limits: Sequence[Limit]) -> None:
        """Spend a token of each limit (after `wait` said 0)."""
        now = self._monotonic()
        for limit in limits:
            self._budget(limit, now).tokens -= 1.0

    def throttled(
        self, limits: Sequence[Limit], seconds: float, key: str | None = None
    ) -> str | None:
        """A send using `limits` got a 429 asking to wait `seconds`: hold the key it was
        for and slow that key down. Without `key` (Slack does not say which of a post's
        limits it met), the narrowest limit other sends have been drawing on is
        blamed, else the broadest: a 429 on a DM during a fan-out is the workspace's,
        one on a third card in a channel within a second is the channel's. Returns
        the key held, or None when the send had no limits."""
        now = self._monotonic()
        budgets = [self._budget(limit, now) for limit in limits]
        chosen = next((b for b in budgets if b.limit.key == key), None)
        if chosen is None:
            busy = [b for b in budgets if b.tokens < self._burst(b) - 1.0]
            chosen = busy[-1] if busy else (budgets[0] if budgets else None)
        if chosen is None:
            return None
        self._refill(chosen, now)
        chosen.held_until = max(chosen.held_until, now + seconds)
        chosen.rate = self._rate(chosen, now)
        if now >= chosen.hold_ends:  # once per hold: later 429s were already on their way
            chosen.rate = max(FLOOR * chosen.limit.rate, chosen.rate * DECREASE)
            chosen.hold_ends = chosen.held_until
        chosen.slowed_at = now
        # Nothing saved survives a hold, nothing accrues during it: one send when it
        # ends, then the (slower) rate.
        chosen.tokens = 1.0
        chosen.stamp = chosen.held_until
        return chosen.limit.key

    def forget_idle(self) -> int:
        """Drop keys unused for a minute that are back at rest (full, not held, not
        slowed): they would start over the same. A fan-out to 100,000 members leaves
        100,000 DM keys behind otherwise. Returns how many were dropped."""
        now = self._monotonic()
        idle = [
            key
            for key, budget in self._budgets.items()
            if now - budget.stamp > FORGET_AFTER
            and budget.held_until <= now
            and self._rate(budget, now) >= budget.limit.rate
        ]
        for key in idle:
            del self._budgets[key]
        return len(idle)

    def _budget(self, limit: Limit, now: float) -> _Budget:
        budget = self._budgets.get(limit.key)
        if budget is None:
            budget = self._budgets[limit.key] = _Budget(
                limit, limit.rate, self._burst_of(limit), now
            )
        elif budget.limit != limit:  # reconfigured: the new ceiling, what was learned kept
            budget.rate = min(budget.rate, limit.rate)
            budget.limit = limit
        self._refill(budget, now)
        return budget

    def _rate(self, budget: _Budget, now: float) -> float:
        ceiling = budget.limit.rate
        quiet = now - budget.slowed_at - QUIET
        if quiet <= 0:
            return budget.rate
        return min(ceiling, budget.rate + RECOVERY * ceiling * quiet)

    def _burst_of(self, limit: Limit) -> float:
        return max(1.0, limit.burst * self.share)

    def _burst(self, budget: _Budget) -> float:
        return self._burst_of(budget.limit)

    def _refill(self, budget: _Budget, now: float) -> None:
        if now > budget.stamp:  # during a hold the stamp lies ahead: nothing accrues
            rate = self._rate(budget, now) * self.share
            budget.tokens = min(self._burst(budget), budget.tokens + (now - budget.stamp) * rate)
            budget.stamp = now

    def _wait(self, budget: _Budget, now: float) -> float:
        held = max(0.0, budget.held_until - now)
        if budget.tokens >= 1.0 - EPSILON:
            return held
        rate = self._rate(budget, now) * self.share
        if rate <= 0:
            return math.inf
        return max(held, (1.0 - budget.tokens) / rate)
