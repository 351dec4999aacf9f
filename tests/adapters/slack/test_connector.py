"""The connector on Slack: an unanswered ask routed by DM, with its two buttons."""

from __future__ import annotations

from datetime import timedelta

from bot import followups
from tests.adapters.daytime import midday_zone
from tests.adapters.slack import payloads
from tests.adapters.slack.conftest import Slack, in_channel, mentions, post_ask


async def routed_to_bob(slack: Slack) -> tuple[str, str, list[dict[str, object]]]:
    """bob offered on an asyncio ask and opted in; carol's similar ask gets no offer
    and falls due: the DM bob gets, with carol's ask id and card ts."""
    fake = slack.fake
    fake.timezones["UBOB"] = midday_zone(slack.core.clock.now())  # never quiet hours
    first, ts = await post_ask(slack, "UALICE", "How do I profile asyncio code?")
    await slack.interact(
        payloads.button("T1", "UBOB", "offer", first, "C1", ts, fake.response_url())
    )
    await fake.wait_for("chat.postEphemeral", mentions("Thanks for offering"))
    await slack.command("UBOB", "/payforward", "optin connector")
    await fake.wait_for("respond", mentions("You're in"))
    ask_id, card_ts = await post_ask(slack, "UCAROL", "Profiling slow asyncio coroutines")
    async with slack.core.uow() as uow:  # the 30 minutes have passed
        await uow.connector.reschedule("slack:T1", timedelta(0))
        await uow.commit()

    await followups.run(slack.core.uow, slack.core.clock.now())
    await slack.settle()

    (dm,) = await fake.wait_for(
        "chat.postMessage", lambda c: in_channel("DUBOB")(c) and mentions("asked in")(c)
    )
    assert ask_id in str(dm.args["blocks"])
    return ask_id, card_ts, dm


async def test_an_unanswered_ask_is_routed_by_dm_with_i_can_help(slack: Slack) -> None:
    fake = slack.fake
    ask_id, card_ts, dm = await routed_to_bob(slack)
    text = dm.blocks_text()
    assert "asked in" in text and "Profiling slow asyncio coroutines" in text
    assert "you offered to help <@UALICE> with" in text
    buttons = next(b for b in dm.args["blocks"] if b["type"] == "actions")["elements"]
    assert [(b["action_id"], b["text"]["text"]) for b in buttons] == [
        ("offer", "I can help"),
        ("not_this_time", "Not this time"),
    ]

    await slack.interact(
        payloads.button(
            "T1", "UBOB", "offer", ask_id, "DUBOB", dm.result["ts"], fake.response_url()
        )
    )

    await fake.wait_for("chat.postEphemeral", mentions("Thanks for offering to help with #2"))
    await fake.wait_for(
        "chat.postMessage",
        lambda c: in_channel("DUCAROL")(c) and mentions("offered to help with #2")(c),
    )
    edits = await fake.wait_for("chat.update", lambda c: c.args.get("ts") == card_ts)
    assert "<@UBOB>" in edits[-1].blocks_text()


async def test_not_this_time_replaces_the_routed_dm(slack: Slack) -> None:
    fake = slack.fake
    ask_id, _, dm = await routed_to_bob(slack)

    await slack.interact(
        payloads.button(
            "T1", "UBOB", "not_this_time", ask_id, "DUBOB", dm.result["ts"], fake.response_url()
        )
    )

    (answered,) = await fake.wait_for("chat.update", lambda c: c.args.get("ts") == dm.result["ts"])
    assert "I won't ask you about #2 again" in answered.blocks_text()
    assert not [b for b in answered.args["blocks"] if b["type"] == "actions"]
