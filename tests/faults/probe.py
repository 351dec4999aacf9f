"""Probes of faults and hostile input: `python -m tests.faults.probe` prints, for each,
how many requests were sent and how many tracebacks, lost items and leaks followed.

Each probe runs the real payforward (core, storage, the Slack or Discord adapter)
against the loopback fakes of tests/adapters, as an attacker or a flaky network
would meet it. PostgreSQL probes use a throwaway server of their own
(tests/faults/pgserver.py), never the shared cluster. The fault suite asserts the
same things one by one; this script is for the before/after table in the README.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bot.clock import SystemClock
from bot.events import CommandInvoked, MemberInfo
from payforward import bootstrap
from payforward.settings import Settings
from tests.adapters.discord import conftest as discord_world
from tests.adapters.discord.conftest import running
from tests.adapters.slack import payloads
from tests.adapters.slack.conftest import SECRET, Slack, open_slack, post_ask, sign
from tests.adapters.slack.fake_slack import FakeSlack
from tests.faults.pgserver import throwaway_postgres


@dataclass
class Row:
    probe: str
    requests: int = 0
    tracebacks: int = 0
    lost: int = 0
    leaked: int = 0
    note: str = ""


class Tracebacks(logging.Handler):
    """Counts log records that carry a traceback, and the bytes logged."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0
        self.bytes = 0
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        self.bytes += len(text.encode("utf-8", "replace"))
        self.lines.append(text[:300])
        if record.exc_info or "Traceback" in text:
            self.count += 1

    def reset(self) -> None:
        self.count = 0
        self.bytes = 0
        self.lines.clear()


LOG = Tracebacks()


async def _wait(check: Callable[[], Awaitable[bool]], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.05)
    return await check()


async def _count(slack: Slack, sql: str) -> int:
    async with slack.core.uow() as uow:
        conn = uow.asks._conn  # type: ignore[attr-defined]
        from sqlalchemy import text

        return int((await conn.execute(text(sql))).scalar_one())


async def _raw(slack: Slack, body: bytes, headers: dict[str, str]) -> int:
    assert slack.session is not None
    async with slack.session.post(slack.events_url, data=body, headers=headers) as response:
        await response.read()
        return response.status


def _signed_headers(body: bytes, content_type: str, stamp: str | None = None) -> dict[str, str]:
    now = int(time.time())
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp if stamp is not None else str(now),
        "X-Slack-Signature": sign(body.decode("utf-8", "replace"), now),
    }


async def _post_signed(slack: Slack, body: bytes, content_type: str) -> int:
    """Signed over the bytes as sent (non-UTF-8 bytes are signed as they are)."""
    import hashlib
    import hmac

    now = int(time.time())
    base = f"v0:{now}:".encode() + body
    digest = hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(now),
        "X-Slack-Signature": f"v0={digest}",
    }
    return await _raw(slack, body, headers)


# Slack: malformed and odd requests.


async def probe_malformed(tmp: Path) -> Row:
    row = Row("Slack: 45 malformed or odd requests (bad timestamp, JSON, UTF-8, missing ids)")
    fake = FakeSlack(admins={"UADMIN"})
    await fake.start()
    try:
        async for slack in open_slack(tmp, fake, "http"):
            LOG.reset()
            statuses: list[int] = []
            form = "application/x-www-form-urlencoded"
            for _ in range(5):
                body = b'{"type":"event_callback"}'
                headers = _signed_headers(body, "application/json", stamp="abc")
                statuses.append(await _raw(slack, body, headers))
                statuses.append(await _post_signed(slack, b"{not json", "application/json"))
                statuses.append(await _post_signed(slack, b"[1, 2, 3]", "application/json"))
                statuses.append(await _post_signed(slack, b"\xff\xfe\xfa", "application/json"))
                no_user = payloads.reaction("T1", "U1", "C1", "1.1")
                del no_user["event"]["user"]
                statuses.append(
                    await _post_signed(slack, json.dumps(no_user).encode(), "application/json")
                )
                no_id = payloads.reaction("T1", "U1", "C1", "1.1")
                del no_id["event_id"]
                statuses.append(
                    await _post_signed(slack, json.dumps(no_id).encode(), "application/json")
                )
                slash = payloads.slash("T1", "U1", "/ask", "hello", fake.response_url())
                del slash["user_id"]
                statuses.append(
                    await _post_signed(slack, urllib.parse.urlencode(slash).encode(), form)
                )
                press = {
                    "type": "block_actions",
                    "team": {"id": "T1"},
                    "user": {"id": "U2", "team_id": "T1"},
                    "trigger_id": f"t.{time.monotonic_ns()}",
                    "channel": {"id": "C1"},
                    "container": {"type": "message", "channel_id": "C1", "message_ts": "1.1"},
                    "actions": [{"type": "button", "action_id": "offer", "value": "1" + "0" * 25}],
                    "response_url": fake.response_url(),
                }
                body = urllib.parse.urlencode({"payload": json.dumps(press)}).encode()
                statuses.append(await _post_signed(slack, body, form))
            for name in ("America", "Europe", "A" * 300, "Etc/../../etc/passwd", "America/"):
                await slack.command("U1", "/payforward", f"timezone {name}")
                statuses.append(200)
            await asyncio.sleep(4)  # slow answers and 3 s ack timeouts have happened by now
            row.requests = len(statuses)
            row.tracebacks = LOG.count
            row.leaked = sum(1 for s in statuses if s >= 500 or s == 404)
            row.note = "leaked = 5xx or 404 answers"
    finally:
        await fake.stop()
    return row


