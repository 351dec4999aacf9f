"""The whole loop in Slack, in Socket Mode and HTTP mode alike: ask, offer, resolve
with the modal, thanks, the board and App Home."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from tests.adapters.slack import payloads
from tests.adapters.slack.conftest import (
    Slack,
    in_channel,
    mentions,
    post_ask,
    view_of,
)


async def test_an_ask_is_posted_as_an_escaped_card_and_confirmed_privately(slack: Slack) -> None:
    fake = slack.fake
    await slack.command(
        "UALICE", "/ask", "Profiling <!channel> asyncio & <b>co</b>? <https://py-spy.dev|py-spy>"
    )

    (card,) = await fake.wait_for("chat.postMessage", in_channel("C1"))
    posted = card.blocks_text()
    assert "<!channel>" not in posted and "&lt;!channel&gt;" in posted
    assert "&amp; &lt;b&gt;co&lt;/b&gt;?" in posted
    assert "https://py-spy.dev" in posted and "|py-spy" not in posted
    assert "<@UALICE>" in posted
    actions = next(b for b in card.args["blocks"] if b["type"] == "actions")["elements"]
    assert [(a["action_id"], a.get("style")) for a in actions] == [
        ("offer", "primary"),
        ("resolve", None),
    ]
    (answer,) = await fake.wait_for("respond")
    assert answer.args["response_type"] == "ephemeral"
    assert "Your ask is up as #1" in answer.blocks_text()


async def test_a_reaction_offers_dms_the_asker_and_unreacting_withdraws(slack: Slack) -> None:
    fake = slack.fake
    _, ts = await post_ask(slack, "UALICE", "How do I profile asyncio code?")

    await slack.event(payloads.reaction("T1", "UBOB", "C1", ts))
    (dm,) = await fake.wait_for("chat.postMessage", in_channel("DUALICE"))
    assert "<@UBOB> offered to help with #1" in dm.blocks_text()
    assert dm.args["channel"] == "UALICE" and not fake.of("conversations.open")
    (ack,) = await fake.wait_for("chat.postEphemeral")
    assert (ack.args["user"], ack.args["channel"]) == ("UBOB", "C1")
    (update,) = await fake.wait_for("chat.update")
    assert (update.args["channel"], update.args["ts"]) == ("C1", ts)
    assert "Offered to help: <@UBOB>" in update.blocks_text()

    await slack.event(payloads.reaction("T1", "UBOB", "C1", ts, added=False))
    (_, withdrawn) = await fake.wait_for("chat.update", count=2)
    assert "Offered to help" not in withdrawn.blocks_text()


async def test_resolving_opens_a_modal_with_the_helpers_and_credits_them(slack: Slack) -> None:
    fake = slack.fake
    ask_id, ts = await post_ask(slack, "UALICE", "How do I profile asyncio code?")
    await slack.interact(
        payloads.button("T1", "UBOB", "offer", ask_id, "C1", ts, fake.response_url())
    )
    await fake.wait_for("chat.postMessage", in_channel("DUALICE"))

    await slack.interact(
        payloads.button("T1", "UALICE", "resolve", ask_id, "C1", ts, fake.response_url())
    )
    (opened,) = await fake.wait_for("views.open")
    view = view_of(opened)
    assert opened.args["trigger_id"]
    helpers = next(b for b in view["blocks"] if b.get("block_id") == "helpers")
    assert helpers["element"] == {
        "type": "multi_users_select",
        "action_id": "helpers",
        "initial_users": ["UBOB"],
    }
    note = next(b for b in view["blocks"] if b.get("block_id") == "note")
    assert note["element"]["type"] == "plain_text_input"

    values = {
        "helpers": {"helpers": {"type": "multi_users_select", "selected_users": ["UBOB"]}},
        "note": {"note": {"type": "plain_text_input", "value": "py-spy did it"}},
    }
    await slack.interact(payloads.submission("T1", "UALICE", view, values))
    await fake.wait_for("chat.update", mentions("Resolved"))
    (credited,) = await fake.wait_for("chat.postMessage", in_channel("DUBOB"))
    assert "<@UALICE> resolved #1 and credited you" in credited.blocks_text()
    (done,) = await fake.wait_for("chat.postEphemeral", lambda c: c.args["user"] == "UALICE")
    assert done.args["channel"] == "C1" and "thanked <@UBOB>" in done.blocks_text()

    await slack.command("UCAROL", "/payforward", "leaderboard")
    await fake.wait_for("respond", mentions("<@UBOB>"))


async def test_app_home_shows_the_members_stats_and_the_asks_that_need_help(slack: Slack) -> None:
    fake = slack.fake
    await post_ask(slack, "UALICE", "Who knows Alembic?")

    await slack.event(payloads.home_opened("T1", "UBOB"))
    (published,) = await fake.wait_for("views.publish")
    assert published.args["user_id"] == "UBOB"
    view = view_of(published)
    assert view["type"] == "home"
    shown = published.blocks_text() + str(view)
    assert "Your pay-it-forward" in shown
    assert "Who knows Alembic?" in shown  # an ask that needs help

    await slack.event(payloads.home_opened("T1", "UALICE"))
    (_, mine) = await fake.wait_for("views.publish", count=2)
    assert "Your open asks" in str(view_of(mine))  # alice's own, listed


async def test_the_weekly_prompt_arrives_by_dm_and_sharing_opens_the_share_modal(
    slack: Slack,
) -> None:
    fake = slack.fake
    await post_ask(slack, "UALICE", "How do I profile asyncio code?")  # alice is active
    # Yesterday midday: daytime in Berlin (the fake's users.info tz) whenever this runs,
    # so quiet hours never hold the DM back.
    noon = datetime.combine(slack.core.clock.now().date(), time(11), UTC) - timedelta(days=1)

    await slack.core.jobs.run("prompts", noon, noon)
    await slack.settle()

    (prompt,) = await fake.wait_for("chat.postMessage", in_channel("DUALICE"))
    assert "What have you shared lately" in prompt.blocks_text()
    actions = next(b for b in prompt.args["blocks"] if b["type"] == "actions")
    labels = [e["text"]["text"] for e in actions["elements"]]
    assert labels == ["Share something", "Nothing this week", "Pause these"]

    await slack.interact(
        payloads.button(
            "T1", "UALICE", "share", "", "DUALICE", prompt.result["ts"], fake.response_url()
        )
    )
    (opened,) = await fake.wait_for("views.open")
    view = view_of(opened)
    kinds = {b["block_id"]: b["element"]["type"] for b in view["blocks"] if b["type"] == "input"}
    assert kinds == {"what": "plain_text_input", "with": "users_select", "public": "checkboxes"}

    values = {
        "what": {"what": {"type": "plain_text_input", "value": "Reviewed <!channel> PR"}},
        "with": {"with": {"type": "users_select", "selected_user": "UBOB"}},
        "public": {"public": {"type": "checkboxes", "selected_options": [{"value": "yes"}]}},
    }
    await slack.interact(payloads.submission("T1", "UALICE", view, values))
    (confirm,) = await fake.wait_for("chat.postMessage", in_channel("DUBOB"))
    assert "<@UALICE> says they helped you" in confirm.blocks_text()
    assert "<!channel>" not in confirm.blocks_text()


async def test_the_workspace_and_the_channel_are_known_by_their_names(slack: Slack) -> None:
    await slack.command("UALICE", "/ask", "Who knows asyncio?")
    await slack.fake.wait_for("chat.postMessage", in_channel("C1"))
    (event, _), *_ = slack.handled
    assert (event.community_name, event.channel_name) == ("Fake", "general")  # auth.test's
    async with slack.core.uow() as uow:
        community = await uow.communities.get("slack:T1")
        names = await uow.communities.channel_names("slack:T1", ["C1"])
    assert community is not None and community.name == "Fake"
    assert names == {"C1": "general"}
