"""`/payforward interests`, `who`, `optin|optout connector`, and what `me`, `export`,
`forget` and `help` say about them; the ranking behind `who`."""

from __future__ import annotations

import json
from datetime import timedelta

from bot import connector, copy, terms
from tests.unit.conftest import CID, World, plain


async def say(world: World, who: str, text: str) -> str:
    return plain((await world.cmd(who, "payforward", text))[0])


async def test_interests_are_saved_shown_and_opt_in(world: World) -> None:
    answer = await say(world, "bob", "interests Python, public speaking ,python")

    assert answer.startswith("Saved your interests: *Python*, *public speaking*.")
    assert "You're opted in to the connector" in answer
    assert world.db.state.connector.choices[(CID, "bob")] is True
    shown = await say(world, "bob", "interests")
    assert shown.startswith("Your interests: *Python*, *public speaking*. The connector is on")


async def test_interests_clear_keeps_the_opt_in(world: World) -> None:
    await say(world, "bob", "interests python")
    answer = await say(world, "bob", "interests clear")
    assert answer.startswith("Cleared your interests. You're still opted in")
    assert "You haven't listed any interests (the connector is on" in await say(
        world, "bob", "interests"
    )


async def test_bad_interests_are_refused_and_nothing_is_saved(world: World) -> None:
    await say(world, "bob", "interests sql")
    eleven = ", ".join(f"topic{n}" for n in range(11))
    cases = {
        eleven: "That's 11 topics; the limit is 10. Nothing was saved",
        "x" * 41: "is 41 characters; a topic can have at most 40. Nothing was saved.",
        "python, <@alice>": "Topics are words, not people or channels. Nothing was saved.",
        "the, and": "has no word I can match asks on",
        ", ,": "Name at least one topic",
    }
    for value, refusal in cases.items():
        assert refusal in await say(world, "bob", f"interests {value}"), value
    assert world.db.state.connector.interests[(CID, "bob")] == [("sql", ["sql"])]


async def test_ten_topics_of_forty_characters_are_fine(world: World) -> None:
    topics = [f"topic{n} " + "y" * (34 - len(str(n))) for n in range(10)]
    assert all(len(t) == 40 for t in topics)
    answer = await say(world, "bob", "interests " + ", ".join(topics))
    assert answer.startswith("Saved your interests:")


async def test_optin_and_optout_connector(world: World) -> None:
    assert (await say(world, "bob", "optin connector")).startswith("You're in:")
    assert world.db.state.connector.choices[(CID, "bob")] is True
    assert "no more asks sent to you" in await say(world, "bob", "optout connector")
    assert world.db.state.connector.choices[(CID, "bob")] is False
    assert "Usage: `/payforward optout leaderboard|prompts|reminders|connector|cups|all`" in (
        await say(world, "bob", "optout everything")
    )


async def _history(world: World) -> None:
    """bob helped with asyncio twice, dan once; erin lists kubernetes."""
    for helper, text in (
        ("bob", "How do I profile asyncio code?"),
        ("bob", "asyncio event loop blocked by a slow call"),
        ("dan", "Debugging asyncio tasks that never finish"),
    ):
        ask = await world.ask("alice", text)
        await world.press(helper, copy.OFFER, str(ask.id))
        await world.submit("alice", copy.RESOLVE_FORM, str(ask.id), helpers=(helper,), note="")
    await say(world, "erin", "interests kubernetes, asyncio")
    for member in ("bob", "dan"):
        await say(world, member, "optin connector")
    await world.until(timedelta(minutes=5))


async def test_who_lists_opted_in_members_with_reasons_only_to_the_caller(world: World) -> None:
    await _history(world)

    [answer] = await world.cmd("carol", "payforward", "who asyncio profiling")

    text = plain(answer)
    assert text.splitlines()[0] == "Who might help with “asyncio profiling”"
    lines = text.splitlines()[1:4]
    assert lines[0] == "@bob — helped @alice with “How do I profile asyncio code?”"
    assert sorted(lines[1:]) == [
        "@dan — helped @alice with “Debugging asyncio tasks that never finish”",
        "@erin — lists *asyncio*",
    ]
    assert world.chat.sent[-1].message.plain() != text  # nothing posted or DMed


async def test_who_never_shows_opted_out_members_or_the_caller(world: World) -> None:
    await _history(world)
    await say(world, "dan", "optout connector")

    text = plain((await world.cmd("bob", "payforward", "who asyncio"))[0])

    assert "@dan" not in text and "— helped" not in text.split("\n")[1].replace("@erin", "")
    assert "@bob —" not in text
    assert "@erin — lists *asyncio*" in text


