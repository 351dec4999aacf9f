"""Fuzzed requests through the Slack adapter's translate-in (HTTP mode, signed), against
the fake Slack: never a traceback or a 5xx, never a raw `<!channel>`/`<!here>` out,
and nothing saved on a refusal."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text as sql

from adapters.slack.translate import normalize_text
from bot import copy
from bot.domain import MAX_ASK_LENGTH
from bot.parsing import parse_id
from bot.text import clean
from tests.adapters.slack import payloads
from tests.adapters.slack.conftest import SECRET, Slack, open_slack, sign
from tests.adapters.slack.fake_slack import FakeSlack
from tests.faults.conftest import FAULTS, LoopThread, Tracebacks, no_tracebacks
from tests.faults.test_parsers import json_value, member_text

FUZZ = settings(FAULTS, max_examples=40)
SPECIALS = ("<!channel>", "<!here>", "<!everyone>")
BUTTONS = (
    copy.OFFER,
    copy.RESOLVE,
    copy.CONFIRM_GIVE,
    copy.DECLINE_GIVE,
    copy.STILL_NEED_HELP,
    copy.CONNECTED,
    copy.CANT_HELP,
    copy.SHARE,
    copy.NOTHING_THIS_WEEK,
    copy.PAUSE_PROMPTS,
    "unknown",
)
slack_text = st.one_of(
    member_text,
    st.lists(
        st.sampled_from([*SPECIALS, "<@U1|ann>", "<#C1|general>", "<https://x.y|link>", "hi", " "]),
        max_size=6,
    ).map("".join),
)


class Running:
    """payforward in HTTP mode on its own loop thread, for a whole module of examples."""

    def __init__(self, tmp: Path) -> None:
        self.loop = LoopThread()
        self.fake = FakeSlack(admins={"UADMIN"})
        self.loop.run(self.fake.start())
        self._running = open_slack(tmp, self.fake, "http")
        self.slack: Slack = self.loop.run(self._running.__anext__())

    def close(self) -> None:
        self.loop.run(self._running.aclose())
        self.loop.run(self.fake.stop())
        self.loop.close()

    def post(self, body: bytes, content_type: str) -> int:
        async def send() -> int:
            assert self.slack.session is not None
            stamp = int(time.time())
            headers = {
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": str(stamp),
                "X-Slack-Signature": sign(body.decode(), stamp, SECRET),
            }
            async with self.slack.session.post(
                self.slack.events_url, data=body, headers=headers
            ) as response:
                await response.read()
                return response.status

        return self.loop.run(send())

    def count(self, table: str) -> int:
        async def count() -> int:
            async with self.slack.core.uow() as uow:
                conn = uow.asks._conn  # type: ignore[attr-defined]
                return int((await conn.execute(sql(f"SELECT count(*) FROM {table}"))).scalar_one())

        return self.loop.run(count())

    def settle(self) -> None:
        self.loop.run(self.slack.settle())

    def calls_since(self, start: int) -> list[Any]:
        return self.fake.calls[start:]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    bot = Running(tmp_path_factory.mktemp("slack-fuzz"))
    try:
        yield bot
    finally:
        bot.close()


def _said(calls: list[Any]) -> str:
    return json.dumps([c.args for c in calls], ensure_ascii=False)


def assert_nothing_raw(calls: list[Any]) -> None:
    said = _said(calls)
    for special in SPECIALS:
        assert special not in said, f"{special} went out raw"


@FUZZ
@given(st.sampled_from(["/ask", "/thanks", "/give", "/payforward"]), slack_text)
@example("/ask", "<!channel> please help")
@example("/ask", "\u200b\u200c")
@example("/ask", "x" * (MAX_ASK_LENGTH + 1))
@example("/payforward", "timezone America")
@example("/payforward", "timezone " + "A" * 300)
@example("/give", "<!here> a guide")
@example("/give", "@<!channel> thanks")
@example("/payforward", "timezone <!everyone>")
@example("/ask", "NUL \x00 inside")
def test_fuzzed_command_text(
    running: Running, tracebacks: Tracebacks, command: str, text: str
) -> None:
    asks = running.count("asks")
    start = len(running.fake.calls)
    payload = payloads.slash("T1", "U1", command, text, running.fake.response_url())
    status = running.post(
        urllib.parse.urlencode(payload).encode(), "application/x-www-form-urlencoded"
    )
    assert status == 200
    running.settle()
    no_tracebacks(tracebacks)
    assert_nothing_raw(running.calls_since(start))
    if command == "/ask":
        kept = clean(normalize_text(text)[0])
        expected = 1 if 0 < len(kept) <= MAX_ASK_LENGTH else 0
        assert running.count("asks") == asks + expected  # a refusal saves nothing


@FUZZ
@given(
    st.sampled_from(BUTTONS),
    st.one_of(st.text(max_size=40), st.integers(-(10**30), 10**30).map(str)),
)
@example(copy.OFFER, "1" + "0" * 25)
@example(copy.CONFIRM_GIVE, "²")
@example(copy.RESOLVE, "-1")
def test_fuzzed_button_values(
    running: Running, tracebacks: Tracebacks, action: str, value: str
) -> None:
    parsed = parse_id(value)
    assume(parsed is None or parsed > 10**6)  # never a real row: the press must change nothing
    offers, gives = running.count("offers"), running.count("gives")
    press = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": "U2", "team_id": "T1"},
        "trigger_id": f"t.{time.monotonic_ns()}",
        "channel": {"id": "C1"},
        "container": {"type": "message", "channel_id": "C1", "message_ts": "1.1"},
        "actions": [{"type": "button", "action_id": action, "value": value}],
        "response_url": running.fake.response_url(),
    }
    body = urllib.parse.urlencode({"payload": json.dumps(press)}).encode()
    assert running.post(body, "application/x-www-form-urlencoded") == 200
    running.settle()
    no_tracebacks(tracebacks)
    if action != copy.PAUSE_PROMPTS:
        assert (running.count("offers"), running.count("gives")) == (offers, gives)


shapes = st.dictionaries(
    st.sampled_from(
        [
            "type",
            "team_id",
            "team",
            "user",
            "user_id",
            "event",
            "event_id",
            "actions",
            "view",
            "command",
            "text",
            "trigger_id",
            "container",
            "channel",
            "api_app_id",
        ]
    ),
    json_value,
    max_size=8,
)
event_shapes = st.fixed_dictionaries(
    {
        "type": st.just("event_callback"),
        "team_id": st.one_of(st.just("T1"), json_value),
        "event": st.one_of(
            json_value,
            st.dictionaries(
                st.sampled_from(["type", "user", "reaction", "item", "tab"]),
                st.one_of(
                    st.sampled_from(
                        ["reaction_added", "reaction_removed", "app_home_opened", "home"]
                    ),
                    json_value,
                ),
                max_size=5,
            ),
        ),
    },
    optional={"event_id": json_value},
)


@FUZZ
@given(st.one_of(shapes, event_shapes), st.sampled_from(["json", "form", "payload"]))
@example({"type": "event_callback", "team_id": "T1", "event": {"type": "reaction_added"}}, "json")
@example({"type": "block_actions", "actions": [{"type": "button"}]}, "payload")
@example({"command": "/ask", "team_id": "T1"}, "form")
@example({"type": "view_submission", "team": {"id": "T1"}, "view": {"callback_id": "x"}}, "payload")
def test_fuzzed_payload_shapes(
    running: Running, tracebacks: Tracebacks, body: dict[str, Any], encoding: str
) -> None:
    if encoding == "json":
        raw, kind = json.dumps(body).encode(), "application/json"
    elif encoding == "form":
        flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
        raw, kind = urllib.parse.urlencode(flat).encode(), "application/x-www-form-urlencoded"
    else:
        raw = urllib.parse.urlencode({"payload": json.dumps(body)}).encode()
        kind = "application/x-www-form-urlencoded"
    status = running.post(raw, kind)
    assert status < 500
    running.settle()
    no_tracebacks(tracebacks)
