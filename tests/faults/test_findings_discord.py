"""Discord: a component's custom id never carries an action into another guild
(finding 1), cross-guild isolation of every button and form, and a 5xx storm."""

from __future__ import annotations

import asyncio

from sqlalchemy import text as sql

from bot import copy
from tests.adapters.discord.conftest import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    GENERAL,
    GUILD,
    OTHER_GUILD,
    Harness,
)
from tests.adapters.discord.conftest import bot as bot  # the fixtures this module uses
from tests.adapters.discord.conftest import fake as fake
from tests.adapters.discord.conftest import migrated_db as migrated_db
from tests.adapters.discord.fake_discord import text_of
from tests.faults.conftest import Tracebacks, no_tracebacks

ACTIONS = (
    copy.OFFER,
    copy.RESOLVE,
    copy.CONFIRM_GIVE,
    copy.DECLINE_GIVE,
    copy.STILL_NEED_HELP,
    copy.CONNECTED,
    copy.CANT_HELP,
)


async def rows(bot: Harness) -> tuple[int, ...]:
    async with bot.core.uow() as uow:
        conn = uow.asks._conn  # type: ignore[attr-defined]
        found = []
        for table in ("offers", "gives", "members", "outbox"):
            found.append(
                int((await conn.execute(sql(f"SELECT count(*) FROM {table}"))).scalar_one())
            )
        return tuple(found)


def carrying(card: dict[str, object], custom_id: str) -> dict[str, object]:
    """The card as a message whose one button has `custom_id` (Discord only sends
    presses of components that are on the message)."""
    button = {"type": 2, "style": 2, "label": "x", "custom_id": custom_id}
    return dict(card, channel_id=str(GENERAL), components=[{"type": 1, "components": [button]}])


async def test_no_button_or_form_of_another_guild_acts_or_reveals_it(
    bot: Harness, tracebacks: Tracebacks
) -> None:
    card, _ = await bot.ask(ALICE, "guild two's private question", guild=OTHER_GUILD)
    ask_id = card["components"][0]["components"][0]["custom_id"].split(":")[-1]
    await bot.settled()
    before = await rows(bot)
    seen = len(bot.fake.calls)
    for where, users in ((GUILD, (BOB, ALICE)), (None, (DAVE, CAROL))):
        # In guild one the interaction's guild wins; in a DM, guild two never met them.
        for user in users:
            for action in ACTIONS:
                custom_id = f"pf:{OTHER_GUILD}:{action}:{ask_id}"
                answer = await bot.callback(
                    await bot.fake.press(where, carrying(card, custom_id), user, custom_id)
                )
                assert answer["type"] in (4, 6, 9)  # every press gets an answer
    form = f"pf:{OTHER_GUILD}:form:resolve:{ask_id}"
    helpers = [
        {"type": 18, "component": {"type": 3, "custom_id": "m:helpers", "values": [str(BOB)]}}
    ]
    await bot.fake.submit(GUILD, GENERAL, ALICE, form, helpers)
    await bot.fake.submit(None, GENERAL, DAVE, form, helpers)
    await asyncio.sleep(2.5)  # every press has been answered or deferred by now
    await bot.settled()
    offers, gives, _, _ = await rows(bot)
    assert (offers, gives) == before[:2]  # nothing acted in guild two
    said = " ".join(text_of(c.body) for c in bot.fake.calls[seen:])
    assert "private question" not in said  # and nothing of it was shown
    no_tracebacks(tracebacks)


async def test_a_dm_button_acts_for_a_member_of_its_guild(bot: Harness) -> None:
    card, _ = await bot.ask(ALICE, "a question in guild one")
    ask_id = card["components"][0]["components"][0]["custom_id"].split(":")[-1]
    await bot.callback(
        await bot.fake.command(
            GUILD, GENERAL, BOB, "payforward", [{"type": 1, "name": "me", "options": []}]
        )
    )
    message = dict(card, channel_id=str(GENERAL))
    await bot.callback(await bot.fake.press(None, message, BOB, f"pf:{GUILD}:offer:{ask_id}"))
    await bot.settled()
    async with bot.core.uow() as uow:
        assert [o.member_id for o in await uow.asks.offers(int(ask_id))] == [str(BOB)]


async def test_a_5xx_storm_on_discord_loses_and_doubles_nothing(bot: Harness) -> None:
    bot.fake.fail("POST", f"/channels/{GENERAL}/messages", 503, 0)
    interaction = await bot.command(ALICE, "ask", [{"type": 3, "name": "text", "value": "storm"}])
    await bot.callback(interaction)
    posts = lambda c: c.method == "POST" and c.path == f"/channels/{GENERAL}/messages"  # noqa: E731
    await bot.fake.wait_for(posts, count=2)  # failing, retried
    bot.fake._failures.clear()  # the storm passes
    async with bot.core.uow() as uow:  # due now: no backoff left to wait out in a test
        conn = uow.asks._conn  # type: ignore[attr-defined]
        await conn.execute(
            sql("UPDATE outbox SET due_at = '2000-01-01 00:00:00' WHERE status = 'pending'")
        )
        await uow.commit()
    await bot.settled()
    cards = [m for m in bot.fake.messages.values() if "storm" in text_of(m)]
    assert len(cards) == 1  # posted once: never lost, never twice
