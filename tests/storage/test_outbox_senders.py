"""The outbox as several senders use it: the claim order, leases held by an owner and
renewed by its heartbeat, a lapsed lease passing to another owner, each delivery
recorded on its own, and the count of live senders that share the budgets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.messages import Priority, ToChannel, ToMember
from bot.ports import UnitOfWorkFactory
from tests.storage.builders import C1, C2, HELLO, at
from tests.storage.conftest import WITH_FAKE

pytestmark = pytest.mark.parametrize("backend", WITH_FAKE, indirect=True)

A, B = "sender-a", "sender-b"
LEASE = timedelta(seconds=10)


async def queue(
    uow_factory: UnitOfWorkFactory, *priorities: Priority, community: str = C1, hours: float = 0
) -> list[int]:
    async with uow_factory() as uow:
        ids = [
            await uow.outbox.add(community, ToMember(f"U{n}"), HELLO, at(hours), priority=priority)
            for n, priority in enumerate(priorities)
        ]
        await uow.commit()
    return ids


async def test_claims_go_by_class_then_due_time_then_queue_order(
    uow_factory: UnitOfWorkFactory,
) -> None:
    bulk, soon = await queue(uow_factory, Priority.BULK, Priority.SOON, hours=0)
    [now_late] = await queue(uow_factory, Priority.NOW, hours=1)
    [now_early, later_bulk] = await queue(uow_factory, Priority.NOW, Priority.BULK, hours=0.5)
    await queue(uow_factory, Priority.NOW, hours=5)  # not due yet
    async with uow_factory() as uow:
        first = await uow.outbox.claim_due(at(2), 3, at(2) + LEASE, owner=A)
        rest = await uow.outbox.claim_due(at(2), 10, at(2) + LEASE, owner=A)
        await uow.commit()
    assert [i.id for i in first] == [now_early, now_late, soon]
    assert [i.id for i in rest] == [bulk, later_bulk]


async def test_a_claim_passes_over_the_communities_it_is_told_to_skip(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await queue(uow_factory, Priority.BULK, Priority.BULK)
    [other] = await queue(uow_factory, Priority.BULK, community=C2)
    async with uow_factory() as uow:
        claimed = await uow.outbox.claim_due(at(1), 10, at(1) + LEASE, owner=A, skip=[C1])
        await uow.commit()
    assert [i.id for i in claimed] == [other]


async def test_a_heartbeat_renews_what_its_owner_holds_and_nothing_else(
    uow_factory: UnitOfWorkFactory,
) -> None:
    mine, theirs, free = await queue(uow_factory, Priority.NOW, Priority.NOW, Priority.NOW)
    async with uow_factory() as uow:
        [held] = await uow.outbox.claim_due(at(0), 1, at(0) + LEASE, owner=A)
        [other] = await uow.outbox.claim_due(at(0), 1, at(0) + LEASE, owner=B)
        renewal = await uow.outbox.renew(A, at(0) + timedelta(seconds=8), at(0) + 2 * LEASE)
        await uow.commit()
    assert (held.id, other.id) == (mine, theirs)
    assert renewal.held == frozenset({mine})
    async with uow_factory() as uow:  # B's lease lapsed at 10 s; A's holds till 20 s
        claimed = await uow.outbox.claim_due(at(0) + timedelta(seconds=12), 10, at(1), owner=B)
        await uow.commit()
    assert sorted(i.id for i in claimed) == [theirs, free]


async def test_a_lapsed_lease_passes_to_another_owner_and_the_first_loses_it(
    uow_factory: UnitOfWorkFactory,
) -> None:
    [item] = await queue(uow_factory, Priority.BULK)
    async with uow_factory() as uow:
        await uow.outbox.claim_due(at(0), 10, at(0) + LEASE, owner=A)
        await uow.commit()
    lapsed = at(0) + LEASE + timedelta(seconds=1)  # A crashed, say
    async with uow_factory() as uow:
        [taken] = await uow.outbox.claim_due(lapsed, 10, lapsed + LEASE, owner=B)
        await uow.commit()
    assert taken.id == item and taken.attempts == 2
    async with uow_factory() as uow:
        late = await uow.outbox.renew(A, lapsed, lapsed + LEASE)  # A was only slow
        held = await uow.outbox.renew(B, lapsed, lapsed + LEASE)
        await uow.commit()
    assert late.held == frozenset() and held.held == frozenset({item})


async def test_what_an_event_queues_is_leased_to_its_owner_and_renewed_with_the_rest(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        uow.outbox.hand_over(at(0), at(0) + LEASE, owner=A)
        card = await uow.outbox.add(C1, ToChannel("C1"), HELLO, at(0))
        [handed] = await uow.outbox.claim_queued(at(0), at(0) + LEASE, owner=A)
        await uow.commit()
    assert handed.id == card and handed.attempts == 1
    async with uow_factory() as uow:
        renewal = await uow.outbox.renew(A, at(0), at(0) + 2 * LEASE)
        await uow.commit()
    assert renewal.held == frozenset({card})


async def test_each_delivery_is_recorded_on_its_own_and_lets_go_of_its_lease(
    uow_factory: UnitOfWorkFactory,
) -> None:
    first, second = await queue(uow_factory, Priority.NOW, Priority.NOW)
    async with uow_factory() as uow:
        await uow.outbox.claim_due(at(0), 10, at(0) + LEASE, owner=A)
        await uow.commit()
    async with uow_factory() as uow:  # the first went out: recorded at once
        await uow.outbox.mark_sent(first, at(0))
        await uow.commit()
    async with uow_factory() as uow:
        renewal = await uow.outbox.renew(A, at(0), at(0) + LEASE)
        assert await uow.outbox.due_count(at(0)) == 1
        await uow.commit()
    assert renewal.held == frozenset({second})  # the sent one is no longer held
    async with uow_factory() as uow:  # given back: any sender may take it at once
        await uow.outbox.retry_at(second, at(0), "not sent before stopping", refund=True)
        await uow.commit()
    async with uow_factory() as uow:
        [again] = await uow.outbox.claim_due(at(0), 10, at(0) + LEASE, owner=B)
        await uow.commit()
    assert again.id == second and again.attempts == 1


async def test_live_senders_are_counted_until_they_leave_or_stop_beating(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        assert (await uow.outbox.renew(A, at(0), at(0) + LEASE)).senders == 1
        assert (await uow.outbox.renew(B, at(0), at(0) + LEASE)).senders == 2
        await uow.commit()
    async with uow_factory() as uow:
        await uow.outbox.leave(B)
        assert (await uow.outbox.renew(A, at(0), at(0) + LEASE)).senders == 1
        await uow.commit()
    async with uow_factory() as uow:
        await uow.outbox.renew(B, at(0), at(0) + LEASE)
        later = at(0) + timedelta(seconds=30)  # B stopped beating 20 s ago
        assert (await uow.outbox.renew(A, later, later + LEASE)).senders == 1
        await uow.commit()


async def test_the_next_due_item_is_found_in_every_class(uow_factory: UnitOfWorkFactory) -> None:
    await queue(uow_factory, Priority.BULK, hours=3)
    await queue(uow_factory, Priority.SOON, hours=2)
    await queue(uow_factory, Priority.NOW, hours=4)
    async with uow_factory() as uow:
        assert await uow.outbox.next_due(at(0)) == at(2)
        assert await uow.outbox.next_due(at(2)) == at(3)
        assert await uow.outbox.next_due(at(4)) is None
