"""What the outbox dispatcher gets back from the adapter when Discord says no."""

from __future__ import annotations

from typing import Any

import aiohttp
import discord
import pytest

from adapters.discord.delivery import delivery_of
from bot.domain import AskStatus, MessageRef
from bot.messages import Delivered, Message, RetryAfter, Undeliverable, text
from tests.adapters.discord.conftest import ALICE, BOB, GENERAL, GUILD, Harness
from tests.adapters.discord.fake_discord import posted_to, text_of

COMMUNITY = f"discord:{GUILD}"
HELLO = Message(blocks=(text("hello"),))


class _Response:
    """Just what discord.HTTPException reads from an aiohttp response."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.reason = "reason"


def http_error(kind: type[discord.HTTPException], status: int, code: int) -> discord.HTTPException:
    response: Any = _Response(status)
    return kind(response, {"code": code, "message": "no"})


@pytest.mark.parametrize(
    ("status", "code"),
    [(403, 50007), (404, 10008), (404, 10003), (403, 50001), (403, 50013), (400, 50035)],
)
def test_errors_a_retry_cannot_fix_are_undeliverable(status: int, code: int) -> None:
    kind = (
        discord.Forbidden
        if status == 403
        else discord.NotFound
        if status == 404
        else discord.HTTPException
    )
    assert isinstance(delivery_of(http_error(kind, status, code)), Undeliverable)


def test_server_errors_are_raised_for_the_dispatcher_to_back_off() -> None:
    error = http_error(discord.DiscordServerError, 503, 0)
    with pytest.raises(discord.DiscordServerError):
        delivery_of(error)


async def test_a_member_who_cannot_be_dmed_is_undeliverable_after_one_try(bot: Harness) -> None:
    bot.fake.undmable.add(BOB)

    outcome = await bot.adapter.send_dm(COMMUNITY, str(BOB), HELLO)

    assert isinstance(outcome, Undeliverable) and "50007" in outcome.reason
    assert len(bot.fake.matching(bot.fake.dm_to(BOB))) == 1


async def test_editing_a_deleted_message_is_undeliverable(bot: Harness) -> None:
    posted = await bot.adapter.post(COMMUNITY, str(GENERAL), HELLO)
    assert isinstance(posted, Delivered)
    bot.fake.deleted.add(int(posted.ref.message_id))

    outcome = await bot.adapter.update(COMMUNITY, posted.ref, HELLO)

    assert isinstance(outcome, Undeliverable) and "10008" in outcome.reason


async def test_a_long_rate_limit_goes_back_to_the_outbox(bot: Harness) -> None:
    bot.fake.rate_limit_once("POST", f"/channels/{GENERAL}/messages", retry_after=120.0)

    outcome = await bot.adapter.post(COMMUNITY, str(GENERAL), HELLO)

    assert outcome == RetryAfter(120.0, "rate limited", throttled=True)


async def test_a_broken_connection_is_raised(bot: Harness) -> None:
    await bot.fake.close()

    with pytest.raises((aiohttp.ClientError, OSError)):
        await bot.adapter.update(COMMUNITY, MessageRef(str(GENERAL), "1"), HELLO)


async def test_an_ask_whose_card_cannot_be_posted_is_closed_and_the_asker_told(
    bot: Harness,
) -> None:
    bot.fake.fail("POST", f"/channels/{GENERAL}/messages", status=403, code=50001)
    interaction = await bot.command(ALICE, "ask", [{"type": 3, "name": "text", "value": "Hello?"}])
    await bot.callback(interaction)

    [dm] = await bot.fake.wait_for(bot.fake.dm_to(ALICE))

    assert "couldn't post your ask #1" in text_of(dm.body)
    assert len(bot.fake.matching(posted_to(GENERAL))) == 1  # tried once, not retried
    async with bot.core.uow() as uow:
        ask = await uow.asks.by_number(COMMUNITY, 1)
        assert ask is not None and ask.status is AskStatus.CLOSED
