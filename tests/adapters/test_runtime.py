"""The runtime between adapters and the core: what an event queued goes out from a
task of its own beside the answers, and what is left when it stops goes back to the
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
    runtime = Runtime(core, tick_seconds=3600)  # no tick: only what the runtime does itself
    await runtime.start()
    yield runtime
    await runtime.stop()


def ask(world: World, who: str) -> CommandInvoked:
    return CommandInvoked(
        event_id=world.event_id(),
        community_id=CID,
        actor=info(who),
        channel_id="general",
        command="ask",
        text="Anyone?",
    )


async def test_an_events_card_goes_out_beside_its_answer_without_the_loop(
    world: World, runtime: Runtime
) -> None:
    world.chat.hold = asyncio.Event()  # a slow platform: the card's post takes a while
    answers = await runtime.handle(ask(world, "alice"))
    assert [type(a) for a in answers] == [Reply]  # the answer never waits behind a send
    assert world.chat.holding == 1 and world.chat.sent == []  # but the card left first
    world.chat.hold.set()
    for _ in range(50):  # let the send task finish (the loop's tick is an hour away)
        await asyncio.sleep(0)
    assert [s.kind for s in world.chat.sent] == ["post"]
    assert [r.status for r in world.db.state.outbox.values()] == ["sent"]


async def test_what_events_queue_behind_a_send_under_way_goes_with_it_not_the_loop(
    world: World, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(5):
        await asyncio.sleep(0)  # the start's drain is done
    drains = []

    async def counted() -> int:
        drains.append(1)
        return 0

    monkeypatch.setattr(world.dispatcher, "drain", counted)
    world.chat.hold = asyncio.Event()
    await runtime.handle(ask(world, "alice"))  # its card is on its way
    await runtime.handle(ask(world, "bob"))
    await runtime.handle(ask(world, "carol"))
    world.chat.hold.set()
    for _ in range(50):
        await asyncio.sleep(0)
    askers = [s.message.plain().split()[2] for s in world.chat.sent]
    assert askers == ["@alice", "@bob", "@carol"]
    assert drains == []  # alice's send took bob's and carol's cards along


async def test_stopping_gives_back_what_was_handed_over_but_not_sent(
    world: World, runtime: Runtime
) -> None:
    await runtime.stop()  # not running: events queue as usual
    await world.bot.handle(ask(world, "alice"))
    world.bot.on_queued = world.dispatcher.offer  # handed over just as it stopped
    await world.bot.handle(ask(world, "bob"))
    await runtime.start()
    await runtime.stop()
    async with world.db.uow() as uow:
        items = await uow.outbox.claim_due(world.clock.now(), 10, world.clock.now())
    assert [i.attempts for i in items] == [1, 1] and world.chat.sent == []


async def test_a_send_still_running_after_the_grace_is_cancelled_and_nothing_lost(
    world: World, runtime: Runtime
) -> None:
    world.chat.hold = asyncio.Event()  # never set: a send paced behind a long queue
    await runtime.handle(ask(world, "alice"))
    await runtime.stop(grace_seconds=0)
    world.chat.hold.set()  # the platform answers at last, too late
    for _ in range(20):
        await asyncio.sleep(0)
    assert world.chat.sent == []  # the send was cancelled, not left running past stop
    later = world.clock.now() + SEND_LEASE
    async with world.db.uow() as uow:  # the card, leased when it was handed over
        [card] = await uow.outbox.claim_due(later, 10, later + SEND_LEASE)
    assert card.purpose.startswith("ask_card")


async def test_an_event_handled_after_stopping_starts_no_send(
    world: World, runtime: Runtime
) -> None:
    await runtime.stop()
    world.bot.on_queued = world.dispatcher.offer  # an event already under way as it stopped
    await runtime.handle(ask(world, "alice"))
    for _ in range(50):
        await asyncio.sleep(0)
    assert world.chat.sent == []  # it waits in the outbox for the next start
    assert world.dispatcher.offered