async def probe_log_amplification(tmp: Path) -> Row:
    row = Row("Slack: 20 unsigned 1 MB requests (bytes added to the log)")
    fake = FakeSlack()
    await fake.start()
    try:
        async for slack in open_slack(tmp, fake, "http"):
            LOG.reset()
            body = b"x" * (1024 * 1024 - 100)
            for _ in range(20):
                await _raw(slack, body, {"Content-Type": "application/x-www-form-urlencoded"})
            row.requests = 20
            row.tracebacks = LOG.count
            row.leaked = LOG.bytes
            row.note = "leaked = bytes logged"
    finally:
        await fake.stop()
    return row


async def probe_blank_asks(tmp: Path) -> Row:
    row = Row("Slack: 5 asks of only invisible characters (blank cards posted)")
    fake = FakeSlack()
    await fake.start()
    try:
        async for slack in open_slack(tmp, fake, "http"):
            LOG.reset()
            for text in ("\u200b", "\u200b\u200c\u200d", "\ufeff \u2060", "\u3164", "\u00ad\u200e"):
                await slack.command("U1", "/ask", text)
            await asyncio.sleep(1)
            await slack.settle()
            row.requests = 5
            row.tracebacks = LOG.count
            row.leaked = len([c for c in fake.of("chat.postMessage") if c.args["channel"] == "C1"])
            row.note = "leaked = blank cards posted"
    finally:
        await fake.stop()
    return row


async def probe_forget(tmp: Path) -> Row:
    row = Row("Slack: forget, then a command (words and name left behind)")
    fake = FakeSlack()
    await fake.start()
    try:
        async for slack in open_slack(tmp, fake, "http"):
            LOG.reset()
            _, ts = await post_ask(slack, "UALICE", "my secret onboarding troubles")
            await slack.event(payloads.reaction("T1", "UBOB", "C1", ts))
            await slack.command("UBOB", "/thanks", "<@UALICE|alice> quiet words of thanks")
            await slack.settle()
            await slack.command("UALICE", "/payforward", "forget")
            press = {
                "type": "block_actions",
                "team": {"id": "T1"},
                "user": {"id": "UALICE", "team_id": "T1"},
                "trigger_id": f"t.{time.monotonic_ns()}",
                "channel": {"id": "C1"},
                "container": {
                    "type": "message",
                    "channel_id": "C1",
                    "message_ts": "9.9",
                    "is_ephemeral": True,
                },
                "actions": [{"type": "button", "action_id": "forget_confirm", "value": ""}],
                "response_url": fake.response_url(),
            }
            await slack.interact(press)
            await asyncio.sleep(0.5)
            await slack.settle()
            await slack.command("UALICE", "/payforward", "me")
            await asyncio.sleep(0.3)
            rows_with_words = await _count(
                slack,
                "SELECT count(*) FROM outbox WHERE message LIKE '%secret onboarding%'"
                " OR message LIKE '%quiet words%'",
            )
            named = await _count(
                slack,
                "SELECT count(*) FROM members WHERE member_id='UALICE' AND display_name IS NOT NULL",
            )
            row.requests = 6
            row.tracebacks = LOG.count
            row.leaked = rows_with_words + named
            row.note = f"{rows_with_words} outbox rows with her words, name stored again: {named}"
    finally:
        await fake.stop()
    return row


