"""The limiter on virtual time: budgets per key, holds per key, and rates learned from 429s."""

from __future__ import annotations

import pytest

from bot.limits import DECREASE, FLOOR, QUIET, RECOVERY, Limit, Limiter
from tests.unit.virtual_time import VirtualTime

WORKSPACE = Limit("slack:T1:chat.postMessage", rate=10, burst=3)
CHANNEL = Limit("slack:T1:channel:C1", rate=1, burst=2)
OTHER_WORKSPACE = Limit("slack:T2:chat.postMessage", rate=10, burst=3)


def limiter() -> tuple[Limiter, VirtualTime]:
    time = VirtualTime()
    return Limiter(time.monotonic), time


def spend_all(lim: Limiter, *limits: Limit) -> int:
    """How many sends using `limits` may go at once."""
    spent = 0
    while lim.wait(limits) == 0 and spent < 1000:
        lim.take(limits)
        spent += 1
    return spent


def test_a_key_lets_its_burst_go_then_its_rate() -> None:
    lim, time = limiter()
    assert spend_all(lim, WORKSPACE) == 3
    assert lim.wait([WORKSPACE]) == pytest.approx(0.1)
    time.advance(0.25)
    assert spend_all(lim, WORKSPACE) == 2
    time.advance(3600)
    assert spend_all(lim, WORKSPACE) == 3  # never more than the burst saved up


def test_a_send_waits_for_the_slowest_of_its_keys() -> None:
    lim, _ = limiter()
    assert spend_all(lim, WORKSPACE, CHANNEL) == 2  # the channel's burst
    assert lim.wait([WORKSPACE, CHANNEL]) == pytest.approx(1.0)
    assert lim.short([WORKSPACE, CHANNEL]) == [CHANNEL.key]
    assert lim.wait([WORKSPACE]) == 0  # other channels of the workspace go on


def test_a_429_holds_only_its_key_for_its_retry_after() -> None:
    lim, time = limiter()
    assert lim.throttled([WORKSPACE], 30.0, key=WORKSPACE.key) == WORKSPACE.key
    assert lim.wait([WORKSPACE]) == pytest.approx(30.0)
    assert lim.wait([OTHER_WORKSPACE]) == 0  # another workspace never waits for it
    time.advance(30.0)
    assert spend_all(lim, WORKSPACE) == 1  # one send when the hold ends, then the rate


def test_a_429_naming_no_key_blames_the_narrowest_limit_in_use() -> None:
    lim, _ = limiter()
    dm = Limit("slack:T1:channel:U1", rate=1, burst=2)
    lim.take([WORKSPACE, dm])
    lim.take([WORKSPACE, Limit("slack:T1:channel:U2", rate=1, burst=2)])
    # A DM met the workspace's ceiling: the member's own key had only this send.
    assert lim.throttled([WORKSPACE, dm], 1.0) == WORKSPACE.key
    lim2, _ = limiter()
    lim2.take([WORKSPACE, CHANNEL])
    lim2.take([WORKSPACE, CHANNEL])
    # A second card in a channel within a second: the channel's.
    assert lim2.throttled([WORKSPACE, CHANNEL], 1.0) == CHANNEL.key
    assert lim2.wait([OTHER_WORKSPACE]) == 0 and lim2.wait([WORKSPACE]) == 0


def test_a_429_slows_its_key_down_once_per_hold() -> None:
    lim, time = limiter()
    lim.take([WORKSPACE])
    lim.throttled([WORKSPACE], 2.0, key=WORKSPACE.key)
    assert lim.rate(WORKSPACE.key) == pytest.approx(10 * DECREASE)
    time.advance(0.5)
    lim.throttled([WORKSPACE], 2.0, key=WORKSPACE.key)  # a send already on its way
    assert lim.rate(WORKSPACE.key) == pytest.approx(10 * DECREASE)
    time.advance(2.0)  # the hold is over: a new 429 slows it again
    lim.throttled([WORKSPACE], 1.0, key=WORKSPACE.key)
    assert lim.rate(WORKSPACE.key) == pytest.approx(10 * DECREASE**2)


def test_a_slowed_key_speeds_up_after_a_quiet_spell_up_to_its_ceiling() -> None:
    lim, time = limiter()
    lim.throttled([WORKSPACE], 1.0, key=WORKSPACE.key)
    slowed = 10 * DECREASE
    time.advance(QUIET)
    assert lim.rate(WORKSPACE.key) == pytest.approx(slowed)
    time.advance(2.0)
    assert lim.rate(WORKSPACE.key) == pytest.approx(slowed + RECOVERY * 10 * 2.0)
    time.advance(3600)
    assert lim.rate(WORKSPACE.key) == pytest.approx(10.0)  # never past the configured rate


def test_a_key_that_keeps_meeting_429s_never_drops_below_its_floor() -> None:
    lim, time = limiter()
    for _ in range(50):
        lim.throttled([WORKSPACE], 1.0, key=WORKSPACE.key)
        time.advance(1.0)
    assert lim.rate(WORKSPACE.key) == pytest.approx(10 * FLOOR)


def test_the_learned_rate_paces_the_key() -> None:
    lim, time = limiter()
    lim.throttled([WORKSPACE], 1.0, key=WORKSPACE.key)
    time.advance(1.0)
    spend_all(lim, WORKSPACE)
    assert lim.wait([WORKSPACE]) == pytest.approx(1 / (10 * DECREASE))


def test_with_two_live_senders_each_uses_half_of_every_budget() -> None:
    lim, time = limiter()
    lim.share = 0.5
    budget = Limit("slack:T1:chat.postMessage", rate=10, burst=4)
    spend_all(lim, budget)
    time.advance(1.0)
    assert spend_all(lim, budget) == 2  # half the burst
    assert lim.wait([budget]) == pytest.approx(1 / 5)  # half the rate


def test_a_send_with_no_limits_never_waits_and_a_429_holds_no_key() -> None:
    lim, _ = limiter()
    assert lim.wait([]) == 0
    assert lim.throttled([], 5.0) is None


def test_keys_at_rest_for_a_minute_are_forgotten_and_the_others_kept() -> None:
    lim, time = limiter()
    dm = Limit("slack:T1:channel:U1", rate=1, burst=2)
    lim.take([WORKSPACE, dm])
    lim.throttled([OTHER_WORKSPACE], 120.0, key=OTHER_WORKSPACE.key)  # held: remembered
    time.advance(30.0)
    assert lim.forget_idle() == 0
    time.advance(31.0)
    assert lim.forget_idle() == 2  # the workspace's and the DM's, back at rest
    assert lim.rate(dm.key) is None and lim.rate(OTHER_WORKSPACE.key) is not None
