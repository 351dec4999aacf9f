from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest

from bot import copy
from bot.dispatch import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    FOR_NOW,
    HOLD_IN_MEMORY,
    IN_FLIGHT,
    MAX_ATTEMPTS,
    Dispatcher,
    backoff,
)
from bot.domain import AskStatus, MessageRef
from bot.events import ButtonPressed, CommandInvoked
from bot.limits import Limit
from bot.messages import (
    Delivered,
    Delivery,
    Message,
    Priority,
    RetryAfter,
    ToMember,
    Undeliverable,
    text,
)
from bot.ports import ChatAdapter, OutboxItem, Renewal
from bot.service import SEND_LEASE, Outcome
from tests.fakes import FakeChat, _Row
from tests.unit.conftest import CID, START, World, info
from tests.unit.virtual_time import VirtualTime, settle


def pending(world: World) -> list[str]:
    return [r.status for r in world.db.state.outbox.values() if r.status == "pending"]


async def test_retry_after_is_honoured_and_nothing_is_lost(world: World) -> None:
    world.chat.script = [RetryAfter(30, "rate limited")]
    await world.cmd("alice", "thanks", "<@bob> tip")
    assert world.dms("bob") == [] and len(pending(world)) == 1
    world.clock.advance(timedelta(seconds=29))
    await world.dispatcher.drain()
    assert world.dms("bob") == []
    world.clock.advance(timedelta(seconds=1))
    assert await world.dispatcher.drain() == 1
    assert len(world.dms("bob")) == 1 and pending(world) == []


async def test_adapter_errors_back_off_and_then_deliver_once(world: World) -> None:
    world.chat.script = [ConnectionError("boom"), ConnectionError("boom")]
    await world.cmd("alice", "thanks", "<@bob> tip")
    for _ in range(3):
        world.clock.advance(timedelta(minutes=5))
        await world.dispatcher.drain()
    assert len(world.dms("bob")) == 1
    [row] = world.db.state.outbox.values()
    assert row.status == "sent" and row.item.attempts == 3


async def test_undeliverable_is_not_retried(world: World) -> None:
    world.chat.script = [Undeliverable("member blocks DMs")]
    await world.cmd("alice", "thanks", "<@bob> tip")
    [row] = world.db.state.outbox.values()
    assert row.status == "failed" and row.error == "member blocks DMs"
    world.clock.advance(timedelta(days=1))
    assert await world.dispatcher.drain() == 0


async def test_a_message_that_keeps_failing_is_given_up_after_max_attempts(world: World) -> None:
    world.chat.script = [ConnectionError("down")] * MAX_ATTEMPTS
    await world.cmd("alice", "thanks", "<@bob> tip")
    for _ in range(MAX_ATTEMPTS + 2):
        world.clock.advance(timedelta(hours=1))
        await world.dispatcher.drain()
    [row] = world.db.state.outbox.values()
    assert row.status == "failed" and row.item.attempts == MAX_ATTEMPTS


async def test_an_ask_card_that_cannot_be_posted_closes_the_ask_and_tells_the_asker(
    world: World,
) -> None:
    world.chat.script = [Undeliverable("not_in_channel")]
    await world.cmd("alice", "ask", "anyone?", channel="secret")
    ask = await world.latest_ask()
    assert ask.status is AskStatus.CLOSED
    assert "couldn't post your ask #1 in #secret" in world.dms("alice")[0]


async def test_backoff_grows_and_is_capped_with_jitter() -> None:
    rng = random.Random(7)
    delays = [backoff(n, rng) for n in range(1, 15)]
    assert 1.5 <= delays[0] <= 2.5 and 6 <= delays[2] <= 10
    assert max(delays) <= 15 * 60 * 1.25


async def test_a_deleted_card_closes_its_ask_quietly(world: World) -> None:
    ask = await world.ask("alice")
    # The DM to alice goes out first, then the card edit finds the card deleted.
    world.chat.script = [Delivered(MessageRef("dm:alice", "any")), Undeliverable("unknown message")]
    await world.react("bob", ask)
    closed = world.db.state.asks[ask.id]
    assert closed.status is AskStatus.CLOSED
    assert not any("couldn't post" in dm for dm in world.dms("alice"))
    assert await world.react("carol", ask) == []  # offers on a closed ask do nothing


# Pacing and classes, on virtual time.

OTHER = "test:other"  # a second community on the same platform


