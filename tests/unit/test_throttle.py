"""TokenBucket on virtual time: nothing here waits on the wall clock."""

from __future__ import annotations

import asyncio

import pytest

from bot.throttle import TokenBucket
from tests.unit.virtual_time import VirtualTime, settle


def bucket(rate: float, burst: float | None = None) -> tuple[TokenBucket, VirtualTime]:
    time = VirtualTime()
    return TokenBucket(rate, burst, monotonic=time.monotonic, sleep=time.sleep), time


async def takes_now(b: TokenBucket, time: VirtualTime, limit: int = 1000) -> int:
    """How many tokens can be spent without waiting."""
    spent = 0
    while spent < limit and b.wait_time() == 0:
        await b.take()  # never sleeps: a token is there
        spent += 1
    assert time.sleeps == [], "took a token that was not there"
    return spent


async def test_a_full_bucket_lets_its_burst_through_at_once() -> None:
    b, time = bucket(10, burst=3)
    assert await takes_now(b, time) == 3
    assert b.wait_time() == pytest.approx(0.1)


async def test_the_burst_defaults_to_one_second_of_rate_and_is_at_least_one() -> None:
    assert TokenBucket(20).burst == 20
    assert TokenBucket(0.5).burst == 1
    assert TokenBucket(5, burst=0).burst == 1


async def test_tokens_come_back_at_the_rate_up_to_the_burst() -> None:
    b, time = bucket(10, burst=3)
    await takes_now(b, time)
    time.advance(0.25)  # 2.5 tokens
    assert await takes_now(b, time) == 2
    assert b.wait_time() == pytest.approx(0.05)
    time.advance(3600)
    assert await takes_now(b, time) == 3


async def test_take_waits_for_the_next_token() -> None:
    b, time = bucket(4, burst=1)
    await time.run(b.take())
    await time.run(b.take())
    assert time.sleeps == [pytest.approx(0.25)]
    assert time.monotonic() == pytest.approx(0.25)


async def test_hold_stops_every_send_until_it_ends() -> None:
    b, time = bucket(10, burst=5)
    b.hold(2.0)
    assert b.wait_time() == pytest.approx(2.0)
    await time.run(b.take())
    # Not before the hold ends; then at the rate, with nothing saved up meanwhile.
    assert 2.0 <= time.monotonic() <= 2.0 + 1 / 10 + 1e-9
    time.advance(10)
    b.hold(3.0)
    b.hold(1.0)  # a shorter hold does not cut a longer one short
    assert b.wait_time() == pytest.approx(3.0)


async def test_rate_zero_never_waits_but_still_obeys_a_hold() -> None:
    b, time = bucket(0)
    assert await takes_now(b, time, limit=10_000) == 10_000
    b.hold(5.0)
    assert b.wait_time() == pytest.approx(5.0)
    await time.run(b.take())
    assert time.sleeps == [pytest.approx(5.0)]


async def test_concurrent_takers_each_get_their_own_token() -> None:
    b, time = bucket(2, burst=1)
    done: list[tuple[int, float]] = []

    async def taker(n: int) -> None:
        await b.take()
        done.append((n, time.monotonic()))

    await time.run(asyncio.gather(*(taker(n) for n in range(5))))
    assert sorted(t for _, t in done) == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0])
    assert sorted(n for n, _ in done) == list(range(5))


async def test_concurrent_takers_all_wait_out_a_hold() -> None:
    b, time = bucket(100, burst=10)
    b.hold(1.0)
    done: list[float] = []

    async def taker() -> None:
        await b.take()
        done.append(time.monotonic())

    await time.run(asyncio.gather(*(taker() for _ in range(20))))
    done.sort()
    assert done[0] >= 1.0
    # No burst when the hold ends: the k-th send waits k tokens' worth of time.
    assert all(at >= 1.0 + k / 100 - 1e-9 for k, at in enumerate(done))
    assert done[-1] <= 1.0 + 20 / 100 + 1e-9


async def test_a_hold_forgets_the_tokens_saved_before_it() -> None:
    b, time = bucket(1, burst=10)
    await takes_now(b, time)  # empty at t=0
    time.advance(5)  # 5 tokens saved up, not yet counted
    b.hold(1.0)  # the platform says stop: nothing saved survives
    time.advance(1)
    # At most a second's worth of tokens (1) can have come back since the hold.
    assert await takes_now(b, time) <= 1


async def test_take_with_a_longest_wait_gives_up_rather_than_wait_longer() -> None:
    b, time = bucket(1, burst=1)
    assert await time.run(b.take(max_wait=5)) is True
    b.hold(10.0)
    assert await time.run(b.take(max_wait=5)) is False
    assert time.sleeps == []  # gave up at once, and spent nothing
    time.advance(10)
    assert await time.run(b.take(max_wait=5)) is True


async def test_take_gives_up_when_a_hold_lengthens_its_wait() -> None:
    b, time = bucket(1, burst=1)
    await b.take()
    waiting = asyncio.ensure_future(b.take(max_wait=5))
    await settle()
    assert time.sleeps == [1.0]
    b.hold(60.0)  # a 429 elsewhere while this one waits
    assert await time.run(waiting) is False
    assert time.monotonic() == pytest.approx(1.0)
