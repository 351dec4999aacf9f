"""The product on Discord: asks, offers by 🙋 and button, resolving by modal, thanks,
the leaderboard and admin settings, through real discord.py and the real core."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import pytest

from adapters.discord import interactions
from bot.domain import AskStatus
from bot.events import Event
from bot.messages import Answer
from tests.adapters.discord.conftest import ALICE, BOB, CAROL, GENERAL, GUILD, Harness
from tests.adapters.discord.fake_discord import Json, posted_to, text_of

EPHEMERAL = 64


def text_option(name: str, value: str) -> Json:
    return {"type": 3, "name": name, "value": value}


def user_option(name: str, user_id: int) -> Json:
    return {"type": 6, "name": name, "value": str(user_id)}


def sub(name: str, *options: Json) -> Json:
    return {"type": 1, "name": name, "options": list(options)}


def custom_ids(message: Json) -> list[str]:
    return [c["custom_id"] for row in message.get("components", []) for c in row["components"]]


async def test_ask_posts_a_card_with_persistent_buttons_and_answers_privately(bot: Harness) -> None:
    card, post = await bot.ask(ALICE, "How do I profile asyncio code?")

    body = post.body
    assert "How do I profile asyncio code?" in text_of(body)
    assert f"<@{ALICE}>" in text_of(body)
    ids = custom_ids(card)
    assert [i.split(":")[2] for i in ids] == ["offer", "resolve"]
    assert all(i.startswith(f"pf:{GUILD}:") for i in ids)
    assert body["allowed_mentions"]["parse"] == []  # never @everyone, @here or roles
    [callback] = [c.body for c in bot.fake.calls if c.path.endswith("/callback")]
    assert callback == {"type": 5, "data": {"flags": EPHEMERAL}}  # acknowledged at once
    [answer] = [c.body for c in bot.fake.calls if c.path.endswith("/messages/@original")]
    assert "Your ask is up as #1" in text_of(answer)
    assert answer["allowed_mentions"]["parse"] == []


async def test_over_long_ask_is_refused_privately_and_nothing_is_posted(bot: Harness) -> None:
    interaction = await bot.command(ALICE, "ask", [text_option("text", "x" * 3001)])

    reply = await bot.callback(interaction)

    assert reply["data"]["flags"] & EPHEMERAL
    assert "the limit is 3,000" in text_of(reply["data"])
    async with bot.core.uow() as uow:
        assert await uow.outbox.pending_count() == 0
    assert not bot.fake.matching(posted_to(GENERAL))


async def test_member_text_cannot_ping_or_inject_markdown(bot: Harness) -> None:
    _, post = await bot.ask(ALICE, "@everyone see **this** <@&81000000000000001> please")

    description = text_of(post.body)
    assert "@\u200beveryone" in description  # escaped, and embeds never ping anyway
    assert "\\*\\*this\\*\\*" in description
    assert "<@&" not in description
    assert post.body["allowed_mentions"] == {"parse": [], "users": [ALICE]}


async def test_a_reaction_offers_help_dms_the_asker_and_updates_the_card(bot: Harness) -> None:
    card, _ = await bot.ask(ALICE, "Who knows Postgres locks?")

    await bot.fake.react(GUILD, GENERAL, int(card["id"]), BOB)

    [dm] = await bot.fake.wait_for(bot.fake.dm_to(ALICE))
    assert f"<@{BOB}> offered to help with #1" in text_of(dm.body)
    [ack] = await bot.fake.wait_for(bot.fake.dm_to(BOB))  # no interaction: the ack goes by DM
    assert "Thanks for offering to help with #1" in text_of(ack.body)
    edit_path = f"/channels/{GENERAL}/messages/{card['id']}"
    [edit] = await bot.fake.wait_for(lambda c: c.method == "PATCH" and c.path == edit_path)
    assert f"Offered to help: <@{BOB}>" in text_of(edit.body)

    await bot.fake.react(GUILD, GENERAL, int(card["id"]), BOB, add=False)

    [_, withdrawn] = await bot.fake.wait_for(
        lambda c: c.method == "PATCH" and c.path == edit_path, count=2
    )
    assert "Offered to help" not in text_of(withdrawn.body)


async def test_a_deleted_ask_card_closes_the_ask_gracefully(bot: Harness) -> None:
    card, _ = await bot.ask(ALICE, "Who can review my migration?")
    bot.fake.deleted.add(int(card["id"]))  # a moderator deleted the card

    await bot.fake.react(GUILD, GENERAL, int(card["id"]), BOB)

    await bot.fake.wait_for(bot.fake.dm_to(ALICE))
    for _ in range(200):  # the failed edit is recorded just after the DM goes out
        async with bot.core.uow() as uow:
            ask = await uow.asks.by_number(f"discord:{GUILD}", 1)
        if ask is not None and ask.status is AskStatus.CLOSED:
            break
        await asyncio.sleep(0.01)
    assert ask is not None and ask.status is AskStatus.CLOSED


async def test_buttons_offer_and_resolve_through_a_modal(bot: Harness) -> None:
    card, _ = await bot.ask(ALICE, "Any tips for pytest fixtures?")
    offer_id, resolve_id = custom_ids(card)

    pressed = await bot.fake.press(GUILD, card, CAROL, offer_id)
    ack = await bot.callback(pressed)
    assert ack["data"]["flags"] & EPHEMERAL
    assert "Thanks for offering to help with #1" in text_of(ack["data"])
    await bot.fake.wait_for(bot.fake.dm_to(ALICE))

    not_yours = await bot.fake.press(GUILD, card, CAROL, resolve_id)
    assert "can mark #1 resolved" in text_of((await bot.callback(not_yours))["data"])

    pressed = await bot.fake.press(GUILD, card, ALICE, resolve_id)
    response = await bot.callback(pressed)
    assert response["type"] == 9
    modal = response["data"]
    assert modal["custom_id"].startswith(f"pf:{GUILD}:form:resolve:")
    helpers = modal["components"][0]["component"]
    assert [(o["label"], o["value"], o.get("default")) for o in helpers["options"]] == [
        ("Carol", str(CAROL), True)
    ]

    submitted = await bot.fake.submit(
        GUILD,
        GENERAL,
        ALICE,
        modal["custom_id"],
        [
            {
                "type": 18,
                "component": {"type": 3, "custom_id": helpers["custom_id"], "values": [str(CAROL)]},
            },
            {"type": 18, "component": {"type": 4, "custom_id": "t:note", "value": "great tips"}},
        ],
    )
    done = await bot.callback(submitted)
    assert f"Marked #1 resolved and thanked <@{CAROL}>" in text_of(done["data"])
    [credited] = await bot.fake.wait_for(
        lambda c: bot.fake.dm_to(CAROL)(c) and "credited you" in text_of(c.body)
    )
    assert "#1" in text_of(credited.body)
    resolved = await bot.fake.wait_for(
        lambda c: c.method == "PATCH" and "✅ Resolved" in text_of(c.body)
    )
    assert resolved[0].body["components"] == []  # no buttons left on a resolved card


async def test_thanks_dms_the_helper_and_the_leaderboard_shows_them(bot: Harness) -> None:
    thanks = await bot.command(
        ALICE,
        "thanks",
        [user_option("member", BOB), text_option("note", "for the py-spy tip")],
        resolved_users=(BOB,),
    )
    reply = await bot.callback(thanks)
    assert f"Thanks sent to <@{BOB}>" in text_of(reply["data"])
    [dm] = await bot.fake.wait_for(bot.fake.dm_to(BOB))
    assert f"<@{ALICE}> thanked you" in text_of(dm.body)
    assert "py-spy tip" in text_of(dm.body)

    board = await bot.command(CAROL, "payforward", [sub("leaderboard")])
    shown = await bot.callback(board)
    assert shown["data"]["flags"] & EPHEMERAL
    assert f"<@{BOB}>" in text_of(shown["data"])


async def test_give_to_a_member_asks_them_to_confirm_with_dm_buttons(bot: Harness) -> None:
    give = await bot.command(
        BOB,
        "give",
        [text_option("what", "reviewed the migration"), user_option("member", ALICE)],
        resolved_users=(ALICE,),
    )
    assert "asked" in text_of((await bot.callback(give))["data"])
    [request] = await bot.fake.wait_for(bot.fake.dm_to(ALICE))
    dm = bot.fake.messages[max(bot.fake.messages)]
    yes = next(i for i in custom_ids(dm) if ":confirm_give:" in i)
    assert "Did it help?" in text_of(request.body)

    pressed = await bot.fake.press(None, dm, ALICE, yes)  # pressed in the DM: no guild

    assert (await bot.callback(pressed))["type"] == 6  # acknowledged; the DM is edited
    edit_path = f"/channels/{dm['channel_id']}/messages/{dm['id']}"
    [edited] = await bot.fake.wait_for(lambda c: c.method == "PATCH" and c.path == edit_path)
    assert f"You confirmed that <@{BOB}> helped you" in text_of(edited.body)
    assert edited.body["components"] == []
    [confirmed] = await bot.fake.wait_for(bot.fake.dm_to(BOB), count=1)
    assert "confirmed your help" in text_of(confirmed.body)


async def test_admin_commands_need_manage_server(bot: Harness) -> None:
    config = {"type": 2, "name": "config", "options": [sub("show")]}

    refused = await bot.command(BOB, "payforward-admin", [config])
    assert "Only community admins" in text_of((await bot.callback(refused))["data"])

    shown = await bot.command(ALICE, "payforward-admin", [config], admin=True)
    assert "Weekly post channel" in text_of((await bot.callback(shown))["data"])

    channel = {
        "type": 2,
        "name": "config",
        "options": [sub("channel", {"type": 7, "name": "channel", "value": str(GENERAL)})],
    }
    saved = await bot.command(
        ALICE, "payforward-admin", [channel], admin=True, resolved_channels=(GENERAL,)
    )
    assert "Saved" in text_of((await bot.callback(saved))["data"])


async def test_export_arrives_by_dm_as_a_json_file(bot: Harness) -> None:
    await bot.ask(ALICE, "Where are the docs?")
    export = await bot.command(ALICE, "payforward", [sub("export")])

    assert "direct message" in text_of((await bot.callback(export))["data"])
    [dm] = await bot.fake.wait_for(bot.fake.dm_to(ALICE))
    [(name, content)] = dm.files.items()
    assert name.endswith(".json")
    assert b"Where are the docs?" in content


async def test_a_slow_core_defers_a_button_press_and_then_answers(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    card, _ = await bot.ask(ALICE, "Slow day?")
    offer_id, _ = custom_ids(card)
    monkeypatch.setattr(interactions, "RESPONSE_BUDGET", 0.0)
    handle = bot.adapter.bridge._handle

    async def slow(event: Event) -> list[Answer]:
        await asyncio.sleep(0.01)  # a core that yields, however fast the database is
        return await handle(event)

    monkeypatch.setattr(bot.adapter.bridge, "_handle", slow)

    pressed = await bot.fake.press(GUILD, card, CAROL, offer_id)

    answer = await bot.callback(pressed)
    assert answer["deferred"] and answer["data"]["flags"] & EPHEMERAL
    assert "Thanks for offering to help with #1" in text_of(answer["data"])


async def test_an_admin_posts_the_board_as_an_embed_in_the_channel(bot: Harness) -> None:
    await bot.ask(ALICE, "Who reviews Rust?")
    thanks = await bot.command(ALICE, "thanks", [user_option("member", BOB)], resolved_users=(BOB,))
    await bot.callback(thanks)
    post = {"type": 2, "name": "leaderboard", "options": [sub("post")]}

    posted = await bot.command(ALICE, "payforward-admin", [post], admin=True)

    assert "Posted the board" in text_of((await bot.callback(posted))["data"])
    [_, board] = await bot.fake.wait_for(posted_to(GENERAL), count=2)
    [embed] = board.body["embeds"]
    assert "Pay-it-forward week so far" in embed["title"]
    assert f"<@{BOB}>" in embed["description"]
    assert board.body["allowed_mentions"]["parse"] == []


async def test_the_weekly_prompt_arrives_by_dm_and_sharing_opens_a_modal(bot: Harness) -> None:
    await bot.ask(ALICE, "Who reviews Rust?")  # alice is active this month
    # Yesterday midday UTC (the community's timezone): never quiet hours, whenever this runs.
    noon = datetime.combine(bot.core.clock.now().date(), time(11), UTC) - timedelta(days=1)

    await bot.core.jobs.run("prompts", noon, noon)
    await bot.core.dispatcher.drain()

    [prompt] = await bot.fake.wait_for(bot.fake.dm_to(ALICE))
    assert "What have you shared lately" in text_of(prompt.body)
    dm = bot.fake.messages[max(bot.fake.messages)]
    share = next(i for i in custom_ids(dm) if ":share:" in i)
    assert len(custom_ids(dm)) == 3  # Share something, Nothing this week, Pause these

    pressed = await bot.fake.press(None, dm, ALICE, share)  # in the DM: no guild
    response = await bot.callback(pressed)

    assert response["type"] == 9
    assert response["data"]["custom_id"].startswith(f"pf:{GUILD}:form:share")
    assert len(response["data"]["components"]) == 3  # what, with whom, OK to mention


async def test_the_guild_and_the_channel_are_known_by_their_names(bot: Harness) -> None:
    await bot.ask(ALICE, "How do I profile asyncio code?")
    async with bot.core.uow() as uow:
        community = await uow.communities.get(f"discord:{GUILD}")
        names = await uow.communities.channel_names(f"discord:{GUILD}", [str(GENERAL)])
    assert community is not None and community.name == "One"
    assert names == {str(GENERAL): "general"}


async def test_dashboard_sends_a_sign_in_link_by_dm(bot: Harness) -> None:
    asked = await bot.command(ALICE, "payforward", [sub("dashboard")])

    assert "sign-in link" in text_of((await bot.callback(asked))["data"])
    [dm] = await bot.fake.wait_for(bot.fake.dm_to(ALICE))
    assert "/dashboard/signin/" in text_of(dm.body)


async def test_the_admin_flag_is_kept_from_interactions_not_from_reactions(
    bot: Harness,
) -> None:
    """Manage Server arrives with interactions only; a reaction says nothing of it, so
    the flag the dashboard checks stays what the last interaction said."""
    config = {"type": 2, "name": "config", "options": [sub("show")]}
    shown = await bot.command(BOB, "payforward-admin", [config], admin=True)
    await bot.callback(shown)
    card, _ = await bot.ask(ALICE, "Who knows Postgres locks?")

    await bot.fake.react(GUILD, GENERAL, int(card["id"]), BOB)
    await bot.fake.wait_for(bot.fake.dm_to(ALICE))
    async with bot.core.uow() as uow:
        bob = await uow.members.get(f"discord:{GUILD}", str(BOB))
    assert bob is not None and bob.is_admin

    plain = await bot.command(BOB, "payforward", [sub("me")])
    await bot.callback(plain)
    async with bot.core.uow() as uow:
        bob = await uow.members.get(f"discord:{GUILD}", str(BOB))
    assert bob is not None and not bob.is_admin
