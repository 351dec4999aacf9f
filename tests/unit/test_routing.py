"""Routing an ask nobody offered on to the members most likely to help: every rule."""

from __future__ import annotations

from datetime import timedelta

from bot import connector, copy, routing
from bot.domain import Ask, AskStatus, MessageRef
from bot.messages import Priority
from bot.ports import Route
from tests.unit.conftest import START, World, plain

ASYNCIO = "How do I profile asyncio code?"
SIMILAR = "Profiling slow asyncio coroutines in our service"


async def helped(world: World, helper: str, text: str = ASYNCIO, asker: str = "alice") -> Ask:
    """`asker` asks, `helper` offers and is credited when the ask is resolved."""
    ask = await world.ask(asker, text)
    await world.press(helper, copy.OFFER, str(ask.id))
    await world.submit(asker, copy.RESOLVE_FORM, str(ask.id), helpers=(helper,), note="")
    return ask


async def opt_in(world: World, *members: str) -> None:
    for member in members:
        await world.cmd(member, "payforward", "optin connector")


def routed(world: World, member: str) -> list[str]:
    return [t for t in world.dms(member) if t.startswith("🔎")]


async def test_an_ask_with_no_offer_is_routed_after_30_minutes(world: World) -> None:
    await helped(world, "bob")
    await opt_in(world, "bob")
    ask = await world.ask("carol", SIMILAR)

    await world.until(timedelta(minutes=29))
    assert routed(world, "bob") == []
    await world.until(timedelta(minutes=1))

    [dm] = routed(world, "bob")
    assert dm.startswith(f"🔎 #{ask.number} · @carol asked in #general")
    assert SIMILAR in dm
    assert f"I thought of you: you helped @alice with “{ASYNCIO}”." in dm
    [message] = [m for m in world.chat.to("dm", "bob") if m.plain().startswith("🔎")]
    assert message.ask_number == ask.number
    assert [(b.action, b.label, b.value) for b in message.buttons] == [
        (copy.OFFER, "I can help", str(ask.id)),
        (routing.DECLINE, "Not this time", str(ask.id)),
    ]
    [item] = [r.item for r in world.db.state.outbox.values() if r.item.purpose.startswith("route")]
    assert item.priority is Priority.SOON and item.purpose == f"route:{ask.id}"


async def test_routing_goes_to_at_most_three_members_best_first(world: World) -> None:
    for helper in ("bob", "dan", "erin", "finn"):
        await helped(world, helper)
    await helped(world, "bob", "Reading asyncio profiles from py-spy")  # bob helped twice
    await opt_in(world, "bob", "dan", "erin", "finn")
    await world.ask("carol", SIMILAR)

    await world.until(timedelta(minutes=30))

    reached = [m for m in ("bob", "dan", "erin", "finn") if routed(world, m)]
    assert len(reached) == 3 and "bob" in reached


async def test_only_opted_in_members_are_routed_to(world: World) -> None:
    await helped(world, "bob")
    await helped(world, "dan")
    await helped(world, "erin")
    await opt_in(world, "dan", "erin")
    await world.cmd("erin", "payforward", "optout connector")  # dan in, erin out, bob never chose
    await world.ask("carol", SIMILAR)

    await world.until(timedelta(hours=1))

    assert routed(world, "bob") == [] and routed(world, "erin") == []
    assert len(routed(world, "dan")) == 1


async def test_never_the_asker(world: World) -> None:
    await helped(world, "bob")
    await opt_in(world, "bob")
    await world.ask("bob", SIMILAR)  # the best helper asks this time

    await world.until(timedelta(hours=1))

    assert routed(world, "bob") == []


async def test_an_ask_that_got_an_offer_is_not_routed(world: World) -> None:
    await helped(world, "bob")
    await helped(world, "dan")
    await opt_in(world, "bob", "dan")
    ask = await world.ask("carol", SIMILAR)
    await world.react("erin", ask)

    await world.until(timedelta(hours=1))

    assert routed(world, "bob") == [] and routed(world, "dan") == []


async def test_someone_who_offered_and_withdrew_is_not_asked(world: World) -> None:
    await helped(world, "bob")
    await helped(world, "dan")
    await opt_in(world, "bob", "dan")
    ask = await world.ask("carol", SIMILAR)
    await world.react("bob", ask)
    await world.react("bob", ask, added=False)

    await world.until(timedelta(hours=1))

    assert routed(world, "bob") == []
    assert len(routed(world, "dan")) == 1


async def test_interests_alone_route_an_ask(world: World) -> None:
    await world.cmd("dan", "payforward", "interests kubernetes, public speaking")
    await world.ask("carol", "Our kubernetes ingress drops websockets")

    await world.until(timedelta(minutes=30))

    [dm] = routed(world, "dan")
    assert "I thought of you: you listed *kubernetes*." in dm


