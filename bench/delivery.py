"""Delivery under the platforms' real limits, on loopback, as a community would feel it.

The fakes of the tests enforce the platforms' limits (bench/platform_limits.py): Slack
a per-workspace `chat.postMessage` ceiling (`--ceiling`) and ~1 message a second per
channel with short bursts, Discord 50 requests a second and per-route buckets, each
with 429s beyond. `payforward run` runs in a process of its own (Slack HTTP mode, as
in production); the Discord scenario runs the bot in this process.

Scenarios, each beside a baseline measured in the same run:
- slack-asks: one workspace, `--members` active members, the prompts fan-out running,
  `--asks` /ask across 4 channels at 1/s: request → card at the fake (baseline: the
  same asks with no fan-out). Targets p95 ≤ 1.5 s, max ≤ 3 s.
- slack-ten: ten workspaces installed through the OAuth flow, `--per-workspace`
  members each, prompts queued at once: accepted DMs a second against the sum of the
  fake's ceilings (and a bare paced loop sending at exactly the ceilings), with the
  budgets set to the ceilings (target ≥ 80 %) and with the defaults (≥ 40 %); 429s
  ≤ 10 % of sends.
- discord-asks: one guild, `--members` members, the fan-out running, `--asks` /ask at
  1/s (baseline: no fan-out). Target p95 ≤ 1.5 s.
- kill: `kill -9` of `payforward run` in the middle of a fan-out, then a restart (SQLite)
  and, on PostgreSQL, beside a second process that carries on: 0 lost, duplicates ≤
  what was on the wire, the survivor resumes within 10 s.
- bursts: SIGTERM and a restart during a burst of /ask (SQLite), and two processes on
  PostgreSQL taking a burst sent to one of them: 0 cards posted twice.

PostgreSQL scenarios use a database of their own created beside `--postgres-url`
(default: PAYFORWARD_TEST_POSTGRES_URL), dropped afterwards; without one they are
skipped, and say so.

    python -m bench.delivery [--only slack-asks,slack-ten,discord-asks,kill,bursts]
        [--members 2000] [--asks 20] [--ceiling 6] [--per-workspace 120] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

from adapters.discord.client import DiscordAdapter
from adapters.discord.gateway import point_at
from bench.platform_limits import Bucket, DiscordLimits, SlackCeilings
from bench.slack_http import FORM, PROJECT, SECRET, AppProcess, Signed, clean_environment, free_port
from bot.clock import SystemClock
from bot.dispatch import IN_FLIGHT
from bot.jobs import PROMPTS
from bot.ports import ChatAdapter
from bot.service import SEND_LEASE
from payforward.bootstrap import migrate, open_core
from payforward.runtime import Runtime
from payforward.settings import Settings
from storage.db import make_engine
from storage.migrate import upgrade
from storage.uow import unit_of_work_factory
from tests.adapters.discord.fake_discord import TOKEN, FakeDiscord, text_of
from tests.adapters.slack import payloads
from tests.adapters.slack.fake_slack import Call, FakeSlack
from tests.crowd import member_ids, seed

PROMPT = "What have you shared lately"
TAG = re.compile(r"bench-([a-z]+-\d+)")
SCENARIOS = ("slack-asks", "slack-ten", "discord-asks", "kill", "bursts")
GUILD = 91_000_000_000_000_001
CHANNEL = 92_000_000_000_000_001
OAUTH_ID, OAUTH_SECRET = "111.222", "bench-client-secret"


# Figures.


@dataclass
class Latencies:
    """Milliseconds from a request to its card, and what never came."""

    values: list[float] = field(default_factory=list)
    missing: int = 0

    def pct(self, q: float) -> float:
        ordered = sorted(self.values)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    def line(self) -> str:
        if not self.values:
            return f"no cards ({self.missing} missing)"
        missing = f", {self.missing} missing" if self.missing else ""
        return (
            f"p50 {statistics.median(self.values) / 1000:5.2f} s  "
            f"p95 {self.pct(0.95) / 1000:5.2f} s  max {max(self.values) / 1000:5.2f} s"
            f"  (n={len(self.values)}{missing})"
        )


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


# Slack: the fake with its limits, what reached it, and the bot's processes.


class SlackWatch:
    """What reached the fake Slack, accepted: cards by their tag, prompts by member."""

    def __init__(self, fake: FakeSlack) -> None:
        fake.on_call = self._seen
        self.cards: dict[str, list[float]] = defaultdict(list)
        self.prompts: dict[str, list[float]] = defaultdict(list)
        self.refused = 0

    def _seen(self, call: Call) -> None:
        if call.method != "chat.postMessage":
            return
        if not call.result.get("ok"):
            self.refused += 1
            return
        text = call.blocks_text()
        if PROMPT in text:
            self.prompts[str(call.args["channel"])].append(call.at)
        elif (tag := TAG.search(text)) is not None:
            self.cards[tag.group(1)].append(call.at)

    @property
    def prompt_count(self) -> int:
        return sum(map(len, self.prompts.values()))

    def prompt_times(self) -> list[float]:
        return sorted(t for times in self.prompts.values() for t in times)


class Bot(AppProcess):
    """`payforward run` in a process of its own."""

    async def kill(self) -> None:
        self._process.kill()
        await self._process.wait()


async def start_bot(folder: Path, env: dict[str, str], name: str = "payforward") -> Bot:
    port = int(env["PAYFORWARD_HTTP_PORT"])
    argv = [sys.executable, "-m", "payforward", "run"]
    log = folder / f"{name}-{uuid.uuid4().hex[:6]}.log"
    return await Bot.start(name, argv, env, folder, port, log)  # type: ignore[return-value]


def bot_env(url: str, fake: FakeSlack, *, oauth: bool = False, **extra: str) -> dict[str, str]:
    env = clean_environment() | {
        "DATABASE_URL": url,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "PAYFORWARD_HTTP_HOST": "127.0.0.1",
        "PAYFORWARD_HTTP_PORT": str(free_port()),
        "LOG_LEVEL": "WARNING",
    }
    if oauth:
        env |= {"SLACK_CLIENT_ID": OAUTH_ID, "SLACK_CLIENT_SECRET": OAUTH_SECRET}
    else:
        env["SLACK_BOT_TOKEN"] = "xoxb-bench"
    return env | extra


async def queue_prompts(env: dict[str, str], folder: Path) -> None:
    """`payforward jobs run prompts --queue-only`: the running bot sends them."""
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "payforward", "jobs", "run", "prompts", "--queue-only"),
        env=env,
        cwd=folder,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"jobs run failed: {err.decode()[-2000:]}")


async def seeded(url: str, communities: dict[str, list[str]]) -> None:
    await upgrade(url)
    engine = make_engine(url)
    try:
        uow = unit_of_work_factory(engine)
        for community, members in communities.items():
            await seed(uow, community, members)
    finally:
        await engine.dispose()


def ask_request(fake: FakeSlack, team: str, user: str, channel: str, tag: str) -> str:
    payload = payloads.slash(
        team, user, "/ask", f"bench-{tag} how do I…?", fake.response_url(), channel
    )
    return urllib.parse.urlencode(payload)


async def send_asks(
    signed: Callable[[], Signed], bodies: list[tuple[str, str]], rate: float
) -> dict[str, float]:
    """Send (tag, body) at `rate`; when each was sent, for those Slack got a 200 for.
    `signed` is asked each time, so a restarted bot's new port is used."""
    sent: dict[str, float] = {}

    async def one(tag: str, body: str) -> None:
        at = time.perf_counter()
        try:
            await signed().send(body, FORM)
        except (aiohttp.ClientError, RuntimeError):
            return  # the bot was away: Slack would retry; not counted as asked
        sent[tag] = at

    tasks = []
    start = time.perf_counter()
    for i, (tag, body) in enumerate(bodies):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(tag, body)))
    await asyncio.gather(*tasks)
    return sent