class PerCommunity:
    """Every send draws on its community's budget; `shared` puts every community's
    bulk sends on one more key (as Discord's bulk budget does)."""

    def __init__(self, rate: float, burst: float = 1.0, shared: float | None = None) -> None:
        self.rate, self.burst, self.shared = rate, burst, shared

    def limits(self, item: OutboxItem) -> tuple[Limit, ...]:
        if self.shared is not None:
            bulk = item.priority == Priority.BULK
            return (Limit("bulk", self.shared, 1.0),) if bulk else ()
        return (Limit(item.community_id, self.rate, self.burst),)


def paced(world: World, pacing: PerCommunity, chat: FakeChat | None = None) -> VirtualTime:
    """Give the world a dispatcher with this pacing, on virtual time."""
    time = VirtualTime(world.clock)
    if chat is not None:
        chat.on_send = world.chat.on_send
        world.chat = chat
    world.dispatcher = Dispatcher(
        world.db.uow,
        world.clock,
        {"test": world.chat},
        world.bot,
        pacing={"test": pacing},
        monotonic=time.monotonic,
        sleep=time.sleep,
    )
    return time


async def queue(
    world: World, *members: str, priority: Priority = Priority.NOW, community: str = CID
) -> list[int]:
    """Queue one DM to each member, due now, in this order; their outbox ids."""
    async with world.db.uow() as uow:
        ids = [
            await uow.outbox.add(
                community,
                ToMember(member),
                Message((text(f"{member} {n}"),)),
                world.clock.now(),
                priority=priority,
            )
            for n, member in enumerate(members)
        ]
        await uow.commit()
    return ids


def row(world: World, item_id: int) -> _Row:
    return world.db.state.outbox[item_id]


def order(world: World) -> list[str]:
    """Who got a DM, in sending order."""
    return [s.to for s in world.chat.sent]


class GatedChat(FakeChat):
    """DMs to a gated member wait until the gate opens; everyone else's go at once."""

    def __init__(self, *gated: str) -> None:
        super().__init__()
        self.gates = {member: asyncio.Event() for member in gated}

    async def send_dm(self, community_id: str, member_id: str, message: Message) -> Delivery:
        if (gate := self.gates.get(member_id)) is not None:
            await gate.wait()
        return await super().send_dm(community_id, member_id, message)


def gated(world: World, *members: str) -> GatedChat:
    chat = GatedChat(*members)
    chat.on_send = world.chat.on_send
    world.chat = chat
    world.dispatcher = Dispatcher(world.db.uow, world.clock, {"test": chat}, world.bot)
    return chat


async def test_a_now_message_goes_before_every_bulk_one_queued_earlier(world: World) -> None:
    time = paced(world, PerCommunity(rate=1))
    await queue(world, "p1", "p2", "p3", priority=Priority.BULK)
    await queue(world, "bob")
    assert await time.run(world.dispatcher.drain()) == 4
    assert order(world) == ["bob", "p1", "p2", "p3"]
    assert world.clock.now() == START + timedelta(seconds=3)  # one a second, no more


async def test_a_now_message_takes_the_next_token_of_a_fan_out_under_way(world: World) -> None:
    time = paced(world, PerCommunity(rate=2))
    await queue(world, *[f"p{n}" for n in range(20)], priority=Priority.BULK)
    draining = asyncio.ensure_future(world.dispatcher.drain())
    await time.run_for(3.2)
    assert len(world.chat.sent) == 7  # the fan-out is under way: one at 0 s, then 2/s
    world.bot.on_queued = world.dispatcher.offer  # the runtime hands events' messages over
    await world.bot.handle(ask_event(world))
    await time.run_for(0.5)
    [(posted_at, card)] = [(at, s) for at, s in world.delivered if s.kind == "post"]
    assert card == world.chat.sent[7]  # the very next send
    assert posted_at <= START + timedelta(seconds=3.5)
    world.bot.on_queued = None
    assert await time.run(draining) == 21  # the whole fan-out, and the card


async def test_bulk_work_takes_turns_between_communities(world: World) -> None:
    time = paced(world, PerCommunity(rate=0, shared=10))
    await queue(world, *[f"a{n}" for n in range(30)], priority=Priority.BULK)
    await queue(world, *[f"b{n}" for n in range(5)], priority=Priority.BULK, community=OTHER)
    assert await time.run(world.dispatcher.drain()) == 35
    firsts = order(world)[:10]
    assert firsts == ["a0", "b0", "a1", "b1", "a2", "b2", "a3", "b3", "a4", "b4"]


