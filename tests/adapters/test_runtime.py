"""The runtime between adapters and the core: what an event queued goes out from the
dispatcher's task beside the answers, and what is left when it stops goes back to the
outbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.events import CommandInvoked
from bot.jobs import Jobs
from bot.messages import Reply
from bot.service import SEND_LEASE
from payforward.bootstrap import Core
from payforward.runtime import Runtime
from tests.unit.conftest import CID, World, info


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
async def runtime(world: World) -> AsyncIterator[Runtime]:
    core = Core(world.clock, world.db.uow, world.bot, world.dispatcher, Jobs(world.db.uow, "t"))
    runtime = Runtime(core)
    await runtime.start()
    yield runtime
    await runtime.stop()


def ask(world: World, who: str, channel: str = "general") -> CommandInvoked:
    return CommandInvoked(
        event_id=world.event_id(),
        community_id=CID,
        actor=info(who),
        channel_id=channel,
        command="ask",
        text="Anyone?",
    )


async def settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


async def test_an_events_card_goes_out_beside_its_answer(world: World, runtime: Runtime) -> None:
    world.chat.hold = asyncio.Event()  # a slow platform: the card's post takes a while
    answers = await runtime.handle(ask(world, "alice"))
    assert [type(a) for a in answers] == [Reply]  # the answer never waits behind a send
    await settle()
    assert world.chat.holding == 1 and world.chat.sent == []  # the card is on its way
    world.chat.hold.set()
    await settle()
    assert [s.kind for s in world.chat.sent] == ["post"]
    assert [r.status for r in world.db.state.outbox.values()] == ["sent"]


async def test_a_card_never_waits_for_another_on_its_way(world: World, runtime: Runtime) -> None:
    world.chat.hold = asyncio.Event()
    await runtime.handle(ask(world, "alice", "general"))
    await settle()
    await runtime.handle(ask(world, "bob", "random"))
    await settle()
    assert world.chat.holding == 2  # both on their way: no batch, no turn to wait for
    world.chat.hold.set()
    await settle()
    assert sorted(s.to for s in world.chat.sent) == ["general", "random"]


async def test_stopping_gives_back_what_was_handed_over_but_not_sent(
    world: World, runtime: Runtime
) -> None:
    await runtime.stop()  # not running: events queue as usual
    await world.bot.handle(ask(world, "alice"))
    world.bot.on_queued = world.dispatcher.offer  # handed over just as it stopped
    await world.bot.handle(ask(world, "bob"))
    await world.dispatcher.stop()
    async with world.db.uow() as uow:
        items = await uow.outbox.claim_due(world.clock.now(), 10, world.clock.now())
    assert [i.attempts for i in items] == [1, 1] and world.chat.sent == []


async def test_a_send_still_running_after_the_grace_is_cancelled_and_given_back(
    world: World, runtime: Runtime
) -> None:
    world.chat.hold = asyncio.Event()  # never set in time
    await runtime.handle(ask(world, "alice"))
    await settle()
    await runtime.stop(grace_seconds=0)
    world.chat.hold.set()  # the platform answers at last, too late
    await settle()
    assert world.chat.sent == []  # the send was cancelled, not left running past stop
    async with world.db.uow() as uow:  # the card is free for the next sender at once
        [card] = await uow.outbox.claim_due(world.clock.now(), 10, world.clock.now())
    assert card.purpose.startswith("ask_card")


async def test_an_event_handled_after_stopping_starts_no_send(
    world: World, runtime: Runtime
) -> None:
    await runtime.stop()
    world.bot.on_queued = world.dispatcher.offer  # an event already under way as it stopped
    await runtime.handle(ask(world, "alice"))
    await settle()
    assert world.chat.sent == []  # it waits for its lease to lapse, then any sender
    assert world.dispatcher.held == 1
    assert SEND_LEASE.total_seconds() <= 10
