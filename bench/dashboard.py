"""The dashboard's community page at scale on SQLite: 100,000 members and 1,000,000
confirmed gives over a year (bench/leaderboard.py's data set and builder), served over
HTTP by the dashboard's own routes, beside the weekly report measured in the same run.

A year of the connector is added to that data set: 14,200 routed asks and 56,900
routed DMs, 12,500 of the asks resolved by a member it reached (the README's
simulated month of a 100,000-member community, twelve times), so the page's
connections per week count real rows.

    python -m bench.dashboard [--members 100000] [--gives 1000000] [--runs 7]

Server time is measured from the request to the whole response read back, with the
client in the same process (its share is a fraction of a millisecond). The page is
asked for on a Sunday evening, when its week is nearly complete (~19,000 gives).

The database file's name carries the schema's newest revision: a file another
revision chain migrated is never reused.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from alembic.script import ScriptDirectory
from sqlalchemy import bindparam, delete, func, insert, select, update

from adapters.web import WebDeps, install
from bench.leaderboard import CID, build_apart
from bot import dashboard
from bot.clock import ManualClock
from bot.domain import Community
from bot.ports import WebSession
from bot.report import weekly_report
from bot.service import PayForward
from bot.weeks import week_of
from payforward.bootstrap import tune_garbage_collector
from storage import models
from storage.db import make_engine
from storage.migrate import alembic_config, upgrade
from storage.uow import unit_of_work_factory

PAGE_AT = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)  # Sunday 20:00 in Berlin
VIEWER, BUSIEST = "U100", "U0"  # a member on the board; the member with the most gives
CONNECTED = 12_500  # asks a year resolved by a member the connector reached
ROUTED_ONLY = 1_700  # routed asks none of the members reached helped with
ALSO_ROUTED = 3  # members each ask was routed to besides its helper (~4 DMs an ask)


def _ms(seconds: list[float]) -> str:
    return f"{statistics.median(seconds) * 1000:7.1f} ms"


async def add_connector_year(url: str, members: int) -> None:
    """Routed asks and their routes, once: the asks of CONNECTED gives spread evenly
    over the year, each routed to its helper (who offered) and ALSO_ROUTED others, and
    ROUTED_ONLY asks that nobody reached helped with."""
    engine = make_engine(url)
    g = models.gives.c
    try:
        async with engine.begin() as conn:
            if (
                await conn.execute(select(func.count()).select_from(models.connector_routes))
            ).scalar_one():
                return
            total = (
                await conn.execute(select(func.count()).select_from(models.gives))
            ).scalar_one()
            step = max(total // (CONNECTED * 2), 1)
            found = await conn.execute(
                select(g.id, g.giver_id, g.receiver_id, g.confirmed_at)
                .where(g.community_id == CID, g.receiver_id.is_not(None), g.id % step == 0)
                .order_by(g.id)
            )
            rows = found.all()  # in time order: take CONNECTED of them evenly
            helped = [rows[i * len(rows) // CONNECTED] for i in range(min(CONNECTED, len(rows)))]
            rng = random.Random(17)
            asks, routes, linked = [], [], []
            for number, (give_id, giver, receiver, at) in enumerate(helped, start=1):
                asked = at - timedelta(hours=2)
                asks.append(_ask(number, receiver, asked, at, "resolved"))
                routes.append(_route(number, giver, asked, offered=True))
                linked.append({"give": give_id, "ask": number})
            first = helped[0][3]
            for number in range(len(helped) + 1, len(helped) + ROUTED_ONLY + 1):
                asked = first + timedelta(seconds=rng.randrange(365 * 86400))
                asker = f"U{rng.randrange(members)}"
                asks.append(_ask(number, asker, asked, asked + timedelta(days=14), "closed"))
            helpers = {x["ask_id"]: x["member_id"] for x in routes}
            for ask in asks:
                taken = {ask["asker_id"], helpers.get(ask["id"])}
                for _ in range(ALSO_ROUTED):
                    member = f"U{rng.randrange(members)}"
                    if member not in taken:
                        taken.add(member)
                        routes.append(_route(ask["id"], member, ask["created_at"], offered=False))
            for k in range(0, len(asks), 5_000):
                await conn.execute(insert(models.asks), asks[k : k + 5_000])
            for k in range(0, len(routes), 20_000):
                await conn.execute(insert(models.connector_routes), routes[k : k + 20_000])
            await conn.execute(
                update(models.gives)
                .where(g.id == bindparam("give"))
                .values(ask_id=bindparam("ask"), source="resolve"),
                linked,
            )
            await conn.execute(
                update(models.communities)
                .where(models.communities.c.community_id == CID)
                .values(ask_seq=len(asks))
            )
            print(f"  added {len(asks):,} routed asks and {len(routes):,} routed DMs")
    finally:
        await engine.dispose()


def _ask(
    number: int, asker: str, asked: datetime, last: datetime, status: str
) -> dict[str, object]:
    return {
        "id": number,
        "community_id": CID,
        "number": number,
        "asker_id": asker,
        "channel_id": "C1",
        "text": f"Question {number} about topic {number % 40}",
        "status": status,
        "created_at": asked,
        "last_activity_at": last,
        "resolved_at": last if status == "resolved" else None,
    }


def _route(ask_id: int, member: str, asked: datetime, *, offered: bool) -> dict[str, object]:
    routed = asked + timedelta(minutes=30)
    return {
        "ask_id": ask_id,
        "member_id": member,
        "community_id": CID,
        "routed_at": routed,
        "round": 1,
        "reason": "you listed *topic*",
        "offered_at": routed + timedelta(minutes=15) if offered else None,
        "declined_at": None,
    }


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def run(members: int, gives: int, runs: int) -> None:
    # A file of its own, named for this schema: this benchmark migrates it to the
    # newest revision and adds the connector's year.
    name = f"payforward-bench-dashboard-{members}-{gives}-r{_head()}.db"
    path = Path(tempfile.gettempdir()) / name
    url = f"sqlite:///{path}"
    if not path.exists():
        print(f"building {path} ({members:,} members, {gives:,} gives)…", flush=True)
        started = time.perf_counter()
        await build_apart(url, members, gives)
        print(f"  built in {time.perf_counter() - started:.0f} s")
    await upgrade(url)
    await add_connector_year(url, members)
    engine = make_engine(url)
    uow = unit_of_work_factory(engine)
    clock = ManualClock(PAGE_AT)
    community = Community(CID, timezone="Europe/Berlin")
    async with uow() as u:
        await u.communities.save(community)
        for member, token in ((VIEWER, "viewer"), (BUSIEST, "busiest")):
            session = WebSession("bench", member, "csrf", PAGE_AT.replace(year=2027))
            await u.sign_ins.end_session(dashboard.digest(token))
            await u.sign_ins.add_session(dashboard.digest(token), session, PAGE_AT)
        await u.commit()

    app = web.Application()
    install(app, WebDeps(uow, clock, PayForward(uow, clock), "http://127.0.0.1"))
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    base = f"http://{host}:{port}/dashboard/c/{CID}"
    tune_garbage_collector()  # as `payforward run` does once it has started

    async def fetch(client: aiohttp.ClientSession, url: str) -> tuple[float, int]:
        started = time.perf_counter()
        async with client.get(url) as response:
            body = await response.read()
            assert response.status == 200, body[:500]
        return time.perf_counter() - started, len(body)

    viewer = aiohttp.ClientSession(cookies={"pf_session": "viewer"})
    busiest = aiohttp.ClientSession(cookies={"pf_session": "busiest"})
    try:
        async with engine.begin() as conn:  # the first visit ever: nothing counted yet
            await conn.execute(delete(models.week_people))
            await conn.execute(delete(models.week_tallies))
        cold, size = await fetch(viewer, f"{base}/?weeks=52")
        pages: dict[str, list[float]] = {"12": [], "52": [], "me": [], "report": []}
        start, end = week_of(PAGE_AT, community.timezone)
        for _ in range(runs):
            pages["12"].append((await fetch(viewer, f"{base}/"))[0])
            pages["52"].append((await fetch(viewer, f"{base}/?weeks=52"))[0])
            pages["me"].append((await fetch(busiest, f"{base}/me?weeks=52"))[0])
            started = time.perf_counter()
            async with uow() as u:
                report = await weekly_report(u, community, start, end, public=True, now=PAGE_AT)
                await u.commit()
            pages["report"].append(time.perf_counter() - started)
    finally:
        await viewer.close()
        await busiest.close()
        await runner.cleanup()
        await engine.dispose()

    print(
        f"dashboard on SQLite: {members:,} members, {gives:,} gives; "
        f"the page's week has {sum(s.gives for s in report.table):,} scored gives "
        f"and {report.connections} connections"
    )
    print(f"  community page, 12 weeks of charts:   {_ms(pages['12'])}  (median of {runs})")
    print(f"  community page, 52 weeks of charts:   {_ms(pages['52'])}  (target ≤ 300 ms)")
    print(f"  the same, first visit (52 weeks counted then): {cold * 1000:.1f} ms, {size:,} bytes")
    print(f"  member page of the busiest helper:    {_ms(pages['me'])}  (52 weeks)")
    print(f"  weekly report of the same week:       {_ms(pages['report'])}  (baseline)")
    ratio = statistics.median(pages["52"]) / statistics.median(pages["report"])
    print(f"  ratio page (52 weeks) / weekly report: {ratio:.2f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--gives", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(run(args.members, args.gives, args.runs))


if __name__ == "__main__":
    main()
