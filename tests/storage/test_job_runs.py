"""Contract tests of the job runs: one run per (community, job, period), held by one
owner at a time, taken over when its holder's lease ends without it finishing.

The contract runs on every backend and on the in-memory fake; the races run on the
SQL backends, with separate engines standing in for separate processes.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from bot.ports import JobClaim, UnitOfWorkFactory
from tests.storage.builders import C1, C2, at
from tests.storage.conftest import SQL_BACKENDS, WITH_FAKE

JOB, WEEK = "leaderboard", "2025-W10"


@pytest.fixture(params=WITH_FAKE)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def claim(
    uow_factory: UnitOfWorkFactory,
    owner: str,
    now: datetime,
    lease_until: datetime,
    *,
    key: tuple[str, str, str] = (C1, JOB, WEEK),
) -> JobClaim | None:
    async with uow_factory() as uow:
        claimed = await uow.jobs.claim(*key, owner, now, lease_until)
        await uow.commit()
    return claimed


async def test_the_first_claim_takes_a_new_run(uow_factory: UnitOfWorkFactory) -> None:
    assert await claim(uow_factory, "a", at(0), at(1)) == JobClaim(C1, JOB, WEEK, "a", None)


async def test_a_run_whose_lease_holds_is_refused(uow_factory: UnitOfWorkFactory) -> None:
    await claim(uow_factory, "a", at(0), at(1))
    assert await claim(uow_factory, "b", at(0.5), at(2)) is None
    assert await claim(uow_factory, "a", at(0.5), at(2)) is None  # a second run of its own


async def test_other_communities_jobs_and_periods_are_other_runs(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await claim(uow_factory, "a", at(0), at(1))
    for key in ((C2, JOB, WEEK), (C1, "prompts", WEEK), (C1, JOB, "2025-W11")):
        assert await claim(uow_factory, "b", at(0), at(1), key=key) == JobClaim(*key, "b")


async def test_an_expired_run_is_taken_over_with_its_cursor(
    uow_factory: UnitOfWorkFactory,
) -> None:
    first = await claim(uow_factory, "a", at(0), at(1))
    assert first is not None
    async with uow_factory() as uow:
        assert await uow.jobs.progress(first, "U100", lease_until=at(2)) is True
        await uow.commit()
    assert await claim(uow_factory, "b", at(1.5), at(3)) is None  # progress extended it
    second = await claim(uow_factory, "b", at(2), at(3))  # a lease ending now has ended
    assert second == JobClaim(C1, JOB, WEEK, "b", "U100")
    async with uow_factory() as uow:
        assert await uow.jobs.progress(first, "U200", lease_until=at(9)) is False
        assert await uow.jobs.finish(first, at(2.5)) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.jobs.progress(second, "U300", lease_until=at(4)) is True
        await uow.commit()
    assert await claim(uow_factory, "c", at(4), at(5)) == JobClaim(C1, JOB, WEEK, "c", "U300")


async def test_a_finished_run_is_never_claimed_again(uow_factory: UnitOfWorkFactory) -> None:
    run = await claim(uow_factory, "a", at(0), at(1))
    assert run is not None
    async with uow_factory() as uow:
        assert await uow.jobs.finish(run, at(0.5)) is True
        assert await uow.jobs.finish(run, at(0.6)) is False
        await uow.commit()
    assert await claim(uow_factory, "b", at(0.7), at(2)) is None
    assert await claim(uow_factory, "b", at(100), at(101)) is None  # its lease long over
    async with uow_factory() as uow:
        assert await uow.jobs.progress(run, "U1", lease_until=at(200)) is False


async def test_a_claim_rolled_back_leaves_the_run_free(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.jobs.claim(C1, JOB, WEEK, "a", at(0), at(1)) is not None
    assert await claim(uow_factory, "b", at(0), at(1)) == JobClaim(C1, JOB, WEEK, "b")


async def test_prune_deletes_runs_finished_before_the_instant(
    uow_factory: UnitOfWorkFactory,
) -> None:
    runs = [
        await claim(uow_factory, "a", at(0), at(1), key=(C1, JOB, period))
        for period in ("W1", "W2", "W3")
    ]
    async with uow_factory() as uow:
        for run, hours in zip(runs[:2], (1, 2), strict=True):
            assert run is not None and await uow.jobs.finish(run, at(hours))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.jobs.prune(at(2)) == 1  # finished at the instant: kept
        assert await uow.jobs.prune(at(2)) == 0
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.jobs.prune(at(100)) == 1  # the running one stays
        await uow.commit()
    assert await claim(uow_factory, "b", at(0.5), at(1), key=(C1, JOB, "W3")) is None


# Races between processes


@pytest.mark.parametrize("backend", SQL_BACKENDS)
async def test_concurrent_claims_of_a_new_run_let_exactly_one_win(
    processes: list[UnitOfWorkFactory],
) -> None:
    claims = await asyncio.gather(
        *(claim(processes[n % 2], f"p{n}", at(0), at(1)) for n in range(6))
    )
    winners = [c for c in claims if c is not None]
    assert len(winners) == 1
    async with processes[0]() as uow:
        assert await uow.jobs.finish(winners[0], at(0.5)) is True


@pytest.mark.parametrize("backend", SQL_BACKENDS)
async def test_concurrent_take_overs_of_an_expired_run_let_exactly_one_win(
    uow_factory: UnitOfWorkFactory, processes: list[UnitOfWorkFactory]
) -> None:
    crashed = await claim(uow_factory, "crashed", at(0), at(1))
    assert crashed is not None
    async with uow_factory() as uow:
        await uow.jobs.progress(crashed, "U7", lease_until=at(1))
        await uow.commit()
    claims = await asyncio.gather(
        *(claim(processes[n % 2], f"p{n}", at(2), at(3)) for n in range(6))
    )
    winners = [c for c in claims if c is not None]
    assert len(winners) == 1 and winners[0].cursor == "U7"
    async with processes[1]() as uow:
        assert await uow.jobs.finish(crashed, at(2)) is False
        assert await uow.jobs.finish(winners[0], at(2)) is True
