"""The weekly report at scale on SQLite: 100,000 members and 1,000,000 confirmed gives
over a year. Times the core's report (table, chains, sparkline, asks needing help,
shared items) against a hand-written SQL aggregate of the same table, in the same run.

    python -m bench.leaderboard [--members 100000] [--gives 1000000] [--runs 5]

The generated database is kept in the system temp folder and reused by later runs.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, insert, text

from bot.chains import MAX_LINKS
from bot.domain import Community
from bot.ledger import CHAIN_LOOKBACK
from bot.report import weekly_report
from bot.weeks import previous_week
from payforward.bootstrap import tune_garbage_collector
from storage import models
from storage.db import make_engine
from storage.migrate import upgrade
from storage.uow import unit_of_work_factory

CID = "bench:big"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday morning: report the week just ended
OPTED_OUT = 100

BASELINE_SQL = """
WITH pairs AS (
  SELECT giver_id, receiver_id, COUNT(*) AS n, SUM(forward) AS f
  FROM gives
  WHERE community_id = :c AND status = 'confirmed' AND receiver_id IS NOT NULL
    AND giver_id <> receiver_id AND confirmed_at >= :s AND confirmed_at < :e
  GROUP BY giver_id, receiver_id
)
SELECT giver_id,
       COUNT(*) AS helped,
       SUM(MIN(f, MIN(n, 3))) AS forward,
       SUM(MIN(n, 3)) AS gives
FROM pairs
WHERE giver_id NOT IN (SELECT member_id FROM members WHERE community_id = :c AND optout_leaderboard)
GROUP BY giver_id
ORDER BY helped DESC, forward DESC, gives DESC, giver_id
LIMIT 10
"""


async def build(url: str, members: int, gives: int) -> None:
    await upgrade(url)
    engine = make_engine(url)
    rng = random.Random(42)
    year_ago = NOW - timedelta(days=365)
    async with engine.begin() as conn:
        await conn.execute(
            insert(models.communities),
            [
                {
                    "community_id": CID,
                    "timezone": "Europe/Berlin",
                    "leaderboard_weekday": 0,
                    "leaderboard_time": "09:00",
                    "prompts_weekday": 4,
                    "prompts_time": "15:00",
                    "offer_emoji": "raising_hand",
                    "ask_seq": 0,
                }
            ],
        )
        rows = [
            {
                "community_id": CID,
                "member_id": f"U{i}",
                "display_name": f"member {i}",
                "optout_leaderboard": i < OPTED_OUT,
                "optout_prompts": False,
                "optout_reminders": False,
                "forgotten": False,
                "last_active_at": NOW,
            }
            for i in range(members)
        ]
        for k in range(0, len(rows), 20_000):
            await conn.execute(insert(models.members), rows[k : k + 20_000])
    # Helpers are skewed (a few help a lot); receivers are anyone; some help flows back.
    # Gives are generated in time order and judged as bot/ledger.py judges them.
    weights = [1 / (i + 1) ** 0.8 for i in range(members)]
    givers = rng.choices(range(members), weights=weights, k=gives)
    times = sorted(year_ago + timedelta(seconds=rng.randrange(365 * 86400)) for _ in range(gives))
    gave: set[tuple[int, int]] = set()
    received: dict[
        int, list[tuple[int, int, datetime, int]]
    ] = {}  # member → last (id, giver, at, depth)
    batch: list[dict[str, object]] = []
    for n, (giver, at) in enumerate(zip(givers, times, strict=True), start=1):
        receiver = rng.randrange(members) if rng.random() > 0.2 else max(0, giver - 1)
        if receiver == giver:
            receiver = (giver + 1) % members
        row: dict[str, object] = {
            "id": n,
            "community_id": CID,
            "giver_id": f"U{giver}",
            "receiver_id": f"U{receiver}",
            "source": "thanks",
            "status": "confirmed",
            "note": "thanks!",
            "created_at": at,
            "confirmed_at": at,
            "share_ok": False,
            "forward": False,
            "follows": None,
            "depth": 0,
        }
        if n % 100 == 0:
            row.update(receiver_id=None, share_ok=True)
        else:
            row["forward"] = (receiver, giver) not in gave
            previous = next(
                (
                    r
                    for r in reversed(received.get(giver, []))
                    if r[1] != receiver and at - r[2] <= CHAIN_LOOKBACK
                ),
                None,
            )
            if previous:
                row.update(follows=previous[0], depth=min(previous[3] + 1, MAX_LINKS))
            gave.add((giver, receiver))
            received.setdefault(receiver, []).append((n, giver, at, int(row["depth"])))  # type: ignore[call-overload]
            del received[receiver][:-2]
        batch.append(row)
        if len(batch) == 50_000:
            async with engine.begin() as conn:
                await conn.execute(insert(models.gives), batch)
            batch = []
            print(f"  … {n:,} gives", flush=True)
    if batch:
        async with engine.begin() as conn:
            await conn.execute(insert(models.gives), batch)
    async with engine.begin() as conn:
        await conn.execute(text("ANALYZE"))
    await engine.dispose()


def build_sync(url: str, members: int, gives: int) -> None:
    asyncio.run(build(url, members, gives))


async def build_apart(url: str, members: int, gives: int) -> None:
    """Build in a process of its own: a million rows' garbage left in the measuring
    process's heap made the first run after a build slower than a running bot is."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        await asyncio.wrap_future(pool.submit(build_sync, url, members, gives))


