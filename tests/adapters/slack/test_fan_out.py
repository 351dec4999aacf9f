"""Slack HTTP mode under a fan-out: the weekly prompts going out at the workspace's
budget, and a member's `/ask` meanwhile. The card takes the next send the budget
allows, not a place behind the fan-out; every prompt still goes out once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bot.jobs import PROMPTS
from tests.adapters.slack.conftest import open_slack
from tests.adapters.slack.fake_slack import Call, FakeSlack
from tests.crowd import member_ids, seed

MEMBERS = member_ids(40)


def is_prompt(call: Call) -> bool:
    return call.method == "chat.postMessage" and "What have you shared lately" in (
        call.blocks_text()
    )


def is_card(call: Call) -> bool:
    return call.method == "chat.postMessage" and call.args.get("channel") == "C7"


async def test_an_ask_card_goes_out_while_the_prompts_fan_out(
    tmp_path: Path, fake: FakeSlack
) -> None:
    async for slack in open_slack(tmp_path, fake, "http", slack_post_rate=5.0):
        await seed(slack.core.uow, "slack:T1", MEMBERS)
        now = datetime.now(UTC)
        await slack.core.jobs.run(PROMPTS, now, now)
        slack.core.dispatcher.kick()
        await fake.wait_for("chat.postMessage", lambda c: is_prompt(c), count=5, within=20)

        asked_at = len(fake.calls)
        await slack.command("UALICE", "/ask", "Who knows asyncio?", channel="C7")
        [card] = await fake.wait_for("chat.postMessage", is_card, within=20)

        between = [c for c in fake.calls[asked_at : fake.calls.index(card)] if is_prompt(c)]
        assert len(between) <= 2  # at most what was on its way: the card took the next turn
        await slack.settle(within=60)
        prompts = Counter(c.args["channel"] for c in fake.calls if is_prompt(c))
        assert sorted(prompts) == MEMBERS and set(prompts.values()) == {1}
        after = [c for c in fake.calls[fake.calls.index(card) :] if is_prompt(c)]
        assert len(after) >= len(MEMBERS) // 2  # the fan-out was far from over
