"""Cups on Slack: one group DM with the pair, opened with `conversations.open`, where
each member answers for themselves."""

from __future__ import annotations

from bot.jobs import CUPS
from tests.adapters.daytime import midday_zone
from tests.adapters.slack import payloads
from tests.adapters.slack.conftest import Slack, in_channel, mentions
from tests.adapters.slack.fake_slack import Call

GROUP = "GUALICEUBOB"  # the fake's id for the group DM of UALICE and UBOB


async def a_round(slack: Slack) -> Call:
    """UALICE and UBOB opt in, an admin turns cups on, a round runs: its intro."""
    fake = slack.fake
    for user in ("UALICE", "UBOB"):
        fake.timezones[user] = midday_zone(slack.core.clock.now())  # never quiet hours
    await slack.command("UADMIN", "/payforward", "config cups every 2w mon 10:00")
    await fake.wait_for("respond", mentions("Saved: cups rounds every 2 weeks"))
    for user in ("UALICE", "UBOB"):
        await slack.command(user, "/payforward", "optin cups")
    await fake.wait_for("respond", mentions("You're in for cups"), count=2)

    await slack.core.jobs.run(CUPS, slack.core.clock.now())
    await slack.settle()

    (intro,) = await fake.wait_for("chat.postMessage", in_channel(GROUP))
    return intro


async def test_the_intro_is_one_group_dm_with_both(slack: Slack) -> None:
    fake = slack.fake

    intro = await a_round(slack)

    (opened,) = [c for c in fake.of("conversations.open") if "," in str(c.args.get("users"))]
    assert opened.args["users"] == "UALICE,UBOB"
    text = intro.blocks_text()
    assert "Time for a cup: <@UALICE> and <@UBOB>, meet each other!" in text
    buttons = next(b for b in intro.args["blocks"] if b["type"] == "actions")["elements"]
    assert [(b["action_id"], b["text"]["text"]) for b in buttons] == [
        ("cup_met", "We met"),
        ("cup_cant", "Can't make it"),
    ]
    dms = [c for c in fake.of("chat.postMessage") if str(c.result.get("channel")).startswith("D")]
    assert not [c for c in dms if "Time for a cup" in c.blocks_text()]


async def test_each_member_answers_privately_in_the_group(slack: Slack) -> None:
    fake = slack.fake
    intro = await a_round(slack)
    buttons = next(b for b in intro.args["blocks"] if b["type"] == "actions")["elements"]
    value = buttons[0]["value"]

    ts = intro.result["ts"]
    await slack.interact(
        payloads.button("T1", "UALICE", "cup_met", value, GROUP, ts, fake.response_url())
    )
    await slack.interact(
        payloads.button("T1", "UBOB", "cup_cant", value, GROUP, ts, fake.response_url())
    )

    glad = await fake.wait_for("chat.postEphemeral", mentions("Glad you met <@UBOB>"))
    assert glad[0].args["channel"] == GROUP and glad[0].args["user"] == "UALICE"
    sorry = await fake.wait_for("chat.postEphemeral", mentions("No problem"))
    assert sorry[0].args["user"] == "UBOB"
    assert not [c for c in fake.of("chat.update") if c.args.get("ts") == ts]  # the intro stays
    async with slack.core.uow() as uow:
        [cup] = await uow.cups.of_member("slack:T1", "UALICE")
    assert {s.member_id: s.answer for s in cup.seats} == {"UALICE": "met", "UBOB": "cant"}
    assert cup.met_at is not None


async def test_without_mpim_write_each_member_gets_the_groups_message(slack: Slack) -> None:
    """An app installed before cups lacks `mpim:write`: the intro still arrives."""
    fake = slack.fake
    for user in ("UALICE", "UBOB"):
        fake.timezones[user] = midday_zone(slack.core.clock.now())
    await slack.command("UADMIN", "/payforward", "config cups every 1w mon 10:00")
    for user in ("UALICE", "UBOB"):
        await slack.command(user, "/payforward", "optin cups")
    await fake.wait_for("respond", mentions("You're in for cups"), count=2)
    fake.fail_next("conversations.open", "missing_scope")
    await slack.core.jobs.run(CUPS, slack.core.clock.now())
    await slack.settle()

    for dm in ("DUALICE", "DUBOB"):
        (intro,) = await fake.wait_for(
            "chat.postMessage", lambda c, dm=dm: in_channel(dm)(c) and mentions("meet each")(c)
        )
        assert "<@UALICE> and <@UBOB>" in intro.blocks_text()
