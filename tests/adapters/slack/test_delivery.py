"""Slack's delivery conventions: redeliveries, signatures, rate limits, errors, and
workspaces that share channel and message ids."""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest

from adapters.slack import app as slack_app
from bot.domain import MessageRef
from bot.messages import Delivered, Message, RetryAfter, Undeliverable, text
from tests.adapters.slack import payloads
from tests.adapters.slack.conftest import Slack, in_channel, post_ask


async def test_an_event_delivered_three_times_counts_once(slack: Slack) -> None:
    fake = slack.fake
    _, ts = await post_ask(slack, "UALICE", "How do I profile asyncio code?")
    reaction = payloads.reaction("T1", "UBOB", "C1", ts)

    for retry in (0, 1, 2):
        await slack.event(reaction, retry=retry)
    await slack.wait_handled(1 + 3)
    await fake.wait_for("chat.postMessage", in_channel("DUALICE"))
    await slack.settle()

    assert len(fake.of("chat.postMessage")) == 2  # the card and one DM
    assert len(fake.of("chat.update")) == 1
    assert len(fake.of("chat.postEphemeral")) == 1
    reactions = [answers for _, answers in slack.handled[1:]]  # in the order handled
    assert sorted(map(len, reactions)) == [0, 0, 1]  # one answered; the redeliveries not


async def test_a_forged_or_stale_signature_gets_401_and_changes_nothing(http_slack: Slack) -> None:
    slack, fake = http_slack, http_slack.fake
    body = urllib.parse.urlencode(
        payloads.slash("T1", "UALICE", "/ask", "Anyone?", fake.response_url())
    )
    form = "application/x-www-form-urlencoded"

    forged = await slack.signed_post(body, form, secret="not-the-signing-secret")
    stale = await slack.signed_post(body, form, timestamp=int(time.time()) - 600)
    event = json.dumps(payloads.reaction("T1", "UBOB", "C1", "1.2"))
    forged_event = await slack.signed_post(event, "application/json", secret="guess")

    assert (forged, stale, forged_event) == (401, 401, 401)
    assert fake.calls == [] and slack.handled == []
    assert await slack.core.dispatcher.drain() == 0


async def test_a_429_with_retry_after_is_retried_and_nothing_is_lost(http_slack: Slack) -> None:
    fake = http_slack.fake
    fake.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=0)

    _, ts = await post_ask(http_slack, "UALICE", "How do I profile asyncio code?")

    attempts = fake.of("chat.postMessage")
    assert [c.result.get("ok") for c in attempts] == [None, True]
    await http_slack.event(payloads.reaction("T1", "UBOB", "C1", ts))
    (dm,) = await fake.wait_for("chat.postMessage", in_channel("DUALICE"))
    assert "<@UBOB>" in dm.blocks_text()


async def test_an_outbox_sends_429_goes_to_the_dispatcher_untried(http_slack: Slack) -> None:
    http_slack.fake.fail_next("chat.update", "ratelimited", status=429, retry_after=3)
    message = Message((text("hi"),))

    outcome = await http_slack.adapter.update("slack:T1", MessageRef("C1", "1.2"), message)

    # Not slept on in the client: the dispatcher holds the workspace's key instead.
    assert outcome == RetryAfter(3.0, "ratelimited", throttled=True)
    assert len(http_slack.fake.of("chat.update")) == 1


async def test_slack_errors_map_to_the_cores_delivery(http_slack: Slack) -> None:
    fake, adapter = http_slack.fake, http_slack.adapter
    message = Message((text("hi"),))
    fake.fail_next("chat.postMessage", "channel_not_found")
    fake.fail_next("chat.postMessage", "is_archived")
    fake.fail_next("chat.postMessage", "cannot_dm_bot")
    fake.fail_next("chat.update", "internal_error", status=500)

    assert await adapter.post("slack:T1", "C404", message) == Undeliverable("channel_not_found")
    assert await adapter.post("slack:T1", "C9", message) == Undeliverable("is_archived")
    assert await adapter.send_dm("slack:T1", "UBOT2", message) == Undeliverable("cannot_dm_bot")
    outcome = await adapter.update("slack:T1", MessageRef("C1", "1.2"), message)
    assert isinstance(outcome, RetryAfter) and outcome.seconds == 0
    assert isinstance(await adapter.post("slack:T1", "C1", message), Delivered)


