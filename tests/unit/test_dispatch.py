from __future__ import annotations

import random
from datetime import timedelta

from bot.dispatch import MAX_ATTEMPTS, backoff
from bot.domain import AskStatus, MessageRef
from bot.messages import Delivered, RetryAfter, Undeliverable
from tests.unit.conftest import World


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