async def test_at_most_three_routed_dms_per_member_a_week(world: World) -> None:
    await helped(world, "bob")
    await opt_in(world, "bob")
    for n in range(4):
        await world.ask("carol", f"{SIMILAR}, take {n}")
        await world.until(timedelta(hours=1))
    assert len(routed(world, "bob")) == 3

    await world.until(timedelta(days=7))  # the first routed DM is a week old
    await world.ask("carol", f"{SIMILAR}, again")
    await world.until(timedelta(hours=1))
    assert len(routed(world, "bob")) == 4


async def test_recent_routing_spreads_the_load_to_an_equal_helper(world: World) -> None:
    await helped(world, "bob")
    await helped(world, "dan")
    await opt_in(world, "bob", "dan")
    other = await world.ask("erin", "Unrelated: where is the coffee machine?")
    world.clock.set(world.clock.now() + timedelta(minutes=1))

    async def first_pick() -> list[str]:
        async with world.db.uow() as uow:
            picked = await connector.pick(
                uow, world.community, SIMILAR, now=world.clock.now(), count=1, exclude={"carol"}
            )
        return [c.member_id for c in picked]

    [before] = await first_pick()
    async with world.db.uow() as uow:
        route = Route(other.id, before, world.community, world.clock.now(), 1, "")
        await uow.connector.add_route(route)
        await uow.commit()

    assert await first_pick() == [{"bob": "dan", "dan": "bob"}[before]]


async def test_not_this_time_is_final_for_that_ask(world: World) -> None:
    await helped(world, "bob")
    await helped(world, "dan")
    await opt_in(world, "bob")
    ask = await world.ask("carol", SIMILAR)
    await world.until(timedelta(minutes=30))

    answers = await world.press("bob", routing.DECLINE, str(ask.id))

    assert f"I won't ask you about #{ask.number} again" in plain(answers[0])
    route = world.db.state.connector.routes[(ask.id, "bob")]
    assert route.declined_at == world.clock.now()
    await opt_in(world, "dan")
    await world.until(timedelta(days=1))  # the 24 h bump routes to the next best
    assert len(routed(world, "bob")) == 1
    assert len(routed(world, "dan")) == 1


async def test_not_this_time_replaces_the_dm_when_pressed_on_it(world: World) -> None:
    await helped(world, "bob")
    await opt_in(world, "bob")
    ask = await world.ask("carol", SIMILAR)
    await world.until(timedelta(minutes=30))

    dm = MessageRef("dm:bob", "m99")
    answers = await world.press("bob", routing.DECLINE, str(ask.id), message=dm)
    assert answers == []
    [edit] = world.chat.to("update", "m99")
    assert edit.plain().startswith("No problem — I won't ask you about #")
    assert edit.buttons == ()


async def test_not_this_time_from_someone_never_asked_is_refused(world: World) -> None:
    ask = await world.ask("carol", SIMILAR)
    answers = await world.press("dan", routing.DECLINE, str(ask.id))
    assert "wasn't sent to you" in plain(answers[0])


async def test_the_bump_routes_to_the_next_best_not_asked_yet(world: World) -> None:
    for helper in ("bob", "dan", "erin", "finn"):
        await helped(world, helper)
    await helped(world, "bob", "Reading asyncio profiles from py-spy")
    await helped(world, "dan", "asyncio profiler flame graphs")
    await helped(world, "erin", "asyncio profiling in production")
    await opt_in(world, "bob", "dan", "erin", "finn")
    await world.ask("carol", SIMILAR)

    await world.until(timedelta(minutes=30))
    first = {m for m in ("bob", "dan", "erin", "finn") if routed(world, m)}
    assert first == {"bob", "dan", "erin"}
    await world.until(timedelta(hours=24))

    assert len(routed(world, "finn")) == 1  # the bump's round
    assert all(len(routed(world, m)) == 1 for m in first)
    rounds = sorted(r.round for r in world.db.state.connector.routes.values())
    assert rounds == [1, 1, 1, 2]


async def test_quiet_hours_defer_a_routed_dm_to_the_morning(world: World) -> None:
    await world.cmd("admin", "payforward", "config timezone America/Los_Angeles")
    await helped(world, "bob")
    await opt_in(world, "bob")
    await world.ask("carol", SIMILAR)  # Tue 02:00 in Los Angeles

    await world.until(timedelta(hours=8))

    [(at, _)] = [(at, t) for at, t in world.sent_at("dm", "bob") if t.startswith("🔎")]
    assert at == START + timedelta(hours=6)  # 08:00 in Los Angeles


async def test_a_deferred_routed_dm_is_dropped_if_the_ask_got_an_offer(world: World) -> None:
    await world.cmd("admin", "payforward", "config timezone America/Los_Angeles")
    await helped(world, "bob")
    await opt_in(world, "bob")
    ask = await world.ask("carol", SIMILAR)
    await world.until(timedelta(hours=1))  # routed, held for the morning
    await world.react("erin", ask)

    await world.until(timedelta(hours=8))

    assert routed(world, "bob") == []


