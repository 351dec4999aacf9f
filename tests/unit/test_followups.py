"""Reminders about offers, the 24 h bump and the 14-day stale close."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta

from bot import copy, followups
from bot.domain import AskStatus, OfferStatus
from tests.unit.conftest import START, World


async def ask_with_offer(world: World) -> int:
    ask = await world.ask("alice")
    await world.react("bob", ask)
    return ask.id


def reminders(world: World, member: str = "bob") -> list[tuple[datetime, str]]:
    """The helper's reminders ("did you connect with …?")."""
    return [(at, t) for at, t in world.sent_at("dm", member) if "connect with" in t]


async def test_helper_and_asker_are_reminded_after_48_hours_then_5_days(world: World) -> None:
    await ask_with_offer(world)

    await world.until(timedelta(days=6))

    helper = reminders(world, "bob")
    asker = [(at, t) for at, t in world.sent_at("dm", "alice") if "Did it help?" in t]
    assert [at for at, _ in helper] == [START + timedelta(hours=48), START + timedelta(days=5)]
    assert "Did you connect with @alice about #1" in helper[0][1]
    assert helper[1][1].startswith("One last check: did you connect")
    assert [at for at, _ in asker] == [START + timedelta(hours=48), START + timedelta(days=5)]
    assert "@bob offered to help. Did it help?" in asker[0][1]
    buttons = [b.label for b in world.chat.to("dm", "alice")[-1].buttons]
    assert buttons == ["Resolve & thank", "Still need help"]


async def test_after_the_second_reminder_the_offer_lapses_quietly(world: World) -> None:
    ask_id = await ask_with_offer(world)
    await world.until(timedelta(days=6))
    dms_before = len(world.delivered)

    await world.until(timedelta(days=1, hours=1))

    offer = world.db.state.offers[(ask_id, "bob")]
    assert offer.status is OfferStatus.LAPSED
    new = [s for _, s in world.delivered[dms_before:]]
    assert [s.kind for s in new] == ["update"]  # the card drops bob; nobody gets a DM
    assert "Offered to help" not in new[0].message.plain()


async def test_a_resolved_ask_gets_no_reminders(world: World) -> None:
    ask_id = await ask_with_offer(world)
    await world.submit("alice", copy.RESOLVE_FORM, str(ask_id), helpers=("bob",), note="")

    await world.until(timedelta(days=8))

    assert reminders(world) == []
    assert not [t for _, t in world.sent_at("dm", "alice") if "Did it help?" in t]


async def test_reminders_wait_for_morning_where_the_member_is(world: World) -> None:
    await world.cmd("admin", "payforward", "config timezone America/Los_Angeles")
    await ask_with_offer(world)  # Tue 02:00 in Los Angeles

    await world.until(timedelta(days=3))

    [(at, _)] = reminders(world)
    assert at == START + timedelta(hours=48 + 6)  # Thu 08:00 in Los Angeles, not 02:00


async def test_a_reminder_held_for_the_morning_is_dropped_if_the_ask_is_resolved(
    world: World,
) -> None:
    await world.cmd("admin", "payforward", "config timezone America/Los_Angeles")
    ask_id = await ask_with_offer(world)
    await world.until(timedelta(hours=49))  # queued for 08:00, now 03:00 in Los Angeles
    await world.submit("alice", copy.RESOLVE_FORM, str(ask_id), helpers=("bob",), note="")

    await world.until(timedelta(days=1))

    assert not reminders(world)
    failed = [r for r in world.db.state.outbox.values() if r.status == "failed"]
    assert {r.error for r in failed} == {"no longer needed"}


async def test_members_who_opted_out_of_reminders_get_none(world: World) -> None:
    await world.cmd("bob", "payforward", "optout reminders")
    await ask_with_offer(world)

    await world.until(timedelta(days=3))

    assert not reminders(world)
    assert [t for _, t in world.sent_at("dm", "alice") if "Did it help?" in t]


