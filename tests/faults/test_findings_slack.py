"""Slack: log amplification (finding 5), invisible text (6), forget (7), a 5xx with a
non-JSON body (8) and a 5xx storm, and cross-workspace isolation of every button."""

from __future__ import annotations

import json
import logging
import time
import urllib.parse

import pytest
from sqlalchemy import text as sql

from adapters.slack.client import delivering, make_client
from bot import copy
from bot.messages import Delivered, RetryAfter
from tests.adapters.slack import payloads
from tests.adapters.slack.conftest import Slack, post_ask
from tests.adapters.slack.conftest import fake as fake
from tests.adapters.slack.conftest import http_slack as http_slack
from tests.adapters.slack.fake_slack import FakeSlack
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


async def count(slack: Slack, query: str) -> int:
    async with slack.core.uow() as uow:
        conn = uow.asks._conn  # type: ignore[attr-defined]
        return int((await conn.execute(sql(query))).scalar_one())


def press(team: str, user: str, action: str, value: str, fake: FakeSlack) -> dict[str, object]:
    return {
        "type": "block_actions",
        "team": {"id": team},
        "user": {"id": user, "team_id": team},
        "trigger_id": f"t.{time.monotonic_ns()}",
        "channel": {"id": "C1"},
        "container": {"type": "message", "channel_id": "C1", "message_ts": "1.1"},
        "actions": [{"type": "button", "action_id": action, "value": value}],
        "response_url": fake.response_url(),
    }


