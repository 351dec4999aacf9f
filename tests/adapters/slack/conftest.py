"""A running payforward (real core on SQLite, real Bolt and slack-sdk) wired to the fake
Slack, driven in HTTP mode (signed requests) or Socket Mode (pushed envelopes)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier

from adapters.slack import SlackAdapter, build
from bot.clock import SystemClock
from bot.domain import MessageRef
from bot.events import Event
from bot.messages import Answer
from payforward import bootstrap
from payforward.http import HttpServer
from payforward.runtime import Runtime
from payforward.settings import Settings
from tests.adapters.slack import payloads
from tests.adapters.slack.fake_slack import Call, FakeSlack

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"

Json = dict[str, Any]


def sign(body: str, timestamp: int, secret: str = SECRET) -> str:
    """Slack's v0 request signature, computed by slack-sdk's own signing code."""
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    assert signature is not None
    return signature


@dataclass
class Slack:
    """One payforward process as Slack sees it, plus the fake Slack it talks to."""

    mode: str
    fake: FakeSlack
    adapter: SlackAdapter
    core: bootstrap.Core
    handled: list[tuple[Event, list[Answer]]] = field(default_factory=list)
    session: aiohttp.ClientSession | None = None
    server: HttpServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.port

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def signed_post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SECRET,
        headers: dict[str, str] | None = None,
    ) -> int:
        return (
            await self.signed_request(
                body, content_type, timestamp=timestamp, secret=secret, headers=headers
            )
        )[0]

    async def signed_request(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SECRET,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """(status, body) of a signed POST to the events URL."""
        assert self.session is not None
        stamp = int(time.time()) if timestamp is None else timestamp
        sent = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": sign(body, stamp, secret),
            **(headers or {}),
        }
        async with self.session.post(self.events_url, data=body.encode(), headers=sent) as response:
            return response.status, await response.read()

    async def command(
        self, user: str, command: str, text: str = "", *, team: str = "T1", channel: str = "C1"
    ) -> Json:
        payload = payloads.slash(team, user, command, text, self.fake.response_url(), channel)
        if self.mode == "http":
            status, body = await self.signed_request(
                urllib.parse.urlencode(payload), "application/x-www-form-urlencoded"
            )
            assert status == 200
            self.fake.answered_in_ack(json.loads(body) if body else {})
        else:
            ack = await self.fake.wait_for_ack(await self.fake.push("slash_commands", payload))
            self.fake.answered_in_ack(ack.get("payload") or {})
        return payload

    async def event(self, payload: Json, *, retry: int = 0) -> None:
        if self.mode == "http":
            headers = (
                {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
                if retry
                else {}
            )
            status = await self.signed_post(
                json.dumps(payload), "application/json", headers=headers
            )
            assert status == 200
        else:
            await self.fake.wait_for_ack(
                await self.fake.push("events_api", payload, retry_attempt=retry)
            )

    async def interact(self, payload: Json) -> None:
        if self.mode == "http":
            body = urllib.parse.urlencode(payloads.as_form(payload))
            status = await self.signed_post(body, "application/x-www-form-urlencoded")
            assert status == 200
        else:
            await self.fake.wait_for_ack(await self.fake.push("interactive", payload))

    async def wait_handled(self, count: int, within: float = 10.0) -> None:
        """Until the core has answered `count` events (a redelivery counts too)."""
        deadline = time.monotonic() + within
        while len(self.handled) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.handled)} events handled, wanted {count}")
            await asyncio.sleep(0.01)

    async def card_known(self, team: str, channel: str, ts: str, within: float = 10.0) -> None:
        """Until the core has recorded where the card is (reactions on it count then)."""
        deadline = time.monotonic() + within
        while True:
            async with self.core.uow() as uow:
                ask = await uow.asks.by_message(f"slack:{team}", MessageRef(channel, ts))
            if ask is not None:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the core never recorded the card {channel}/{ts}")
            await asyncio.sleep(0.01)

    async def settle(self, within: float = 10.0) -> None:
        """Until everything the core has queued so far is delivered (by this call or by
        the runtime's own dispatcher, which may hold some items leased right now)."""
        deadline = time.monotonic() + within
        while True:
            await self.core.dispatcher.drain()
            async with self.core.uow() as uow:
                pending = await uow.outbox.pending_count()
            if pending == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{pending} queued messages never went out")
            await asyncio.sleep(0.01)

    async def card(self, team_user: str | None = None) -> Call:
        """The first ask card posted in a channel."""
        (card, *_) = await self.fake.wait_for(
            "chat.postMessage", lambda c: c.args["channel"].startswith("C")
        )
        return card


def settings_for(tmp_path: Path, fake: FakeSlack, mode: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'payforward.db'}",
        "slack_bot_token": "xoxb-test-token",
        "slack_app_token": "xapp-test-token" if mode == "socket" else None,
        "slack_signing_secret": SECRET,
        "slack_api_url": fake.api_url,
        "PAYFORWARD_HTTP_HOST": "127.0.0.1",
        "PAYFORWARD_HTTP_PORT": 0,
        "discord_token": None,
    }
    return Settings(_env_file=None, **(values | overrides))  # type: ignore[call-arg]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack(admins={"UADMIN"})
    await slack.start()
    try:
        yield slack
    finally:
        await slack.stop()


