from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest

from bot import copy
from bot.dispatch import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    MAX_ATTEMPTS,
    MAX_PACING_WAIT,
    Dispatcher,
    backoff,
)
from bot.domain import AskStatus, MessageRef
from bot.events import ButtonPressed, CommandInvoked
from bot.messages import (
    Delivered,
    Delivery,
    Message,
    RetryAfter,
    ToMember,
    Undeliverable,
    text,
)
from bot.ports import OutboxItem
from bot.service import Outcome
from bot.throttle import TokenBucket
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


# Pacing: a token bucket per platform, on virtual time.


def paced(world: World, rate: float, burst: float | None = None) -> tuple[TokenBucket, VirtualTime]:
    """Give the world's dispatcher a bucket for its platform, on the world's clock."""
    time = VirtualTime(world.clock)
    bucket = TokenBucket(rate, burst, monotonic=time.monotonic, sleep=time.sleep)
    world.dispatcher = Dispatcher(
        world.db.uow, world.clock, {"test": world.chat}, world.bot, buckets={"test": bucket}
    )
    return bucket, time


async def queue(world: World, *members: str) -> list[int]:
    """Queue one DM to each member, due now, in this order; their outbox ids."""
    async with world.db.uow() as uow:
        ids = [
            await uow.outbox.add(
                CID, ToMember(member), Message((text(f"{member} {n}"),)), world.clock.now()
            )
            for n, member in enumerate(members)
        ]
        await uow.commit()
    return ids


def row(world: World, item_id: int) -> _Row:
    return world.db.state.outbox[item_id]


class GatedChat(FakeChat):
    """DMs to a gated member wait until the gate opens; everyone else's go at once."""

    def __init__(self, *gated: str) -> None:
        super().__init__()
        self.gates = {member: asyncio.Event() for member in gated}

    async def send_dm(self, community_id: str, member_id: str, message: Message) -> Delivery:
        if (gate := self.gates.get(member_id)) is not None:
            await gate.wait()
        return await super().send_dm(community_id, member_id, message)


def gated(world: World, *members: str, bucket: TokenBucket | None = None) -> GatedChat:
    chat = GatedChat(*members)
    chat.on_send = world.chat.on_send
    world.chat = chat
    buckets = {"test": bucket} if bucket is not None else None
    world.dispatcher = Dispatcher(
        world.db.uow, world.clock, {"test": chat}, world.bot, buckets=buckets
    )
    return chat


async def test_a_429_holds_the_whole_platform_and_costs_no_attempt(world: World) -> None:
    bucket, time = paced(world, rate=10)
    bob, carol = await queue(world, "bob", "carol")
    world.chat.script = [RetryAfter(30, "rate limited", throttled=True)]
    assert await time.run(world.dispatcher.drain()) == 0
    assert bucket.wait_time() == 30
    # Carol's DM met the hold: back to the queue untried, rather than waiting 30 s.
    assert world.chat.sent == [] and time.sleeps == []
    for item_id in (bob, carol):
        held = row(world, item_id)
        assert held.status == "pending" and held.item.attempts == 0
        assert held.item.due_at == START + timedelta(seconds=30)
    assert row(world, bob).error == "rate limited"
    world.clock.advance(timedelta(seconds=30))
    assert await time.run(world.dispatcher.drain()) == 2
    assert row(world, bob).item.attempts == 1 and row(world, carol).item.attempts == 1


async def test_429s_alone_never_make_a_message_undeliverable(world: World) -> None:
    _, time = paced(world, rate=10)
    [bob] = await queue(world, "bob")
    world.chat.script = [RetryAfter(5, "rate limited", throttled=True)] * (3 * MAX_ATTEMPTS)
    for _ in range(3 * MAX_ATTEMPTS):
        assert await time.run(world.dispatcher.drain()) == 0
        assert row(world, bob).status == "pending" and row(world, bob).item.attempts == 0
        world.clock.advance(timedelta(seconds=5))
    assert await time.run(world.dispatcher.drain()) == 1
    assert len(world.dms("bob")) == 1
    assert row(world, bob).status == "sent" and row(world, bob).item.attempts == 1


async def test_a_platform_error_backs_off_counting_attempts_then_gives_up(world: World) -> None:
    bucket, time = paced(world, rate=10)
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
        assert bucket.wait_time() == 0  # a failure is not a rate limit: nothing held
        world.clock.set(failed.item.due_at)
    assert await time.run(world.dispatcher.drain()) == 0
    gave_up = row(world, bob)
    assert gave_up.status == "failed" and gave_up.item.attempts == MAX_ATTEMPTS
    assert gave_up.error == f"gave up after {MAX_ATTEMPTS} attempts: http 503"
    world.clock.advance(timedelta(days=1))
    assert await time.run(world.dispatcher.drain()) == 0 and world.chat.sent == []


