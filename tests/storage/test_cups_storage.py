"""Contract tests of cups' storage: consent, the bulk read a round pairs on, cups and
answers, the once-only follow-up, conversations per week, and forget.

They run on SQLite, PostgreSQL and the in-memory fake, which keeps the same contract.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta

import pytest

from bot import terms
from bot.copy import lines
from bot.domain import Community, CupsRhythm, GiveSource, Member, Offer, OfferStatus, Schedule
from bot.erasure import redactor
from bot.messages import Mention, UserText, text
from bot.ports import Cup, CupSeat, CupsProfiles, UnitOfWork, UnitOfWorkFactory
from tests.storage.builders import C1, C2, T0, add_communities, at, make_ask, make_give
from tests.storage.conftest import WITH_FAKE

NOW = at(24 * 60)  # 60 days after T0


@pytest.fixture(params=WITH_FAKE)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def member(uow: UnitOfWork, member_id: str, *, active: float = 24 * 59, **kw: object) -> None:
    await uow.members.save(Member(C1, member_id, last_active_at=at(active), **kw))  # type: ignore[arg-type]


async def opted(uow: UnitOfWork, *member_ids: str, community_id: str = C1) -> None:
    for member_id in member_ids:
        await uow.cups.set_opted_in(community_id, member_id, True, T0)


def cup(number: int, *members: str, round_: str = "2025-04-28", **kw: object) -> Cup:
    fields: dict[str, object] = {
        "community_id": C1,
        "round": round_,
        "number": number,
        "created_at": NOW,
        "seats": tuple(CupSeat(m) for m in sorted(members)),
    }
    return Cup(**{**fields, **kw})  # type: ignore[arg-type]


async def read(uow_factory: UnitOfWorkFactory, **kw: object) -> CupsProfiles:
    args: dict[str, object] = {
        "active_since": NOW - timedelta(days=30),
        "asks_since": T0,
        "asks_per_member": 5,
        "helps_per_member": 30,
    }
    async with uow_factory() as uow:
        return await uow.cups.profiles(C1, **{**args, **kw})  # type: ignore[arg-type]


async def test_opting_in_and_out_is_per_community(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await opted(uow, "U1")
        await opted(uow, "U1")  # twice: still once
        await uow.cups.set_opted_in(C2, "U2", True, T0)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.cups.opted_in(C1, "U1")
        assert not await uow.cups.opted_in(C2, "U1")
        await uow.cups.set_opted_in(C1, "U1", False, T0)
        await uow.cups.set_opted_in(C1, "U9", False, T0)  # never in: nothing to do
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.cups.opted_in(C1, "U1")
        assert await uow.cups.opted_in(C2, "U2")


async def test_the_round_reads_only_opted_in_active_members_not_forgotten(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await add_communities(uow)
        for member_id in ("in", "idle", "gone", "out"):
            await member(uow, member_id)
        await member(uow, "idle", active=0)  # 60 days ago
        await member(uow, "gone", forgotten=True)
        await opted(uow, "in", "idle", "gone", "also")  # "also": never seen acting
        await uow.commit()

    found = await read(uow_factory)

    assert found.first_seen == {"in": None}


async def test_first_seen_is_the_first_ask_offer_or_give(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await add_communities(uow)
        for member_id in ("asker", "offerer", "giver", "thanked"):
            await member(uow, member_id)
        await opted(uow, "asker", "offerer", "giver", "thanked")
        first = await uow.asks.add(make_ask(1, asker="asker", created_at=at(5)))
        await uow.asks.add(make_ask(2, asker="asker", created_at=at(9)))
        await uow.asks.save_offer(Offer(first.id, "offerer", OfferStatus.WITHDRAWN, at(7)))
        await uow.gives.add(make_give("giver", "thanked", at(8), created_at=at(8)))
        await uow.gives.add(make_give("giver", "x", at(3), created_at=at(3), community_id=C2))
        await uow.commit()

    found = await read(uow_factory)

    assert found.first_seen == {"asker": at(5), "offerer": at(7), "giver": at(8), "thanked": at(8)}


async def test_latest_asks_and_help_of_each_member(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await add_communities(uow)
        for member_id in ("ana", "bo"):
            await member(uow, member_id)
        await opted(uow, "ana", "bo")
        asks = [
            await uow.asks.add(make_ask(n, asker="ana", text=f"question {n}", created_at=at(n)))
            for n in range(1, 5)
        ]
        other = await uow.asks.add(make_ask(9, asker="zed", text="Helm charts?", created_at=at(9)))
        await uow.gives.add(
            make_give("bo", "zed", at(10), ask_id=other.id, source=GiveSource.RESOLVE)
        )
        await uow.gives.add(make_give("bo", "ana", at(11)))  # no ask: says no topic
        await uow.asks.save_offer(Offer(asks[0].id, "bo", OfferStatus.ACTIVE, at(2)))
        await uow.asks.save_offer(Offer(asks[1].id, "bo", OfferStatus.WITHDRAWN, at(3)))
        await uow.asks.save_offer(Offer(asks[2].id, "bo", OfferStatus.LAPSED, at(4)))
        await uow.commit()

    found = await read(uow_factory, asks_per_member=2, asks_since=at(1.5))

    assert [(a.asker_id, a.text) for a in found.asked] == [
        ("ana", "question 3"),
        ("ana", "question 4"),
    ]
    assert [(h.member_id, h.ask.text, h.gave, h.at) for h in found.helped] == [
        ("bo", "question 1", False, at(2)),
        ("bo", "question 3", False, at(4)),
        ("bo", "Helm charts?", True, at(10)),
    ]
    assert found.helped[-1].ask.asker_id == "zed" and found.helped[-1].ask.number == 9

    fewer = await read(uow_factory, helps_per_member=1)
    assert [h.ask.text for h in fewer.helped] == ["Helm charts?"]


async def test_interests_come_with_their_stems(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await add_communities(uow)
        await member(uow, "ana")
        await opted(uow, "ana")
        topics = ["public speaking", "Python"]
        await uow.connector.set_interests(C1, "ana", [(t, terms.stems(t)) for t in topics])
        await uow.connector.set_interests(C1, "bo", [("sales", ["sale"])])  # not opted in
        await uow.commit()

    found = await read(uow_factory)

    assert found.interests == [
        ("ana", "public speaking", ("public", "speak")),
        ("ana", "Python", ("python",)),
    ]


async def test_cups_and_their_seats_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    why = text(Mention("U1"), " asked about “", UserText("helm charts"), "”")
    async with uow_factory() as uow:
        await uow.cups.add_round(
            [
                cup(1, "U1", "U2", reason=lines(why), upside_down=True),
                cup(2, "U3", "U4", "U5"),
                cup(3, "U6", "U7"),
            ]
        )
        await uow.commit()
    async with uow_factory() as uow:
        first = await uow.cups.get(C1, "2025-04-28", 1)
        page = await uow.cups.round_page(C1, "2025-04-28", 1, 1)
        rest = await uow.cups.round_page(C1, "2025-04-28", 2, 10)
        missing = await uow.cups.get(C2, "2025-04-28", 1)

    assert first is not None and first.members == ("U1", "U2") and first.upside_down
    assert first.reason is not None and first.reason.plain() == "@U1 asked about “helm charts”"
    assert first.created_at == NOW and first.met_at is None
    assert [(c.number, c.members) for c in page] == [(2, ("U3", "U4", "U5"))]
    assert [c.number for c in rest] == [3] and missing is None


async def test_each_answers_for_themselves_and_the_first_we_met_dates_the_conversation(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.cups.add_round([cup(1, "U1", "U2", "U3")])
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.cups.answer(C1, "2025-04-28", 1, "U9", "met", at(2))  # no seat
        assert await uow.cups.answer(C1, "2025-04-28", 1, "U2", "met", at(3))
        assert await uow.cups.answer(C1, "2025-04-28", 1, "U1", "met", at(5))
        assert await uow.cups.answer(C1, "2025-04-28", 1, "U3", "cant", at(6))
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.cups.get(C1, "2025-04-28", 1)
        assert found is not None and found.met_at == at(3)
        assert [(s.member_id, s.answer, s.answered_at) for s in found.seats] == [
            ("U1", "met", at(5)),
            ("U2", "met", at(3)),
            ("U3", "cant", at(6)),
        ]
        await uow.cups.answer(C1, "2025-04-28", 1, "U2", "cant", at(7))  # changed their mind
        await uow.cups.answer(C1, "2025-04-28", 1, "U1", "cant", at(8))
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.cups.get(C1, "2025-04-28", 1)
    assert found is not None and found.met_at is None


async def test_conversations_per_week_count_cups_by_their_first_we_met(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.cups.add_round([cup(n, f"A{n}", f"B{n}") for n in range(1, 5)])
        for n, hours in ((1, 1), (2, 2), (3, 24 * 7 + 1)):
            await uow.cups.answer(C1, "2025-04-28", n, f"A{n}", "met", at(hours))
        await uow.cups.answer(C1, "2025-04-28", 4, "A4", "cant", at(3))
        await uow.commit()
    weeks = [(T0, at(24 * 7)), (at(24 * 7), at(24 * 14)), (at(24 * 14), at(24 * 21))]
    async with uow_factory() as uow:
        assert await uow.cups.conversations_per_week(C1, weeks) == [2, 1, 0]
        assert await uow.cups.conversations_per_week(C2, weeks) == [0, 0, 0]
        assert await uow.cups.conversations_per_week(C1, []) == []


async def test_a_cup_is_followed_up_once(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.cups.add_round([cup(1, "U1", "U2", created_at=at(1))])
        await uow.cups.add_round([cup(1, "U3", "U4", round_="2025-05-05", created_at=at(2))])
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.cups.oldest_unfollowed() == at(1)
        due = await uow.cups.follow_ups_due(at(1), 10)
        assert [(c.round, c.members) for c in due] == [("2025-04-28", ("U1", "U2"))]
        assert await uow.cups.mark_followed_up(C1, "2025-04-28", 1, at(9))
        assert not await uow.cups.mark_followed_up(C1, "2025-04-28", 1, at(9))
        await uow.commit()
    async with uow_factory() as uow:
        assert [c.round for c in await uow.cups.follow_ups_due(at(5), 10)] == ["2025-05-05"]
        assert await uow.cups.oldest_unfollowed() == at(2)


async def test_recent_groups_are_the_last_rounds_before_this_one(
    uow_factory: UnitOfWorkFactory,
) -> None:
    rounds = ["2025-03-03", "2025-03-17", "2025-03-31", "2025-04-14"]
    async with uow_factory() as uow:
        for n, round_ in enumerate(rounds):
            await uow.cups.add_round([cup(1, f"A{n}", f"B{n}", round_=round_)])
        await uow.cups.add_round([replace(cup(1, "C2a", "C2b"), community_id=C2)])
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.cups.recent_groups(C1, "2025-04-14", 2)
        none = await uow.cups.recent_groups(C1, "2025-03-03", 6)

    assert sorted(found) == [("A1", "B1"), ("A2", "B2")]
    assert none == []


async def test_a_members_cups_oldest_first(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.cups.add_round([cup(1, "U1", "U2", round_="2025-04-14", created_at=at(1))])
        await uow.cups.add_round([cup(1, "U3", "U4"), cup(2, "U1", "U3", created_at=at(9))])
        await uow.commit()
    async with uow_factory() as uow:
        mine = await uow.cups.of_member(C1, "U1")

    assert [(c.round, c.number, c.members) for c in mine] == [
        ("2025-04-14", 1, ("U1", "U2")),
        ("2025-04-28", 2, ("U1", "U3")),
    ]


async def test_forget_removes_the_member_and_their_words_from_cups(
    uow_factory: UnitOfWorkFactory,
) -> None:
    words = "How do I stop helm drift between clusters"
    theirs = text(Mention("U3"), " helped ", Mention("U1"), " with “", UserText(words), "”")
    async with uow_factory() as uow:
        await opted(uow, "U1", "U2")
        await uow.cups.add_round([cup(1, "U1", "U2"), cup(2, "U3", "U4", reason=lines(theirs))])
        await uow.cups.answer(C1, "2025-04-28", 1, "U1", "met", at(3))
        await uow.commit()
    async with uow_factory() as uow:
        await uow.cups.forget(C1, "U1", redactor([words]))
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.cups.opted_in(C1, "U1") and await uow.cups.opted_in(C1, "U2")
        assert await uow.cups.of_member(C1, "U1") == []
        left = await uow.cups.get(C1, "2025-04-28", 1)
        other = await uow.cups.get(C1, "2025-04-28", 2)
    assert left is not None and left.members == ("U2",) and left.met_at == at(3)  # a count
    assert other is not None and other.reason is not None
    assert other.reason.plain() == "@U3 helped @U1 with “[deleted]”"


async def test_the_rhythm_is_stored_with_the_community(uow_factory: UnitOfWorkFactory) -> None:
    rhythm = CupsRhythm(2, Schedule(0, time(10, 0)), date(2025, 3, 3))
    async with uow_factory() as uow:
        await uow.communities.add(Community(C1))
        stored = await uow.communities.get(C1)
        assert stored is not None and stored.cups is None  # off until an admin sets it
        await uow.communities.save(replace(stored, cups=rhythm))
        await uow.commit()
    async with uow_factory() as uow:
        again = await uow.communities.get(C1)
    assert again is not None and again.cups == rhythm
