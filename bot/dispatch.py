"""The dispatcher: sends queued messages through the platform adapters.

Items are claimed with a lease (so two processes never send the same one while it
holds), sent outside any transaction, and their outcome recorded by the core. A
platform asking to slow down gets its `Retry-After`; other failures back off
exponentially with jitter; an undeliverable message is not retried.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from datetime import timedelta

from bot.domain import platform_of
from bot.messages import Delivered, Delivery, RetryAfter, ToChannel, ToMember, Undeliverable
from bot.ports import ChatAdapter, Clock, OutboxItem, UnitOfWorkFactory
from bot.service import PayForward

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8
BACKOFF_BASE = 2.0
BACKOFF_CAP = 15 * 60.0


def backoff(attempts: int, rng: random.Random) -> float:
    """Seconds before the next try: 2, 4, 8, … capped, each ±25 % so retries spread out."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE ** max(1, attempts))
    return delay * rng.uniform(0.75, 1.25)


class Dispatcher:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        adapters: Mapping[str, ChatAdapter],
        bot: PayForward,
        *,
        batch: int = 50,
        rng: random.Random | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._adapters = adapters
        self._bot = bot
        self._batch = batch
        self._rng = rng or random.Random()

    async def drain(self) -> int:
        """Send everything due now; returns how many messages were delivered."""
        delivered = 0
        while True:
            now = self._clock.now()
            async with self._uow() as uow:
                items = await uow.outbox.claim_due(now, self._batch, now + LEASE)
                await uow.commit()
            if not items:
                return delivered
            for item in items:
                outcome = await self._send(item)
                if isinstance(outcome, RetryAfter) and item.attempts >= MAX_ATTEMPTS:
                    outcome = Undeliverable(
                        f"gave up after {item.attempts} attempts: {outcome.reason}"
                    )
                wait = outcome.seconds if isinstance(outcome, RetryAfter) else 0.0
                retry_at = self._clock.now() + timedelta(seconds=wait)
                await self._bot.delivered(item, outcome, retry_at)
                delivered += isinstance(outcome, Delivered)

    async def _send(self, item: OutboxItem) -> Delivery:
        adapter = self._adapters.get(platform_of(item.community_id))
        if adapter is None:
            return RetryAfter(60.0, "no adapter running for this platform")
        target = item.target
        try:
            if isinstance(target, ToChannel):
                result = await adapter.post(item.community_id, target.channel_id, item.message)
            elif isinstance(target, ToMember):
                result = await adapter.send_dm(item.community_id, target.member_id, item.message)
            else:
                result = await adapter.update(item.community_id, target.ref, item.message)
        except Exception as error:  # an adapter bug or a network fault: back off, never lose
            log.warning("sending outbox item %s failed: %s", item.id, type(error).__name__)
            return RetryAfter(backoff(item.attempts, self._rng), type(error).__name__)
        if isinstance(result, RetryAfter) and result.seconds <= 0:
            return RetryAfter(backoff(item.attempts, self._rng), result.reason)
        return result
