"""The dashboard's community page at scale on SQLite: 100,000 members and 1,000,000
confirmed gives over a year (bench/leaderboard.py's data set and builder), served over
HTTP by the dashboard's own routes, beside the weekly report measured in the same run.

    python -m bench.dashboard [--members 100000] [--gives 1000000] [--runs 7]

Server time is measured from the request to the whole response read back, with the
client in the same process (its share is a fraction of a millisecond). The page is
asked for on a Sunday evening, when its week is nearly complete (~19,000 gives).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import delete

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
from storage.migrate import upgrade
from storage.uow import unit_of_work_factory

PAGE_AT = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)  # Sunday 20:00 in Berlin
VIEWER, BUSIEST = "U100", "U0"  # a member on the board; the member with the most gives


def _ms(seconds: list[float]) -> str:
    return f"{statistics.median(seconds) * 1000:7.1f} ms"


async def run(members: int, gives: int, runs: int) -> None:
    # A file of its own: this benchmark migrates it to this branch's newest revision.
    path = Path(tempfile.gettempdir()) / f"payforward-bench-dashboard-{members}-{gives}.db"
    url = f"sqlite:///{path}"
    if not path.exists():
        print(f"building {path} ({members:,} members, {gives:,} gives)…", flush=True)
        started = time.perf_counter()
        await build_apart(url, members, gives)
        print(f"  built in {time.perf_counter() - started:.0f} s")
    await upgrade(url)
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
        f"the page's week has {sum(s.gives for s in report.table):,} scored gives"
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