async def test_an_unsigned_megabyte_is_one_short_log_line(
    http_slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    assert http_slack.session is not None
    caplog.set_level(logging.DEBUG)
    body = b"x" * (1024 * 1024 - 100)
    async with http_slack.session.post(http_slack.events_url, data=body) as answer:
        assert answer.status == 401
    logged = "".join(r.getMessage() for r in caplog.records)
    assert len(logged) < 500 and "xxxxxxxx" not in logged


@pytest.mark.parametrize("words", ["\u200b", "\u200b\u200c\u200d", "\ufeff \u2060", "\u3164"])
async def test_an_ask_that_looks_empty_gets_the_usage_help(http_slack: Slack, words: str) -> None:
    await http_slack.command("U1", "/ask", words)
    await http_slack.settle()
    assert await count(http_slack, "SELECT count(*) FROM asks") == 0
    said = json.dumps([c.args for c in http_slack.fake.of("respond")], ensure_ascii=False)
    assert "/ask" in said  # the usage help


async def test_forget_leaves_no_words_and_no_name_behind(http_slack: Slack) -> None:
    _, ts = await post_ask(http_slack, "UALICE", "my secret onboarding troubles")
    await http_slack.event(payloads.reaction("T1", "UBOB", "C1", ts))
    await http_slack.command("UBOB", "/thanks", "<@UALICE|alice> quiet words of thanks")
    await http_slack.settle()
    await http_slack.interact(press("T1", "UALICE", copy.FORGET_CONFIRM, "", http_slack.fake))
    await http_slack.wait_handled(4)
    await http_slack.settle()
    await http_slack.command("UALICE", "/payforward", "me")  # a later command
    await http_slack.wait_handled(5)
    for words in ("secret onboarding", "quiet words"):
        query = f"SELECT count(*) FROM outbox WHERE message LIKE '%{words}%'"
        assert await count(http_slack, query) == 0, words
    named = "SELECT count(*) FROM members WHERE member_id = 'UALICE' AND display_name IS NOT NULL"
    assert await count(http_slack, named) == 0


async def test_a_5xx_with_a_non_json_body_is_a_failure_to_retry(fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", "", status=502, body="<html>Bad Gateway</html>")
    client = make_client("xoxb-test", fake.api_url)

    async def send() -> Delivered:
        await client.chat_postMessage(channel="C1", text="hi")
        raise AssertionError("the fake answers 502 first")

    outcome = await delivering(send)
    assert isinstance(outcome, RetryAfter) and outcome.reason == "http_502"


async def test_a_5xx_storm_on_slack_loses_and_doubles_nothing(
    http_slack: Slack, tracebacks: Tracebacks
) -> None:
    for _ in range(4):
        http_slack.fake.fail_next("chat.postMessage", "", status=500, body="<html>oops</html>")
        http_slack.fake.fail_next("chat.postMessage", "internal_error", status=503)
    for n in range(3):
        await http_slack.command(f"U{n}", "/ask", f"storm ask {n}")
    for _ in range(60):  # the failures are spent on retries; backoff made due at once
        async with http_slack.core.uow() as uow:
            conn = uow.asks._conn  # type: ignore[attr-defined]
            await conn.execute(
                sql("UPDATE outbox SET due_at = '2000-01-01 00:00:00' WHERE status = 'pending'")
            )
            await uow.commit()
        await http_slack.core.dispatcher.drain()
        if await count(http_slack, "SELECT count(*) FROM outbox WHERE status = 'pending'") == 0:
            break
    posted = [c for c in http_slack.fake.of("chat.postMessage") if c.result.get("ok")]
    for n in range(3):
        cards = [c for c in posted if f"storm ask {n}" in json.dumps(c.args)]
        assert len([c for c in cards if c.args.get("channel") == "C1"]) == 1
    no_tracebacks(tracebacks)


async def test_no_button_of_another_workspace_acts_or_reveals_it(
    http_slack: Slack, tracebacks: Tracebacks
) -> None:
    ask_id, _ = await post_ask(http_slack, "UALICE", "team two's private question", team="T2")
    await http_slack.settle()
    seen = len(http_slack.fake.calls)
    before = [await count(http_slack, f"SELECT count(*) FROM {t}") for t in ("offers", "gives")]
    for action in ACTIONS:
        for user in ("UBOB", "UALICE"):
            await http_slack.interact(press("T1", user, action, ask_id, http_slack.fake))
    await http_slack.wait_handled(1 + 2 * len(ACTIONS))
    await http_slack.settle()
    after = [await count(http_slack, f"SELECT count(*) FROM {t}") for t in ("offers", "gives")]
    assert after == before
    said = json.dumps([c.args for c in http_slack.fake.calls[seen:]], ensure_ascii=False)
    assert "private question" not in said
    no_tracebacks(tracebacks)


async def test_no_form_of_another_workspace_acts(http_slack: Slack, tracebacks: Tracebacks) -> None:
    ask_id, _ = await post_ask(http_slack, "UALICE", "team two's ask", team="T2")
    await http_slack.settle()
    view = {
        "id": "V1",
        "type": "modal",
        "hash": "h1",
        "team_id": "T1",
        "callback_id": "payforward:resolve",
        "private_metadata": json.dumps({"form": "resolve", "value": ask_id, "channel": "C1"}),
        "state": {
            "values": {"helpers": {"a": {"type": "multi_users_select", "selected_users": ["UBOB"]}}}
        },
    }
    submission = {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "UALICE", "team_id": "T1"},
        "view": view,
    }
    await http_slack.interact(submission)
    await http_slack.wait_handled(2)
    await http_slack.settle()
    assert await count(http_slack, "SELECT count(*) FROM gives") == 0
    assert await count(http_slack, "SELECT count(*) FROM asks WHERE status = 'open'") == 1
    no_tracebacks(tracebacks)


async def test_a_command_without_a_user_gets_a_plain_answer(
    http_slack: Slack, tracebacks: Tracebacks
) -> None:
    payload = payloads.slash("T1", "U1", "/ask", "hello", http_slack.fake.response_url())
    del payload["user_id"]
    status, body = await http_slack.signed_request(
        urllib.parse.urlencode(payload), "application/x-www-form-urlencoded"
    )
    assert status == 200 and b"nothing was saved" in body
    no_tracebacks(tracebacks)
