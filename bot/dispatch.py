"""The dispatcher: sends queued messages through the platform adapters.

Items are claimed with a lease (so two processes never send the same one while it
holds), sent outside any transaction, and their outcomes recorded by the core, one
transaction per batch, one batch at a time. What an event queued comes already claimed
(`offer`) and is sent at once (`send_offered`) when no batch is under way, else in the
next batch without asking the store; the store is then asked before the next batch of
handed-over items, so they never starve what is due there. When events keep coming,
handed-over batches that follow each other share one transaction recording them (up
to `batch` outcomes): under load a message never waits for the last one's record.

Each platform has a token bucket: sends are paced below its rate limit, and a 429
holds the whole platform for its Retry-After without costing the message an attempt.
Other failures back off exponentially with jitter; an undeliverable message is not
retried. Messages to one target keep their order; different targets are sent
concurrently.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping, Sequence
from datetime import timedelta

from bot.domain import platform_of
from bot.messages import Delivered, Delivery, RetryAfter, ToChannel, ToMember, Undeliverable
from bot.ports import ChatAdapter, Clock, OutboxItem, UnitOfWorkFactory
from bot.service import SEND_LEASE, Outcome, PayForward
from bot.throttle import TokenBucket

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE = 2.0
BACKOFF_CAP = 15 * 60.0
MAX_PACING_WAIT = 5.0  # longer than this, an item goes back to the queue instead
IN_FLIGHT = 8  # targets sent to at once
THROTTLE_PAUSE = 1.0  # a 429 that names no wait holds the platform this long
# Loop turns a platform client takes to put a request on the wire once it is called:
# one to build it, one to write it (aiohttp writes a body from a task of its own on
# Python 3.11). The first message of a batch, and of an event, gets that head start.
WIRE_TURNS = 2


def ordered(items: list[OutboxItem]) -> list[OutboxItem]:
    return sorted(items, key=lambda item: (item.due_at, item.id))


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
        buckets: Mapping[str, TokenBucket] | None = None,
        batch: int = 50,
        in_flight: int = IN_FLIGHT,
        rng: random.Random | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._adapters = adapters
        self._bot = bot
        self._buckets = dict(buckets or {})
        self._batch = batch
        self._in_flight = in_flight
        self._rng = rng or random.Random()
        self._ready: list[OutboxItem] = []  # claimed for us already, not yet sent
        self._sending = asyncio.Lock()  # one batch at a time

    def offer(self, items: Sequence[OutboxItem]) -> None:
        """Take items already claimed for this process, for `send_offered` or the next
        drain to send."""
        self._ready.extend(items)

    @property
    def offered(self) -> bool:
        """Whether items offered are still waiting to be sent."""
        return bool(self._ready)

    @property
    def sending(self) -> bool:
        """Whether a batch is under way: it takes what is offered meanwhile when it is
        done, so nobody else need be woken for that."""
        return self._sending.locked()

    async def send_offered(self) -> int:
        """Send what was offered, in the caller's task, and what recording that offers
        in turn (a card edit), unless a batch is under way (the drain sends them after
        it): one batch at a time keeps each target's order."""
        if self._sending.locked():
            return 0
        delivered = 0
        async with self._sending:
            unrecorded: list[Outcome] = []
            try:
                while self._ready:
                    items, self._ready = self._ready, []
                    unrecorded += await self._send_batch(ordered(items))
                    # Under load more is ready by the time a batch is sent: send it
                    # first, and record several batches in one transaction.
                    if not self._ready or len(unrecorded) >= self._batch:
                        outcomes, unrecorded = unrecorded, []
                        delivered += await self._record(outcomes)
            finally:
                if unrecorded:  # a later batch was cancelled: keep what the earlier did
                    delivered += await self._record(unrecorded)
        return delivered

    async def drain(self) -> int:
        """Send everything due now; returns how many messages were delivered."""
        delivered = 0
        skipped_store = False
        while True:
            async with self._sending:
                items, self._ready = self._ready, []
                ask_store = skipped_store or not items
                if ask_store:
                    try:
                        items += await self._claim()
                    except BaseException:
                        self._ready[:0] = items  # still ours: send them on the next drain
                        raise
                if not items:
                    return delivered
                skipped_store = not ask_store
                delivered += await self._deliver(items)

    async def _deliver(self, items: list[OutboxItem]) -> int:
        return await self._record(await self._send_batch(ordered(items)))

    async def _record(self, outcomes: list[Outcome]) -> int:
        await self._bot.delivered(outcomes)
        return sum(isinstance(o.delivery, Delivered) for o in outcomes)

    async def _claim(self) -> list[OutboxItem]:
        now = self._clock.now()
        async with self._uow() as uow:
            items = await uow.outbox.claim_due(now, self._batch, now + SEND_LEASE)
            await uow.commit()
        return items

    async def release(self) -> None:
        """Give back what was offered but not sent (when stopping), for any sender."""
        items, self._ready = self._ready, []
        if items:
            now = self._clock.now()
            stopping = RetryAfter(0.0, "not sent before stopping", throttled=True)
            await self._bot.delivered([Outcome(item, stopping, now) for item in items])

    async def _send_batch(self, items: Sequence[OutboxItem]) -> list[Outcome]:
        """Send each target's items in order, up to `in_flight` targets at once."""
        lanes: dict[tuple[str, object], list[OutboxItem]] = {}
        for item in items:
            lanes.setdefault((item.community_id, item.target), []).append(item)
        gate = asyncio.Semaphore(self._in_flight)

        async def lane(queue: list[OutboxItem], head_start: int = 0) -> list[Outcome]:
            for _ in range(head_start):
                await asyncio.sleep(0)
            async with gate:
                outcomes: list[Outcome] = []
                for item in queue:
                    if outcomes and isinstance(outcomes[-1].delivery, RetryAfter):
                        # Keep the order: wait behind the message that must be retried.
                        behind = RetryAfter(0.0, "behind an earlier message", throttled=True)
                        outcomes.append(Outcome(item, behind, outcomes[-1].retry_at))
                    else:
                        outcomes.append(await self._outcome(item))
                return outcomes

        # The first lane runs in this task and the others start WIRE_TURNS later, so
        # the first message (an event's card or offer DM) leaves first.
        first, *rest = lanes.values()
        others = [asyncio.ensure_future(lane(queue, WIRE_TURNS)) for queue in rest]
        try:
            done = [await lane(first)]
        except BaseException:
            for task in others:
                task.cancel()
            raise
        done += await asyncio.gather(*others)
        return [outcome for outcomes in done for outcome in outcomes]

    async def _outcome(self, item: OutboxItem) -> Outcome:
        try:
            delivery = await self._paced_send(item)
        except Exception as error:  # e.g. the database, asked whether it is still wanted
            log.warning("outbox item %s could not be sent: %s", item.id, type(error).__name__)
            delivery = RetryAfter(backoff(item.attempts, self._rng), type(error).__name__)
        spent = item.attempts >= MAX_ATTEMPTS  # throttled tries are refunded: never spent
        if isinstance(delivery, RetryAfter) and not delivery.throttled and spent:
            delivery = Undeliverable(f"gave up after {item.attempts} attempts: {delivery.reason}")
        wait = delivery.seconds if isinstance(delivery, RetryAfter) else 0.0
        self._observe(item, delivery)
        return Outcome(item, delivery, self._clock.now() + timedelta(seconds=wait))

    def _observe(self, item: OutboxItem, delivery: Delivery) -> None:
        platform = platform_of(item.community_id)
        observer = self._bot.observer
        if isinstance(delivery, Delivered):
            observer.delivery(platform, item.priority, "delivered")
        elif isinstance(delivery, Undeliverable):
            observer.delivery(platform, item.priority, "undeliverable")
        else:
            observer.delivery(platform, item.priority, "retry")
            if delivery.throttled and delivery.reason == "ratelimited":
                observer.throttled(platform, platform)

    async def _paced_send(self, item: OutboxItem) -> Delivery:
        if not await self._bot.still_wanted(item):
            return Undeliverable("no longer needed")
        platform = platform_of(item.community_id)
        bucket = self._buckets.get(platform)
        if bucket is not None and not await bucket.take(MAX_PACING_WAIT):
            return RetryAfter(bucket.wait_time(), "paced", throttled=True)
        delivery = await self._send(item)
        if isinstance(delivery, RetryAfter) and delivery.throttled and bucket is not None:
            bucket.hold(delivery.seconds)
        return delivery

    async def _send(self, item: OutboxItem) -> Delivery:
        adapter = self._adapters.get(platform_of(item.community_id))
        if adapter is None:
            return RetryAfter(60.0, "no adapter running for this platform", throttled=True)
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
            # A rate limit without a wait: pause a moment; anything else: back off.
            wait = THROTTLE_PAUSE if result.throttled else backoff(item.attempts, self._rng)
            return RetryAfter(wait, result.reason, result.throttled)
        return result