async def test_an_ask_without_offers_is_bumped_once_after_a_day(world: World) -> None:
    await world.ask("alice")

    await world.until(timedelta(days=3))

    bumps = [(at, t) for at, t in world.sent_at("post", "general") if "Still looking" in t]
    assert bumps == [(START + timedelta(hours=24), bumps[0][1])]
    assert "#1 “How do I profile asyncio code?” from @alice" in bumps[0][1]
    [bump] = [m for m in world.chat.to("post", "general") if "Still looking" in m.plain()]
    assert [b.action for b in bump.buttons] == [copy.OFFER]


async def test_an_ask_with_an_offer_is_not_bumped(world: World) -> None:
    await ask_with_offer(world)

    await world.until(timedelta(days=3))

    assert not [t for _, t in world.sent_at("post", "general") if "Still looking" in t]


async def test_an_ask_quiet_for_14_days_closes_as_stale(world: World) -> None:
    ask = await world.ask("alice")

    await world.until(timedelta(days=13, hours=23))
    assert (await world.ask_no(1)).status is AskStatus.OPEN
    await world.until(timedelta(hours=1))

    assert (await world.ask_no(1)).status is AskStatus.CLOSED
    assert "Closed — no activity" in world.chat.sent[-2].message.plain()
    [(at, note)] = [(at, t) for at, t in world.sent_at("dm", "alice") if "closed it" in t]
    assert at == START + timedelta(days=14) and f"#{ask.number}" in note


async def test_still_need_help_keeps_the_ask_open_longer(world: World) -> None:
    ask_id = await ask_with_offer(world)
    await world.until(timedelta(hours=48))
    [answer] = await world.press("alice", copy.STILL_NEED_HELP, str(ask_id))
    assert "stays open" in answer.message.plain()  # type: ignore[union-attr]
    asked = world.db.state.asks[ask_id]
    assert asked.last_activity_at == START + timedelta(hours=48)


async def test_the_helper_can_say_they_cannot_help_after_all(world: World) -> None:
    ask_id = await ask_with_offer(world)
    await world.until(timedelta(hours=48))
    card = (await world.ask_no(1)).message

    [answer] = await world.press("bob", copy.CANT_HELP, str(ask_id))

    assert "took you off" in answer.message.plain()  # type: ignore[union-attr]
    assert world.db.state.offers[(ask_id, "bob")].status is OfferStatus.WITHDRAWN
    assert card is not None and world.chat.to("update", card.message_id)
    [connected] = await world.press("bob", copy.CONNECTED, str(ask_id))
    assert "Great" in connected.message.plain()  # type: ignore[union-attr]


async def test_answers_to_reminders_check_who_answers(world: World) -> None:
    ask_id = await ask_with_offer(world)

    [not_asker] = await world.press("carol", copy.STILL_NEED_HELP, str(ask_id))
    [not_helper] = await world.press("carol", copy.CONNECTED, str(ask_id))
    [no_ask] = await world.press("bob", copy.CONNECTED, "999")

    assert "Only the person who asked" in not_asker.message.plain()  # type: ignore[union-attr]
    assert "haven't offered" in not_helper.message.plain()  # type: ignore[union-attr]
    assert "can't find that ask" in no_ask.message.plain()  # type: ignore[union-attr]


async def test_two_processes_running_follow_ups_at_once_remind_once(world: World) -> None:
    await ask_with_offer(world)
    later = START + timedelta(hours=48)
    world.clock.set(later)

    await asyncio.gather(followups.run(world.db.uow, later), followups.run(world.db.uow, later))
    await world.dispatcher.drain()

    assert len(reminders(world)) == 1


async def test_follow_up_marks_give_the_next_moment(world: World) -> None:
    await ask_with_offer(world)
    async with world.db.uow() as uow:
        marks = await uow.asks.follow_up_marks(START - timedelta(days=1))
    assert followups.next_due(marks, START) == START + timedelta(hours=48)
    assert followups.next_due(
        replace(marks, offers=(None, None, None)), START
    ) == START + timedelta(days=14)


async def test_a_helper_already_thanked_is_not_asked_whether_they_connected(world: World) -> None:
    await ask_with_offer(world)
    await world.cmd("alice", "thanks", "<@bob> for the tip")  # linked to the open ask

    await world.until(timedelta(days=3))

    assert reminders(world) == []
    assert [t for _, t in world.sent_at("dm", "alice") if "Did it help?" in t]