async def until(check: Callable[[], bool], within: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step)
    return True


async def card_latencies(
    watch: SlackWatch, sent: dict[str, float], within: float = 30.0
) -> Latencies:
    await until(lambda: all(tag in watch.cards for tag in sent), within)
    came = {tag: watch.cards[tag][0] for tag in sent if tag in watch.cards}
    return Latencies([(came[t] - sent[t]) * 1000 for t in came], missing=len(sent) - len(came))


def outbox_rows(db: Path) -> list[tuple[str | None, str, str | None, str]]:
    """(member_id, status, owner, purpose) of every outbox row."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return list(conn.execute("SELECT member_id, status, owner, purpose FROM outbox"))


# slack-asks


async def slack_asks(args: argparse.Namespace) -> None:
    fake = FakeSlack()
    ceilings = SlackCeilings(post_rate=args.ceiling_one)
    fake.admit = ceilings
    watch = SlackWatch(fake)
    await fake.start()
    folder = Path(tempfile.mkdtemp(prefix="payforward-delivery-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    crowd = member_ids(args.members)
    await seeded(url, {"slack:T1": crowd})
    env = bot_env(url, fake)
    bot = await start_bot(folder, env)
    try:
        async with aiohttp.ClientSession() as session:
            signed = Signed(session, int(env["PAYFORWARD_HTTP_PORT"]))

            def asks(kind: str) -> list[tuple[str, str]]:
                return [
                    (
                        f"{kind}-{i}",
                        ask_request(fake, "T1", f"UA{kind}{i}", f"C{i % 4}", f"{kind}-{i}"),
                    )
                    for i in range(args.asks)
                ]

            baseline = await card_latencies(
                watch, await send_asks(lambda: signed, asks("base"), 1.0)
            )
            await queue_prompts(env, folder)
            if not await until(lambda: watch.prompt_count >= 50, 60):
                raise RuntimeError("the prompts never started")
            before, refused, began = watch.prompt_count, watch.refused, time.perf_counter()
            during = await card_latencies(watch, await send_asks(lambda: signed, asks("fan"), 1.0))
            span = time.perf_counter() - began
            dms, refusals = watch.prompt_count - before, watch.refused - refused
    finally:
        await bot.stop()
        await fake.stop()
    print(
        f"\n[slack-asks] one workspace, {args.members} members, the prompts fan-out running, "
        f"{args.asks} /ask across 4 channels at 1/s; the fake allows {args.ceiling_one:g} "
        "chat.postMessage/s in the workspace and ~1/s per channel; default settings"
    )
    print(f"  baseline, no fan-out:   {baseline.line()}")
    print(f"  during the fan-out:     {during.line()}")
    print(
        f"  the fan-out meanwhile:  {dms / span:.1f} DMs/s accepted (ceiling less the cards: "
        f"{args.ceiling_one:g}/s), {refusals} × 429"
    )
    ok = during.pct(0.95) <= 1500 and max(during.values, default=1e9) <= 3000 and not during.missing
    print(f"  target p95 ≤ 1.5 s, max ≤ 3 s: {verdict(ok)}")


# slack-ten


async def install(session: aiohttp.ClientSession, port: int, team: str) -> None:
    """The browser's part of the OAuth flow: the install page, then Slack's redirect."""
    base = f"http://127.0.0.1:{port}"
    async with session.get(f"{base}/slack/install", allow_redirects=False) as page:
        html = await page.text()
        cookie = page.headers["Set-Cookie"].split(";")[0]
    state = re.search(r"state=([^&\"']+)", html)
    assert state is not None
    redirect = f"{base}/slack/oauth_redirect?code=code-{team}&state={state.group(1)}"
    async with session.get(redirect, headers={"Cookie": cookie}) as done:
        await done.read()
        if done.status != 200:
            raise RuntimeError(f"installing {team} failed: HTTP {done.status}")


def team_of_token(token: str | None) -> str:
    return token.removeprefix("xoxb-") if token and token.startswith("xoxb-T") else "T1"


@dataclass
class Fanned:
    name: str
    sent: int
    seconds: float
    refused: int
    ceiling: float

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        share = self.rate / self.ceiling
        refused = self.refused / max(1, self.sent + self.refused)
        return (
            f"  {self.name:<34} {self.sent:5d} DMs in {self.seconds:5.1f} s = {self.rate:5.1f}/s "
            f"= {share:4.0%} of the ceilings' {self.ceiling:g}/s; 429s {self.refused} "
            f"({refused:.1%} of sends)"
        )


async def paced(bucket: Bucket) -> None:
    """Until the bucket has a token, spent."""
    wait = bucket.wait(time.monotonic())
    while wait > 0:
        await asyncio.sleep(wait)
        wait = bucket.wait(time.monotonic())


async def bare_loop(fake: FakeSlack, teams: list[str], per: int, rate: float) -> Fanned:
    """The baseline: one paced loop per workspace posting straight to the fake at its
    ceiling (half a second's burst), no database, no outbox."""
    ceilings = SlackCeilings(post_rate=rate, team_of=team_of_token)
    fake.admit = ceilings
    times: list[float] = []

    async def workspace(session: aiohttp.ClientSession, team: str) -> None:
        bucket = Bucket(rate, max(1.0, rate / 2))
        for n in range(per):
            await paced(bucket)
            while True:
                async with session.post(
                    f"{fake.api_url}chat.postMessage",
                    data={"channel": f"U{team}{n}", "text": "bare"},
                    headers={"Authorization": f"Bearer xoxb-{team}"},
                ) as response:
                    if response.status != 429:
                        times.append(time.perf_counter())
                        break
                    await asyncio.sleep(float(response.headers.get("Retry-After", "1")))

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(workspace(session, team) for team in teams))
    refused = sum(ceilings.refused.values())
    return Fanned("bare paced loop", len(times), times[-1] - times[0], refused, rate * len(teams))