async def run(members: int, gives: int, runs: int) -> None:
    path = Path(tempfile.gettempdir()) / f"payforward-bench-v2-{members}-{gives}.db"
    url = f"sqlite:///{path}"
    if not path.exists():
        print(f"building {path} ({members:,} members, {gives:,} gives)…", flush=True)
        started = time.perf_counter()
        await build_apart(url, members, gives)
        print(f"  built in {time.perf_counter() - started:.0f} s")
    await upgrade(url)  # a database kept from an earlier run may predate a revision
    engine = make_engine(url)
    uow = unit_of_work_factory(engine)
    tune_garbage_collector()  # as `payforward run` does once it has started
    community = Community(CID, timezone="Europe/Berlin")
    start, end = previous_week(NOW, community.timezone)

    # Steady state: the eleven earlier weeks of the trend were counted by earlier
    # weekly posts (week_counts); each timed post counts the week it reports afresh.
    async with uow() as u:
        await weekly_report(u, community, start, end, public=True, now=NOW)
        await u.commit()
    core_times, board_times, sql_times = [], [], []
    report = None
    baseline_rows = []
    for _ in range(runs):
        async with engine.begin() as conn:
            await conn.execute(
                delete(models.week_counts).where(models.week_counts.c.week_start == start)
            )
        t = time.perf_counter()
        async with uow() as u:
            report = await weekly_report(u, community, start, end, public=True, now=NOW)
            await u.commit()
        core_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        async with uow() as u:
            await weekly_report(u, community, start, end, public=False)
        board_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        async with engine.connect() as conn:
            baseline_rows = (
                await conn.execute(
                    text(BASELINE_SQL),
                    {"c": CID, "s": start.replace(tzinfo=None), "e": end.replace(tzinfo=None)},
                )
            ).all()
        sql_times.append(time.perf_counter() - t)
    await engine.dispose()
    assert report is not None
    ours = [(s.member_id, s.helped, s.forward, s.gives) for s in report.table[:10]]
    theirs = [tuple(r) for r in baseline_rows]
    core, sql = statistics.median(core_times), statistics.median(sql_times)
    board = statistics.median(board_times)
    async with make_engine(url).connect() as conn:
        week_gives = (
            await conn.execute(
                text("SELECT COUNT(*) FROM gives WHERE confirmed_at >= :s AND confirmed_at < :e"),
                {"s": start.replace(tzinfo=None), "e": end.replace(tzinfo=None)},
            )
        ).scalar()
    print(
        f"weekly report on SQLite: {members:,} members, {gives:,} gives, {week_gives:,} in the week"
    )
    print(
        f"  core report (table + chains + sparkline + asks + shared): {core * 1000:7.1f} ms"
        f"  (median of {runs}; target ≤ 200 ms)"
    )
    print(f"  private board (table + asks needing help):                  {board * 1000:7.1f} ms")
    print(f"  hand-written SQL aggregate of the table alone:            {sql * 1000:7.1f} ms")
    print(f"  ratio core / SQL: {core / sql:.2f}× (public post), {board / sql:.2f}× (board)")
    print(f"  same top 10 as the SQL aggregate: {ours == theirs}")
    print(
        f"  scoring members: {len(report.table):,}; chains shown: {len(report.chains)};"
        f" trend: {report.trend}"
    )
    if ours != theirs:
        print("  core:", ours[:3], "\n  sql: ", theirs[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--gives", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.members, args.gives, args.runs))


if __name__ == "__main__":
    main()
