"""Slack HTTP mode under load, on loopback, against the fake Web API of the tests.

Signed `/ask` and `reaction_added` requests go to payforward's `/slack/events` at fixed
rates; latency is from sending the request to the resulting `chat.postMessage` arriving
at the fake (the ask card; for a reaction, the offer DM to the asker). Beside it, in the
same run and process, a bare Bolt `AsyncApp` that only posts "ok" per command is the
baseline. Then rising rates find the highest rate each keeps up with.

Askers and helpers come from a community of 200 members, so most events find the
member's users.info answer cached, as in a real workspace.

Targets (issue 4): p50 ≤ 1.5× bare; p99 ≤ 100 ms at 100 req/s; sustained ≥ 50 % of bare.

    python -m bench.slack_http [--count 300] [--rates 50,100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import statistics
import tempfile
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier

from adapters.slack import SlackAdapter, build
from adapters.slack.client import make_client
from bot.clock import SystemClock
from bot.events import Event
from bot.messages import Answer
from payforward import bootstrap
from payforward.runtime import Runtime
from payforward.settings import Settings
from tests.adapters.slack import payloads
from tests.adapters.slack.fake_slack import FakeSlack

SECRET = "bench-signing-secret"
FORM = "application/x-www-form-urlencoded"
SUSTAIN_RATES = (25, 50, 100, 200, 300, 400, 600, 800)
BARE = "bare Bolt /ask→ok"
Json = dict[str, Any]


@dataclass
class Figures:
    sent: int
    done: int
    p50_ms: float
    p99_ms: float
    elapsed: float  # from the first send to the last result

    @property
    def kept_up(self) -> bool:
        return self.done == self.sent

    def line(self, name: str, rate: int) -> str:
        return (
            f"{name:<18} {rate:>4} req/s  n={self.sent:<4} done={self.done:<4} "
            f"p50={self.p50_ms:7.1f} ms  p99={self.p99_ms:7.1f} ms"
        )


class Loopback:
    """Signed requests to one events URL, at a fixed rate."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self._session = session
        self._url = url
        self._signer = SignatureVerifier(SECRET)

    async def send(self, body: str, content_type: str) -> None:
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": self._signer.generate_signature(timestamp=stamp, body=body) or "",
        }
        async with self._session.post(self._url, data=body.encode(), headers=headers) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}")


async def measure(
    fake: FakeSlack,
    rate: int,
    requests: list[tuple[str, str, str]],  # (body, content type, the channel of the result)
    send: Callable[[str, str], Coroutine[Any, Any, None]],
    *,
    settle: float = 5.0,
) -> Figures:
    """Send at `rate`, then wait (up to `settle` s after the last send) for every result."""
    sent_at: dict[str, float] = {}
    tasks: list[asyncio.Task[None]] = []
    start = time.perf_counter()
    for i, (body, content_type, channel) in enumerate(requests):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent_at[channel] = time.perf_counter()
        tasks.append(asyncio.create_task(send(body, content_type)))
    last_send = time.perf_counter()
    arrived: dict[str, float] = {}
    while time.perf_counter() < last_send + settle:
        for call in fake.of("chat.postMessage"):
            channel = str(call.result.get("channel", call.args.get("channel")))
            if channel in sent_at and channel not in arrived:
                arrived[channel] = call.at
        if len(arrived) == len(sent_at):
            break
        await asyncio.sleep(0.02)
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies = sorted((arrived[c] - sent_at[c]) * 1000 for c in arrived)
    p99_index = max(0, int(len(latencies) * 0.99) - 1)
    return Figures(
        sent=len(sent_at),
        done=len(arrived),
        p50_ms=statistics.median(latencies) if latencies else float("nan"),
        p99_ms=latencies[p99_index] if latencies else float("nan"),
        elapsed=(max(arrived.values()) - start) if arrived else float("nan"),
    )


MEMBERS = 200  # the community's askers; each one's first event looks them up


def slash_body(fake: FakeSlack, team: str, user: str, channel: str, command: str, text: str) -> str:
    payload = payloads.slash(team, user, command, text, fake.response_url(), channel)
    return urllib.parse.urlencode(payload)


def bare_app(fake: FakeSlack) -> AsyncApp:
    app = AsyncApp(
        client=make_client("xoxb-bench", fake.api_url),
        signing_secret=SECRET,
        process_before_response=False,
        logger=logging.getLogger("bench.bare"),
    )

    @app.command(re.compile(r"^/.+"))
    async def ok(ack: Callable[..., Awaitable[None]], body: Json, client: Any) -> None:
        await ack()
        await client.chat_postMessage(channel=body["channel_id"], text="ok")

    return app


async def serve(app: AsyncApp) -> tuple[web.AppRunner, int]:
    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    server = web.Application()
    server.router.add_post("/slack/events", events)
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, int(runner.addresses[0][1])


