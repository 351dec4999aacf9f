"""The connector on Discord: interests and `who` as slash commands, and an unanswered
ask routed by DM with its two buttons."""

from __future__ import annotations

from datetime import timedelta

from bot import followups
from tests.adapters.daytime import midday_zone
from tests.adapters.discord.conftest import ALICE, BOB, CAROL, GUILD, Harness
from tests.adapters.discord.fake_discord import Json, text_of
from tests.adapters.discord.test_flows import EPHEMERAL, custom_ids, sub, text_option


async def routed_to_bob(bot: Harness) -> tuple[Json, Json]:
    """bob offered on an asyncio ask and listed asyncio; carol's similar ask gets no
    offer and falls due: carol's card and the DM bob gets."""
    zone = midday_zone(bot.core.clock.now())  # never quiet hours
    await bot.callback(
        await bot.command(BOB, "payforward", [sub("timezone", text_option("name", zone))])
    )
    card, _ = await bot.ask(ALICE, "How do I profile asyncio code?")
    await bot.callback(await bot.fake.press(GUILD, card, BOB, custom_ids(card)[0]))
    answer = await bot.callback(
        await bot.command(BOB, "payforward", [sub("interests", text_option("topics", "asyncio"))])
    )
    assert "Saved your interests: *asyncio*" in text_of(answer["data"])
    carol_card, _ = await bot.ask(CAROL, "Profiling slow asyncio coroutines")
    async with bot.core.uow() as uow:  # the 30 minutes have passed
        await uow.connector.reschedule(f"discord:{GUILD}", timedelta(0))
        await uow.commit()

    await followups.run(bot.core.uow, bot.core.clock.now())
    await bot.settled()

    [call] = await bot.fake.wait_for(
        lambda c: bot.fake.dm_to(BOB)(c) and "asked in" in text_of(c.body)
    )
    dm = next(m for m in reversed(bot.fake.messages.values()) if "asked in" in text_of(m))
    assert call.body["allowed_mentions"]["parse"] == []
    return carol_card, dm


async def test_who_answers_privately(bot: Harness) -> None:
    await bot.callback(
        await bot.command(BOB, "payforward", [sub("interests", text_option("topics", "rust"))])
    )
    reply = await bot.callback(
        await bot.command(CAROL, "payforward", [sub("who", text_option("text", "rust traits"))])
    )
    assert reply["data"]["flags"] & EPHEMERAL
    assert f"<@{BOB}> — lists *rust*" in text_of(reply["data"])


async def test_a_routed_dm_offers_with_i_can_help(bot: Harness) -> None:
    carol_card, dm = await routed_to_bob(bot)
    text = text_of(dm)
    assert "Profiling slow asyncio coroutines" in text
    assert "you offered to help" in text and "you listed *asyncio*" in text
    offer_id, decline_id = custom_ids(dm)
    assert offer_id.split(":")[2:] == ["offer", custom_ids(carol_card)[0].split(":")[3]]
    assert decline_id.split(":")[2] == "not_this_time"

    pressed = await bot.fake.press(None, dm, BOB, offer_id)  # in the DM: no guild
    ack = await bot.callback(pressed)

    assert "Thanks for offering to help with #2" in text_of(ack["data"])
    await bot.fake.wait_for(
        lambda c: bot.fake.dm_to(CAROL)(c) and "offered to help with #2" in text_of(c.body)
    )
    await bot.fake.wait_for(
        lambda c: (
            c.method == "PATCH"
            and c.path.endswith(f"/messages/{carol_card['id']}")
            and f"<@{BOB}>" in text_of(c.body)
        )
    )


async def test_not_this_time_replaces_the_routed_dm(bot: Harness) -> None:
    _, dm = await routed_to_bob(bot)
    _, decline_id = custom_ids(dm)

    response = await bot.callback(await bot.fake.press(None, dm, BOB, decline_id))

    assert response["type"] == 6  # acknowledged; the DM is edited
    edit_path = f"/channels/{dm['channel_id']}/messages/{dm['id']}"
    [edited] = await bot.fake.wait_for(lambda c: c.method == "PATCH" and c.path == edit_path)
    assert "I won't ask you about #2 again" in text_of(edited.body)
    assert edited.body["components"] == []
