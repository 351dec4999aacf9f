"""Each slash command, button and DM surface, in Socket Mode and HTTP mode alike."""

from __future__ import annotations

import json

from bot.events import CommandInvoked
from tests.adapters.slack import payloads
from tests.adapters.slack.conftest import Slack, in_channel, mentions


async def test_thanks_credits_the_mentioned_member_and_tells_them(slack: Slack) -> None:
    fake = slack.fake
    await slack.command("UALICE", "/thanks", "<@UBOB|bob> for the py-spy tip")

    (dm,) = await fake.wait_for("chat.postMessage", in_channel("DUBOB"))
    assert "<@UALICE> thanked you" in dm.blocks_text() and "py-spy tip" in dm.blocks_text()
    (answer,) = await fake.wait_for("respond")
    assert "Thanks sent to <@UBOB>" in answer.blocks_text()
    assert {c.args["user"] for c in fake.of("users.info")} == {"UALICE", "UBOB"}
    event, _ = slack.handled[0]
    assert isinstance(event, CommandInvoked)
    assert event.text == "<@UBOB> for the py-spy tip"
    assert event.mentions["UBOB"].display_name == "ubob"  # from users.info


async def test_give_asks_the_receiver_to_confirm_with_buttons_in_a_dm(slack: Slack) -> None:
    fake = slack.fake
    await slack.command("UALICE", "/give", "<@UBOB|bob> reviewed your migration")

    (dm,) = await fake.wait_for("chat.postMessage", in_channel("DUBOB"))
    buttons = next(b for b in dm.args["blocks"] if b["type"] == "actions")["elements"]
    assert [b["action_id"] for b in buttons] == ["confirm_give", "decline_give"]
    await slack.interact(
        payloads.button(
            "T1",
            "UBOB",
            "confirm_give",
            buttons[0]["value"],
            "DUBOB",
            dm.result["ts"],
            fake.response_url(),
        )
    )
    (answered,) = await fake.wait_for("chat.update")
    assert (answered.args["channel"], answered.args["ts"]) == ("DUBOB", dm.result["ts"])
    assert "You confirmed that <@UALICE> helped you" in answered.blocks_text()
    (told,) = await fake.wait_for("chat.postMessage", in_channel("DUALICE"))
    assert "<@UBOB> confirmed your help" in told.blocks_text()

    await slack.command("UALICE", "/give", "a guide to our CI")
    await fake.wait_for("respond", mentions("Thanks for sharing with everyone"))


async def test_not_really_declines_a_reported_give(slack: Slack) -> None:
    fake = slack.fake
    await slack.command("UALICE", "/give", "<@UBOB|bob> reviewed your migration")
    (dm,) = await fake.wait_for("chat.postMessage", in_channel("DUBOB"))
    buttons = next(b for b in dm.args["blocks"] if b["type"] == "actions")["elements"]

    await slack.interact(
        payloads.button(
            "T1",
            "UBOB",
            "decline_give",
            buttons[1]["value"],
            "DUBOB",
            dm.result["ts"],
            fake.response_url(),
        )
    )
    (answered,) = await fake.wait_for("chat.update")
    assert "Noted — nothing recorded for <@UALICE>" in answered.blocks_text()
    assert "actions" not in [b["type"] for b in answered.args["blocks"]]


async def test_opting_out_and_in(slack: Slack) -> None:
    fake = slack.fake
    await slack.command("UALICE", "/payforward", "optout prompts")
    await fake.wait_for("respond", mentions("opted out of prompts"))
    await slack.command("UALICE", "/payforward", "optin all")
    await fake.wait_for("respond", mentions("opted in to leaderboard, prompts, reminders"))


async def test_forget_asks_first_and_the_answer_replaces_the_question(slack: Slack) -> None:
    fake = slack.fake
    await slack.command("UALICE", "/payforward", "forget")
    (question,) = await fake.wait_for("respond")
    (button,) = next(b for b in question.args["blocks"] if b["type"] == "actions")["elements"]
    assert (button["action_id"], button["style"]) == ("forget_confirm", "danger")

    response_url = fake.response_url()
    await slack.interact(
        payloads.button(
            "T1", "UALICE", "forget_confirm", "", "C1", "1.1", response_url, ephemeral=True
        )
    )
    (_, done) = await fake.wait_for("respond", count=2)
    assert done.args["replace_original"] is True
    assert "your personal data is deleted" in done.blocks_text()


async def test_export_sends_the_data_as_a_file_by_dm(slack: Slack) -> None:
    fake = slack.fake
    await slack.command("UALICE", "/payforward", "export")

    (note,) = await fake.wait_for("chat.postMessage", in_channel("DUALICE"))
    assert "everything payforward stores about you" in note.blocks_text()
    (upload,) = await fake.wait_for("upload")
    assert json.loads(upload.args["content"])["member"]["id"] == "UALICE"
    (complete,) = await fake.wait_for("files.completeUploadExternal")
    assert complete.args["channel_id"] == "DUALICE"
    (asked,) = fake.of("files.getUploadURLExternal")
    assert asked.args["filename"] == "payforward-export.json"
    await fake.wait_for("respond", mentions("I've sent your data"))


async def test_admin_settings_follow_slacks_admin_flag(slack: Slack) -> None:
    fake = slack.fake
    await slack.command("UALICE", "/payforward", "config channel <#C9|random>")
    await fake.wait_for("respond", mentions("Only community admins"))

    await slack.command("UADMIN", "/payforward", "config channel <#C9|random>")
    await fake.wait_for("respond", mentions("Saved"))
    await slack.command("UADMIN", "/payforward", "config")
    await fake.wait_for("respond", mentions("Weekly post channel: <#C9>"))


async def test_leaderboard_post_and_me(slack: Slack) -> None:
    fake = slack.fake
    await slack.command("UADMIN", "/payforward", "config channel <#C9|random>")
    await slack.command("UALICE", "/thanks", "<@UBOB|bob>")
    await fake.wait_for("chat.postMessage", in_channel("DUBOB"))

    await slack.command("UADMIN", "/payforward", "leaderboard post")
    (board,) = await fake.wait_for("chat.postMessage", in_channel("C9"))
    assert board.args["blocks"][0]["type"] == "header"
    assert "<@UBOB>" in board.blocks_text()
    await slack.command("UBOB", "/payforward", "me")
    await fake.wait_for("respond", mentions("Your pay-it-forward"))


async def test_help_usage_and_the_bots_own_markup_are_escaped(slack: Slack) -> None:
    fake = slack.fake
    await slack.command("UALICE", "/ask", "")
    (usage,) = await fake.wait_for("respond")
    assert "`/ask &lt;your question&gt;`" in usage.blocks_text()

    await slack.command("UALICE", "/payforward", "")
    (_, help_) = await fake.wait_for("respond", count=2)
    assert "/payforward me" in help_.blocks_text()
    assert "For admins" not in help_.blocks_text()


async def test_bots_are_never_members(slack: Slack) -> None:
    fake = slack.fake
    fake.bots.add("UOTHERBOT")
    await slack.command("UOTHERBOT", "/ask", "beep")
    await slack.wait_handled(1)
    await slack.settle()
    assert not fake.of("chat.postMessage") and not fake.of("respond")
