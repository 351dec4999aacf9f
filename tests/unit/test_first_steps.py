"""Rough edges a newcomer met in their first session, each pinned down."""

from __future__ import annotations

from bot import copy
from tests.unit.conftest import World, plain


async def test_me_says_who_helped_whom(world: World) -> None:
    await world.cmd("alice", "thanks", "<@bob> for the tip")  # bob helped alice
    await world.cmd("carol", "thanks", "<@bob> for the review")  # and carol

    bob = plain((await world.cmd("bob", "payforward", "me"))[0])
    alice = plain((await world.cmd("alice", "payforward", "me"))[0])

    assert "All time: 2 gives to 2 people" in bob
    assert "Help you received: 0 times" in bob
    assert "Help you received: once" in alice
    assert "All time: 0 gives to 0 people" in alice


async def test_me_shows_my_week_after_leaving_the_board(world: World) -> None:
    await world.cmd("alice", "thanks", "<@bob> for the tip")
    await world.cmd("bob", "payforward", "optout leaderboard")

    me = plain((await world.cmd("bob", "payforward", "me"))[0])
    board = plain((await world.cmd("carol", "payforward", "leaderboard"))[0])

    assert "This week: helped 1 · forward 1 · gives 1 (you are off the board" in me
    assert "no help yet" not in me
    assert "@bob" not in board


async def test_the_resolve_note_reaches_the_credited_helper(world: World) -> None:
    ask = await world.ask("alice")
    await world.react("bob", ask)

    await world.submit(
        "alice", copy.RESOLVE_FORM, str(ask.id), helpers=("bob",), note="py-spy saved my day"
    )

    [credited] = [dm for dm in world.dms("bob") if "credited you" in dm]
    assert "Their note: “py-spy saved my day”" in credited


async def test_config_show_works_on_every_platform(world: World) -> None:
    shown = plain((await world.cmd("admin", "payforward", "config show"))[0])

    assert shown == plain((await world.cmd("admin", "payforward", "config"))[0])
    assert "Usage" not in shown


async def test_an_unknown_channel_is_named_as_unknown(world: World) -> None:
    [answer] = await world.cmd("admin", "payforward", "config channel #random")

    assert "I don't know a channel #random here" in plain(answer)


async def test_a_word_is_not_an_emoji(world: World) -> None:
    refused = plain((await world.cmd("admin", "payforward", "config emoji hello"))[0])
    named = plain((await world.cmd("admin", "payforward", "config emoji wave"))[0])
    custom = plain((await world.cmd("admin", "payforward", "config emoji :partyparrot:"))[0])

    assert "“hello” is not an emoji" in refused
    assert named.startswith("Saved: offers are made with 👋")
    assert custom.startswith("Saved: offers are made with :partyparrot:")


async def test_mentions_in_the_needs_help_list_read_as_on_the_card(world: World) -> None:
    await world.ask("alice", "Pairing with <@bob> on asyncio, who else knows it?")

    board = plain((await world.cmd("carol", "payforward", "leaderboard"))[0])
    card = plain(world.chat.to("post", "general")[0])

    assert "Pairing with @bob on asyncio" in card
    assert "#1 @alice: “Pairing with @bob on asyncio, who else knows it?”" in board


def test_a_quote_never_cuts_a_mention_in_half() -> None:
    spans = copy.quoted_spans("x" * 90 + " <@U12345678>", 100)

    assert all("<@" not in str(getattr(span, "text", "")) for span in spans)
    assert str(getattr(spans[-1], "text", "")).endswith("…")