async def probe_slack_500(tmp: Path) -> Row:
    row = Row("Slack: chat.postMessage answers 500 with an HTML page, 5 asks")
    fake = FakeSlack()
    await fake.start()
    try:
        async for slack in open_slack(tmp, fake, "http"):
            LOG.reset()
            for _ in range(5):
                fake.fail_next(
                    "chat.postMessage", "", status=500, body="<html>502 Bad Gateway</html>"
                )
            for n in range(5):
                await slack.command("U1", "/ask", f"question {n}")
            await slack.settle(within=60)
            cards = {c.args["text"] for c in fake.of("chat.postMessage") if c.result.get("ok")}
            row.requests = 5
            row.tracebacks = LOG.count
            row.lost = 5 - sum(1 for n in range(5) if any(f"question {n}" in t for t in cards))
            row.leaked = sum(1 for line in LOG.lines if "AttributeError" in line)
            row.note = "leaked = failures seen as AttributeError (a bug), not as Slack's 5xx"
    finally:
        await fake.stop()
    return row


# Databases that go away.


async def probe_postgres_down(tmp: Path) -> Row:
    row = Row("Slack on PostgreSQL stopped 8 s: 5 reactions + 5 /ask; a NUL in an ask")
    fake = FakeSlack()
    await fake.start()
    try:
        with throwaway_postgres() as pg:
            async for slack in open_slack(tmp, fake, "http", database_url=pg.url):
                _, ts = await post_ask(slack, "UASKER", "How do I survive an outage?")
                LOG.reset()
                await slack.command("UNUL", "/ask", "a NUL \x00 inside")
                pg.stop()
                statuses: list[int] = []
                for n in range(5):
                    body = json.dumps(payloads.reaction("T1", f"UHELP{n}", "C1", ts)).encode()
                    statuses.append(await _post_signed(slack, body, "application/json"))
                    # Slack retries an event answered with anything but 2xx (here at once).
                    if statuses[-1] != 200:
                        retry = _signed_headers(body, "application/json")
                        retry["X-Slack-Retry-Num"] = "1"
                        await _raw(slack, body, retry)
                for n in range(5):
                    await slack.command(f"UASK{n}", "/ask", f"outage ask {n}")
                await asyncio.sleep(8)
                pg.start()

                async def recorded(slack: Slack = slack) -> bool:
                    offers = await _count(slack, "SELECT count(*) FROM offers")
                    asks = await _count(
                        slack, "SELECT count(*) FROM asks WHERE text LIKE 'outage ask%'"
                    )
                    return offers == 5 and asks == 5

                await _wait(recorded, 30)
                offers = await _count(slack, "SELECT count(*) FROM offers")
                asks = await _count(
                    slack, "SELECT count(*) FROM asks WHERE text LIKE 'outage ask%'"
                )
                nul = await _count(slack, "SELECT count(*) FROM asks WHERE text LIKE 'a NUL%'")
                row.requests = 11
                row.tracebacks = LOG.count
                row.lost = (5 - offers) + (5 - asks) + (1 - nul)
                row.note = f"reactions kept {offers}/5, asks kept {asks}/5, NUL ask {nul}/1"
    finally:
        await fake.stop()
    return row


