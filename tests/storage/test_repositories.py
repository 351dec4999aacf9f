"""Contract tests of the ports in bot/ports.py, run against every storage backend.

Only the ports are used here, never SQL, so the in-memory fake can run them too.
Writes are committed and read back in a new unit of work, so a test cannot pass on
state that only lives inside one transaction. The gives have their own module.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta, timezone

import pytest

from bot.domain import (
    AskStatus,
    Community,
    Member,
    MessageRef,
    Offer,
    OfferStatus,
    OptOut,
    Schedule,
)
from bot.messages import (
    Attachment,
    Block,
    Button,
    ButtonStyle,
    ChannelMention,
    Mention,
    Message,
    Style,
    Target,
    ToChannel,
    ToMember,
    ToMessage,
    UserText,
)
from bot.ports import UnitOfWork, UnitOfWorkFactory
from tests.storage.builders import C1, C2, HELLO, T0, add_communities, at, make_ask, make_give
from tests.storage.conftest import WITH_FAKE

# Communities


async def test_community_round_trips_with_its_schedules(uow_factory: UnitOfWorkFactory) -> None:
    community = Community(
        C1,
        channel_id="C99",
        timezone="Europe/Paris",
        leaderboard=Schedule(2, time(8, 30)),
        prompts=Schedule(5, time(17, 45)),
        offer_emoji="wave",
    )
    async with uow_factory() as uow:
        await uow.communities.add(community)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.communities.get(C1) == community


async def test_community_with_prompts_off_round_trips_as_none(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.communities.add(Community(C1, prompts=None))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.communities.get(C1) == Community(C1, prompts=None)


async def test_saved_community_changes_are_read_back(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.communities.add(Community(C1))
        await uow.commit()
    changed = Community(C1, channel_id="C2", prompts=None, leaderboard=Schedule(6, time(23, 59)))
    async with uow_factory() as uow:
        await uow.communities.save(changed)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.communities.get(C1) == changed
        assert await uow.communities.get("slack:unknown") is None


async def test_all_lists_every_community(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await add_communities(uow, C2, C1)
        await uow.commit()
    async with uow_factory() as uow:
        assert sorted(c.community_id for c in await uow.communities.all()) == [C2, C1]


async def test_ask_numbers_count_up_per_community(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await add_communities(uow, C1, C2)
        first = [await uow.communities.next_ask_number(C1) for _ in range(3)]
        other = await uow.communities.next_ask_number(C2)
        await uow.commit()
    async with uow_factory() as uow:
        fourth = await uow.communities.next_ask_number(C1)
    assert (first, other, fourth) == ([1, 2, 3], 1, 4)


async def test_ask_numbers_are_not_reused_after_a_rollback_of_other_work(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await add_communities(uow)
        assert await uow.communities.next_ask_number(C1) == 1
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.communities.next_ask_number(C1) == 2
        # no commit: the number goes back with the rolled back ask
    async with uow_factory() as uow:
        assert await uow.communities.next_ask_number(C1) == 2


# Members


async def test_member_round_trips_with_opt_outs_and_aware_times(
    uow_factory: UnitOfWorkFactory,
) -> None:
    paris = timezone(timedelta(hours=1))
    member = Member(
        C1,
        "U1",
        display_name="Ada",
        tz="Europe/Paris",
        opt_outs=frozenset({OptOut.PROMPTS, OptOut.REMINDERS}),
        last_active_at=datetime(2025, 3, 3, 10, 0, 0, 123456, tzinfo=paris),
    )
    async with uow_factory() as uow:
        await uow.members.save(member)
        await uow.commit()
    async with uow_factory() as uow:
        loaded = await uow.members.get(C1, "U1")
        assert loaded == member
        assert loaded is not None and loaded.last_active_at is not None
        assert loaded.last_active_at.utcoffset() is not None
        assert await uow.members.get(C1, "U2") is None
        assert await uow.members.get(C2, "U1") is None


async def test_saving_a_member_again_replaces_it(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.members.save(Member(C1, "U1", display_name="Ada", tz="UTC"))
        await uow.commit()
    forgotten = Member(C1, "U1", opt_outs=frozenset({OptOut.LEADERBOARD}), forgotten=True)
    async with uow_factory() as uow:
        await uow.members.save(forgotten)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.members.get(C1, "U1") == forgotten


async def test_active_members_include_the_instant_and_skip_the_idle(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.members.save(Member(C1, "old", last_active_at=at(-1)))
        await uow.members.save(Member(C1, "edge", last_active_at=at(0)))
        await uow.members.save(Member(C1, "new", last_active_at=at(5)))
        await uow.members.save(Member(C1, "never"))
        await uow.members.save(Member(C2, "elsewhere", last_active_at=at(5)))
        await uow.commit()
    async with uow_factory() as uow:
        active = await uow.members.active_page(C1, T0, None, 10)
    assert sorted(m.member_id for m in active) == ["edge", "new"]


async def test_opted_out_lists_the_members_of_that_opt_out(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.members.save(Member(C1, "U1", opt_outs=frozenset({OptOut.LEADERBOARD})))
        await uow.members.save(Member(C1, "U2", opt_outs=frozenset(OptOut)))
        await uow.members.save(Member(C1, "U3"))
        await uow.members.save(Member(C2, "U4", opt_outs=frozenset(OptOut)))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.members.opted_out(C1, OptOut.LEADERBOARD) == {"U1", "U2"}
        assert await uow.members.opted_out(C1, OptOut.PROMPTS) == {"U2"}
        assert await uow.members.opted_out(C1, OptOut.REMINDERS) == {"U2"}


# Asks


async def test_added_ask_gets_an_id_and_round_trips(uow_factory: UnitOfWorkFactory) -> None:
    ask = make_ask(
        7,
        message=MessageRef("C1", "1741000000.000100"),
        status=AskStatus.RESOLVED,
        resolved_at=at(30),
        bumped_at=at(20),
    )
    async with uow_factory() as uow:
        added = await uow.asks.add(ask)
        other = await uow.asks.add(make_ask(8))
        await uow.commit()
    assert added == replace(ask, id=added.id)
    assert added.id != other.id
    async with uow_factory() as uow:
        assert await uow.asks.get(added.id) == added
        assert await uow.asks.get(other.id) == other
        assert await uow.asks.get(other.id + 1000) is None


async def test_ask_is_found_by_number_and_by_message(uow_factory: UnitOfWorkFactory) -> None:
    ref = MessageRef("C1", "m1")
    async with uow_factory() as uow:
        ask = await uow.asks.add(make_ask(3, message=ref))
        await uow.asks.add(make_ask(4))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.asks.by_number(C1, 3) == ask
        assert await uow.asks.by_message(C1, ref) == ask
        assert await uow.asks.by_number(C1, 5) is None
        assert await uow.asks.by_message(C1, MessageRef("C1", "m2")) is None
        assert await uow.asks.by_message(C1, MessageRef("C2", "m1")) is None


async def test_saved_ask_changes_are_read_back(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        ask = await uow.asks.add(make_ask(1))
        await uow.commit()
    resolved = replace(
        ask,
        status=AskStatus.RESOLVED,
        text="edited",
        message=MessageRef("C1", "m9"),
        resolved_at=at(10),
        last_activity_at=at(10),
    )
    async with uow_factory() as uow:
        await uow.asks.save(resolved)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.asks.get(ask.id) == resolved


async def test_saves_after_a_read_keep_every_change(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        ask = await uow.asks.add(make_ask(1))
        await uow.commit()
    async with uow_factory() as uow:
        read = await uow.asks.get(ask.id)
        assert read is not None
        resolved = replace(read, status=AskStatus.RESOLVED, resolved_at=at(10))
        await uow.asks.save(resolved)
        posted = replace(resolved, message=MessageRef("C1", "m9"))
        await uow.asks.save(posted)
        await uow.asks.save(posted)  # nothing new
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.asks.get(ask.id) == posted


async def test_a_save_writes_only_what_it_changed(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        ask = await uow.asks.add(make_ask(1, asker="U1"))
        await uow.commit()
    async with uow_factory() as uow:
        read = await uow.asks.by_number(C1, 1)
        assert read is not None
        await uow.asks.erase_texts(C1, "U1", "(removed)")  # e.g. forget, meanwhile
        await uow.asks.save(replace(read, last_activity_at=at(10)))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.asks.get(ask.id) == replace(ask, text="(removed)", last_activity_at=at(10))


async def test_open_asks_come_oldest_first_up_to_the_limit(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        for number, created in ((1, 5), (2, 1), (3, 3), (4, 2)):
            await uow.asks.add(make_ask(number, created_at=at(created)))
        await uow.asks.add(make_ask(5, created_at=at(0), status=AskStatus.CLOSED))
        await uow.asks.add(make_ask(6, created_at=at(0), status=AskStatus.RESOLVED))
        await uow.asks.add(make_ask(1, community_id=C2, created_at=at(0)))
        await uow.commit()
    async with uow_factory() as uow:
        assert [a.number for a in await uow.asks.open_asks(C1)] == [2, 4, 3, 1]
        assert [a.number for a in await uow.asks.open_asks(C1, limit=2)] == [2, 4]


async def test_open_asks_of_one_asker(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.asks.add(make_ask(1, asker="U1"))
        await uow.asks.add(make_ask(2, asker="U2"))
        await uow.asks.add(make_ask(3, asker="U1"))
        await uow.commit()
    async with uow_factory() as uow:
        assert [a.number for a in await uow.asks.open_asks(C1, asker_id="U1")] == [1, 3]


async def test_open_asks_without_offers_ignore_offers_no_longer_active(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        offered = await uow.asks.add(make_ask(1))
        withdrawn = await uow.asks.add(make_ask(2))
        await uow.asks.add(make_ask(3))
        await uow.asks.save_offer(Offer(offered.id, "U7", OfferStatus.ACTIVE, at(9)))
        await uow.asks.save_offer(Offer(withdrawn.id, "U7", OfferStatus.WITHDRAWN, at(9)))
        await uow.commit()
    async with uow_factory() as uow:
        waiting = await uow.asks.open_asks(C1, without_offers=True)
        assert [a.number for a in waiting] == [2, 3]


async def test_by_asker_lists_all_their_asks_oldest_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.asks.add(make_ask(1, asker="U1", status=AskStatus.CLOSED))
        await uow.asks.add(make_ask(2, asker="U2"))
        await uow.asks.add(make_ask(3, asker="U1"))
        await uow.asks.add(make_ask(1, asker="U1", community_id=C2))
        await uow.commit()
    async with uow_factory() as uow:
        assert [a.number for a in await uow.asks.by_asker(C1, "U1")] == [1, 3]


async def test_erase_texts_replaces_only_that_askers_texts(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        mine = await uow.asks.add(make_ask(1, asker="U1"))
        theirs = await uow.asks.add(make_ask(2, asker="U2"))
        elsewhere = await uow.asks.add(make_ask(1, asker="U1", community_id=C2))
        await uow.commit()
    async with uow_factory() as uow:
        await uow.asks.erase_texts(C1, "U1", "(removed)")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.asks.get(mine.id) == replace(mine, text="(removed)")
        assert await uow.asks.get(theirs.id) == theirs
        assert await uow.asks.get(elsewhere.id) == elsewhere


# Offers


async def test_offer_round_trips(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        ask = await uow.asks.add(make_ask(1))
        offer = Offer(ask.id, "U2", OfferStatus.ACTIVE, at(2), reminders_sent=2)
        await uow.asks.save_offer(offer)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.asks.get_offer(ask.id, "U2") == offer
        assert await uow.asks.get_offer(ask.id, "U3") is None


async def test_second_offer_by_same_member_replaces_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        ask = await uow.asks.add(make_ask(1))
        await uow.asks.save_offer(Offer(ask.id, "U2", OfferStatus.ACTIVE, at(2)))
        await uow.commit()
    again = Offer(ask.id, "U2", OfferStatus.WITHDRAWN, at(3), reminders_sent=1)
    async with uow_factory() as uow:
        await uow.asks.save_offer(again)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.asks.get_offer(ask.id, "U2") == again
        assert await uow.asks.offers(ask.id, OfferStatus.WITHDRAWN) == [again]
        assert await uow.asks.offers(ask.id) == []


async def test_offers_by_status_come_in_created_order(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        ask = await uow.asks.add(make_ask(1))
        other = await uow.asks.add(make_ask(2))
        late = Offer(ask.id, "U2", OfferStatus.ACTIVE, at(5))
        early = Offer(ask.id, "U3", OfferStatus.ACTIVE, at(4))
        lapsed = Offer(ask.id, "U4", OfferStatus.LAPSED, at(1))
        for offer in (late, early, lapsed, Offer(other.id, "U2", OfferStatus.ACTIVE, at(0))):
            await uow.asks.save_offer(offer)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.asks.offers(ask.id) == [early, late]
        assert await uow.asks.offers(ask.id, OfferStatus.LAPSED) == [lapsed]


async def test_offers_by_a_member_span_the_asks_of_one_community(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        first = await uow.asks.add(make_ask(1))
        second = await uow.asks.add(make_ask(2))
        elsewhere = await uow.asks.add(make_ask(1, community_id=C2))
        offers = [
            Offer(second.id, "U2", OfferStatus.WITHDRAWN, at(3)),
            Offer(first.id, "U2", OfferStatus.ACTIVE, at(4)),
        ]
        for offer in (*offers, Offer(first.id, "U3", OfferStatus.ACTIVE, at(1))):
            await uow.asks.save_offer(offer)
        await uow.asks.save_offer(Offer(elsewhere.id, "U2", OfferStatus.ACTIVE, at(1)))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.asks.offers_by(C1, "U2") == offers


# Outbox

MESSAGE = Message(
    blocks=(
        Block(Style.HEADING, ("Thanks ", Mention("U1"), " in ", ChannelMention("C9"))),
        Block(Style.QUOTE, (UserText("<!channel> naïve “quotes” 🎉"),)),
    ),
    buttons=(Button("offer", "I can help", "42", ButtonStyle.PRIMARY),),
    ask_number=42,
    attachment=Attachment("week.csv", "giver,receiver\nU1,U2\n"),
)


async def test_queued_item_round_trips_every_kind_of_target(
    uow_factory: UnitOfWorkFactory,
) -> None:
    targets: list[Target] = [ToChannel("C1"), ToMember("U1"), ToMessage(MessageRef("C1", "1.2"))]
    async with uow_factory() as uow:
        ids = [
            await uow.outbox.add(C1, target, MESSAGE, at(n), purpose=f"p{n}")
            for n, target in enumerate(targets)
        ]
        await uow.commit()
    async with uow_factory() as uow:
        items = await uow.outbox.claim_due(at(10), 10, at(11))
        await uow.commit()
    assert [(i.id, i.community_id, i.target, i.message, i.due_at, i.purpose) for i in items] == [
        (ids[n], C1, target, MESSAGE, at(n), f"p{n}") for n, target in enumerate(targets)
    ]
    assert [i.attempts for i in items] == [1, 1, 1]


async def test_claim_due_takes_due_items_oldest_due_first_up_to_limit(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        later = await uow.outbox.add(C1, ToChannel("C1"), HELLO, at(3))
        first = await uow.outbox.add(C2, ToChannel("C1"), HELLO, at(1))
        second = await uow.outbox.add(C1, ToChannel("C1"), HELLO, at(2))
        await uow.outbox.add(C1, ToChannel("C1"), HELLO, at(5))  # not due yet
        await uow.commit()
    async with uow_factory() as uow:
        claimed = await uow.outbox.claim_due(at(4), 2, at(4.5))
        rest = await uow.outbox.claim_due(at(4), 10, at(4.5))
        await uow.commit()
    assert [i.id for i in claimed] == [first, second]
    assert [i.id for i in rest] == [later]


async def queue_a_replaced_card_a_dm_and_a_later_dm(uow: UnitOfWork) -> tuple[int, int, int]:
    await uow.outbox.add(C1, ToChannel("C1"), HELLO, at(1), replace_key="card:1")
    card = await uow.outbox.add(C1, ToChannel("C1"), MESSAGE, at(1), replace_key="card:1")
    dm = await uow.outbox.add(C1, ToMember("U1"), HELLO, at(1), purpose="thanks")
    later = await uow.outbox.add(C1, ToMember("U1"), HELLO, at(5))  # due later
    return card, dm, later


@pytest.mark.parametrize("backend", WITH_FAKE, indirect=True)
@pytest.mark.parametrize("handed_over", [False, True], ids=["claimed", "leased-as-queued"])
async def test_claim_queued_leases_what_this_unit_of_work_queued_and_is_due(
    uow_factory: UnitOfWorkFactory, handed_over: bool
) -> None:
    async with uow_factory() as uow:
        earlier = await uow.outbox.add(C1, ToChannel("C1"), HELLO, at(0))  # another's
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.claim_queued(at(1), at(2)) == []  # nothing queued here
        if handed_over:
            uow.outbox.hand_over(at(1), at(2))  # leased as they are queued, not at claim
        card, dm, later = await queue_a_replaced_card_a_dm_and_a_later_dm(uow)
        claimed = await uow.outbox.claim_queued(at(1), at(2))
        await uow.commit()
    assert [(i.id, i.message, i.purpose, i.attempts) for i in claimed] == [
        (card, MESSAGE, "", 1),  # the first card was replaced, leased or not
        (dm, HELLO, "thanks", 1),
    ]
    async with uow_factory() as uow:  # leased: only the other items are free to claim
        assert [i.id for i in await uow.outbox.claim_due(at(1.5), 10, at(2))] == [earlier]
        due = [i.id for i in await uow.outbox.claim_due(at(5), 10, at(6))]
        assert due == [earlier, card, dm, later]  # every lease ran out
        await uow.commit()


@pytest.mark.parametrize("backend", WITH_FAKE, indirect=True)
async def test_a_handed_over_item_on_its_way_is_not_replaced_by_a_later_unit(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        uow.outbox.hand_over(at(1), at(2))
        first = await uow.outbox.add(C1, ToChannel("C1"), HELLO, at(1), replace_key="card:1")
        await uow.outbox.claim_queued(at(1), at(2))
        await uow.commit()
    async with uow_factory() as uow:
        uow.outbox.hand_over(at(1), at(2))
        second = await uow.outbox.add(C1, ToChannel("C1"), MESSAGE, at(1), replace_key="card:1")
        [claimed] = await uow.outbox.claim_queued(at(1), at(2))
        await uow.commit()
    assert claimed.id == second
    async with uow_factory() as uow:
        assert [i.id for i in await uow.outbox.claim_due(at(3), 10, at(4))] == [first, second]


async def test_leased_item_is_not_claimed_again_until_the_lease_expires(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        item_id = await uow.outbox.add(C1, ToMember("U1"), HELLO, at(0))
        await uow.commit()
    async with uow_factory() as uow:
        (first,) = await uow.outbox.claim_due(at(1), 10, lease_until=at(2))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.claim_due(at(1.5), 10, lease_until=at(3)) == []
        (again,) = await uow.outbox.claim_due(at(2.5), 10, lease_until=at(3))
        await uow.commit()
    assert (first.id, first.attempts) == (item_id, 1)
    assert (again.id, again.attempts) == (item_id, 2)


async def test_retry_at_makes_the_item_due_again_later(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        item_id = await uow.outbox.add(C1, ToChannel("C1"), HELLO, at(0))
        await uow.commit()
    async with uow_factory() as uow:
        await uow.outbox.claim_due(at(0), 1, lease_until=at(10))
        await uow.outbox.retry_at(item_id, at(1), "rate limited")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.claim_due(at(0.5), 1, lease_until=at(10)) == []
        (item,) = await uow.outbox.claim_due(at(1), 1, lease_until=at(10))  # lease cleared
        await uow.commit()
    assert (item.id, item.due_at, item.attempts) == (item_id, at(1), 2)
    async with uow_factory() as uow:
        assert await uow.outbox.pending_count() == 1


async def test_sent_and_failed_items_leave_the_queue(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        sent = await uow.outbox.add(C1, ToChannel("C1"), HELLO, at(0))
        failed = await uow.outbox.add(C1, ToChannel("C1"), HELLO, at(0))
        await uow.outbox.add(C2, ToChannel("C1"), HELLO, at(9))
        assert await uow.outbox.pending_count() == 3
        await uow.commit()
    async with uow_factory() as uow:
        await uow.outbox.claim_due(at(0), 10, lease_until=at(1))
        await uow.outbox.mark_sent(sent, at(0.1))
        await uow.outbox.mark_failed(failed, at(0.2), "channel_not_found")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.pending_count() == 1
        assert await uow.outbox.claim_due(at(5), 10, lease_until=at(6)) == []


async def test_replace_key_drops_the_earlier_unclaimed_item(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.outbox.add(C1, ToChannel("C1"), HELLO, at(0), replace_key="ask_card:1")
        keep = await uow.outbox.add(C1, ToChannel("C1"), HELLO, at(0), replace_key="ask_card:2")
        other = await uow.outbox.add(C2, ToChannel("C1"), HELLO, at(0), replace_key="ask_card:1")
        newer = await uow.outbox.add(C1, ToChannel("C1"), MESSAGE, at(1), replace_key="ask_card:1")
        await uow.commit()
    async with uow_factory() as uow:
        items = await uow.outbox.claim_due(at(2), 10, lease_until=at(3))
    assert sorted(i.id for i in items) == sorted([keep, other, newer])
    assert next(i for i in items if i.id == newer).message == MESSAGE


async def test_replace_key_leaves_an_item_being_delivered(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        busy = await uow.outbox.add(C1, ToChannel("C1"), HELLO, at(0), replace_key="k")
        await uow.commit()
    async with uow_factory() as uow:
        await uow.outbox.claim_due(at(0), 10, lease_until=at(5))
        await uow.commit()
    async with uow_factory() as uow:
        newer = await uow.outbox.add(C1, ToChannel("C1"), MESSAGE, at(1), replace_key="k")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.pending_count() == 2
        await uow.outbox.mark_sent(busy, at(1))
        (item,) = await uow.outbox.claim_due(at(2), 10, lease_until=at(3))
    assert item.id == newer


async def test_drop_pending_to_forgets_direct_messages_to_that_member(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.outbox.add(C1, ToMember("U1"), HELLO, at(0))
        await uow.outbox.add(C1, ToMember("U1"), HELLO, at(1))
        keep = [
            await uow.outbox.add(C1, ToMember("U2"), HELLO, at(0)),
            await uow.outbox.add(C1, ToChannel("U1"), HELLO, at(0)),
            await uow.outbox.add(C2, ToMember("U1"), HELLO, at(0)),
        ]
        await uow.outbox.drop_pending_to(C1, "U1")
        await uow.commit()
    async with uow_factory() as uow:
        items = await uow.outbox.claim_due(at(5), 10, lease_until=at(6))
    assert sorted(i.id for i in items) == sorted(keep)


# Event log


async def test_event_is_new_the_first_time_only(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.events.first_time(C1, "Ev1", at(0)) is True
        assert await uow.events.first_time(C1, "Ev1", at(0)) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.events.first_time(C1, "Ev1", at(1)) is False
        assert await uow.events.first_time(C1, "Ev2", at(1)) is True


async def test_event_ids_are_per_community(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.events.first_time(C1, "Ev1", at(0)) is True
        assert await uow.events.first_time(C2, "Ev1", at(0)) is True


# Unit of work


async def test_leaving_without_commit_rolls_back(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.communities.add(Community(C1))
        await uow.events.first_time(C1, "Ev1", at(0))
        await uow.outbox.add(C1, ToChannel("C1"), HELLO, at(0))
    async with uow_factory() as uow:
        assert await uow.communities.get(C1) is None
        assert await uow.events.first_time(C1, "Ev1", at(0)) is True
        assert await uow.outbox.pending_count() == 0


async def test_an_error_inside_the_block_rolls_back(uow_factory: UnitOfWorkFactory) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with uow_factory() as uow:
            await uow.members.save(Member(C1, "U1"))
            raise RuntimeError("boom")
    async with uow_factory() as uow:
        assert await uow.members.get(C1, "U1") is None


async def test_commit_keeps_the_work(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.members.save(Member(C1, "U1"))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.members.get(C1, "U1") == Member(C1, "U1")


# Isolation between communities


async def test_communities_sharing_channel_and_message_ids_stay_apart(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ref = MessageRef("C1", "m1")
    async with uow_factory() as uow:
        await add_communities(uow, C1, C2)
        mine = await uow.asks.add(make_ask(1, message=ref, asker="U1"))
        theirs = await uow.asks.add(make_ask(1, community_id=C2, message=ref, asker="U1"))
        await uow.members.save(Member(C1, "U1", opt_outs=frozenset({OptOut.PROMPTS})))
        await uow.members.save(Member(C2, "U1", display_name="other"))
        await uow.gives.add(make_give("U1", "U2", at(1)))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.asks.by_message(C1, ref) == mine
        assert await uow.asks.by_message(C2, ref) == theirs
        assert await uow.asks.by_number(C2, 1) == theirs
        assert await uow.asks.open_asks(C2) == [theirs]
        assert await uow.members.opted_out(C2, OptOut.PROMPTS) == set()
        assert await uow.gives.pair_weeks(C2, T0, at(24)) == []
        assert await uow.gives.involving(C2, "U1") == []


@pytest.mark.parametrize("backend", WITH_FAKE, indirect=True)
async def test_a_rename_touches_the_name_alone_and_a_save_keeps_it(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.communities.add(Community(C1))
        await uow.communities.rename(C1, "Acme Engineering")
        await uow.communities.save(Community(C1, channel_id="C2"))  # settings, read before
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.communities.get(C1) == Community(
            C1, channel_id="C2", name="Acme Engineering"
        )
        assert [c.name for c in await uow.communities.all()] == ["Acme Engineering"]


@pytest.mark.parametrize("backend", WITH_FAKE, indirect=True)
async def test_channel_names_are_kept_per_community_and_follow_renames(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await add_communities(uow, C1, C2)
        await uow.communities.name_channel(C1, "CG", "general")
        await uow.communities.name_channel(C1, "CH", "help")
        await uow.communities.name_channel(C1, "CG", "lobby")  # renamed since
        await uow.communities.name_channel(C2, "CG", "elsewhere")
        await uow.commit()
    async with uow_factory() as uow:
        names = await uow.communities.channel_names(C1, ["CG", "CH", "CX"])
        assert names == {"CG": "lobby", "CH": "help"}
        assert await uow.communities.channel_names(C2, []) == {}
