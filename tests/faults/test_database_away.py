"""A database that goes away and comes back: nothing is lost, nothing counted twice.

PostgreSQL is a throwaway server each test starts, stops and starts again itself
(tests/faults/pgserver.py), never the shared cluster. SQLite is locked by another
connection, as another process would, for longer than one unit of work waits.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text as sql

from bot.clock import SystemClock
from bot.events import CommandInvoked, MemberInfo
from bot.faults import Patience
from payforward import bootstrap
from payforward.settings import Settings
from storage import inline
from tests.adapters.discord.conftest import ALICE, BOB, GENERAL, GUILD, discord_world, running
from tests.adapters.discord.conftest import migrated_db as migrated_db  # the fixture
from tests.adapters.slack import payloads
from tests.adapters.slack.conftest import SECRET, Slack, open_slack, post_ask, sign
from tests.adapters.slack.fake_slack import FakeSlack
from tests.faults.conftest import Tracebacks, no_tracebacks
from tests.faults.pgserver import ThrowawayPostgres, throwaway_postgres

QUICK = Patience(total=60.0, first=0.05, cap=0.5)  # the same rule, smaller steps


@pytest.fixture
def postgres() -> Iterator[ThrowawayPostgres]:
    with throwaway_postgres() as server:
        yield server


async def count(slack: Slack, query: str) -> int:
    async with slack.core.uow() as uow:
        conn = uow.asks._conn  # type: ignore[attr-defined]
        return int((await conn.execute(sql(query))).scalar_one())


async def until(check: object, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not await check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("not within the bound")
        await asyncio.sleep(0.05)


async def post_event(slack: Slack, payload: dict[str, object], retry: int = 0) -> int:
    body = json.dumps(payload)
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": sign(body, stamp, SECRET),
    }
    if retry:
        headers["X-Slack-Retry-Num"] = str(retry)
    assert slack.session is not None
    async with slack.session.post(slack.events_url, data=body.encode(), headers=headers) as answer:
        return answer.status


async def slash(slack: Slack, user: str, text: str) -> dict[str, str]:
    payload = payloads.slash("T1", user, "/ask", text, slack.fake.response_url())
    body = urllib.parse.urlencode(payload)
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": sign(body, stamp, SECRET),
    }
    assert slack.session is not None
    async with slack.session.post(slack.events_url, data=body.encode(), headers=headers) as answer:
        assert answer.status == 200  # acked within Slack's 3 s, database or not
    return payload


@pytest.fixture
async def slack_on_postgres(
    tmp_path: Path, postgres: ThrowawayPostgres
) -> AsyncIterator[tuple[Slack, ThrowawayPostgres]]:
    fake = FakeSlack()
    await fake.start()
    try:
        async for slack in open_slack(tmp_path, fake, "http", database_url=postgres.url):
            slack.core.bot.patience = QUICK
            yield slack, postgres
    finally:
        await fake.stop()


async def test_postgres_stopped_and_started_loses_no_reaction_and_no_ask(
    slack_on_postgres: tuple[Slack, ThrowawayPostgres], tracebacks: Tracebacks
) -> None:
    slack, postgres = slack_on_postgres
    _, ts = await post_ask(slack, "UASKER", "How do I survive an outage?")
    postgres.stop()
    statuses = []
    for n in range(3):
        reaction = payloads.reaction("T1", f"UHELP{n}", "C1", ts)
        statuses.append(await post_event(slack, reaction))
        if statuses[-1] != 200:  # as Slack does: the same event again
            await post_event(slack, reaction, retry=1)
    asks = [await slash(slack, f"UASK{n}", f"outage ask {n}") for n in range(3)]
    assert 503 in statuses  # not recorded in time: Slack was told to send it again
    postgres.start()

    async def all_kept() -> bool:
        offers = await count(slack, "SELECT count(*) FROM offers")
        kept = await count(slack, "SELECT count(*) FROM asks WHERE text LIKE 'outage ask%'")
        return offers == 3 and kept == 3

    await until(all_kept)
    await slack.settle()
    assert await count(slack, "SELECT count(*) FROM offers") == 3  # each once, retries or not
    answered = [c.args for c in slack.fake.of("respond")]
    for payload in asks:  # each asker is answered, through the command's response_url
        number_said = [a for a in answered if "Your ask is up" in json.dumps(a)]
        assert number_said, payload
    no_tracebacks(tracebacks)


async def test_two_processes_meeting_new_communities_at_once_both_go_on(
    postgres: ThrowawayPostgres, tracebacks: Tracebacks
) -> None:
    settings = Settings(_env_file=None, database_url=postgres.url)  # type: ignore[call-arg]
    await bootstrap.migrate(settings)
    async with (
        bootstrap.open_core(settings, SystemClock(), {}) as one,
        bootstrap.open_core(settings, SystemClock(), {}) as two,
    ):
        work = [
            core.bot.handle(
                CommandInvoked(
                    event_id=f"ev-{n}-{who}",
                    community_id=f"slack:TNEW{n}",
                    actor=MemberInfo(f"U{who}", who),
                    channel_id="C1",
                    command="ask",
                    text=f"first ask {n} {who}",
                )
            )
            for n in range(8)
            for core, who in ((one, "a"), (two, "b"))
        ]
        answers = await asyncio.gather(*work)
        async with one.uow() as uow:
            conn = uow.asks._conn  # type: ignore[attr-defined]
            kept = int((await conn.execute(sql("SELECT count(*) FROM asks"))).scalar_one())
    assert kept == 16
    assert all("Your ask is up" in a[0].message.plain() for a in answers)
    no_tracebacks(tracebacks)


def hold_write_lock(path: Path, seconds: float, held: threading.Event) -> None:
    """Another process's writer: BEGIN IMMEDIATE held for `seconds`."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        conn.execute("ROLLBACK")
    finally:
        conn.close()


