from __future__ import annotations

import json
from datetime import time

from bot import copy
from bot.domain import OptOut, Schedule
from bot.events import CommandInvoked
from tests.unit.conftest import CID, World, info, plain


async def test_leaderboard_is_private_and_ranks_this_week(world: World) -> None:
    await world.cmd("alice", "thanks", "<@bob> tip")
    await world.cmd("carol", "thanks", "<@bob> tip")
    await world.cmd("alice", "thanks", "<@dan> tip")
    [answer] = await world.cmd("carol", "payforward", "leaderboard")
    text = plain(answer)
    assert "This week so far" in text
    assert "1. @bob — helped 2 · forward 2 · gives 2" in text
    assert "2. @dan — helped 1 · forward 1 · gives 1" in text
    assert "You're not on the board this week yet." in text
    assert world.posts() == []


async def test_leaderboard_optout_hides_only_from_rankings(world: World) -> None:
    await world.cmd("alice", "thanks", "<@bob> tip")
    await world.cmd("bob", "payforward", "optout leaderboard")
    text = plain((await world.cmd("alice", "payforward", "leaderboard"))[0])
    assert "@bob" not in text.split("Asks")[0]
    member = world.db.state.members[(CID, "bob")]
    assert member.opt_outs == frozenset({OptOut.LEADERBOARD})
    await world.cmd("bob", "payforward", "optin all")
    assert world.db.state.members[(CID, "bob")].opt_outs == frozenset()
    assert "1. @bob" in plain((await world.cmd("alice", "payforward", "leaderboard"))[0])


async def test_optout_needs_a_known_choice(world: World) -> None:
    assert "Usage: `/payforward optout" in plain(
        (await world.cmd("bob", "payforward", "optout"))[0]
    )
    assert "Usage: `/payforward optin" in plain(
        (await world.cmd("bob", "payforward", "optin spam"))[0]
    )


async def test_me_shows_my_stats(world: World) -> None:
    await world.cmd("alice", "thanks", "<@bob> tip")
    await world.cmd("bob", "give", "a talk on profiling")
    await world.cmd("bob", "ask", "Who knows Rust?")
    text = plain((await world.cmd("bob", "payforward", "me"))[0])
    assert "This week: #1 — helped 1 · forward 1 · gives 1" in text
    assert "All time: 1 give to 1 person, 1 thing shared with everyone" in text
    assert "Your open asks: 1" in text
    assert "#1 @bob: “Who knows Rust?”" in text  # listed too (App Home shows this)


async def test_export_sends_my_data_as_json_by_dm(world: World) -> None:
    await world.ask("bob", "Who knows Rust?")
    await world.cmd("alice", "thanks", "<@bob> tip")
    answers = await world.cmd("bob", "payforward", "export")
    assert "sent your data" in plain(answers[0])
    [dm] = world.chat.to("dm", "bob")[-1:]
    assert dm.attachment is not None
    data = json.loads(dm.attachment.content)
    assert data["member"]["id"] == "bob" and data["asks"][0]["text"] == "Who knows Rust?"
    assert data["gives"][0]["giver"] == "bob" and data["gives"][0]["note"] == "tip"


async def test_forget_erases_texts_but_keeps_the_counts_of_those_helped(world: World) -> None:
    ask = await world.ask("bob", "my private question")
    await world.cmd("bob", "thanks", "<@carol> personal details here")
    await world.cmd("alice", "thanks", "<@bob> helped me")
    prompt = await world.cmd("bob", "payforward", "forget")
    assert [b.label for b in prompt[0].message.buttons] == ["Yes, forget me"]  # type: ignore[union-attr]
    assert world.db.state.members[(CID, "bob")].display_name == "Bob"
    answers = await world.press("bob", copy.FORGET_CONFIRM)
    assert "personal data is deleted" in plain(answers[0])
    member = world.db.state.members[(CID, "bob")]
    assert member.display_name is None and member.forgotten
    assert member.opt_outs == frozenset(OptOut)
    assert world.db.state.asks[ask.id].text == "[deleted]"
    assert all(g.note is None for g in world.db.state.gives.values())
    board = plain((await world.cmd("alice", "payforward", "leaderboard"))[0])
    assert "1. @carol — helped 1" in board and "@bob" not in board
    assert "[deleted]" in world.chat.sent[-1].message.plain()


async def test_help_and_unknown_subcommands(world: World) -> None:
    assert "`/ask <question>`" in plain((await world.cmd("bob", "payforward", "help"))[0])
    unknown = plain((await world.cmd("bob", "payforward", "dance"))[0])
    assert "I don't know `dance`" in unknown and "For admins" not in unknown
    assert "For admins" in plain((await world.cmd("admin", "payforward", ""))[0])


async def test_non_admins_cannot_configure_or_post(world: World) -> None:
    for text in ("config timezone Europe/Berlin", "config", "leaderboard post"):
        answers = await world.cmd("bob", "payforward", text)
        assert plain(answers[0]) == "Only community admins can change settings or post the board."
    assert CID not in world.db.state.communities  # a refusal saves nothing at all
    assert world.posts() == []


