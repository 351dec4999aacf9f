"""The dispatcher: sends queued messages as fast as each platform allows, answers first.

Sending is continuous. The dispatcher holds the messages leased to its process (its
`owner` id): what an event queued, handed over at commit (`offer`), and what it
claims from the outbox, in the claim order (class, due time, id). Whenever a send
slot is free it starts the most urgent message that its rate limits let go now:
`now` before `soon` before `bulk`, so an answer never waits behind a fan-out, neither
in the order, nor behind a batch (there is none), nor in a limiter (a key that a
more urgent message waits for is not spent by a less urgent one). Bulk work takes
turns between communities. Messages to one target keep their order (a target's
queue inherits the most urgent class in it), and a few slots are kept for `now`.

Each delivery is recorded as it completes, in a transaction of its own: a crash
resends at most what was on the wire. Leases are short and a heartbeat renews all of
this process's at once, so a crashed process's messages pass to another in seconds;
a message whose lease may have lapsed is not sent before the lease is taken again.
On `stop`, sends under way finish and are recorded, and the rest is given back.

Rate limits come from each platform's `Pacing` (bot/limits.py). A 429 holds the key
it was for (or, when the send drew on no limit, that message alone) without costing
an attempt, and the message waits in memory; a wait longer than `HOLD_IN_MEMORY`
gives it back to the outbox until then. Other failures back off exponentially with
jitter; an undeliverable message is not retried.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import math
import operator
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain import platform_of
from bot.faults import StorageUnavailable
from bot.limits import Limit, Limiter, Pacing, Unpaced
from bot.messages import (
    Delivered,
    Delivery,
    Priority,
    RetryAfter,
    Target,
    ToChannel,
    ToMember,
    Undeliverable,
)
from bot.ports import ChatAdapter, Clock, OutboxItem, UnitOfWorkFactory
from bot.service import SEND_LEASE, Outcome, PayForward

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Lane = tuple[str, Target]  # (community, target): one ordered queue
_urgency = operator.itemgetter(0, 1, 2, 3)  # class, bulk turn, due time, queue order

MAX_ATTEMPTS = 8
BACKOFF_BASE = 2.0
BACKOFF_CAP = 15 * 60.0
IN_FLIGHT = 16  # sends at once
FOR_NOW = 4  # of them, kept for `now` messages
HEARTBEAT = 2.0  # seconds between lease renewals (the lease is SEND_LEASE)
FENCE = timedelta(seconds=3)  # never start a send with less lease left than this
CLAIM_EVERY = 1.0  # seconds between claims while there is work
IDLE_TICK = 2.0  # … and while there is none (another process may queue some)
PER_COMMUNITY = 50  # messages held per community: claims pass over fuller ones
MAX_HELD = 1_000
HOLD_IN_MEMORY = 10.0  # a longer wait gives the message back to the outbox
THROTTLE_PAUSE = 1.0  # a 429 that names no wait holds this long
STOPPING = "not sent before stopping"


def backoff(attempts: int, rng: random.Random) -> float:
    """Seconds before the next try: 2, 4, 8, … capped, each ±25 % so retries spread out."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE ** max(1, attempts))
    return delay * rng.uniform(0.75, 1.25)


@dataclass(eq=False)
class _Held:
    item: OutboxItem
    lease_until: datetime
    not_before: float = -math.inf  # monotonic: a 429 that no limit of the send could hold