async def ten_workspaces(args: argparse.Namespace, matched: bool) -> Fanned:
    fake = FakeSlack()
    ceilings = SlackCeilings(post_rate=args.ceiling, team_of=team_of_token)
    fake.admit = ceilings
    watch = SlackWatch(fake)
    await fake.start()
    teams = [f"T{n}" for n in range(1, 11)]
    folder = Path(tempfile.mkdtemp(prefix="payforward-delivery-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    await seeded(
        url, {f"slack:{team}": member_ids(args.per_workspace, f"U{team}M") for team in teams}
    )
    rates = {"PAYFORWARD_SLACK_POST_RATE": f"{args.ceiling:g}"} if matched else {}
    env = bot_env(url, fake, oauth=True, **rates)
    bot = await start_bot(folder, env)
    total = len(teams) * args.per_workspace
    try:
        async with aiohttp.ClientSession() as session:
            for team in teams:
                await install(session, int(env["PAYFORWARD_HTTP_PORT"]), team)
        await queue_prompts(env, folder)
        if not await until(lambda: watch.prompt_count >= total, 300):
            print(f"  (only {watch.prompt_count} of {total} DMs arrived)")
    finally:
        await bot.stop()
        await fake.stop()
    times = watch.prompt_times()
    name = "payforward, budgets = the ceilings" if matched else "payforward, default settings"
    return Fanned(name, len(times), times[-1] - times[0], watch.refused, ceilings.ceiling)


async def slack_ten(args: argparse.Namespace) -> None:
    fake = FakeSlack()
    await fake.start()
    teams = [f"T{n}" for n in range(1, 11)]
    try:
        bare = await bare_loop(fake, teams, args.per_workspace, args.ceiling)
    finally:
        await fake.stop()
    matched = await ten_workspaces(args, matched=True)
    defaults = await ten_workspaces(args, matched=False)
    print(
        f"\n[slack-ten] ten workspaces installed through OAuth, {args.per_workspace} members "
        f"each, prompts queued at once; the fake allows {args.ceiling:g} chat.postMessage/s "
        "per workspace (the default budget is 10/s)"
    )
    for fanned in (bare, matched, defaults):
        print(fanned.line())
    ok = (
        matched.rate >= 0.8 * matched.ceiling
        and defaults.rate >= 0.4 * defaults.ceiling
        and all(f.refused <= 0.1 * (f.sent + f.refused) for f in (matched, defaults))
    )
    print(f"  targets ≥ 80 % matched, ≥ 40 % defaults, 429s ≤ 10 %: {verdict(ok)}")


# discord-asks


async def discord_asks(args: argparse.Namespace) -> None:
    fake = FakeDiscord()
    limits = DiscordLimits()
    fake.limits = limits
    askers = [93_000_000_000_000_000 + i for i in range(2 * args.asks)]
    for i, member in enumerate(askers):
        fake.add_user(member, f"asker{i}")
    fake.add_guild(GUILD, "Bench", {CHANNEL: "general"})
    await fake.start()
    point_at(fake.api_url, fake.gateway_url)
    folder = Path(tempfile.mkdtemp(prefix="payforward-delivery-"))
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite:///{folder / 'bench.db'}",
        discord_token=TOKEN,
        discord_api_url=fake.api_url,
        discord_gateway_url=fake.gateway_url,
    )
    await migrate(settings)
    crowd = [str(94_000_000_000_000_000 + i) for i in range(args.members)]
    adapters: dict[str, ChatAdapter] = {}
    async with open_core(settings, SystemClock(), adapters) as core:
        await seed(core.uow, f"discord:{GUILD}", crowd)
        runtime = Runtime(core)
        adapter = DiscordAdapter(
            token=TOKEN,
            handle=runtime.handle,
            api_url=fake.api_url,
            gateway_url=fake.gateway_url,
            guild_ready_timeout=0.05,
        )
        adapters[adapter.platform] = adapter
        await adapter.start()
        await runtime.start()
        dms = lambda: sum(  # noqa: E731
            1
            for c in fake.calls
            if c.method == "POST" and "[429]" not in c.path and PROMPT in text_of(c.body)
        )
        try:
            baseline = await discord_cards(fake, askers[: args.asks], "base")
            now = datetime.now(UTC)
            await core.jobs.run(PROMPTS, now, now)
            runtime.kick()
            if not await until(lambda: dms() >= 50, 60, step=0.2):
                raise RuntimeError("the Discord prompts never started")
            before, began = dms(), time.perf_counter()
            throttled_before = sum(limits.throttled.values())
            during = await discord_cards(fake, askers[args.asks :], "fan")
            span = time.perf_counter() - began
            sent, throttled = dms() - before, sum(limits.throttled.values()) - throttled_before
        finally:
            await runtime.stop()
            await adapter.stop()
            await fake.close()
    print(
        f"\n[discord-asks] one guild, {args.members} members, the prompts fan-out running, "
        f"{args.asks} /ask at 1/s; the fake allows 50 requests/s and 5 messages per 5 s "
        "per channel; default settings (bulk budget 20/s)"
    )
    print(f"  baseline, no fan-out:   {baseline.line()}")
    print(f"  during the fan-out:     {during.line()}")
    print(f"  the fan-out meanwhile:  {sent / span:.1f} DMs/s, {throttled} × 429")
    ok = during.pct(0.95) <= 1500 and not during.missing
    print(f"  target p95 ≤ 1.5 s: {verdict(ok)}")