async def test_admin_configures_the_community(world: World) -> None:
    steps = {
        "config channel <#kudos>": "the weekly post goes to that channel",
        "config timezone Europe/Berlin": "timezone Europe/Berlin",
        "config leaderboard tue 10:30": "the leaderboard posts Tuesday 10:30",
        "config prompts off": "weekly prompts are off",
        "config emoji :wave:": "offers are made with 👋",
    }
    for text, saved in steps.items():
        assert plain((await world.cmd("admin", "payforward", text))[0]) == f"Saved: {saved}."
    community = world.db.state.communities[CID]
    assert community.channel_id == "kudos" and community.timezone == "Europe/Berlin"
    assert community.leaderboard == Schedule(1, time(10, 30)) and community.prompts is None
    assert community.offer_emoji == "wave"
    summary = plain((await world.cmd("admin", "payforward", "config"))[0])
    assert "Prompts: off" in summary and "Leaderboard: Tuesday 10:30" in summary


async def test_malformed_config_values_are_refused_plainly(world: World) -> None:
    cases = {
        "config timezone Mars/Olympus": "isn't a timezone I know",
        "config leaderboard mon 25:00": "a day and a 24-hour time",
        "config prompts someday": "(or `prompts off`)",
        "config channel general": "Name the channel like `#general`",
        "config emoji two words": "Give one emoji",
        "config colour blue": "Usage: `/payforward config",
    }
    for text, expected in cases.items():
        assert expected in plain((await world.cmd("admin", "payforward", text))[0]), text
    assert CID not in world.db.state.communities  # a refusal saves nothing at all


async def test_offer_emoji_follows_the_config(world: World) -> None:
    await world.cmd("admin", "payforward", "config emoji 👋")
    ask = await world.ask("alice")
    assert await world.react("bob", ask, "🙋") == []
    await world.react("bob", ask, "wave")
    assert (ask.id, "bob") in world.db.state.offers


async def test_admin_posts_the_board_now(world: World) -> None:
    await world.cmd("alice", "thanks", "<@bob> tip")
    await world.ask("carol", "Anyone used Alembic with asyncpg?")
    answers = await world.cmd("admin", "payforward", "leaderboard post")
    assert plain(answers[0]) == "Posted the board."
    post = world.posts()[-1]
    assert "1. @bob — helped 1 · forward 1 · gives 1" in post
    assert "#1 @carol: “Anyone used Alembic with asyncpg?”" in post
    assert "confirmed gives, last 12 weeks" in post


async def test_empty_week_post_is_a_warm_nudge_not_an_empty_table(world: World) -> None:
    await world.ask("carol", "Anyone used Alembic with asyncpg?")
    await world.cmd("admin", "payforward", "leaderboard post")
    post = world.posts()[-1]
    assert "A quiet week" in post and "1." not in post
    assert "Asks that still need help" in post


async def test_unknown_command_gets_help(world: World) -> None:
    assert "I don't know `/dance`" in plain((await world.cmd("bob", "dance"))[0])


async def test_help_names_the_admin_command_of_the_platform(world: World) -> None:
    here = plain((await world.cmd("admin", "payforward", "help"))[0])
    world.community = "discord:42"
    there = plain((await world.cmd("admin", "payforward", "help"))[0])
    refused = plain((await world.cmd("admin", "payforward", "config colour red"))[0])

    assert "`/payforward config channel #channel`" in here
    assert "`/payforward-admin config channel #channel`" in there
    assert "/payforward-admin config channel" in refused


async def test_members_set_their_own_timezone_for_quiet_hours(world: World) -> None:
    shown = plain((await world.cmd("bob", "payforward", "timezone"))[0])
    saved = plain((await world.cmd("bob", "payforward", "timezone Asia/Tokyo"))[0])
    refused = plain((await world.cmd("bob", "payforward", "timezone Mars/Olympus"))[0])

    assert "Your timezone: UTC (the community's)" in shown
    assert "Saved: your timezone is Asia/Tokyo" in saved
    assert "isn't a timezone I know" in refused
    assert world.db.state.members[(world.community, "bob")].tz == "Asia/Tokyo"


async def test_the_community_takes_the_name_its_platform_gives_it(world: World) -> None:
    async def named(name: str | None, *, from_platform: bool = True) -> str | None:
        await world.send(
            CommandInvoked(
                event_id=world.event_id(),
                community_id=CID,
                actor=info("alice"),
                command="payforward",
                text="me",
                community_name=name,
                community_from_platform=from_platform,
            )
        )
        async with world.db.uow() as uow:
            community = await uow.communities.get(CID)
        assert community is not None
        return community.name

    assert await named(None) is None
    assert await named("  Acme\n Engineering ") == "Acme Engineering"
    assert await named(None) == "Acme Engineering"  # an event that doesn't say keeps it
    assert await named("x" * 300) == "x" * 100
    assert await named("Forged", from_platform=False) == "x" * 100  # a custom id's guild