async def test_a_now_message_on_a_shared_bulk_budget_never_waits_for_it(world: World) -> None:
    time = paced(world, PerCommunity(rate=0, shared=1))
    await queue(world, *[f"p{n}" for n in range(5)], priority=Priority.BULK)
    draining = asyncio.ensure_future(world.dispatcher.drain())
    await time.run_for(1.5)
    await queue(world, "bob")
    world.dispatcher.kick()
    await time.run_for(0.1)
    assert order(world)[-1] == "bob"  # the bulk budget is bulk's alone
    await time.run(draining)


async def test_a_429_holds_its_key_and_the_messages_wait_without_spending_attempts(
    world: World,
) -> None:
    time = paced(world, PerCommunity(rate=10, burst=10))
    bob, carol = await queue(world, "bob", "carol")
    world.chat.script = [RetryAfter(2, "ratelimited", throttled=True)]
    assert await time.run(world.dispatcher.drain()) == 2
    assert sorted(order(world)) == ["bob", "carol"]
    assert world.clock.now() >= START + timedelta(seconds=2)  # nothing went during the hold
    assert row(world, bob).item.attempts == 1 and row(world, carol).item.attempts == 1
    assert world.dispatcher.limiter.rate("test:acme") == pytest.approx(7.0)  # and it slowed


async def test_a_429_for_one_community_never_holds_another(world: World) -> None:
    time = paced(world, PerCommunity(rate=10))
    bob, carol = await queue(world, "bob", "carol")
    [dave] = await queue(world, "dave", community=OTHER)
    world.chat.script = [RetryAfter(60, "ratelimited", throttled=True)]  # bob's
    assert await time.run(world.dispatcher.drain()) == 1
    assert order(world) == ["dave"]
    # A wait longer than is worth holding: back to the outbox, untried.
    for item_id in (bob, carol):
        waiting = row(world, item_id)
        assert waiting.status == "pending" and waiting.item.attempts == 0
        assert waiting.item.due_at == START + timedelta(seconds=60)
        assert waiting.owner is None and waiting.lease_until is None
    assert row(world, dave).status == "sent"
    world.clock.set(START + timedelta(seconds=60))
    assert await time.run(world.dispatcher.drain()) == 2


async def test_a_429_on_a_send_with_no_limits_holds_that_message_alone(world: World) -> None:
    time = VirtualTime(world.clock)
    world.dispatcher = Dispatcher(
        world.db.uow,
        world.clock,
        {"test": world.chat},
        world.bot,
        monotonic=time.monotonic,
        sleep=time.sleep,
    )
    await queue(world, "bob", "carol")
    world.chat.script = [RetryAfter(3, "rate limited", throttled=True)]
    assert await time.run(world.dispatcher.drain()) == 2
    assert order(world) == ["carol", "bob"]
    assert world.clock.now() == START + timedelta(seconds=3)


async def test_429s_alone_never_make_a_message_undeliverable(world: World) -> None:
    time = paced(world, PerCommunity(rate=10))
    [bob] = await queue(world, "bob")
    world.chat.script = [RetryAfter(1, "ratelimited", throttled=True)] * (3 * MAX_ATTEMPTS)
    assert await time.run(world.dispatcher.drain()) == 1
    assert world.dms("bob") == ["bob 0"]
    assert row(world, bob).status == "sent" and row(world, bob).item.attempts == 1


async def test_a_platform_error_backs_off_counting_attempts_then_gives_up(world: World) -> None:
    time = paced(world, PerCommunity(rate=10))
    world.chat.script = [RetryAfter(0, "http 503")] * MAX_ATTEMPTS
    [bob] = await queue(world, "bob")
    for attempt in range(1, MAX_ATTEMPTS):
        assert await time.run(world.dispatcher.drain()) == 0
        failed = row(world, bob)
        assert failed.status == "pending" and failed.item.attempts == attempt
        assert failed.error == "http 503"
        delay = (failed.item.due_at - world.clock.now()).total_seconds()
        expected = min(BACKOFF_CAP, BACKOFF_BASE**attempt)
        assert 0.75 * expected <= delay <= 1.25 * expected
        assert world.dispatcher.limiter.rate(CID) == 10  # a failure is not a rate limit
        world.clock.set(failed.item.due_at)
    assert await time.run(world.dispatcher.drain()) == 0
    gave_up = row(world, bob)
    assert gave_up.status == "failed" and gave_up.item.attempts == MAX_ATTEMPTS
    assert gave_up.error == f"gave up after {MAX_ATTEMPTS} attempts: http 503"
    world.clock.advance(timedelta(days=1))
    assert await time.run(world.dispatcher.drain()) == 0 and world.chat.sent == []


