"""The scoring and calendar rules, on any data: ranks shared on ties, at most three gives
per pair a week, the forward rule, week boundaries across DST, quiet hours, and the
bounded wait for a database that is away."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot import ledger
from bot.calendar import QUIET_FROM, QUIET_UNTIL, deliverable_at, latest_firing, next_firing
from bot.domain import PAIR_CAP_PER_WEEK, Give, GiveSource, GiveStatus, PairWeek, Schedule
from bot.faults import Patience, StorageUnavailable
from bot.scoring import weekly_table
from bot.weeks import week_of, zone
from tests.fakes import FakeDatabase
from tests.faults.conftest import FAULTS

members = st.sampled_from(["a", "b", "c", "d", "e"])
pairs = st.lists(
    st.builds(
        lambda giver, receiver, gives, forward: PairWeek(
            giver, receiver, gives, min(forward, gives)
        ),
        members,
        members,
        st.integers(0, 9),
        st.integers(0, 9),
    ),
    max_size=20,
    unique_by=lambda p: (p.giver_id, p.receiver_id),
)
# Zones with DST in both hemispheres, one with a half-hour shift, and none at all.
zones = st.sampled_from(
    ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Auckland", "UTC"]
)
instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)


@FAULTS
@given(pairs, st.frozensets(members, max_size=2))
def test_the_weekly_table_ranks_ties_together_and_caps_each_pair(
    weeks: list[PairWeek], hidden: frozenset[str]
) -> None:
    table = weekly_table(weeks, hidden)
    by_member = {row.member_id: row for row in table}
    assert not set(by_member) & hidden
    for row in table:
        mine = [p for p in weeks if p.giver_id == row.member_id and p.receiver_id != p.giver_id]
        mine = [p for p in mine if p.gives]
        assert row.helped == len(mine)
        assert row.gives == sum(min(p.gives, PAIR_CAP_PER_WEEK) for p in mine)
        assert row.forward <= row.gives <= PAIR_CAP_PER_WEEK * row.helped
    for above, below in itertools.pairwise(table):
        key_above = (above.helped, above.forward, above.gives)
        key_below = (below.helped, below.forward, below.gives)
        assert key_above >= key_below
        if key_above == key_below:
            assert above.rank == below.rank  # equal triples share a rank
        else:
            assert below.rank == table.index(below) + 1  # and the next rank skips (1, 1, 3)


@FAULTS
@given(st.lists(st.tuples(members, members), max_size=25))
def test_a_give_is_forward_exactly_when_the_receiver_never_gave_back(
    sequence: list[tuple[str, str]],
) -> None:
    async def run() -> None:
        db = FakeDatabase()
        now = datetime(2026, 11, 24, 10, tzinfo=UTC)
        given_before: set[tuple[str, str]] = set()
        for step, (giver, receiver) in enumerate(sequence):
            at = now + timedelta(minutes=step)
            async with db.uow() as uow:
                give = Give(0, "c", giver, receiver, GiveSource.THANKS, GiveStatus.PENDING, at)
                confirmed = await ledger.confirm(uow, give, at)
                await uow.gives.add(confirmed)
                await uow.commit()
            if giver != receiver:
                assert confirmed.forward == ((receiver, giver) not in given_before)
                given_before.add((giver, receiver))

    asyncio.run(run())


@FAULTS
@given(instants, zones)
def test_a_week_runs_from_local_monday_midnight_to_the_next(instant: datetime, tz: str) -> None:
    start, end = week_of(instant, tz)
    assert start <= instant < end
    local_start, local_end = start.astimezone(zone(tz)), end.astimezone(zone(tz))
    assert local_start.weekday() == 0 and local_end.weekday() == 0
    assert (local_start.hour, local_start.minute) == (0, 0)
    assert (local_end.hour, local_end.minute) == (0, 0)
    assert timedelta(hours=167) <= end - start <= timedelta(hours=169)  # DST: 167 or 169
    assert week_of(end, tz)[0] == end  # weeks tile time, no gap, no overlap


@FAULTS
@given(instants, zones)
def test_messages_wait_out_quiet_hours_and_never_go_back_in_time(
    instant: datetime, tz: str
) -> None:
    due = deliverable_at(instant, tz)
    assert due >= instant
    local = due.astimezone(zone(tz)).time()
    assert QUIET_UNTIL <= local < QUIET_FROM or due == instant
    assert due - instant <= timedelta(hours=12)


@FAULTS
@given(instants, zones, st.integers(0, 6), st.integers(0, 23), st.integers(0, 59))
def test_weekly_schedules_fire_once_a_week(
    instant: datetime, tz: str, weekday: int, hour: int, minute: int
) -> None:
    from datetime import time

    schedule = Schedule(weekday, time(hour, minute))
    latest = latest_firing(schedule, tz, instant)
    following = next_firing(schedule, tz, instant)
    assert latest <= instant < following
    assert timedelta(hours=166) <= following - latest <= timedelta(hours=170)


@FAULTS
@given(st.integers(0, 40), st.floats(0.5, 300), st.floats(0.01, 2), st.floats(0.1, 30))
def test_the_wait_for_the_database_is_bounded_and_its_pauses_capped(
    failures: int, total: float, first: float, cap: float
) -> None:
    clock = [0.0]
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        clock[0] += seconds

    patience = Patience(total=total, first=first, cap=cap, sleep=sleep, monotonic=lambda: clock[0])
    attempts = Counter[str]()

    async def work() -> str:
        attempts["n"] += 1
        if attempts["n"] <= failures:
            raise StorageUnavailable("down")
        return "done"

    async def run() -> str | None:
        try:
            return await patience.retry(work)
        except StorageUnavailable:
            return None

    outcome = asyncio.run(run())
    assert sum(pauses) <= total + 1e-9  # bounded
    assert all(p <= max(cap, first) + 1e-9 for p in pauses)  # capped
    if outcome is None:
        assert clock[0] >= total - 1e-9  # it gave up only once the time was up
    else:
        assert attempts["n"] == failures + 1