async def test_a_deferred_routed_dm_is_dropped_if_the_member_opted_out(world: World) -> None:
    await world.cmd("admin", "payforward", "config timezone America/Los_Angeles")
    await helped(world, "bob")
    await opt_in(world, "bob")
    await world.ask("carol", SIMILAR)
    await world.until(timedelta(hours=1))
    await world.cmd("bob", "payforward", "optout connector")

    await world.until(timedelta(hours=8))

    assert routed(world, "bob") == []


async def test_i_can_help_in_the_dm_is_the_cards_offer_and_a_connection(world: World) -> None:
    await helped(world, "bob")
    await opt_in(world, "bob")
    ask = await world.ask("carol", SIMILAR)
    await world.until(timedelta(minutes=30))

    answers = await world.press("bob", copy.OFFER, str(ask.id))

    assert f"Thanks for offering to help with #{ask.number}!" in plain(answers[0])
    assert any("@bob offered to help with #" in t for t in world.dms("carol"))
    card = world.chat.sent[-1].message if world.chat.sent[-1].kind == "update" else None
    assert card is not None and "Offered to help: @bob" in card.plain()
    route = world.db.state.connector.routes[(ask.id, "bob")]
    assert route.offered_at == world.clock.now()

    await world.submit("carol", copy.RESOLVE_FORM, str(ask.id), helpers=("bob",), note="")
    await world.until(timedelta(days=7))  # the Monday post
    [post] = [t for t in world.posts() if "Pay-it-forward week" in t]
    assert "🔗 1 ask found its helper through a connection this week" in post


async def test_a_week_without_connections_has_no_connection_line(world: World) -> None:
    await helped(world, "bob")
    await world.until(timedelta(days=7))
    [post] = [t for t in world.posts() if "Pay-it-forward week" in t]
    assert "🔗" not in post


async def test_routing_happens_once_per_ask(world: World) -> None:
    await helped(world, "bob")
    await opt_in(world, "bob")
    await world.ask("carol", SIMILAR)
    world.clock.set(world.clock.now() + timedelta(minutes=30))

    await world.jobs.run_due(world.clock.now())
    await world.jobs.run_due(world.clock.now())
    await world.dispatcher.drain()

    assert len(routed(world, "bob")) == 1


async def test_a_closed_ask_is_not_routed(world: World) -> None:
    await helped(world, "bob")
    await opt_in(world, "bob")
    ask = await world.ask("carol", SIMILAR)
    await world.submit("carol", copy.RESOLVE_FORM, str(ask.id), helpers=(), note="")
    assert world.db.state.asks[ask.id].status is AskStatus.RESOLVED

    await world.until(timedelta(hours=1))

    assert routed(world, "bob") == []


async def test_the_connector_can_be_turned_off_and_timed(world: World) -> None:
    await helped(world, "bob")
    await opt_in(world, "bob")
    await world.cmd("admin", "payforward", "config connector off")
    await world.ask("carol", SIMILAR)
    await world.until(timedelta(days=2))
    assert routed(world, "bob") == []

    [answer] = await world.cmd("admin", "payforward", "config connector 2h")
    assert "asks with no offer after 2 h go to likely helpers by DM" in plain(answer)
    await world.ask("carol", f"{SIMILAR} again")
    await world.until(timedelta(hours=1, minutes=59))
    assert routed(world, "bob") == []
    await world.until(timedelta(minutes=1))
    assert len(routed(world, "bob")) == 1


async def test_a_new_delay_applies_to_asks_still_waiting(world: World) -> None:
    await helped(world, "bob")
    await opt_in(world, "bob")
    await world.ask("carol", SIMILAR)
    await world.cmd("admin", "payforward", "config connector 10m")

    await world.until(timedelta(minutes=10))

    assert len(routed(world, "bob")) == 1


async def test_connector_settings_are_for_admins_and_refuse_bad_values(world: World) -> None:
    refused = plain((await world.cmd("bob", "payforward", "config connector off"))[0])
    assert "Only community admins" in refused
    summary = plain((await world.cmd("admin", "payforward", "config"))[0])
    assert "Connector: asks with no offer after 30 min go to likely helpers by DM" in summary
    for bad in ("soon", "0m", "25h", "30", ""):
        answer = plain((await world.cmd("admin", "payforward", f"config connector {bad}"))[0])
        assert "between 1 minute and 23 hours" in answer, bad
    assert world.db.state.communities[world.community].connector_after == timedelta(minutes=30)


async def test_a_bot_cannot_opt_in_so_is_never_routed_to(world: World) -> None:
    await world.cmd("helperbot", "payforward", "optin connector")
    assert world.db.state.connector.choices == {}