async def locked_for(path: Path, seconds: float) -> threading.Thread:
    held = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(path, seconds, held))
    holder.start()
    await asyncio.to_thread(held.wait)
    return holder


async def test_sqlite_locked_longer_than_a_unit_of_work_waits_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tracebacks: Tracebacks
) -> None:
    monkeypatch.setattr(inline, "BUSY_WAIT", 0.2)  # each unit of work gives up after 0.2 s
    fake = FakeSlack()
    await fake.start()
    try:
        async for slack in open_slack(tmp_path, fake, "http"):
            slack.core.bot.patience = QUICK
            _, ts = await post_ask(slack, "UASKER", "Who holds the lock?")
            holder = await locked_for(tmp_path / "payforward.db", 1.5)
            statuses = [await post_event(slack, payloads.reaction("T1", "UHELP", "C1", ts))]
            for n in range(3):
                await slash(slack, f"U{n}", f"locked ask {n}")
            await asyncio.to_thread(holder.join)

            async def all_kept(slack: Slack = slack) -> bool:
                offers = await count(slack, "SELECT count(*) FROM offers")
                asks = await count(slack, "SELECT count(*) FROM asks WHERE text LIKE 'locked%'")
                return offers == 1 and asks == 3

            await until(all_kept)
            assert statuses[0] in (200, 503)
    finally:
        await fake.stop()
    no_tracebacks(tracebacks)


async def test_discord_defers_and_follows_up_once_the_database_is_back(
    tmp_path: Path, migrated_db: Path, monkeypatch: pytest.MonkeyPatch, tracebacks: Tracebacks
) -> None:
    monkeypatch.setattr(inline, "BUSY_WAIT", 0.2)
    fake = discord_world()
    await fake.start()
    try:
        async with running(tmp_path, migrated_db, fake) as bot:
            bot.core.bot.patience = QUICK
            card, _ = await bot.ask(ALICE, "Before the lock")
            holder = await locked_for(tmp_path / "payforward.db", 1.5)
            interaction = await bot.command(
                BOB, "ask", [{"type": 3, "name": "text", "value": "during the lock"}]
            )
            await bot.callback(interaction)  # acknowledged within 3 s, database or not
            await fake.react(GUILD, GENERAL, int(card["id"]), BOB)  # never redelivered
            await asyncio.to_thread(holder.join)

            async def kept() -> bool:
                async with bot.core.uow() as uow:
                    conn = uow.asks._conn  # type: ignore[attr-defined]
                    asks = (await conn.execute(sql("SELECT count(*) FROM asks"))).scalar_one()
                    offers = (await conn.execute(sql("SELECT count(*) FROM offers"))).scalar_one()
                return (asks, offers) == (2, 1)

            await until(kept)
            await fake.wait_until(
                lambda: any(
                    c.method == "PATCH" and interaction["token"] in c.path for c in fake.calls
                )
            )
    finally:
        await fake.close()
    no_tracebacks(tracebacks)