async def test_who_with_no_match_or_no_text(world: World) -> None:
    await _history(world)
    assert "I don't know anyone for “knitting patterns” yet" in await say(
        world, "carol", "who knitting patterns"
    )
    assert (await say(world, "carol", "who")).startswith("Usage: `/payforward who")


async def test_who_shows_at_most_five(world: World) -> None:
    for n in range(7):
        await say(world, f"m{n}", "interests rust")
    text = plain((await world.cmd("carol", "payforward", "who rust lifetimes"))[0])
    assert text.count("lists *rust*") == 5


async def test_me_export_and_forget_cover_the_connector(world: World) -> None:
    await _history(world)
    await say(world, "bob", "interests asyncio, python")
    ask = await world.ask("carol", "Profiling asyncio in production")
    await world.until(timedelta(minutes=30))
    assert (ask.id, "bob") in world.db.state.connector.routes

    me = await say(world, "bob", "me")
    assert "Connector: on · interests: *asyncio*, *python*" in me
    assert "Connector: off — `/payforward interests …`" in await say(world, "carol", "me")

    await world.cmd("bob", "payforward", "export")
    exported = json.loads(world.chat.to("dm", "bob")[-1].attachment.content)  # type: ignore[union-attr]
    assert exported["interests"] == ["asyncio", "python"]
    assert exported["connector_opted_in"] is True
    [route] = exported["routed_to_me"]
    assert route["ask_id"] == ask.id and route["round"] == 1
    assert route["reason"].startswith("you helped @alice with “")

    await world.press("bob", copy.FORGET_CONFIRM)
    state = world.db.state.connector
    assert (CID, "bob") not in state.interests and (CID, "bob") not in state.choices
    assert (ask.id, "bob") not in state.routes
    assert "bob" not in plain((await world.cmd("carol", "payforward", "who asyncio"))[0])


async def test_help_names_the_connector_commands(world: World) -> None:
    member = await say(world, "bob", "help")
    assert "`/payforward interests python, public speaking`" in member
    assert "`/payforward who <topic>`" in member
    admin = await say(world, "admin", "help")
    assert "config connector 30m` or `off`" in admin


def test_words_and_stems_drop_stop_words_mentions_and_fold_forms() -> None:
    assert terms.words("How do I profile <@U1> asyncio's code in #general?") == [
        "profile",
        "asyncio",
        "code",
        "general",
    ]
    assert terms.stems("Profiling tests") == terms.stems("profile testing")


def test_a_topic_matches_by_the_share_of_its_words() -> None:
    text = set(terms.stems("Tips for speaking at a conference?"))
    assert connector.topic_match("public speaking", text) == 0.5
    assert connector.topic_match("speaking", text) == 1.0
    assert connector.topic_match("kubernetes", text) == 0.0


def test_older_help_counts_less() -> None:
    assert connector.decay(timedelta(0)) == 1.0
    assert connector.decay(connector.HALF_LIFE) == 0.5
    assert connector.decay(-timedelta(days=1)) == 1.0


async def test_confirmed_gives_outweigh_offers_and_recent_help_older(world: World) -> None:
    early = await world.ask("alice", "Helm chart values for staging")
    await world.press("dan", copy.OFFER, str(early.id))
    await world.submit("alice", copy.RESOLVE_FORM, str(early.id), helpers=("dan",), note="")
    await world.until(timedelta(days=360))
    recent = await world.ask("alice", "Helm chart values for production")
    await world.press("bob", copy.OFFER, str(recent.id))
    await world.submit("alice", copy.RESOLVE_FORM, str(recent.id), helpers=("bob",), note="")
    offered = await world.ask("alice", "Helm chart values for testing")
    await world.press("erin", copy.OFFER, str(offered.id))
    world.clock.set(world.clock.now() + timedelta(minutes=1))

    async with world.db.uow() as uow:
        found = await connector.candidates(
            uow, CID, "helm chart values", now=world.clock.now(), exclude={"alice"}
        )

    assert [c.member_id for c in found] == ["bob", "erin", "dan"]
    assert found[0].best is not None and found[0].best.gave
    assert found[1].best is not None and not found[1].best.gave


async def test_affinity_says_how_well_one_members_help_matches_anothers_asks(
    world: World,
) -> None:
    await _history(world)
    await world.ask("carol", "asyncio timeouts")
    await world.ask("frank", "Choosing a CRM")
    async with world.db.uow() as uow:
        now = world.clock.now() + timedelta(minutes=1)
        carol = await connector.affinity(uow, CID, "bob", "carol", now=now)
        frank = await connector.affinity(uow, CID, "bob", "frank", now=now)
        topics = await connector.topics_of(uow, CID, "erin")
    assert carol > 0 and frank == 0
    assert list(topics) == ["kubernetes", "asyncio"]