async def test_an_undeliverable_message_is_not_retried_nor_holds_others(world: World) -> None:
    bucket, time = paced(world, rate=10)
    world.chat.script = [Undeliverable("cannot_dm_bot")]
    [bob, _] = await queue(world, "bob", "carol")
    assert await time.run(world.dispatcher.drain()) == 1
    assert row(world, bob).status == "failed" and row(world, bob).item.attempts == 1
    assert world.dms("carol") == ["carol 1"] and bucket.wait_time() == 0
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


async def test_a_pacing_wait_over_the_limit_goes_back_to_the_queue(world: World) -> None:
    _, time = paced(world, rate=1 / (MAX_PACING_WAIT * 2))  # one message per 10 s
    [_, carol] = await queue(world, "bob", "carol")
    assert await time.run(world.dispatcher.drain()) == 1
    assert time.sleeps == []  # nobody waited
    waiting = row(world, carol)
    assert waiting.status == "pending" and waiting.item.attempts == 0
    assert waiting.error == "paced"
    assert waiting.item.due_at == START + timedelta(seconds=MAX_PACING_WAIT * 2)
    world.clock.set(waiting.item.due_at)
    assert await time.run(world.dispatcher.drain()) == 1
    assert world.dms("carol") == ["carol 1"] and row(world, carol).item.attempts == 1


async def test_a_short_pacing_wait_is_waited_out(world: World) -> None:
    _, time = paced(world, rate=1)
    await queue(world, "bob", "carol", "dave")
    assert await time.run(world.dispatcher.drain()) == 3
    assert set(time.sleeps) == {1.0}  # one token a second: the third went at 2 s
    assert world.clock.now() == START + timedelta(seconds=2)


async def test_a_429_never_makes_a_waiting_lane_wait_longer_than_the_limit(world: World) -> None:
    time = VirtualTime(world.clock)
    bucket = TokenBucket(1, 1, monotonic=time.monotonic, sleep=time.sleep)
    chat = gated(world, "bob", bucket=bucket)
    chat.script = [RetryAfter(60, "rate limited", throttled=True)]
    [_, carol] = await queue(world, "bob", "carol")
    drain = asyncio.ensure_future(world.dispatcher.drain())
    await settle()
    assert time.sleeps == [1.0]  # bob's DM is on its way, carol's waits for a token
    chat.gates["bob"].set()  # … and bob's meets a 429 asking for 60 s
    assert await time.run(drain) == 0
    assert max(time.sleeps) <= MAX_PACING_WAIT, time.sleeps
    # Carol's went back to the queue when the hold made her wait too long.
    waiting = row(world, carol)
    assert waiting.status == "pending" and waiting.error == "paced"
    assert waiting.item.attempts == 0
    assert waiting.item.due_at == START + timedelta(seconds=60)


async def test_a_retried_message_is_not_overtaken_by_a_later_one_to_the_same_target(
    world: World,
) -> None:
    _, time = paced(world, rate=10)
    world.chat.script = [RetryAfter(1, "rate limited", throttled=True)]
    first, second = await queue(world, "bob", "bob")
    await time.run(world.dispatcher.drain())
    behind = row(world, second)
    assert behind.status == "pending" and behind.item.attempts == 0  # nobody's failure
    assert behind.item.due_at == row(world, first).item.due_at
    world.clock.advance(timedelta(seconds=5))
    await time.run(world.dispatcher.drain())
    assert world.dms("bob") == ["bob 0", "bob 1"]


