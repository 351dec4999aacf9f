"""The connector, measured: ranking quality, speed at scale, memory, and noise.

    python -m bench.connector [--quality-asks 8000] [--samples 400] [--speed-runs 200]
                              [--skip-postgres] [--month-asks 2000]

1. **Quality** by leave-one-out on a generated community (bench/connector_data.py:
   twelve topics, members who help in some and ask in others, paraphrased asks), on
   SQLite through the real storage and core: hide a confirmed give, rank its ask with
   everything before it, and see whether the helper is in the top 3 (hit@3, the
   issue's "P@3") and at what rank (MRR). Beside it, in the same run and on the same
   sample: a random pick among those who helped before, the most active helpers, and
   the other techniques considered (BM25 over member profiles, interests alone,
   similar-ask voting without interests or without its refinements).
2. **Speed**: ranking one ask (`bot.connector.pick`, what routing runs) in a community
   of 100,000 members, 50,000 asks and 200,000 gives, on SQLite and on PostgreSQL
   (PAYFORWARD_BENCH_POSTGRES_URL, else PAYFORWARD_TEST_POSTGRES_URL), beside the bare
   full-text query and the "most active helpers" aggregate in the same run. Both
   databases are built at once, each by a process of its own, with bulk inserts.
3. **Memory** of `payforward run` (the console community, as with no credentials) on
   that SQLite file while it answers `who` and routes an ask, beside the same on an
   empty database.
4. **Noise**: a simulated month of that community through the real core (asks as
   `/ask` events, routing on a manual clock, routed members answering by button):
   routed DMs per opted-in member per week (max, p99) and the share of routed asks
   that got an offer.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import math
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from bench.connector_data import TOPICS, History, ask_text, generate, topic_of
from bot import connector, routing, terms
from bot.clock import ManualClock
from bot.copy import OFFER
from bot.domain import Community, MessageRef
from bot.events import ButtonPressed, CommandInvoked, MemberInfo
from bot.jobs import Jobs, step_through
from bot.messages import Delivered
from bot.ports import UnitOfWorkFactory
from bot.service import PayForward
from payforward.bootstrap import tune_garbage_collector
from storage import models, rows
from storage.db import make_engine
from storage.migrate import upgrade
from storage.uow import unit_of_work_factory

QUALITY_CID = "bench:quality"
SCALE_CID = "console:local"  # so that `payforward run` (the console) serves it
CHUNK = 10_000


# Loading a generated history, in bulk.


def history_rows(history: History, cid: str) -> dict[str, list[dict[str, Any]]]:
    """The tables' rows for a history: asks (resolved when helped), the confirmed gives
    and offers on them, thanks without an ask, interests, and who opted in."""
    rng = random.Random(11)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    last_active: dict[str, datetime] = {}
    give_id = 0
    for fact in history.asks:
        helped_at = fact.created_at + timedelta(hours=rng.uniform(1, 48))
        resolved = bool(fact.helpers)
        out["asks"].append(
            {
                "id": fact.number,
                "community_id": cid,
                "number": fact.number,
                "asker_id": fact.asker,
                "channel_id": "general",
                "text": fact.text,
                "status": "resolved" if resolved else "closed",
                "created_at": fact.created_at,
                "last_activity_at": helped_at,
                "resolved_at": helped_at if resolved else None,
                "bumped_at": None,
                "message_channel_id": None,
                "message_id": None,
            }
        )
        last_active[fact.asker] = fact.created_at
        for member in (*fact.helpers, *fact.offerers):
            offered = fact.created_at + timedelta(minutes=rng.uniform(5, 120))
            status = "active" if member in fact.helpers else "lapsed"
            out["offers"].append(
                {
                    "ask_id": fact.number,
                    "member_id": member,
                    "status": status,
                    "created_at": offered,
                    "reminders_sent": 0,
                }
            )
            last_active[member] = offered
        for helper in fact.helpers:
            give_id += 1
            out["gives"].append(
                _give(give_id, cid, helper, fact.asker, helped_at, "resolve", fact.number)
            )
    for giver, receiver, at in history.thanks:
        if giver != receiver:
            give_id += 1
            out["gives"].append(_give(give_id, cid, giver, receiver, at, "thanks", None))
    for member_id in (f"m{i}" for i in range(history.members)):
        out["members"].append(
            {
                "community_id": cid,
                "member_id": member_id,
                "display_name": member_id,
                "tz": "UTC",
                "optout_leaderboard": False,
                "optout_prompts": False,
                "optout_reminders": False,
                "last_active_at": last_active.get(member_id),
                "forgotten": False,
            }
        )
    opted_in = set(history.expertise) | set(history.interests)
    for member_id in sorted(opted_in):
        out["connector_members"].append(
            {"community_id": cid, "member_id": member_id, "opted_in": True, "last_routed_at": None}
        )
    for member_id, topics in history.interests.items():
        stems: set[tuple[str, int]] = set()
        for n, topic in enumerate(topics):
            out["member_interests"].append(
                {"community_id": cid, "member_id": member_id, "position": n, "topic": topic}
            )
            stems |= {(stem, n) for stem in terms.stems(topic)}
        out["interest_terms"] += [
            {"community_id": cid, "member_id": member_id, "term": t, "position": n}
            for t, n in sorted(stems)
        ]
    return out


def _give(
    give_id: int, cid: str, giver: str, receiver: str, at: datetime, source: str, ask: int | None
) -> dict[str, Any]:
    return {
        "id": give_id,
        "community_id": cid,
        "giver_id": giver,
        "receiver_id": receiver,
        "source": source,
        "status": "confirmed",
        "note": "thanks!",
        "ask_id": ask,
        "created_at": at,
        "confirmed_at": at,
        "share_ok": False,
        "forward": False,
        "follows": None,
        "depth": 0,
    }


async def load(url: str, history: History, cid: str) -> None:
    """Migrate `url`, empty it, and write the history in bulk (the search index is
    filled by the database's own triggers as the asks go in)."""
    await upgrade(url)
    engine = make_engine(url)
    tables = history_rows(history, cid)
    try:
        async with engine.begin() as conn:
            postgres = conn.dialect.name == "postgresql"
            for table in reversed(models.Base.metadata.sorted_tables):
                await conn.execute(table.delete())
            community = rows.community_values(Community(cid)) | {
                "community_id": cid,
                "ask_seq": len(history.asks),
            }
            await conn.execute(insert(models.communities), [community])
            for name in (
                "members",
                "asks",
                "offers",
                "gives",
                "connector_members",
                "member_interests",
                "interest_terms",
            ):
                table = models.Base.metadata.tables[name]
                batch = tables[name]
                for k in range(0, len(batch), CHUNK):
                    await conn.execute(insert(table), batch[k : k + CHUNK])
            if postgres:
                for name in ("asks", "gives"):
                    await conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f"(SELECT max(id) FROM {name}))"
                        )
                    )
                await conn.execute(text("ANALYZE"))  # as autovacuum would, in time
            # SQLite: no ANALYZE, as in a real deployment (storage/sql.py, not_for_index).
    finally:
        await engine.dispose()