class Dispatcher:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        adapters: Mapping[str, ChatAdapter],
        bot: PayForward,
        *,
        pacing: Mapping[str, Pacing] | None = None,
        limiter: Limiter | None = None,
        batch: int = 50,
        in_flight: int = IN_FLIGHT,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._adapters = adapters
        self._bot = bot
        self._pacing = dict(pacing or {})
        self._monotonic = monotonic
        self._sleep = sleep
        self.limiter = limiter or Limiter(monotonic)
        self.owner = bot.owner  # the id its leases carry
        self._batch = batch
        self._in_flight = in_flight
        self._rng = rng or random.Random()
        self._lanes: dict[Lane, list[_Held]] = {}
        self._held: dict[int, _Held] = {}  # by item id
        self._busy: dict[Lane, _Held] = {}  # the head being sent (or recorded)
        self._tasks: set[asyncio.Task[None]] = set()
        self._unrecorded: list[tuple[Lane, Outcome]] = []  # the database was away
        self._served: Counter[str] = Counter()  # bulk sends started, per community
        self._unserved: set[str] = set()  # communities of a platform with no adapter here
        self._wake = asyncio.Event()
        self._stopping = False
        self._claim_now = True
        self._database_away = False  # logged once per outage (_guarded)
        self._next_claim = 0.0
        self._next_heartbeat = math.inf
        self._last_beat = -math.inf
        self._pumping: asyncio.Event | None = None  # set once the pump has stopped
        self._active = False  # a pump (run or drain) is sending
        self.delivered = 0  # messages delivered since this dispatcher began
        self.finished = 0  # … and those given up on (undeliverable)

    # What the rest of the process calls.

    def offer(self, items: Sequence[OutboxItem], lease_until: datetime) -> None:
        """Take items an event queued, already leased to this process (until
        `lease_until`) in its transaction, and start the most urgent of them at once,
        right from the event's commit, not a loop turn of the pump later; the pump,
        woken, starts the others.

        Only one at once: on Python 3.11 aiohttp writes a request's body in a task of
        its own, a loop turn after the send began (3.12 writes it at once), so sends
        started together would each get their request ready, and the event's own
        answer too, before the first one's bytes leave. A reaction's offer DM to the
        asker waited so for the card's edit and the helper's acknowledgement."""
        for item in items:
            self._hold(item, lease_until)
        if self._active and not self._stopping:
            self._start_sends(at_most=1)  # the rest, the pump starts when woken
        self._wake.set()

    @property
    def held(self) -> int:
        """Messages leased to this process and not yet sent."""
        return len(self._held)

    def kick(self) -> None:
        """Something new may be due in the outbox (a job queued it): claim at once."""
        self._claim_now = True
        self._wake.set()

    async def drain(self) -> int:
        """Send everything due now and what that queues in turn, then return: the
        console, `payforward jobs run` and tests. Returns how many were delivered."""
        before = self.delivered
        if self._pumping is not None and not self._pumping.is_set():
            # `run` is sending already: let it, and wait until it has nothing left.
            self.kick()
            while self._claim_now or self._lanes or self._busy:
                await self._sleep(0.01)
            return self.delivered - before
        self._stopping = False
        self._claim_now = True
        self._next_heartbeat = self._monotonic() + HEARTBEAT  # only long drains renew
        await self._pump(until_idle=True)
        return self.delivered - before

    async def run(self) -> None:
        """Send continuously until `stop`: what the running bot does."""
        self._stopping = False
        self._claim_now = True
        self._next_heartbeat = self._monotonic()  # register as a sender at once
        stopped = self._pumping = asyncio.Event()
        try:
            await self._pump(until_idle=False)
        finally:
            stopped.set()

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Start no more sends; let those under way finish and be recorded within the
        grace (later ones are cancelled: sent or not, they are sent again later, never
        lost); give every other held message back to the outbox for any sender."""
        self._stopping = True
        self._wake.set()
        deadline = self._monotonic() + grace_seconds
        if self._pumping is not None:  # it starts nothing more once it is out
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._pumping.wait(), grace_seconds)
        if self._tasks:
            left = max(0.0, deadline - self._monotonic())
            _, late = await asyncio.wait(set(self._tasks), timeout=left)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self.release()

    async def release(self) -> None:
        """Give back what is held but not on its way, its attempt refunded, and leave
        the live senders (so the others take its share of the budgets at once)."""
        if self._unrecorded:  # delivered: record them rather than send them again
            await self._guarded(self._record_again())
        now = self._clock.now()
        stopping = RetryAfter(0.0, STOPPING, throttled=True)
        held = [held.item for held in self._held.values()]
        self._lanes.clear()
        self._held.clear()
        self._busy.clear()
        if held:
            await self._bot.delivered([Outcome(item, stopping, now) for item in held])
        async with self._uow() as uow:
            await uow.outbox.leave(self.owner)
            await uow.commit()

    # The pump: one task that starts sends; each send records itself.

    async def _pump(self, *, until_idle: bool) -> None:
        self._active = True
        try:
            await self._pumping_loop(until_idle)
        finally:
            self._active = False

    async def _pumping_loop(self, until_idle: bool) -> None:
        while not self._stopping:
            now = self._monotonic()
            if now >= self._next_heartbeat:
                self._last_beat = now
                await self._guarded(self._heartbeat())
                self._next_heartbeat = self._monotonic() + HEARTBEAT
            if self._unrecorded:
                await self._guarded(self._record_again())
            idle = not self._lanes and not self._busy
            claimed = None
            if self._claim_now or now >= self._next_claim or (until_idle and idle):
                self._claim_now = False
                claimed = await self._guarded(self._claim())
                busy = bool(claimed) or bool(self._lanes)
                self._next_claim = self._monotonic() + (CLAIM_EVERY if busy else IDLE_TICK)
            if until_idle and claimed == 0 and not self._lanes and not self._busy:
                return
            wake, give_back = self._start_sends()
            if give_back and await self._guarded(self._give_back(give_back)) is not None:
                continue
            await self._wait(min(wake, self._next_claim, self._next_heartbeat))

    async def _guarded(self, work: Awaitable[int | None]) -> int | None:
        """Database work of the pump: a failure is logged and tried again later. A
        database that is away is one line when it goes and one when it is back."""
        try:
            done = await work
        except StorageUnavailable as error:
            if not self._database_away:
                log.warning("outbox: the database is away (%s); sending waits for it", error)
            self._database_away = True
        except Exception:
            log.exception("outbox: database work failed; trying again shortly")
        else:
            if self._database_away:
                log.info("outbox: the database is back; sending again")
            self._database_away = False
            return done
        self._next_claim = self._monotonic() + CLAIM_EVERY
        return None

    async def _wait(self, until: float) -> None:
        """Until `until` (monotonic), or until something changes (`_wake`)."""
        if not self._wake.is_set():
            delay = until - self._monotonic()
            if delay > 0:
                waker = asyncio.ensure_future(self._wake.wait())
                sleeper = asyncio.ensure_future(self._sleep(delay)) if delay < math.inf else None
                waiting = {waker} if sleeper is None else {waker, sleeper}
                try:
                    await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for future in waiting:
                        future.cancel()
            else:
                await asyncio.sleep(0)
        self._wake.clear()

    def _start_sends(self, at_most: int | None = None) -> tuple[float, list[tuple[Lane, float]]]:
        """Start every send that may go now (or the `at_most` most urgent), most
        urgent first. Returns when to look again (monotonic) and the queues to give
        back: a wait longer than HOLD_IN_MEMORY, or a platform this process has no
        adapter for (given back at once for a process that has one, and not claimed
        here again)."""
        now, at = self._monotonic(), self._clock.now()
        wake = math.inf
        give_back: list[tuple[Lane, float]] = []
        blocked: set[str] = set()  # keys a more urgent message waits for
        started = 0
        for rank, lane in self._candidates():
            sending = len(self._busy)
            if at_most is not None and started >= at_most:
                break
            if sending >= self._in_flight or (
                rank != Priority.NOW and sending >= self._in_flight - FOR_NOW
            ):
                break
            head = self._lanes[lane][0]
            if head.lease_until - at < FENCE:  # the lease may lapse: take it again first
                self._next_heartbeat = min(self._next_heartbeat, max(now, self._last_beat + 1.0))
                wake = min(wake, self._next_heartbeat)
                continue
            if head.not_before > now:
                wake = min(wake, head.not_before)
                continue
            platform = platform_of(lane[0])
            if platform not in self._adapters:
                self._unserved.add(lane[0])
                give_back.append((lane, 0.0))
                continue
            limits = self._pacing.get(platform, Unpaced()).limits(head.item)
            if any(limit.key in blocked for limit in limits):
                continue
            delay = self.limiter.wait(limits)
            if delay > HOLD_IN_MEMORY:
                give_back.append((lane, delay))
                continue
            if delay > 0:
                blocked.update(self.limiter.short(limits))
                wake = min(wake, now + delay)
                continue
            self.limiter.take(limits)
            if rank == Priority.BULK:
                self._served[lane[0]] += 1
            self._busy[lane] = head
            task = asyncio.create_task(self._send(lane, head, limits))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        return wake, give_back

    def _candidates(self) -> list[tuple[Priority, Lane]]:
        """The queues whose first message could go, most urgent first: by class
        (a queue is as urgent as its most urgent message), bulk taking turns between
        communities, then by due time and queue order."""
        ranked = []
        busy, served = self._busy, self._served
        for lane, queue in self._lanes.items():  # run at every start: kept lean
            if lane in busy:
                continue
            head = queue[0].item
            rank = head.priority if len(queue) == 1 else min(h.item.priority for h in queue)
            turn = served[lane[0]] if rank == Priority.BULK else 0
            ranked.append((rank, turn, head.due_at, head.id, lane))
        ranked.sort(key=_urgency)
        return [(rank, lane) for rank, _, _, _, lane in ranked]

    # One send.

    async def _send(self, lane: Lane, head: _Held, limits: tuple[Limit, ...]) -> None:
        item = head.item
        try:
            delivery = await self._attempt(item)
            if isinstance(delivery, RetryAfter) and delivery.throttled:  # a 429
                self._throttled(head, limits, delivery)
                self._busy.pop(lane, None)
                return
            await self._record(lane, self._outcome(item, delivery))
        finally:
            self._wake.set()

    async def _attempt(self, item: OutboxItem) -> Delivery:
        adapter = self._adapters[platform_of(item.community_id)]
        target = item.target
        try:
            if not await self._bot.still_wanted(item):
                return Undeliverable("no longer needed")
            if isinstance(target, ToChannel):
                return await adapter.post(item.community_id, target.channel_id, item.message)
            if isinstance(target, ToMember):
                return await adapter.send_dm(item.community_id, target.member_id, item.message)
            return await adapter.update(item.community_id, target.ref, item.message)
        except Exception as error:  # an adapter bug, a network fault, the database asked
            log.warning("sending outbox item %s failed: %s", item.id, type(error).__name__)
            return RetryAfter(0.0, type(error).__name__)

    def _throttled(self, head: _Held, limits: tuple[Limit, ...], delivery: RetryAfter) -> None:
        wait = delivery.seconds if delivery.seconds > 0 else THROTTLE_PAUSE
        key = self.limiter.throttled(limits, wait, delivery.key)
        platform = platform_of(head.item.community_id)
        self._bot.observer.delivery(platform, head.item.priority, "retry")
        self._bot.observer.throttled(platform, key or delivery.key or platform)
        if key is None:
            head.not_before = self._monotonic() + wait

    def _outcome(self, item: OutboxItem, delivery: Delivery) -> Outcome:
        spent = item.attempts >= MAX_ATTEMPTS
        if isinstance(delivery, RetryAfter) and not delivery.throttled and spent:
            delivery = Undeliverable(f"gave up after {item.attempts} attempts: {delivery.reason}")
        if isinstance(delivery, RetryAfter) and delivery.seconds <= 0:
            delivery = RetryAfter(backoff(item.attempts, self._rng), delivery.reason)
        wait = delivery.seconds if isinstance(delivery, RetryAfter) else 0.0
        self._observe(item, delivery)
        return Outcome(item, delivery, self._clock.now() + timedelta(seconds=wait))

    def _observe(self, item: OutboxItem, delivery: Delivery) -> None:
        outcome = {Delivered: "delivered", Undeliverable: "undeliverable"}.get(
            type(delivery), "retry"
        )
        self._bot.observer.delivery(platform_of(item.community_id), item.priority, outcome)

    # Recording, each delivery as it completes.

    async def _record(self, lane: Lane, outcome: Outcome) -> None:
        """One transaction for this message's outcome. A retry takes the rest of its
        queue along (so no later message overtakes it), as it does on the way back."""
        outcomes = [outcome]
        if isinstance(outcome.delivery, RetryAfter):
            behind = RetryAfter(0.0, "behind an earlier message", throttled=True)
            rest = self._lanes.get(lane, [])[1:]
            outcomes += [Outcome(held.item, behind, outcome.retry_at) for held in rest]
        try:
            await self._bot.delivered(outcomes)
        except StorageUnavailable:
            self._unrecorded.append((lane, outcome))  # recorded when the database is back
            return
        except Exception:
            log.exception("outbox: recording item %s failed; trying again", outcome.item.id)
            self._unrecorded.append((lane, outcome))
            return
        self._recorded(lane, outcomes)

    def _recorded(self, lane: Lane, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            self._drop(lane, outcome.item.id)
        first = outcomes[0].delivery
        self.delivered += isinstance(first, Delivered)
        self.finished += isinstance(first, Undeliverable)
        self._busy.pop(lane, None)

    async def _record_again(self) -> None:
        pending, self._unrecorded = self._unrecorded, []
        for lane, outcome in pending:
            await self._record(lane, outcome)

    async def _give_back(self, lanes: list[tuple[Lane, float]]) -> int:
        """Queues that must wait longer than is worth holding them: back to the outbox
        until then, their attempts refunded, their order kept."""
        now = self._clock.now()
        for lane, seconds in lanes:
            retry_at = now + timedelta(seconds=seconds)
            reason = "waiting for the rate limit" if seconds else "no adapter for it here"
            waiting = RetryAfter(seconds, reason, throttled=True)
            queue = self._lanes.get(lane, [])
            outcomes = [Outcome(held.item, waiting, retry_at) for held in queue]
            await self._bot.delivered(outcomes)
            for outcome in outcomes:
                self._drop(lane, outcome.item.id)
        return len(lanes)

    # What is held.

    def _hold(self, item: OutboxItem, lease_until: datetime) -> None:
        if item.id in self._held:
            return
        held = self._held[item.id] = _Held(item, lease_until)
        if item.community_id not in self._served:  # joins the turns where they stand
            active = {lane[0] for lane in self._lanes}
            self._served[item.community_id] = min(
                (self._served[c] for c in active if c in self._served), default=0
            )
        lane = (item.community_id, item.target)
        queue = self._lanes.setdefault(lane, [])
        at = bisect.bisect([h.item.id for h in queue], item.id)
        if at == 0 and lane in self._busy:  # never ahead of the one on its way
            at = 1
        queue.insert(at, held)

    def _drop(self, lane: Lane, item_id: int) -> None:
        held = self._held.pop(item_id, None)
        queue = self._lanes.get(lane)
        if held is None or queue is None:
            return
        queue.remove(held)
        if not queue:
            del self._lanes[lane]

    async def _claim(self) -> int:
        """Claim what is due, a batch at a time while batches come back full and there
        is room: a fan-out of many communities is in hand at once, each community's
        share capped so that the others' get claimed too."""
        claimed = 0
        while (room := min(self._batch, MAX_HELD - len(self._held))) > 0:
            counts = Counter(held.item.community_id for held in self._held.values())
            self._unserved = {c for c in self._unserved if platform_of(c) not in self._adapters}
            full = sorted({c for c, n in counts.items() if n >= PER_COMMUNITY} | self._unserved)
            for community in set(self._served) - set(counts):  # no turn kept for the idle
                del self._served[community]
            now = self._clock.now()
            async with self._uow() as uow:
                items = await uow.outbox.claim_due(
                    now, room, now + SEND_LEASE, owner=self.owner, skip=full
                )
                await uow.commit()
            for item in items:
                self._hold(item, now + SEND_LEASE)
            claimed += len(items)
            if len(items) < room:
                break
        return claimed

    async def _heartbeat(self) -> None:
        """Renew the lease of everything held, in one statement, and learn how many
        senders share the budgets. What this process no longer holds (its lease lapsed
        and another took it) is forgotten."""
        expected = set(self._held)  # all committed before the renewal starts
        now = self._clock.now()
        until = now + SEND_LEASE
        async with self._uow() as uow:
            renewal = await uow.outbox.renew(self.owner, now, until)
            await uow.commit()
        busy = {held.item.id for held in self._busy.values()}
        for item_id in expected:
            held = self._held.get(item_id)
            if held is None:
                continue
            if item_id in renewal.held:
                held.lease_until = until
            elif item_id not in busy:
                log.warning("outbox item %s was taken over by another sender", item_id)
                self._drop((held.item.community_id, held.item.target), item_id)
        self.limiter.share = 1.0 / max(1, renewal.senders)
        self.limiter.forget_idle()