async def test_an_undeliverable_message_is_not_retried_nor_holds_others(world: World) -> None:
    time = paced(world, PerCommunity(rate=10))
    world.chat.script = [Undeliverable("cannot_dm_bot")]
    [bob, _] = await queue(world, "bob", "carol")
    assert await time.run(world.dispatcher.drain()) == 1
    assert row(world, bob).status == "failed" and row(world, bob).item.attempts == 1
    assert world.dms("carol") == ["carol 1"]
    world.clock.advance(timedelta(days=1))
    assert await time.run(world.dispatcher.drain()) == 0
    assert world.dms("bob") == []


async def test_messages_to_one_target_keep_their_order_while_others_go_on(world: World) -> None:
    chat = gated(world, "bob")
    await queue(world, "bob", "carol", "bob", "dave", "bob")
    drain = asyncio.ensure_future(world.dispatcher.drain())
    await settle()
    # Bob's first DM is stuck on its way; carol's and dave's went regardless.
    assert world.dms("carol") == ["carol 1"] and world.dms("dave") == ["dave 3"]
    assert world.dms("bob") == []
    chat.gates["bob"].set()
    assert await drain == 5
    assert world.dms("bob") == ["bob 0", "bob 2", "bob 4"]


async def test_a_targets_queue_is_as_urgent_as_its_most_urgent_message(world: World) -> None:
    time = paced(world, PerCommunity(rate=1))
    await queue(world, "p1", "bob", priority=Priority.BULK)
    await queue(world, "bob")  # an answer, behind bob's prompt
    assert await time.run(world.dispatcher.drain()) == 3
    assert order(world) == ["bob", "bob", "p1"]  # bob's prompt, then the answer, at once
    assert world.dms("bob") == ["bob 1", "bob 0"]


async def test_a_retried_message_is_not_overtaken_by_a_later_one_to_the_same_target(
    world: World,
) -> None:
    time = paced(world, PerCommunity(rate=10))
    world.chat.script = [RetryAfter(0, "http 503")]
    first, second = await queue(world, "bob", "bob")
    await time.run(world.dispatcher.drain())
    behind = row(world, second)
    assert behind.status == "pending" and behind.item.attempts == 0  # nobody's failure
    assert behind.item.due_at == row(world, first).item.due_at
    world.clock.advance(timedelta(seconds=5))
    await time.run(world.dispatcher.drain())
    assert world.dms("bob") == ["bob 0", "bob 1"]


async def test_slots_are_kept_for_now_messages(world: World) -> None:
    fanned = [f"p{n}" for n in range(IN_FLIGHT)]
    chat = gated(world, *fanned)
    await queue(world, *fanned, priority=Priority.BULK)
    drain = asyncio.ensure_future(world.dispatcher.drain())
    await settle()
    assert len(world.dispatcher._busy) == IN_FLIGHT - FOR_NOW  # stuck at the platform
    await queue(world, "bob", priority=Priority.SOON)
    await queue(world, "carol")
    world.dispatcher.kick()
    await settle()
    assert world.dms("carol") == ["carol 0"] and world.dms("bob") == []
    for gate in chat.gates.values():
        gate.set()
    assert await drain == IN_FLIGHT + 2


async def test_each_delivery_is_recorded_as_it_completes(world: World) -> None:
    chat = gated(world, "bob")
    bob, carol = await queue(world, "bob", "carol")
    drain = asyncio.ensure_future(world.dispatcher.drain())
    await settle()
    assert row(world, carol).status == "sent"  # recorded while bob's is on its way
    assert row(world, bob).status == "pending"
    chat.gates["bob"].set()
    assert await drain == 2


async def test_a_platform_without_an_adapter_here_is_left_to_another_sender(
    world: World,
) -> None:
    [bob] = await queue(world, "bob")
    [dave] = await queue(world, "dave", community="other:1")  # no adapter for "other"
    assert await world.dispatcher.drain() == 1
    left = row(world, dave)
    assert left.status == "pending" and left.item.attempts == 0 and left.owner is None
    assert left.item.due_at == START  # free for a sender that has the platform, at once
    assert row(world, bob).status == "sent"
    assert await world.dispatcher.drain() == 0  # and not claimed here again