async def test_one_failing_lane_does_not_resend_the_rest_of_its_batch(
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


# What an event queues, handed over already claimed (PayForward.on_queued)


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


async def test_an_events_messages_are_handed_over_claimed_and_sent_without_a_claim(
    world: World,
) -> None:
    handed: list[OutboxItem] = []
    world.bot.on_queued = handed.extend
    await world.bot.handle(ask_event(world))
    assert [(i.purpose.split(":")[0], i.attempts) for i in handed] == [("ask_card", 1)]
    assert await claimable(world) == []  # leased to whoever was handed it
    world.dispatcher.offer(handed)
    assert await world.dispatcher.send_offered() == 1
    assert [s.kind for s in world.chat.sent] == ["post"]
    assert await world.dispatcher.send_offered() == 0  # nothing left over
    [row] = world.db.state.outbox.values()
    assert row.status == "sent"


async def test_without_a_listener_an_events_messages_wait_in_the_outbox(world: World) -> None:
    await world.bot.handle(ask_event(world))
    assert [i.purpose.split(":")[0] for i in await claimable(world)] == ["ask_card"]


class GatedPosts(FakeChat):
    """Holds every post until `gate` opens: a batch under way."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def post(self, community_id: str, channel_id: str, message: Message) -> Delivery:
        await self.gate.wait()
        return await super().post(community_id, channel_id, message)


async def test_handed_over_messages_wait_behind_a_batch_under_way(world: World) -> None:
    chat = GatedPosts()
    dispatcher = Dispatcher(world.db.uow, world.clock, {"test": chat}, world.bot)
    await world.bot.handle(ask_event(world, "alice"))  # queued the ordinary way
    draining = asyncio.create_task(dispatcher.drain())
    await asyncio.sleep(0)  # the drain has claimed alice's card and is posting it
    world.bot.on_queued = dispatcher.offer
    await world.bot.handle(ask_event(world, "bob"))
    assert await dispatcher.send_offered() == 0  # not beside the batch under way
    chat.gate.set()
    assert await draining == 2  # the drain sent bob's card after alice's
    cards = [m.plain() for m in chat.to("post", "general")]
    assert ["(alice)" in cards[0], "(bob)" in cards[1]] == [True, True]


async def test_messages_handed_over_but_not_sent_are_given_back_on_release(world: World) -> None:
    world.bot.on_queued = world.dispatcher.offer
    await world.bot.handle(ask_event(world))
    await world.dispatcher.release()
    [item] = await claimable(world)  # free for any sender, its attempt refunded
    assert item.attempts == 1 and world.chat.sent == []


async def test_what_recording_a_handed_over_send_queues_is_sent_in_the_same_go(
    world: World,
) -> None:
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
    assert await world.dispatcher.send_offered() == 3  # the card, the DM, then the edit
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


async def test_under_load_batches_go_out_first_and_are_recorded_together(
    world: World, recorded: list[int]
) -> None:
    world.bot.on_queued = world.dispatcher.offer
    world.chat.hold = asyncio.Event()
    await world.bot.handle(ask_event(world, "alice"))
    sending = asyncio.create_task(world.dispatcher.send_offered())
    await asyncio.sleep(0)  # alice's card is on its way
    await world.bot.handle(ask_event(world, "bob"))  # offered meanwhile
    await world.bot.handle(ask_event(world, "carol"))
    world.chat.hold.set()
    assert await sending == 3
    assert recorded == [3]  # one transaction for both batches
    assert {r.status for r in world.db.state.outbox.values()} == {"sent"}
    assert all(a.message is not None for a in world.db.state.asks.values())  # card refs


class AsksWhilePosting(FakeChat):
    """Each post takes long enough for the next member's /ask to come in."""

    def __init__(self, world: World, askers: list[str]) -> None:
        super().__init__()
        self.world = world
        self.askers = askers

    async def post(self, community_id: str, channel_id: str, message: Message) -> Delivery:
        if self.askers:
            await self.world.bot.handle(ask_event(self.world, self.askers.pop(0)))
        return await super().post(community_id, channel_id, message)


async def test_recording_waits_for_at_most_a_batch_of_outcomes(
    world: World, recorded: list[int]
) -> None:
    chat = AsksWhilePosting(world, ["bob", "carol", "dave", "erin"])
    dispatcher = Dispatcher(world.db.uow, world.clock, {"test": chat}, world.bot, batch=2)
    world.bot.on_queued = dispatcher.offer
    await world.bot.handle(ask_event(world, "alice"))
    assert await dispatcher.send_offered() == 5
    assert recorded == [2, 2, 1]  # never more than a batch unrecorded
    assert len(chat.to("post", "general")) == 5


class HeldAfterFirstPost(AsksWhilePosting):
    """The first post lets bob ask; every later one waits for good."""

    async def post(self, community_id: str, channel_id: str, message: Message) -> Delivery:
        if self.askers:
            return await super().post(community_id, channel_id, message)
        await asyncio.Event().wait()
        raise AssertionError("never")


async def test_a_cancelled_send_still_records_the_batches_sent_before_it(
    world: World, recorded: list[int]
) -> None:
    chat = HeldAfterFirstPost(world, ["bob"])
    dispatcher = Dispatcher(world.db.uow, world.clock, {"test": chat}, world.bot)
    world.bot.on_queued = dispatcher.offer
    await world.bot.handle(ask_event(world, "alice"))
    sending = asyncio.create_task(dispatcher.send_offered())
    for _ in range(5):
        await asyncio.sleep(0)  # alice's card is posted, bob's is held at the platform
    sending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sending
    assert recorded == [1]  # alice's post, on the way out
    assert [s.message.plain().split()[2] for s in chat.sent] == ["@alice"]
    statuses = sorted(r.status for r in world.db.state.outbox.values())
    assert statuses == ["pending", "sent"]  # bob's stays leased: sent again later