async def discord_cards(fake: FakeDiscord, askers: list[int], kind: str) -> Latencies:
    """/ask by each asker at 1/s: INTERACTION_CREATE → the card's post at the fake."""
    dispatched: dict[str, float] = {}
    start = time.perf_counter()
    for i, member in enumerate(askers):
        delay = start + i - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tag = f"{kind}-{i}"
        option = {"type": 3, "name": "text", "value": f"bench-{tag} how do I…?"}
        payload = await fake.command(GUILD, CHANNEL, member, "ask", [option])
        dispatched[tag] = fake.dispatched_at[payload["id"]]

    def cards() -> dict[str, float]:
        found: dict[str, float] = {}
        for call in fake.calls:
            card = call.method == "POST" and call.path == f"/channels/{CHANNEL}/messages"
            if card and (tag := TAG.search(text_of(call.body))) is not None:
                found.setdefault(tag.group(1), call.at)
        return found

    await until(lambda: set(dispatched) <= set(cards()), 30, step=0.2)
    came = cards()
    return Latencies(
        [(came[t] - dispatched[t]) * 1000 for t in dispatched if t in came],
        missing=len(set(dispatched) - set(came)),
    )


# kill


@contextlib.asynccontextmanager
async def postgres_database(args: argparse.Namespace) -> AsyncIterator[str | None]:
    """A new PostgreSQL database beside `--postgres-url`, dropped afterwards."""
    base = args.postgres_url
    if not base:
        yield None
        return
    name = f"payforward_bench_{uuid.uuid4().hex[:8]}"
    admin = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def statuses(url: str) -> list[tuple[str | None, str, str | None, datetime | None]]:
    """(member_id, status, owner, lease_until) of every outbox row."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            from sqlalchemy import select

            from storage.models import outbox

            o = outbox.c
            rows = await conn.execute(select(o.member_id, o.status, o.owner, o.lease_until))
            return [tuple(row) for row in rows]  # type: ignore[misc]
    finally:
        await engine.dispose()


async def kill_mid_fan_out(args: argparse.Namespace, url: str | None, beside: bool) -> None:
    """kill -9 one process in the middle of a fan-out; `beside`: a second process
    carries on (PostgreSQL), else the killed one is restarted at once (SQLite)."""
    fake = FakeSlack()
    fake.admit = SlackCeilings(post_rate=args.kill_rate)
    watch = SlackWatch(fake)
    await fake.start()
    folder = Path(tempfile.mkdtemp(prefix="payforward-delivery-"))
    url = url or f"sqlite:///{folder / 'bench.db'}"
    crowd = member_ids(args.kill_members)
    await seeded(url, {"slack:T1": crowd})
    rate = {"PAYFORWARD_SLACK_POST_RATE": f"{args.kill_rate:g}"}
    first = await start_bot(folder, bot_env(url, fake, **rate), "first")
    other = await start_bot(folder, bot_env(url, fake, **rate), "second") if beside else None
    bots = [b for b in (first, other) if b is not None]
    try:
        await queue_prompts(bot_env(url, fake), folder)
        await until(lambda: watch.prompt_count >= len(crowd) // 3, 120)
        await first.kill()
        killed = time.perf_counter()
        rows = await statuses(url)
        recorded = {m for m, status, _, _ in rows if status == "sent"}
        received = set(watch.prompts)
        on_the_wire = received - recorded
        held = {m for m, status, owner, _ in rows if status == "pending" and owner is not None}
        if not beside:
            bots.append(await start_bot(folder, bot_env(url, fake, **rate), "restarted"))
        done = await until(lambda: set(watch.prompts) == set(crowd), 180)
    finally:
        for bot in bots:
            await bot.stop()
        await fake.stop()
    after_kill = [t for t in watch.prompt_times() if t > killed]
    resumed = (after_kill[0] - killed) if after_kill else float("nan")
    # What was held under lease at the kill (by either process): the dead one's lapse.
    taken_over = max(
        (min(t for t in watch.prompts[m] if t > killed) for m in held if m in watch.prompts),
        default=killed,
    )
    lost = [m for m in crowd if m not in watch.prompts]
    twice = [m for m, times in watch.prompts.items() if len(times) > 1]
    where = "PostgreSQL, a second process carrying on" if beside else "SQLite, restarted at once"
    print(
        f"  {where}: {len(crowd)} DMs at {args.kill_rate:g}/s, killed after {len(received)}; "
        f"{len(on_the_wire)} on the wire (sent, not recorded), {len(held)} held under lease"
    )
    print(
        f"    lost {len(lost)}, sent twice {len(twice)}, sending again {resumed:.1f} s after "
        f"the kill, the messages held under lease at the kill all out after "
        f"{taken_over - killed:.1f} s (lease {SEND_LEASE.total_seconds():.0f} s); "
        f"all delivered: {done}"
    )
    ok = done and not lost and set(twice) <= on_the_wire and resumed <= 10
    print(f"    targets 0 lost, duplicates ≤ on the wire, resumes within 10 s: {verdict(ok)}")


async def kill(args: argparse.Namespace) -> None:
    print(
        f"\n[kill] kill -9 of `payforward run` in the middle of a fan-out (fake ceiling "
        f"{args.kill_rate:g}/s, settings to match; at most {IN_FLIGHT} sends on the wire)"
    )
    await kill_mid_fan_out(args, None, beside=False)
    async with postgres_database(args) as url:
        if url is None:
            print("  PostgreSQL: skipped (no --postgres-url nor PAYFORWARD_TEST_POSTGRES_URL)")
        else:
            await kill_mid_fan_out(args, url, beside=True)


# bursts


def burst_bodies(
    fake: FakeSlack, count: int, kind: str, workspaces: int, channels: int
) -> list[tuple[str, str]]:
    """/ask from `workspaces` workspaces with `channels` channels each, in turn: more
    cards than the channels' ~1/s lets out at once, so some wait their turn."""
    bodies = []
    for i in range(count):
        team, channel = f"T{i % workspaces}", f"C{i // workspaces % channels}"
        bodies.append((f"{kind}-{i}", ask_request(fake, team, f"UB{i}", channel, f"{kind}-{i}")))
    return bodies