async def open_slack(
    tmp_path: Path, fake: FakeSlack, mode: str, **overrides: Any
) -> AsyncIterator[Slack]:
    settings = settings_for(tmp_path, fake, mode, **overrides)
    await bootstrap.migrate(settings)
    adapters: dict[str, Any] = {}
    async with bootstrap.open_core(settings, SystemClock(), adapters) as core:
        runtime = Runtime(core)
        handled: list[tuple[Event, list[Answer]]] = []

        async def handle(event: Event) -> list[Answer]:
            answers = await runtime.handle(event)
            handled.append((event, answers))
            return answers

        server = HttpServer("127.0.0.1", 0)
        adapter = build(settings, handle, server.app)
        assert isinstance(adapter, SlackAdapter)
        adapters["slack"] = adapter
        await server.start()
        await adapter.start()
        await runtime.start()
        if mode == "socket":
            await fake.wait_for_socket()
        async with aiohttp.ClientSession() as session:
            try:
                yield Slack(mode, fake, adapter, core, handled, session, server)
            finally:
                await runtime.stop()
                await adapter.stop()
                await server.stop()


@pytest.fixture(params=["http", "socket"])
async def slack(
    request: pytest.FixtureRequest, tmp_path: Path, fake: FakeSlack
) -> AsyncIterator[Slack]:
    async for running in open_slack(tmp_path, fake, request.param):
        yield running


@pytest.fixture
async def http_slack(tmp_path: Path, fake: FakeSlack) -> AsyncIterator[Slack]:
    async for running in open_slack(tmp_path, fake, "http"):
        yield running


def in_channel(channel: str) -> Callable[[Call], bool]:
    """Where the call posted (a DM sent to a member's id lands in a D… channel)."""
    return lambda call: call.result.get("channel", call.args.get("channel")) == channel


def mentions(text: str) -> Callable[[Call], bool]:
    return lambda call: text in call.blocks_text()


async def post_ask(
    slack: Slack, user: str, text: str, *, team: str = "T1", channel: str = "C1"
) -> tuple[str, str]:
    """Ask through `/ask`; the card's ask id (its buttons' value) and ts, once the core
    knows where the card is (so reactions on it count)."""
    before = [c for c in slack.fake.of("chat.postMessage") if c.result.get("ok")]
    await slack.command(user, "/ask", text, team=team, channel=channel)
    posted = await slack.fake.wait_for(
        "chat.postMessage",
        lambda c: c.args.get("channel") == channel and bool(c.result.get("ok")) and c not in before,
    )
    card = posted[-1]
    await slack.card_known(team, channel, str(card.result["ts"]))
    actions = next(b for b in card.args["blocks"] if b["type"] == "actions")["elements"]
    return str(actions[0]["value"]), str(card.result["ts"])


def view_of(call: Call) -> Json:
    view = call.args["view"]
    parsed: Json = json.loads(view) if isinstance(view, str) else view
    return parsed