def _hold_sqlite_lock(path: Path, seconds: float, started: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    started.set()
    time.sleep(seconds)
    conn.execute("ROLLBACK")
    conn.close()


async def probe_sqlite_locked(tmp: Path) -> Row:
    row = Row("Slack on SQLite locked by another process for 30 s: 6 /ask")
    fake = FakeSlack()
    await fake.start()
    try:
        async for slack in open_slack(tmp, fake, "http"):
            LOG.reset()
            started = threading.Event()
            holder = threading.Thread(
                target=_hold_sqlite_lock, args=(tmp / "payforward.db", 30.0, started)
            )
            holder.start()
            started.wait()
            for n in range(6):
                await slack.command(f"U{n}", "/ask", f"locked ask {n}")
                await asyncio.sleep(1)
            await asyncio.to_thread(holder.join)

            async def recorded(slack: Slack = slack) -> bool:
                return await _count(slack, "SELECT count(*) FROM asks") == 6

            await _wait(recorded, 60)
            kept = await _count(slack, "SELECT count(*) FROM asks")
            row.requests = 6
            row.tracebacks = LOG.count
            row.lost = 6 - kept
    finally:
        await fake.stop()
    return row


async def probe_postgres_race(tmp: Path) -> Row:
    row = Row("PostgreSQL, two processes: the first /ask of 10 new communities at once")
    with throwaway_postgres() as pg:
        settings = Settings(_env_file=None, database_url=pg.url)  # type: ignore[call-arg]
        await bootstrap.migrate(settings)
        LOG.reset()
        async with (
            bootstrap.open_core(settings, SystemClock(), {}) as one,
            bootstrap.open_core(settings, SystemClock(), {}) as two,
        ):
            events = []
            for n in range(10):
                for core, who in ((one, "A"), (two, "B")):
                    event = CommandInvoked(
                        event_id=f"ev-{n}-{who}",
                        community_id=f"slack:TNEW{n}",
                        actor=MemberInfo(f"U{who}", who.lower()),
                        channel_id="C1",
                        command="ask",
                        text=f"first ask {n} {who}",
                    )
                    events.append(core.bot.handle(event))
            await asyncio.gather(*events)
            async with one.uow() as uow:
                from sqlalchemy import text

                conn = uow.asks._conn  # type: ignore[attr-defined]
                kept = int((await conn.execute(text("SELECT count(*) FROM asks"))).scalar_one())
        row.requests = 20
        row.tracebacks = LOG.count
        row.lost = 20 - kept
    return row


# Discord: a custom id that names another guild.


async def probe_discord_custom_ids(tmp: Path) -> Row:
    row = Row("Discord: buttons and a form whose custom id names another guild")
    guild, other = discord_world.GUILD, discord_world.OTHER_GUILD
    fake = discord_world.discord_world()
    await fake.start()
    template = tmp / "template.db"
    await bootstrap.migrate(Settings(_env_file=None, database_url=f"sqlite:///{template}"))  # type: ignore[call-arg]
    try:
        async with running(tmp, template, fake) as bot:
            card, _ = await bot.ask(
                discord_world.ALICE, "guild two's private question", guild=other
            )
            ask_id = card["components"][0]["components"][0]["custom_id"].split(":")[-1]
            LOG.reset()
            before = len(fake.calls)
            presses = [
                (guild, discord_world.BOB, f"pf:{other}:offer:{ask_id}"),
                (guild, discord_world.CAROL, f"pf:{other}:offer:{ask_id}"),
                (None, discord_world.DAVE, f"pf:{other}:offer:{ask_id}"),
                (guild, discord_world.ALICE, f"pf:{other}:resolve:{ask_id}"),
            ]
            for where, user, custom_id in presses:
                message = dict(card, channel_id=str(discord_world.GENERAL))
                interaction = await fake.press(where, message, user, custom_id)
                await bot.callback(interaction)
            form = f"pf:{other}:form:resolve:{ask_id}"
            components = [
                {
                    "type": 18,
                    "component": {
                        "type": 3,
                        "custom_id": "m:helpers",
                        "values": [str(discord_world.BOB)],
                    },
                }
            ]
            interaction = await fake.submit(
                guild, discord_world.GENERAL, discord_world.ALICE, form, components
            )
            await bot.callback(interaction)
            await asyncio.sleep(0.5)
            await bot.settled()
            async with bot.core.uow() as uow:
                offers = await uow.asks.offers(int(ask_id))
                gives = await uow.gives.for_ask(int(ask_id))
            shown = [
                c for c in fake.calls[before:] if "private question" in json.dumps(c.body or {})
            ]
            row.requests = 5
            row.tracebacks = LOG.count
            row.leaked = len(offers) + len(gives) + len(shown)
            row.note = (
                f"offers {len(offers)}, gives {len(gives)}, answers showing the ask {len(shown)}"
            )
    finally:
        await fake.close()
    return row


PROBES = (
    probe_discord_custom_ids,
    probe_postgres_down,
    probe_sqlite_locked,
    probe_postgres_race,
    probe_malformed,
    probe_log_amplification,
    probe_blank_asks,
    probe_forget,
    probe_slack_500,
)


async def main() -> None:
    logging.basicConfig(level=logging.CRITICAL + 1)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    root.addHandler(LOG)
    results = []
    wanted = sys.argv[1:]
    for probe in PROBES:
        if wanted and not any(w in probe.__name__ for w in wanted):
            continue
        tmp = Path(tempfile.mkdtemp(prefix="payforward-probe-"))
        started = time.monotonic()
        try:
            result = await probe(tmp)
        except Exception as error:  # a probe that breaks is a finding too
            result = Row(
                probe.__name__, note=f"probe failed: {type(error).__name__}: {error}"[:200]
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        results.append(result)
        print(f"{time.monotonic() - started:5.1f}s {result}", flush=True)
    print(
        "\n| probe | requests | tracebacks | lost | leaked | note |\n| --- | --- | --- | --- | --- | --- |"
    )
    for r in results:
        print(f"| {r.probe} | {r.requests} | {r.tracebacks} | {r.lost} | {r.leaked} | {r.note} |")


if __name__ == "__main__":
    asyncio.run(main())


__all__ = ["PROBES", "Row", "main"]
