"""Contract tests of what the follow-ups and the upkeep jobs ask of storage: offers due
a reminder, asks to bump or close, members a page at a time, and pruning.

They run on every backend and on the in-memory fake, which must keep the same
contract. Writes are committed and read back in a new unit of work.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.domain import Ask, AskStatus, Member, Offer, OfferStatus, OptOut
from bot.messages import ToChannel
from bot.ports import FollowUpMarks, UnitOfWorkFactory
from tests.storage.builders import C1, C2, HELLO, at, make_ask
from tests.storage.conftest import WITH_FAKE

ACTIVE, LAPSED, WITHDRAWN = OfferStatus.ACTIVE, OfferStatus.LAPSED, OfferStatus.WITHDRAWN


@pytest.fixture(params=WITH_FAKE)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def add_asks(uow_factory: UnitOfWorkFactory, *asks: Ask) -> list[Ask]:
    async with uow_factory() as uow:
        added = [await uow.asks.add(ask) for ask in asks]
        await uow.commit()
    return added


async def add_offers(uow_factory: UnitOfWorkFactory, *offers: Offer) -> None:
    async with uow_factory() as uow:
        for offer in offers:
            await uow.asks.save_offer(offer)
        await uow.commit()


# Offers due a reminder


async def test_offers_due_are_active_offers_on_open_asks_across_communities(
    uow_factory: UnitOfWorkFactory,
) -> None:
    mine, theirs, resolved = await add_asks(
        uow_factory,
        make_ask(1),
        make_ask(1, community_id=C2),
        make_ask(2, status=AskStatus.RESOLVED),
    )
    due = [Offer(theirs.id, "U9", ACTIVE, at(1)), Offer(mine.id, "U2", ACTIVE, at(2))]
    await add_offers(
        uow_factory,
        *due,
        Offer(mine.id, "U3", ACTIVE, at(1), reminders_sent=1),  # another round
        Offer(mine.id, "U4", WITHDRAWN, at(1)),
        Offer(mine.id, "U5", LAPSED, at(1)),
        Offer(mine.id, "U6", ACTIVE, at(3.5)),  # made too late
        Offer(resolved.id, "U2", ACTIVE, at(1)),  # its ask is no longer open
    )
    async with uow_factory() as uow:
        assert await uow.asks.offers_due(0, at(3), 10) == [(theirs, due[0]), (mine, due[1])]
        assert await uow.asks.offers_due(0, at(2), 10) == [(theirs, due[0]), (mine, due[1])]
        assert await uow.asks.offers_due(0, at(3), 1) == [(theirs, due[0])]
        assert [o.member_id for _, o in await uow.asks.offers_due(1, at(3), 10)] == ["U3"]
        assert await uow.asks.offers_due(2, at(3), 10) == []


async def test_offers_due_at_the_same_instant_come_by_ask_then_member(
    uow_factory: UnitOfWorkFactory,
) -> None:
    first, second = await add_asks(uow_factory, make_ask(1), make_ask(2))
    await add_offers(
        uow_factory,
        Offer(second.id, "U1", ACTIVE, at(5)),
        Offer(first.id, "U3", ACTIVE, at(5)),
        Offer(first.id, "U2", ACTIVE, at(5)),
    )
    async with uow_factory() as uow:
        due = await uow.asks.offers_due(0, at(5), 10)
    assert [(o.ask_id, o.member_id) for _, o in due] == [
        (first.id, "U2"),
        (first.id, "U3"),
        (second.id, "U1"),
    ]


async def test_advance_offer_counts_a_reminder_once(uow_factory: UnitOfWorkFactory) -> None:
    (ask,) = await add_asks(uow_factory, make_ask(1))
    offer = Offer(ask.id, "U2", ACTIVE, at(1), reminders_sent=1)
    await add_offers(uow_factory, offer)
    async with uow_factory() as uow:
        assert await uow.asks.advance_offer(ask.id, "U2", 1) is True
        assert await uow.asks.advance_offer(ask.id, "U2", 1) is False  # already counted
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.asks.get_offer(ask.id, "U2") == replace(offer, reminders_sent=2)
        assert await uow.asks.advance_offer(ask.id, "U2", 1) is False
        assert await uow.asks.advance_offer(ask.id, "U9", 2) is False  # no such offer


async def test_lapse_offer_lapses_an_active_offer_once(uow_factory: UnitOfWorkFactory) -> None:
    (ask,) = await add_asks(uow_factory, make_ask(1))
    offer = Offer(ask.id, "U2", ACTIVE, at(1), reminders_sent=2)
    await add_offers(uow_factory, offer, Offer(ask.id, "U3", WITHDRAWN, at(1), reminders_sent=2))
    async with uow_factory() as uow:
        assert await uow.asks.lapse_offer(ask.id, "U2", 1) is False  # not that round
        assert await uow.asks.lapse_offer(ask.id, "U2", 2) is True
        assert await uow.asks.lapse_offer(ask.id, "U3", 2) is False  # not active
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.asks.get_offer(ask.id, "U2") == replace(offer, status=LAPSED)
        assert await uow.asks.lapse_offer(ask.id, "U2", 2) is False
        assert await uow.asks.advance_offer(ask.id, "U2", 2) is False


# Asks to bump


async def test_asks_to_bump_are_open_unbumped_and_unoffered_in_the_window(
    uow_factory: UnitOfWorkFactory,
) -> None:
    asks = await add_asks(
        uow_factory,
        make_ask(1, created_at=at(1)),  # at the window's open end: left out
        make_ask(2, created_at=at(4)),
        make_ask(3, created_at=at(2), community_id=C2),
        make_ask(4, created_at=at(5)),  # at the window's closed end: in
        make_ask(5, created_at=at(6)),  # too new
        make_ask(6, created_at=at(2), bumped_at=at(3)),
        make_ask(7, created_at=at(2), status=AskStatus.CLOSED),
        make_ask(8, created_at=at(2)),  # has an active offer
        make_ask(9, created_at=at(3)),  # its offer was withdrawn
    )
    await add_offers(
        uow_factory,
        Offer(asks[7].id, "U2", ACTIVE, at(3)),
        Offer(asks[8].id, "U2", WITHDRAWN, at(3)),
    )
    async with uow_factory() as uow:
        found = await uow.asks.asks_to_bump(at(5), at(1), 10)
        assert found == [asks[2], asks[8], asks[1], asks[3]]
        assert await uow.asks.asks_to_bump(at(5), at(1), 2) == [asks[2], asks[8]]


async def test_mark_bumped_records_the_bump_once(uow_factory: UnitOfWorkFactory) -> None:
    ask, closed = await add_asks(uow_factory, make_ask(1), make_ask(2, status=AskStatus.RESOLVED))
    async with uow_factory() as uow:
        assert await uow.asks.mark_bumped(ask.id, at(10)) is True
        assert await uow.asks.mark_bumped(ask.id, at(11)) is False
        assert await uow.asks.mark_bumped(closed.id, at(10)) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.asks.get(ask.id) == replace(ask, bumped_at=at(10))
        assert await uow.asks.get(closed.id) == closed
        assert await uow.asks.mark_bumped(ask.id, at(12)) is False
        assert await uow.asks.asks_to_bump(at(24), at(0), 10) == []


# Stale asks


async def test_stale_asks_are_open_asks_idle_since_least_recent_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    asks = await add_asks(
        uow_factory,
        make_ask(1, last_activity_at=at(5)),
        make_ask(2, last_activity_at=at(3)),  # at the instant: stale
        make_ask(3, last_activity_at=at(1), community_id=C2),
        make_ask(4, last_activity_at=at(3.5)),  # active since
        make_ask(5, last_activity_at=at(0), status=AskStatus.RESOLVED),
        make_ask(6, last_activity_at=at(1)),  # ties by id
    )
    async with uow_factory() as uow:
        assert await uow.asks.stale_asks(at(3), 10) == [asks[2], asks[5], asks[1]]
        assert await uow.asks.stale_asks(at(3), 1) == [asks[2]]
        assert await uow.asks.stale_asks(at(0), 10) == []


async def test_close_stale_closes_only_a_still_idle_open_ask_once(
    uow_factory: UnitOfWorkFactory,
) -> None:
    idle, busy, resolved = await add_asks(
        uow_factory,
        make_ask(1, last_activity_at=at(1)),
        make_ask(2, last_activity_at=at(4)),
        make_ask(3, last_activity_at=at(1), status=AskStatus.RESOLVED),
    )
    async with uow_factory() as uow:
        assert await uow.asks.close_stale(busy.id, at(3)) is False
        assert await uow.asks.close_stale(resolved.id, at(3)) is False
        assert await uow.asks.close_stale(idle.id, at(3)) is True
        assert await uow.asks.close_stale(idle.id, at(3)) is False
        await uow.commit()
    async with uow_factory() as uow:
        # closed as it was: its last activity stays when it was
        assert await uow.asks.get(idle.id) == replace(idle, status=AskStatus.CLOSED)
        assert await uow.asks.get(busy.id) == busy
        assert await uow.asks.get(resolved.id) == resolved
        assert await uow.asks.stale_asks(at(10), 10) == [busy]


# Follow-up marks


async def test_follow_up_marks_of_nothing_are_none(uow_factory: UnitOfWorkFactory) -> None:
    await add_asks(uow_factory, make_ask(1, status=AskStatus.CLOSED))
    async with uow_factory() as uow:
        marks = await uow.asks.follow_up_marks(at(0))
    assert marks == FollowUpMarks((None, None, None), None, None)


async def test_follow_up_marks_are_the_oldest_instants_of_each_rule(
    uow_factory: UnitOfWorkFactory,
) -> None:
    offered, bumped, waiting, other, closed = await add_asks(
        uow_factory,
        make_ask(1, created_at=at(1), last_activity_at=at(8)),
        make_ask(2, created_at=at(2), last_activity_at=at(7), bumped_at=at(3)),
        make_ask(3, created_at=at(6), last_activity_at=at(9)),
        make_ask(4, created_at=at(5), last_activity_at=at(6), community_id=C2),
        make_ask(5, created_at=at(0), last_activity_at=at(0), status=AskStatus.CLOSED),
    )
    await add_offers(
        uow_factory,
        Offer(offered.id, "U2", ACTIVE, at(12)),
        Offer(bumped.id, "U2", ACTIVE, at(11)),
        Offer(offered.id, "U3", ACTIVE, at(13), reminders_sent=2),
        Offer(offered.id, "U4", WITHDRAWN, at(10), reminders_sent=1),
        Offer(offered.id, "U5", ACTIVE, at(10), reminders_sent=3),  # past the last round
        Offer(closed.id, "U2", ACTIVE, at(10)),
        Offer(waiting.id, "U2", LAPSED, at(10)),
    )
    async with uow_factory() as uow:
        marks = await uow.asks.follow_up_marks(at(0))
        later = await uow.asks.follow_up_marks(at(5))  # only asks created after at(5)
    assert marks == FollowUpMarks((at(11), None, at(13)), unbumped=at(5), inactive=at(6))
    assert marks.unbumped == other.created_at
    assert later.unbumped == waiting.created_at


# Members, a page at a time


async def test_active_page_walks_active_members_by_id(uow_factory: UnitOfWorkFactory) -> None:
    members = [
        Member(C1, "U3", last_active_at=at(1)),
        Member(C1, "U1", last_active_at=at(0)),  # at the instant: active
        Member(C1, "U5", last_active_at=at(2), forgotten=True),  # the caller filters
        Member(C1, "U4", last_active_at=at(3), opt_outs=frozenset(OptOut)),
        Member(C1, "U2", last_active_at=at(-1)),  # idle
        Member(C1, "U0"),  # never active
        Member(C2, "U1", last_active_at=at(5)),
    ]
    async with uow_factory() as uow:
        for member in members:
            await uow.members.save(member)
        await uow.commit()
    pages: list[list[str]] = []
    after: str | None = None
    async with uow_factory() as uow:
        while page := await uow.members.active_page(C1, at(0), after, 2):
            pages.append([m.member_id for m in page])
            after = page[-1].member_id
        assert await uow.members.active_page(C1, at(0), "U3", 10) == members[3:1:-1]
        assert await uow.members.active_page(C2, at(0), None, 10) == [members[6]]
    assert pages == [["U1", "U3"], ["U4", "U5"]]


# Where the weekly post goes


async def test_latest_channel_is_the_channel_of_the_newest_ask(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        assert await uow.asks.latest_channel(C1) is None
    await add_asks(
        uow_factory,
        make_ask(1, channel_id="C-old"),
        make_ask(3, channel_id="C-new", status=AskStatus.CLOSED),
        make_ask(2, channel_id="C-mid"),
        make_ask(4, channel_id="C-other", community_id=C2),
    )
    async with uow_factory() as uow:
        assert await uow.asks.latest_channel(C1) == "C-new"
        assert await uow.asks.latest_channel(C2) == "C-other"


# Upkeep: the outbox and the event log


async def test_retry_with_refund_gives_back_the_claims_attempt(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        item_id = await uow.outbox.add(C1, ToChannel("C1"), HELLO, at(0))
        await uow.outbox.retry_at(item_id, at(0), "slow down", refund=True)  # never below 0
        await uow.commit()
    for hour in (1, 2):
        async with uow_factory() as uow:
            (item,) = await uow.outbox.claim_due(at(hour), 1, lease_until=at(hour + 0.5))
            assert item.attempts == 1
            await uow.outbox.retry_at(item_id, at(hour + 1), "slow down", refund=True)
            await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.claim_due(at(2.5), 1, lease_until=at(4)) == []
        (item,) = await uow.outbox.claim_due(at(3), 1, lease_until=at(4))
        await uow.outbox.retry_at(item_id, at(4), "down")  # without refund: it counts
        await uow.commit()
    async with uow_factory() as uow:
        (item,) = await uow.outbox.claim_due(at(4), 1, lease_until=at(5))
    assert (item.due_at, item.attempts) == (at(4), 2)


async def test_next_due_is_the_earliest_pending_due_after_the_instant(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        assert await uow.outbox.next_due(at(0)) is None
        sent = await uow.outbox.add(C1, ToChannel("C1"), HELLO, at(1))
        failed = await uow.outbox.add(C2, ToChannel("C1"), HELLO, at(2))
        for hours in (5, 3, 4):
            await uow.outbox.add(C2, ToChannel("C1"), HELLO, at(hours))
        await uow.outbox.mark_sent(sent, at(1))
        await uow.outbox.mark_failed(failed, at(2), "gone")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.next_due(at(0)) == at(3)
        assert await uow.outbox.next_due(at(3)) == at(4)  # later than, not at
        assert await uow.outbox.next_due(at(5)) is None


async def test_prune_deletes_what_left_the_queue_before_the_instant(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        ids = [await uow.outbox.add(C1, ToChannel("C1"), HELLO, at(0)) for _ in range(4)]
        await uow.outbox.add(C1, ToChannel("C1"), HELLO, at(0))  # stays pending
        await uow.outbox.mark_sent(ids[0], at(1))
        await uow.outbox.mark_failed(ids[1], at(2), "gone")
        await uow.outbox.mark_sent(ids[2], at(3))  # at the instant: kept
        await uow.outbox.claim_due(at(0), 10, lease_until=at(9))
        await uow.outbox.retry_at(ids[3], at(10), "down")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.prune(at(3)) == 2
        assert await uow.outbox.prune(at(3)) == 0
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.prune(at(100)) == 1
        assert await uow.outbox.pending_count() == 2


async def test_pruned_event_ids_are_forgotten(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        for n in range(3):
            assert await uow.events.first_time(C1, f"Ev{n}", at(n))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.events.prune(at(1)) == 1
        assert await uow.events.prune(at(1)) == 0
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.events.first_time(C1, "Ev0", at(5)) is True  # forgotten
        assert await uow.events.first_time(C1, "Ev1", at(5)) is False  # seen at the instant
        assert await uow.events.prune(at(10)) == 3