async def test_a_platform_that_connects_later_is_served_from_then_on(world: World) -> None:
    serving: dict[str, ChatAdapter] = {"test": world.chat}
    dispatcher = Dispatcher(world.db.uow, world.clock, serving, world.bot)
    [dave] = await queue(world, "dave", community="other:1")
    assert await dispatcher.drain() == 0
    serving["other"] = world.chat  # connected now
    assert await dispatcher.drain() == 1
    assert row(world, dave).status == "sent" and world.dms("dave") == ["dave 0"]


async def test_one_failing_send_does_not_resend_the_others(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    [_, carol] = await queue(world, "bob", "carol")
    still_wanted = world.bot.still_wanted

    async def flaky(item: OutboxItem) -> bool:
        if item.target == ToMember("carol"):
            raise ConnectionError("the database went away")
        return await still_wanted(item)

    monkeypatch.setattr(world.bot, "still_wanted", flaky)
    assert await world.dispatcher.drain() == 1  # bob's is recorded as sent
    monkeypatch.undo()
    failed = row(world, carol)
    assert failed.status == "pending" and failed.item.attempts == 1
    assert failed.error == "ConnectionError"
    world.clock.advance(timedelta(minutes=1))
    assert await world.dispatcher.drain() == 1
    assert world.dms("bob") == ["bob 0"]
    assert world.dms("carol") == ["carol 1"]


async def test_a_recording_that_fails_is_tried_again_and_the_message_not_resent(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    time = paced(world, PerCommunity(rate=10))
    [bob] = await queue(world, "bob")
    record = world.bot.delivered
    failures = [ConnectionError("the database went away")]

    async def flaky(outcomes: list[Outcome]) -> None:
        if failures:
            raise failures.pop()
        await record(outcomes)

    monkeypatch.setattr(world.bot, "delivered", flaky)
    assert await time.run(world.dispatcher.drain()) == 1
    assert world.dms("bob") == ["bob 0"] and row(world, bob).status == "sent"


# Leases: short, renewed by a heartbeat, never sent on once they may have lapsed.


async def test_a_long_drain_renews_its_leases_and_sends_each_message_once(
    world: World,
) -> None:
    time = paced(world, PerCommunity(rate=0.5))
    ids = await queue(world, *[f"m{n}" for n in range(10)])
    assert await time.run(world.dispatcher.drain()) == 10
    assert world.clock.now() == START + timedelta(seconds=18)  # past several leases
    assert all(row(world, i).item.attempts == 1 for i in ids)
    assert world.dispatcher.owner in world.db.state.senders  # it beat, as a live sender


async def test_a_message_another_sender_took_over_is_not_sent(world: World) -> None:
    time = paced(world, PerCommunity(rate=0.2))
    first, second = await queue(world, "bob", "carol")
    draining = asyncio.ensure_future(world.dispatcher.drain())
    await time.run_for(1.0)
    assert order(world) == ["bob"]  # carol's waits for the next token, 5 s on
    taken = row(world, second)
    taken.owner = "another sender"  # its lease lapsed, say, and another claimed it
    await time.run(draining)
    assert order(world) == ["bob"] and row(world, second).status == "pending"
    assert row(world, first).status == "sent"


async def test_no_send_starts_on_a_lease_that_may_have_lapsed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    time = paced(world, PerCommunity(rate=10))
    calls: list[object] = []
    outages = [ConnectionError("away")] * 3

    async def renew(self: object, owner: str, now: object, until: object) -> Renewal:
        calls.append(now)
        if outages:
            raise outages.pop()
        return await original(self, owner, now, until)

    from tests.fakes import FakeOutbox

    original = FakeOutbox.renew
    monkeypatch.setattr(FakeOutbox, "renew", renew)
    handed: list[OutboxItem] = []
    world.bot.on_queued = lambda items, lease: handed.extend(items)
    await world.bot.handle(ask_event(world))
    world.bot.on_queued = None
    world.dispatcher.offer(handed, world.clock.now() + SEND_LEASE)
    world.clock.advance(timedelta(seconds=8))  # 2 s of the lease left: not enough
    assert await time.run(world.dispatcher.drain()) == 1
    assert len(calls) == 4  # three failed renewals, then one that held: only then sent
    [(posted_at, _)] = world.delivered
    assert posted_at >= calls[-1]


# What an event queues, handed over already leased (PayForward.on_queued)


def ask_event(world: World, who: str = "alice") -> CommandInvoked:
    return CommandInvoked(
        event_id=world.event_id(),
        community_id=CID,
        actor=info(who),
        channel_id="general",
        command="ask",
        text=f"Anyone? ({who})",
    )


async def claimable(world: World) -> list[OutboxItem]:
    async with world.db.uow() as uow:
        return await uow.outbox.claim_due(world.clock.now(), 10, world.clock.now())


async def test_an_events_messages_are_handed_over_leased_and_sent_without_a_claim(
    world: World,
) -> None:
    handed: list[OutboxItem] = []
    world.bot.on_queued = lambda items, lease: handed.extend(items)
    await world.bot.handle(ask_event(world))
    assert [(i.purpose.split(":")[0], i.attempts) for i in handed] == [("ask_card", 1)]
    assert await claimable(world) == []  # leased to whoever was handed it
    [leased] = world.db.state.outbox.values()
    assert leased.owner == world.dispatcher.owner
    world.dispatcher.offer(handed, world.clock.now() + SEND_LEASE)
    assert await world.dispatcher.drain() == 1
    assert [s.kind for s in world.chat.sent] == ["post"]
    [sent] = world.db.state.outbox.values()
    assert sent.status == "sent" and sent.item.attempts == 1


async def test_without_a_listener_an_events_messages_wait_in_the_outbox(world: World) -> None:
    await world.bot.handle(ask_event(world))
    assert [i.purpose.split(":")[0] for i in await claimable(world)] == ["ask_card"]


async def test_a_handed_over_message_goes_while_others_are_on_their_way(world: World) -> None:
    chat = gated(world, "bob")
    await queue(world, "bob")
    draining = asyncio.ensure_future(world.dispatcher.drain())
    await settle()  # bob's DM is on its way and stays there
    world.bot.on_queued = world.dispatcher.offer
    await world.bot.handle(ask_event(world))
    await settle()
    assert [s.kind for s in world.chat.sent] == ["post"]  # no batch to wait for
    chat.gates["bob"].set()
    assert await draining == 2


async def test_messages_handed_over_but_not_sent_are_given_back_on_release(world: World) -> None:
    world.bot.on_queued = world.dispatcher.offer
    await world.bot.handle(ask_event(world))
    await world.dispatcher.release()
    [item] = await claimable(world)  # free for any sender, its attempt refunded
    assert item.attempts == 1 and world.chat.sent == []
    assert world.dispatcher.held == 0


async def test_what_recording_a_handed_over_send_queues_is_sent_too(world: World) -> None:
    world.bot.on_queued = world.dispatcher.offer
    await world.bot.handle(ask_event(world))  # the card, handed over, not yet sent
    ask = await world.latest_ask()
    offer = ButtonPressed(
        event_id=world.event_id(),
        community_id=CID,
        actor=info("bob"),
        action=copy.OFFER,
        value=str(ask.id),
    )
    await world.bot.handle(offer)  # bob's offer DM to alice, handed over too
    assert await world.dispatcher.drain() == 3  # the card, the DM, then the edit
    assert sorted(s.kind for s in world.chat.sent[:2]) == ["dm", "post"]
    assert world.chat.sent[2].kind == "update"
    assert "Offered to help: @bob" in world.chat.sent[2].message.plain()


@pytest.fixture
def recorded(world: World, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many outcomes each transaction recording them held."""
    sizes: list[int] = []
    record = world.bot.delivered

    async def counted(outcomes: list[Outcome]) -> None:
        sizes.append(len(outcomes))
        await record(outcomes)

    monkeypatch.setattr(world.bot, "delivered", counted)
    return sizes


async def test_every_delivery_has_a_transaction_of_its_own(
    world: World, recorded: list[int]
) -> None:
    world.bot.on_queued = world.dispatcher.offer
    world.chat.hold = asyncio.Event()
    for who in ("alice", "bob", "carol"):
        await world.bot.handle(ask_event(world, who))
    sending = asyncio.create_task(world.dispatcher.drain())
    await settle()
    world.chat.hold.set()
    assert await sending == 3
    assert recorded == [1, 1, 1]
    assert {r.status for r in world.db.state.outbox.values()} == {"sent"}
    assert all(a.message is not None for a in world.db.state.asks.values())  # card refs


class HeldAfterFirstPost(FakeChat):
    """The first post goes through; every later one waits for good."""

    async def post(self, community_id: str, channel_id: str, message: Message) -> Delivery:
        if self.sent:
            await asyncio.Event().wait()
        return await super().post(community_id, channel_id, message)


async def test_a_cancelled_send_leaves_what_was_sent_before_it_recorded(
    world: World, recorded: list[int]
) -> None:
    chat = HeldAfterFirstPost()
    world.dispatcher = Dispatcher(world.db.uow, world.clock, {"test": chat}, world.bot)
    world.bot.on_queued = world.dispatcher.offer
    await world.bot.handle(ask_event(world, "alice"))
    await world.bot.handle(ask_event(world, "bob"))
    sending = asyncio.create_task(world.dispatcher.drain())
    await settle()  # alice's card is posted and recorded, bob's is held at the platform
    sending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sending
    assert recorded == [1]
    assert [s.message.plain().split()[2] for s in chat.sent] == ["@alice"]
    statuses = sorted(r.status for r in world.db.state.outbox.values())
    assert statuses == ["pending", "sent"]  # bob's stays leased: sent again later


class WiredChat(FakeChat):
    """A platform whose request goes on the wire a loop turn after its send begins, as
    aiohttp writes a body on Python 3.11; it notes which sends had begun by then."""

    def __init__(self) -> None:
        super().__init__()
        self.begun: list[str] = []
        self.on_the_wire: list[tuple[str, list[str]]] = []  # each with what had begun

    async def _begin(self, what: str) -> None:
        self.begun.append(what)
        await asyncio.sleep(0)
        self.on_the_wire.append((what, list(self.begun)))

    async def post(self, community_id: str, channel_id: str, message: Message) -> Delivery:
        await self._begin("post")
        return await super().post(community_id, channel_id, message)

    async def update(self, community_id: str, ref: MessageRef, message: Message) -> Delivery:
        await self._begin("update")
        return await super().update(community_id, ref, message)

    async def send_dm(self, community_id: str, member_id: str, message: Message) -> Delivery:
        await self._begin(f"dm {member_id}")
        return await super().send_dm(community_id, member_id, message)


async def test_an_events_first_message_is_on_the_wire_before_its_others_begin(
    world: World,
) -> None:
    """An offer hands over the DM to the asker, then the card's edit: the DM's request
    leaves first, not after the edit's was made ready too."""
    chat = WiredChat()
    time = paced(world, PerCommunity(rate=100, burst=10), chat=chat)
    world.bot.on_queued = world.dispatcher.offer
    running = asyncio.ensure_future(world.dispatcher.run())
    await world.bot.handle(ask_event(world))
    await time.run_for(0.1)  # the card is up
    ask = await world.latest_ask()
    chat.begun.clear()
    chat.on_the_wire.clear()
    pressed = ButtonPressed(
        event_id=world.event_id(),
        community_id=CID,
        actor=info("bob"),
        action=copy.OFFER,
        value=str(ask.id),
    )
    await world.bot.handle(pressed)
    await time.run_for(0.1)
    assert chat.on_the_wire == [("dm alice", ["dm alice"]), ("update", ["dm alice", "update"])]
    await world.dispatcher.stop()
    await running


async def test_stopping_lets_sends_under_way_finish_and_gives_back_the_rest(
    world: World,
) -> None:
    time = paced(world, PerCommunity(rate=0.5), chat=GatedChat("bob"))
    bob, carol = await queue(world, "bob", "carol")
    running = asyncio.ensure_future(world.dispatcher.run())
    await time.run_for(0.5)
    assert world.dispatcher.held == 2  # bob's on its way, carol's waits for a token
    stopping = asyncio.ensure_future(world.dispatcher.stop(grace_seconds=10))
    await settle()
    world.chat.gates["bob"].set()  # type: ignore[attr-defined]
    await stopping
    await running
    assert row(world, bob).status == "sent"
    given_back = row(world, carol)
    assert given_back.status == "pending" and given_back.item.attempts == 0
    assert given_back.owner is None and given_back.lease_until is None
    assert world.dispatcher.owner not in world.db.state.senders
    assert HOLD_IN_MEMORY > 0