async def run(count: int, rates: list[int]) -> None:
    logging.basicConfig(level=logging.ERROR)
    fake = FakeSlack()
    await fake.start()
    folder = Path(tempfile.mkdtemp(prefix="payforward-slack-bench-"))
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite:///{folder / 'bench.db'}",
        slack_bot_token=SecretStr("xoxb-bench"),
        slack_signing_secret=SecretStr(SECRET),
        slack_api_url=fake.api_url,
        slack_app_token=None,
        http_host="127.0.0.1",
        http_port=0,
        # The fake has no rate limit and the bare app none either: measure processing,
        # not the outbox's pacing (bench/dispatcher_rate.py measures that).
        slack_send_rate=0,
    )
    await bootstrap.migrate(settings)
    adapters: dict[str, Any] = {}
    bare_runner, bare_port = await serve(bare_app(fake))
    serial = iter(range(10**9))
    async with (
        bootstrap.open_core(settings, SystemClock(), adapters) as core,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session,
    ):
        runtime = Runtime(core)
        in_core = 0

        async def handle(event: Event) -> list[Answer]:
            nonlocal in_core
            in_core += 1
            try:
                return await runtime.handle(event)
            finally:
                in_core -= 1

        async def quiesce() -> None:
            """Until payforward has nothing in flight, so one run never pays for the last."""
            deadline = time.perf_counter() + 300
            while time.perf_counter() < deadline:
                await asyncio.sleep(0.2)
                async with core.uow() as uow:
                    pending = await uow.outbox.pending_count()
                if not pending and not in_core:
                    return

        adapter = build(settings, handle)
        assert isinstance(adapter, SlackAdapter)
        adapters["slack"] = adapter
        await adapter.start()
        await runtime.start()
        ours = Loopback(session, f"http://127.0.0.1:{adapter.port}/slack/events")
        bare = Loopback(session, f"http://127.0.0.1:{bare_port}/slack/events")

        def asks(n: int, prefix: str, *, own_askers: bool = False) -> list[tuple[str, str, str]]:
            """`own_askers`: one asker per ask, since a reaction's result is found by the
            DM channel to its asker."""
            batch = []
            for _ in range(n):
                i = next(serial)
                channel = f"C{prefix}{i}"
                member = f"UA{i}" if own_askers else f"UA{i % MEMBERS}"
                body = slash_body(fake, "T1", member, channel, "/ask", f"bench ask {i}")
                batch.append((body, FORM, channel))
            return batch

        def bare_commands(n: int) -> list[tuple[str, str, str]]:
            batch = []
            for _ in range(n):
                i = next(serial)
                channel = f"CB{i}"
                batch.append(
                    (slash_body(fake, "T1", f"UA{i}", channel, "/ask", "hi"), FORM, channel)
                )
            return batch

        async def reactions(n: int) -> list[tuple[str, str, str]]:
            """Asks posted beforehand (untimed); each reaction's result is the asker's DM."""
            setup = asks(n, "R", own_askers=True)
            for body, content_type, _ in setup:
                await ours.send(body, content_type)
            await measure(fake, 10**6, [], ours.send)
            channels = {channel for _, _, channel in setup}
            while True:
                cards = {
                    c.args["channel"]: c
                    for c in fake.of("chat.postMessage")
                    if c.args["channel"] in channels  # cards: posted to a channel id
                }
                if len(cards) == n:
                    break
                await asyncio.sleep(0.05)
            await core.dispatcher.drain()
            batch = []
            for k, (body, _, channel) in enumerate(setup):
                asker = urllib.parse.parse_qs(body)["user_id"][0]
                card = cards[channel]
                helper = f"UR{k % MEMBERS}"
                event = payloads.reaction("T1", helper, channel, card.result["ts"])
                batch.append((json.dumps(event), "application/json", "D" + asker))
            return batch

        # Warm up both (auth.test, connection pools, first queries).
        await measure(fake, 50, bare_commands(20), bare.send)
        await measure(fake, 50, asks(20, "W"), ours.send)

        print(
            f"Slack HTTP mode on loopback, {count} requests per run "
            "(latency: request → chat.postMessage at the fake)"
        )
        results: dict[tuple[str, int], Figures] = {}
        for rate in rates:
            for name, requests, sender in (
                (BARE, bare_commands(count), bare.send),
                ("payforward /ask", asks(count, "A"), ours.send),
                ("payforward react", await reactions(count), ours.send),
            ):
                await quiesce()
                figures = await measure(fake, rate, requests, sender)
                results[(name, rate)] = figures
                print(figures.line(name, rate))
        for rate in rates:
            bare_fig = results[(BARE, rate)]
            for name in ("payforward /ask", "payforward react"):
                ours_fig = results[(name, rate)]
                print(
                    f"  {rate} req/s {name}: p50 {ours_fig.p50_ms / bare_fig.p50_ms:.2f}× bare "
                    f"(target ≤ 1.5×), p99 {ours_fig.p99_ms:.1f} ms (target ≤ 100 ms at 100 req/s)"
                )

        sustained: dict[str, int] = {}
        for name, make, sender in (
            (BARE, bare_commands, bare.send),
            ("payforward /ask", lambda n: asks(n, "S"), ours.send),
        ):
            best = 0
            for rate in SUSTAIN_RATES:
                n = rate * 3  # three seconds at that rate
                await quiesce()
                figures = await measure(fake, rate, make(n), sender, settle=1.0)
                keeps_up = figures.kept_up and figures.elapsed <= n / rate + 1.0
                print(f"{figures.line(name, rate)}  {'kept up' if keeps_up else 'fell behind'}")
                if not keeps_up:
                    break
                best = rate
            sustained[name] = best
        ours_best, bare_best = sustained["payforward /ask"], sustained[BARE]
        share = ours_best / bare_best if bare_best else 0.0
        print(
            f"highest sustained rate: bare {bare_best} req/s, payforward /ask "
            f"{ours_best} req/s ({share:.0%} of bare; target ≥ 50 %)"
        )
        await quiesce()
        await runtime.stop()
        await adapter.stop()
    await bare_runner.cleanup()
    await fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rates", default="50,100")
    args = parser.parse_args()
    asyncio.run(run(args.count, [int(r) for r in args.rates.split(",")]))


if __name__ == "__main__":
    main()