async def sigterm_during_burst(args: argparse.Namespace) -> None:
    fake = FakeSlack()  # one token serves every workspace here: the bot's budgets pace them
    watch = SlackWatch(fake)
    await fake.start()
    folder = Path(tempfile.mkdtemp(prefix="payforward-delivery-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    await seeded(url, {})
    env = bot_env(url, fake)
    bot = await start_bot(folder, env, "first")
    bodies = burst_bodies(fake, args.burst, "term", workspaces=10, channels=4)
    half = len(bodies) // 2
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            current = Signed(session, int(env["PAYFORWARD_HTTP_PORT"]))
            sent = await send_asks(lambda: current, bodies[:half], 100.0)
            waiting = len(set(sent) - set(watch.cards))
            await bot.stop()  # SIGTERM mid-burst: cards still waiting for their channels
            env = env | {"PAYFORWARD_HTTP_PORT": str(free_port())}
            bot = await start_bot(folder, env, "restarted")
            current = Signed(session, int(env["PAYFORWARD_HTTP_PORT"]))
            sent |= await send_asks(lambda: current, bodies[half:], 100.0)
            await until(lambda: set(sent) <= set(watch.cards), 120)
    finally:
        await bot.stop()
        await fake.stop()
    twice = [t for t, times in watch.cards.items() if len(times) > 1]
    lost = [t for t in sent if t not in watch.cards]
    print(
        f"  SIGTERM + restart in a burst of {len(bodies)} /ask at 100/s into 40 channels "
        f"(SQLite), {waiting} cards waiting at the stop: {len(sent)} acked, "
        f"{len(watch.cards)} cards, {len(twice)} posted twice, {len(lost)} acked but never "
        f"posted — 0 twice: {verdict(not twice)}"
    )


async def two_processes_burst(args: argparse.Namespace, url: str) -> None:
    fake = FakeSlack()
    watch = SlackWatch(fake)
    await fake.start()
    folder = Path(tempfile.mkdtemp(prefix="payforward-delivery-"))
    await seeded(url, {})
    first_env, second_env = bot_env(url, fake), bot_env(url, fake)
    first = await start_bot(folder, first_env, "first")
    second = await start_bot(folder, second_env, "second")
    bodies = burst_bodies(fake, args.burst * 2, "two", workspaces=20, channels=5)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            target = Signed(session, int(first_env["PAYFORWARD_HTTP_PORT"]))
            sent = await send_asks(lambda: target, bodies, 100.0)
            await until(lambda: set(sent) <= set(watch.cards), 180)
    finally:
        await first.stop()
        await second.stop()
        await fake.stop()
    twice = [t for t, times in watch.cards.items() if len(times) > 1]
    lost = [t for t in sent if t not in watch.cards]
    print(
        f"  two processes on PostgreSQL, {len(bodies)} /ask at 100/s into 100 channels, "
        "sent to one of them: "
        f"{len(sent)} acked, {len(watch.cards)} cards, {len(twice)} posted twice, "
        f"{len(lost)} never posted — 0 twice: {verdict(not twice)}"
    )


async def bursts(args: argparse.Namespace) -> None:
    print("\n[bursts] cards posted twice when a burst of /ask meets a stop or two processes")
    await sigterm_during_burst(args)
    async with postgres_database(args) as url:
        if url is None:
            print("  PostgreSQL: skipped (no --postgres-url nor PAYFORWARD_TEST_POSTGRES_URL)")
        else:
            await two_processes_burst(args, url)


# Running.


RUNNERS: dict[str, Callable[[argparse.Namespace], object]] = {
    "slack-asks": slack_asks,
    "slack-ten": slack_ten,
    "discord-asks": discord_asks,
    "kill": kill,
    "bursts": bursts,
}


async def main(args: argparse.Namespace, only: Iterable[str]) -> None:
    print(f"bench.delivery on {os.cpu_count()} CPUs; {PROJECT.name}")
    for name in only:
        await RUNNERS[name](args)  # type: ignore[misc]


def parse() -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--asks", type=int, default=20)
    parser.add_argument(
        "--ceiling-one", type=float, default=10.0, help="slack-asks: the workspace's ceiling"
    )
    parser.add_argument(
        "--ceiling", type=float, default=6.0, help="slack-ten: each workspace's ceiling"
    )
    parser.add_argument("--per-workspace", type=int, default=120)
    parser.add_argument("--kill-members", type=int, default=600)
    parser.add_argument("--kill-rate", type=float, default=40.0)
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--postgres-url", default=os.environ.get("PAYFORWARD_TEST_POSTGRES_URL"))
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.members, args.asks, args.per_workspace = 300, 8, 40
        args.kill_members, args.burst = 200, 200
    only = [name for name in args.only.split(",") if name]
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")
    return args, only


if __name__ == "__main__":
    arguments, chosen = parse()
    asyncio.run(main(arguments, chosen))
