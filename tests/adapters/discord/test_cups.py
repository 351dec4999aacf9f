"""Cups on Discord: a bot cannot open a group DM, so each member of a pair gets a DM
of their own that names the other, and answers in it."""

from __future__ import annotations

from bot.jobs import CUPS
from tests.adapters.daytime import midday_zone
from tests.adapters.discord.conftest import ALICE, BOB, GUILD, Harness
from tests.adapters.discord.fake_discord import Json, text_of
from tests.adapters.discord.test_flows import custom_ids, sub, text_option


async def a_round(bot: Harness) -> dict[int, Json]:
    """An admin turns cups on, ALICE and BOB opt in, a round runs: each one's intro."""
    config = {
        "type": 2,
        "name": "config",
        "options": [sub("cups", text_option("when", "every 2w mon 10:00"))],
    }
    saved = await bot.callback(await bot.command(ALICE, "payforward-admin", [config], admin=True))
    assert "Saved: cups rounds every 2 weeks, Monday 10:00" in text_of(saved["data"])
    zone = midday_zone(bot.core.clock.now())  # never quiet hours
    for user in (ALICE, BOB):
        await bot.callback(
            await bot.command(user, "payforward", [sub("timezone", text_option("name", zone))])
        )
        joined = await bot.callback(
            await bot.command(user, "payforward", [sub("optin", text_option("what", "cups"))])
        )
        assert "You're in for cups" in text_of(joined["data"])

    await bot.core.jobs.run(CUPS, bot.core.clock.now())
    await bot.settled()

    for user in (ALICE, BOB):
        await bot.fake.wait_for(
            lambda c, user=user: bot.fake.dm_to(user)(c) and "Time for a cup" in text_of(c.body)
        )
    found = [m for m in bot.fake.messages.values() if "Time for a cup" in text_of(m)]
    return {ALICE if f"<@{BOB}>" in text_of(m) else BOB: m for m in found}


async def test_each_member_gets_a_dm_naming_the_other(bot: Harness) -> None:
    intros = await a_round(bot)

    assert sorted(intros) == sorted((ALICE, BOB))
    assert f"Time for a cup: meet <@{BOB}>!" in text_of(intros[ALICE])
    assert f"Time for a cup: meet <@{ALICE}>!" in text_of(intros[BOB])
    actions = [i.split(":")[2] for i in custom_ids(intros[ALICE])]
    assert actions == ["cup_met", "cup_cant"]


async def test_we_met_in_the_dm_replaces_it_and_is_recorded(bot: Harness) -> None:
    intros = await a_round(bot)
    dm = intros[BOB]
    met_id, _ = custom_ids(dm)

    response = await bot.callback(await bot.fake.press(None, dm, BOB, met_id))  # a DM: no guild

    assert response["type"] == 6  # acknowledged; the DM is edited
    edit_path = f"/channels/{dm['channel_id']}/messages/{dm['id']}"
    [edited] = await bot.fake.wait_for(lambda c: c.method == "PATCH" and c.path == edit_path)
    assert f"Glad you met <@{ALICE}>!" in text_of(edited.body)
    assert edited.body["components"] == []
    async with bot.core.uow() as uow:
        [cup] = await uow.cups.of_member(f"discord:{GUILD}", str(BOB))
    assert cup.met_at is not None
    assert {s.member_id: s.answer for s in cup.seats} == {str(ALICE): None, str(BOB): "met"}