async def test_a_commands_answer_rides_on_its_ack(slack: Slack) -> None:
    await slack.command("UALICE", "/payforward", "optout prompts")
    (answer,) = await slack.fake.wait_for("respond")
    assert slack.fake.acked_answers == [answer.args]  # no call to the response_url
    assert answer.args["response_type"] == "ephemeral"
    assert "opted out of prompts" in answer.blocks_text()


async def test_a_slow_answer_follows_a_bare_ack_through_the_response_url(
    slack: Slack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slack_app, "ANSWER_IN_ACK_SECONDS", 0.0)  # the core is never in time
    await slack.command("UALICE", "/payforward", "optout prompts")
    (answer,) = await slack.fake.wait_for("respond")
    assert slack.fake.acked_answers == []
    assert "opted out of prompts" in answer.blocks_text()


async def test_web_api_calls_reuse_their_connection(http_slack: Slack) -> None:
    fake, adapter = http_slack.fake, http_slack.adapter
    for channel in ("C1", "C2", "C3"):
        assert isinstance(
            await adapter.post("slack:T1", channel, Message((text("hi"),))), Delivered
        )
    posts = fake.of("chat.postMessage")
    assert len(posts) == 3 and posts[0].peer is not None
    assert {call.peer for call in posts} == {posts[0].peer}


async def test_the_bot_joins_a_public_channel_it_is_not_in(http_slack: Slack) -> None:
    fake = http_slack.fake
    fake.fail_next("chat.postMessage", "not_in_channel")

    await post_ask(http_slack, "UALICE", "Where is the style guide?", channel="C7")

    assert [c.args["channel"] for c in fake.of("conversations.join")] == ["C7"]
    assert [c.result.get("ok") for c in fake.of("chat.postMessage")] == [None, True]


async def test_an_unpostable_ask_tells_the_asker_by_dm(http_slack: Slack) -> None:
    fake = http_slack.fake
    fake.fail_next("chat.postMessage", "not_in_channel")
    fake.fail_next("conversations.join", "method_not_supported_for_channel_type")

    await http_slack.command("UALICE", "/ask", "Anyone?", channel="G1")

    (dm,) = await fake.wait_for("chat.postMessage", in_channel("DUALICE"))
    assert "couldn't post your ask #1" in dm.blocks_text() and "<#G1>" in dm.blocks_text()


async def test_two_workspaces_with_the_same_channel_and_message_ids_never_mix(
    http_slack: Slack,
) -> None:
    fake = http_slack.fake
    fake.fixed_ts = "1700000000.000100"
    await post_ask(http_slack, "UANN", "T1's question", team="T1")
    await post_ask(http_slack, "UBEN", "T2's question", team="T2")
    cards = fake.of("chat.postMessage")
    assert [(c.args["channel"], c.result["ts"]) for c in cards] == [("C1", fake.fixed_ts)] * 2
    assert all("#1 ·" in c.blocks_text() for c in cards)

    await http_slack.event(payloads.reaction("T2", "UCAT", "C1", fake.fixed_ts))

    (dm,) = await fake.wait_for("chat.postMessage", in_channel("DUBEN"))
    assert "T2's question" in dm.blocks_text()
    (update,) = await fake.wait_for("chat.update")
    assert "<@UBEN>" in update.blocks_text() and "<@UCAT>" in update.blocks_text()
    await http_slack.settle()
    assert not [c for c in fake.of("chat.postMessage") if in_channel("DUANN")(c)]
    assert [e.community_id for e, _ in http_slack.handled] == ["slack:T1", "slack:T2", "slack:T2"]


async def test_url_verification_is_answered(http_slack: Slack) -> None:
    body = json.dumps({"token": "t", "challenge": "c-123", "type": "url_verification"})
    assert await http_slack.signed_post(body, "application/json") == 200