def load_in_process(url: str, history_args: dict[str, Any], cid: str) -> float:
    """For a worker process: generate the history and load it; seconds taken."""
    started = time.perf_counter()
    asyncio.run(load(url, generate(**history_args), cid))
    return time.perf_counter() - started


# 1. Quality.

Ranker = Callable[[Any, str, str, datetime], Any]


SETTINGS = {  # name: members, asks, share of members who help, share of help on their topics
    "small team": (300, 2_000, 0.1, 0.9),
    "focused": (3_000, 8_000, 0.05, 0.9),
    "broad": (3_000, 8_000, 0.2, 0.8),
}


async def quality(args: argparse.Namespace, folder: Path, setting: str) -> None:
    members, asks, helper_share, on_topic = SETTINGS[setting]
    history = generate(
        members,
        asks,
        seed=7,
        helper_share=helper_share,
        on_topic=on_topic,
    )
    name = setting.replace(" ", "-")
    url = f"sqlite:///{folder / f'quality-{name}.db'}"
    await load(url, history, QUALITY_CID)
    engine = make_engine(url)
    uow_factory = unit_of_work_factory(engine)
    rng = random.Random(3)
    tail = [a for a in history.asks[len(history.asks) // 4 :] if a.helpers]
    sample = rng.sample(tail, min(args.samples, len(tail)))
    print(
        f"\n## Quality, {setting} community: leave-one-out ({history.members:,} members, "
        f"{len(history.asks):,} asks over a year, {len(TOPICS)} topics, "
        f"{len(history.expertise):,} helpers ({helper_share:.0%}), {on_topic:.0%} of help "
        f"on their own topics, {len(history.interests):,} list interests)"
    )
    print(f"{len(sample)} hidden gives, each ranked with only what came before it.\n")
    stems_of = {a.number: terms.stems(a.text) for a in history.asks}
    by_time = history.asks

    def before(fact_index: int) -> list[Any]:
        return by_time[:fact_index]

    index_of = {a.number: i for i, a in enumerate(history.asks)}

    def prior_gives(i: int) -> Counter[str]:
        counts: Counter[str] = Counter()
        for fact in before(i):
            counts.update(fact.helpers)
        return counts

    async def ranked_by_core(fact: Any, **constants: Any) -> list[str]:
        saved = {name: getattr(connector, name) for name in constants}
        for name, value in constants.items():
            setattr(connector, name, value)
        try:
            async with uow_factory() as uow:
                found = await connector.candidates(
                    uow,
                    QUALITY_CID,
                    fact.text,
                    now=fact.created_at,
                    before=fact.created_at - timedelta(microseconds=1),
                    exclude={fact.asker},
                )
        finally:
            for name, value in saved.items():
                setattr(connector, name, value)
        return [c.member_id for c in found]

    def profile_bm25(fact: Any) -> list[str]:
        i = index_of[fact.number]
        profiles: dict[str, Counter[str]] = defaultdict(Counter)
        for past in before(i):
            for member in (*past.helpers, *past.offerers):
                profiles[member].update(stems_of[past.number])
        profiles.pop(fact.asker, None)
        return bm25_rank(profiles, stems_of[fact.number])

    def interests_only(fact: Any) -> list[str]:
        text_stems = set(stems_of[fact.number])
        scored = [
            (sum(connector.topic_match(t, text_stems) for t in topics), member)
            for member, topics in history.interests.items()
            if member != fact.asker
        ]
        return [m for s, m in sorted(scored, key=lambda p: (-p[0], p[1])) if s > 0]

    def most_active(fact: Any) -> list[str]:
        counts = prior_gives(index_of[fact.number])
        counts.pop(fact.asker, None)
        return [m for m, _ in counts.most_common(50)]

    def oracle(fact: Any) -> list[str]:
        """Knows every helper's topics and how much they help: the ceiling."""
        topic = fact.topic

        def key(member: str) -> tuple[bool, float]:
            return (topic not in history.expertise[member], -history.activity[member])

        return sorted((m for m in history.expertise if m != fact.asker), key=key)[:50]

    def random_pick(fact: Any) -> list[str]:
        pool = sorted(set(prior_gives(index_of[fact.number])) - {fact.asker})
        return random.Random(fact.number).sample(pool, min(50, len(pool)))

    techniques: list[tuple[str, Callable[[Any], Any]]] = [
        ("ceiling: knows each helper's topics and activity", oracle),
        ("random helper (baseline)", random_pick),
        ("most active helper (baseline)", most_active),
        ("interests alone", interests_only),
        ("BM25 over member profiles", profile_bm25),
        ("similar-ask voting, no interests", lambda f: ranked_by_core(f, INTEREST=0.0)),
        (
            "  … no common-word rule, no decay, offers = gives",
            lambda f: ranked_by_core(
                f,
                INTEREST=0.0,
                COMMON=1.0,
                COMMON_MIN=10**9,
                HALF_LIFE=timedelta(days=10**6),
                OFFERED=1.0,
            ),
        ),
        ("similar-ask voting + interests (shipped)", lambda f: ranked_by_core(f)),
    ]
    results: dict[str, tuple[float, float, float]] = {}
    print("| technique | P@3 (helper in top 3) | MRR | ms per ask |")
    print("| --- | --- | --- | --- |")
    for name, rank in techniques:
        hits, reciprocal = 0, 0.0
        started = time.perf_counter()
        for fact in sample:
            found = rank(fact)
            ranking = list(await found) if asyncio.iscoroutine(found) else list(found)
            positions = [ranking.index(h) for h in fact.helpers if h in ranking]
            if positions and min(positions) < 3:
                hits += 1
            if positions:
                reciprocal += 1 / (min(positions) + 1)
        ms = (time.perf_counter() - started) * 1000 / len(sample)
        results[name] = (hits / len(sample), reciprocal / len(sample), ms)
        print(f"| {name} | {hits / len(sample):.3f} | {reciprocal / len(sample):.3f} | {ms:.1f} |")
    await engine.dispose()
    shipped = results["similar-ask voting + interests (shipped)"][0]
    active = results["most active helper (baseline)"][0]
    ceiling = results["ceiling: knows each helper's topics and activity"][0]
    print(
        f"\nShipped P@3 {shipped:.3f} = {shipped / max(active, 1e-9):.1f}× the most active "
        f"helper ({active:.3f}) and {shipped / max(ceiling, 1e-9):.0%} of the ceiling "
        f"({ceiling:.3f}); target ≥ 2× and ≥ 0.5: "
        f"{'met' if shipped >= 2 * active and shipped >= 0.5 else 'NOT met'}."
    )


def bm25_rank(profiles: dict[str, Counter[str]], query: Sequence[str]) -> list[str]:
    """Okapi BM25 (k1 1.2, b 0.75) of each member's profile document."""
    n = len(profiles)
    if not n:
        return []
    df: Counter[str] = Counter()
    for counts in profiles.values():
        df.update(counts.keys())
    lengths = {m: sum(c.values()) for m, c in profiles.items()}
    average = sum(lengths.values()) / n
    scored = []
    for member, counts in profiles.items():
        score = 0.0
        for q in set(query):
            tf = counts.get(q, 0)
            if tf:
                idf = math.log(1 + (n - df[q] + 0.5) / (df[q] + 0.5))
                norm = 1 - 0.75 + 0.75 * lengths[member] / average
                score += idf * tf * 2.2 / (tf + 1.2 * norm)
        if score > 0:
            scored.append((score, member))
    return [m for _, m in sorted(scored, key=lambda p: (-p[0], p[1]))[:50]]


# 2. Speed.


def scale_args(args: argparse.Namespace, end: datetime) -> dict[str, Any]:
    return {
        "members": args.members,
        "asks": args.asks,
        "thanks": max(0, args.gives - int(args.asks * 0.98)),
        "seed": 21,
        "days": 730,
        "start": end - timedelta(days=730),
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# The baseline of the speed figures: one bare full-text query with every word of the
# ask, ranked by the database (no word counts, no help on the asks found): the search
# as storage/connector.py ran it on PostgreSQL before it became one statement.
PG_BARE_SEARCH = text(
    "SELECT a.id, a.number, a.asker_id, a.text, top.rank FROM ("
    " SELECT s.ask_id, ts_rank(s.document, q) AS rank"
    " FROM ask_search AS s, to_tsquery('english', :query) AS q"
    " WHERE s.document @@ q AND s.community_id = :community_id"
    " AND s.created_at <= :before"
    " ORDER BY rank DESC, s.ask_id DESC LIMIT :limit"
    ") AS top JOIN asks AS a ON a.id = top.ask_id "
    "ORDER BY top.rank DESC, a.id DESC"
)


async def bare_search(uow: Any, postgres: bool, query: str, now: datetime) -> None:
    words = terms.words(query)
    if not postgres:
        await uow.connector._sqlite_search(SCALE_CID, words, now, connector.SIMILAR)
        return
    params = {
        "query": " | ".join(words),
        "community_id": SCALE_CID,
        "before": now,
        "limit": connector.SIMILAR,
    }
    await uow.connector._conn.execute(PG_BARE_SEARCH, params)


async def speed(name: str, url: str, args: argparse.Namespace, now: datetime) -> None:
    engine = make_engine(url)
    postgres = engine.dialect.name == "postgresql"
    if postgres:  # a database in its steady state, as autovacuum leaves it
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
    uow_factory = unit_of_work_factory(engine)
    rng = random.Random(5)
    queries = [ask_text(rng, rng.choice(TOPICS)) for _ in range(args.speed_runs)]
    timings: dict[str, list[float]] = defaultdict(list)
    counts = {}
    async with uow_factory() as uow:
        for table in ("members", "asks", "gives"):
            result = await uow.connector._conn.execute(text(f"SELECT count(*) FROM {table}"))  # type: ignore[attr-defined]
            counts[table] = result.scalar_one()
    active_sql = text(
        "SELECT giver_id, count(*) AS n FROM gives WHERE community_id = :c "
        "AND status = 'confirmed' GROUP BY giver_id ORDER BY n DESC LIMIT 3"
    )
    for n, query in enumerate(queries):
        asker = f"m{rng.randrange(args.members)}"
        started = time.perf_counter()
        async with uow_factory() as uow:
            await connector.pick(uow, SCALE_CID, query, now=now, count=3, exclude={asker})
        timings["rank one ask (connector.pick)"].append(time.perf_counter() - started)
        started = time.perf_counter()
        async with uow_factory() as uow:
            await bare_search(uow, postgres, query, now)
        timings["baseline: one full-text query, all words"].append(time.perf_counter() - started)
        if n % 10 == 0:  # it is slow; a tenth of the runs is enough
            started = time.perf_counter()
            async with uow_factory() as uow:
                await uow.connector._conn.execute(active_sql, {"c": SCALE_CID})  # type: ignore[attr-defined]
            timings["baseline: most active helpers (aggregate)"].append(
                time.perf_counter() - started
            )
    await engine.dispose()
    print(
        f"\n### {name}: {counts['members']:,} members, {counts['asks']:,} asks, "
        f"{counts['gives']:,} gives; {len(queries)} new asks ranked\n"
    )
    print("| query | p50 ms | p95 ms | max ms |")
    print("| --- | --- | --- | --- |")
    for label, values in timings.items():
        ms = [v * 1000 for v in values]
        print(
            f"| {label} | {statistics.median(ms):.1f} | {percentile(ms, 0.95):.1f} "
            f"| {max(ms):.1f} |"
        )
    p95 = percentile(timings["rank one ask (connector.pick)"], 0.95) * 1000
    print(f"\nTarget p95 ≤ 50 ms: {'met' if p95 <= 50 else 'NOT met'} ({p95:.1f} ms).")


# 3. Memory of `payforward run`.


def sidecars(path: Path) -> tuple[Path, Path]:
    return Path(f"{path}-wal"), Path(f"{path}-shm")


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite file in WAL mode: checkpointed first, and no
    write-ahead log of an earlier copy left beside the new one."""
    with sqlite3.connect(source) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for path in sidecars(target):
        path.unlink(missing_ok=True)
    shutil.copy(source, target)


def run_memory(database: Path | None, folder: Path) -> tuple[float, str]:
    """Peak RSS (MiB) of `payforward run` answering `who` and routing an ask."""
    target = folder / "memory.db"
    if database is None:
        for path in (target, *sidecars(target)):
            path.unlink(missing_ok=True)
    else:
        copy_database(database, target)
    script = (
        "/payforward who kubernetes ingress TLS\n"
        "/ask Our helm chart values keep breaking the ingress controller\n"
        ":clock +31m\n"
        ":quit\n"
    )
    env = os.environ | {"DATABASE_URL": f"sqlite:///{target}"}
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "DISCORD_TOKEN"):
        env.pop(name, None)
    code = (
        "import resource, sys\n"
        "from payforward.cli import main\n"
        "sys.argv = ['payforward', 'run']\n"
        "try:\n    main()\n"
        "except SystemExit:\n    pass\n"
        "print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=script,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    rss = next(
        (int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("RSS")),
        0,
    )
    routed = sum(1 for line in done.stdout.splitlines() if line.startswith("[DM @m"))
    return rss / 1024, f"{routed} routed DMs printed"


# 4. Noise over a simulated month.

OFFER_IF_EXPERT, OFFER_IF_NOT = 0.35, 0.05  # assumed: how routed members answer


class Recorder:
    """A chat platform that accepts everything (the month's sends are not measured)."""

    platform = "console"

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def post(self, community_id: str, channel_id: str, message: Any) -> Any:
        return Delivered(MessageRef(channel_id, f"m{next(self._ids)}"))

    async def update(self, community_id: str, ref: Any, message: Any) -> Any:
        return Delivered(ref)

    async def send_dm(self, community_id: str, member_id: str, message: Any) -> Any:
        return Delivered(MessageRef(f"dm:{member_id}", f"m{next(self._ids)}"))


async def noise(
    database: Path, folder: Path, args: argparse.Namespace, start: datetime, history: History
) -> None:
    from bot.dispatch import Dispatcher

    target = folder / "month.db"
    copy_database(database, target)
    engine = make_engine(f"sqlite:///{target}")
    uow_factory: UnitOfWorkFactory = unit_of_work_factory(engine)
    clock = ManualClock(start)
    bot = PayForward(uow_factory, clock)
    jobs = Jobs(uow_factory, owner="bench")
    dispatcher = Dispatcher(uow_factory, clock, {"console": Recorder()}, bot)  # type: ignore[dict-item]
    rng = random.Random(9)
    helpers = sorted(history.expertise)
    experts: dict[int, list[str]] = defaultdict(list)
    for member, topics in history.expertise.items():
        for topic in topics:
            experts[topic].append(member)
    month = timedelta(days=30)
    times = sorted(start + month * rng.random() for _ in range(args.month_asks))
    ids = iter(range(10**9))

    def actor(member: str) -> MemberInfo:
        return MemberInfo(member, display_name=member)

    async def press(member: str, ask_id: int) -> None:
        await bot.handle(
            ButtonPressed(
                event_id=f"b{next(ids)}",
                community_id=SCALE_CID,
                actor=actor(member),
                action=OFFER,
                value=str(ask_id),
            )
        )

    answered: set[tuple[int, str]] = set()
    organic = 0

    async def answer_routes() -> None:
        """Routed members answer: an expert on the ask's topic offers OFFER_IF_EXPERT
        of the time, anyone else OFFER_IF_NOT; half the rest say *Not this time*."""
        async with uow_factory() as uow:
            found = await uow.connector._conn.execute(  # type: ignore[attr-defined]
                text(
                    "SELECT r.ask_id, r.member_id, a.text FROM connector_routes r "
                    "JOIN asks a ON a.id = r.ask_id WHERE r.offered_at IS NULL "
                    "AND r.declined_at IS NULL"
                )
            )
            pending = list(found)
        for ask_id, member, ask in pending:
            if (ask_id, member) in answered:
                continue
            answered.add((ask_id, member))
            topic = topic_of(ask)
            expert = topic is not None and topic in history.expertise.get(member, ())
            if rng.random() < (OFFER_IF_EXPERT if expert else OFFER_IF_NOT):
                await press(member, ask_id)
            elif rng.random() < 0.5:
                await bot.handle(
                    ButtonPressed(
                        event_id=f"d{next(ids)}",
                        community_id=SCALE_CID,
                        actor=actor(member),
                        action=routing.DECLINE,
                        value=str(ask_id),
                    )
                )

    started = time.perf_counter()
    for at in times:
        await step_through(jobs, clock, at, dispatcher.drain)
        await answer_routes()
        topic = rng.randrange(len(TOPICS))
        asker = f"m{rng.randrange(history.members)}"
        await bot.handle(
            CommandInvoked(
                event_id=f"a{next(ids)}",
                community_id=SCALE_CID,
                actor=actor(asker),
                channel_id="general",
                command="ask",
                text=ask_text(rng, TOPICS[topic]),
            )
        )
        if rng.random() < 0.4:  # someone in the channel offers within the half hour
            async with uow_factory() as uow:
                ask = (await uow.asks.open_asks(SCALE_CID, asker_id=asker, limit=100))[-1]
            pool = experts[topic] or helpers
            helper = rng.choice([h for h in pool if h != asker] or helpers)
            clock.set(clock.now() + timedelta(minutes=rng.uniform(1, 25)))
            await press(helper, ask.id)
            organic += 1
    await step_through(jobs, clock, start + month + timedelta(days=2), dispatcher.drain)
    await answer_routes()
    elapsed = time.perf_counter() - started
    async with uow_factory() as uow:
        conn = uow.connector._conn  # type: ignore[attr-defined]
        routes = list(
            await conn.execute(
                text("SELECT ask_id, member_id, routed_at, offered_at FROM connector_routes")
            )
        )
        offered_asks = {
            row[0]
            for row in await conn.execute(
                text(
                    "SELECT DISTINCT o.ask_id FROM offers o JOIN connector_routes r "
                    "ON r.ask_id = o.ask_id"
                )
            )
        }
        opted = (
            await conn.execute(text("SELECT count(*) FROM connector_members WHERE opted_in"))
        ).scalar_one()
    await engine.dispose()
    per_week: Counter[tuple[str, int]] = Counter()
    for _, member, routed_at, _ in routes:
        moment = (
            routed_at if isinstance(routed_at, datetime) else datetime.fromisoformat(str(routed_at))
        )
        week = (moment.replace(tzinfo=UTC) - start) // timedelta(days=7)
        per_week[(member, week)] += 1
    weeks = 5
    values = list(per_week.values()) + [0] * (opted * weeks - len(per_week))
    routed_asks = {r[0] for r in routes}
    connections = {r[0] for r in routes if r[3] is not None}
    print(
        f"\n## Noise: a simulated month ({len(times):,} asks, {organic:,} of them offered on "
        f"in the channel within 25 minutes; {opted:,} members opted in; a routed expert "
        f"offers {OFFER_IF_EXPERT:.0%} of the time, anyone else {OFFER_IF_NOT:.0%}; "
        f"{elapsed:.0f} s)\n"
    )
    print("| figure | value |")
    print("| --- | --- |")
    print(f"| asks routed | {len(routed_asks):,} ({len(routes):,} routed DMs) |")
    print(f"| routed DMs per opted-in member per week: max | {max(values, default=0)} |")
    print(f"| … p99 | {percentile(values, 0.99)} |")
    print(f"| … members routed to at least once | {len({m for m, _ in per_week}):,} |")
    share = len(offered_asks) / len(routed_asks) if routed_asks else 0
    print(f"| routed asks that received an offer | {share:.1%} |")
    via = len(connections) / len(routed_asks) if routed_asks else 0
    print(f"| … from a member the connector reached (a connection) | {via:.1%} |")


# Main.


async def already_loaded(url: str, args: argparse.Namespace) -> bool:
    """Whether the database holds this run's community (built today, same sizes)."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            found = await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM members), (SELECT count(*) FROM asks), "
                    "(SELECT max(created_at) FROM asks)"
                )
            )
            members, asks, newest = found.one()
    except Exception:  # not migrated yet, or another schema: build it
        return False
    finally:
        await engine.dispose()
    today = datetime.now(UTC) - timedelta(days=1)
    return members == args.members and asks == args.asks and newest is not None and newest > today


def schema_version() -> str:
    """A short digest of the migrations, so a file built by another schema is rebuilt."""
    digest = hashlib.sha256()
    for path in sorted((Path(models.__file__).parent / "migrations" / "versions").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


def postgres_url() -> str | None:
    return os.environ.get("PAYFORWARD_BENCH_POSTGRES_URL") or os.environ.get(
        "PAYFORWARD_TEST_POSTGRES_URL"
    )


async def main_async(args: argparse.Namespace) -> None:
    folder = Path(tempfile.gettempdir()) / "payforward-bench-connector"
    folder.mkdir(exist_ok=True)
    tune_garbage_collector()
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    history_args = scale_args(args, end)
    sqlite_file = folder / (
        f"scale-{args.members}-{args.asks}-{args.gives}-{end:%Y%m%d}-{schema_version()}.db"
    )
    pg = None if args.skip_postgres else postgres_url()
    print("# bench.connector\n")
    if args.only_quality:
        for setting in SETTINGS:
            await quality(args, folder, setting)
        return
    with ProcessPoolExecutor(max_workers=2) as pool:
        builds = {}
        if not sqlite_file.exists():
            builds["SQLite"] = pool.submit(
                load_in_process, f"sqlite:///{sqlite_file}.tmp", history_args, SCALE_CID
            )
        if pg is not None and not await already_loaded(pg, args):
            builds["PostgreSQL"] = pool.submit(load_in_process, pg, history_args, SCALE_CID)
        if not args.skip_quality:
            for setting in SETTINGS:
                await quality(args, folder, setting)
        for name, build in builds.items():
            print(f"\n(built the {name} community in {build.result():.0f} s, in its own process)")
        if "SQLite" in builds:
            await asyncio.to_thread(os.replace, f"{sqlite_file}.tmp", sqlite_file)
    now = end
    print("\n## Speed: ranking one ask at scale")
    await speed("SQLite", f"sqlite:///{sqlite_file}", args, now)
    if pg is not None:
        await speed("PostgreSQL", pg, args, now)
    print("\n## Memory of `payforward run` (console, SQLite), answering `who` and routing")
    empty, _ = run_memory(None, folder)
    loaded, note = run_memory(sqlite_file, folder)
    print(f"\n| database | peak RSS |\n| --- | --- |\n| empty (baseline) | {empty:.0f} MiB |")
    print(f"| the community above | {loaded:.0f} MiB ({note}) |")
    if args.month_asks:
        await noise(sqlite_file, folder, args, end, generate(**history_args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--asks", type=int, default=50_000)
    parser.add_argument("--gives", type=int, default=200_000)
    parser.add_argument("--speed-runs", type=int, default=200)
    parser.add_argument("--month-asks", type=int, default=2000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--only-quality", action="store_true")
    asyncio.run(main_async(parser.parse_args()))
    resource.getrusage(resource.RUSAGE_SELF)


if __name__ == "__main__":
    main()
