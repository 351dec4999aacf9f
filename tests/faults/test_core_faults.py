"""The core's side of the findings, over the in-memory fakes: the bounded wait for a
database that is away, events whose community is only claimed, text that looks empty,
and what `forget` leaves behind."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from bot import copy
from bot.codec import target_member
from bot.events import ButtonPressed, MemberInfo
from bot.faults import Patience, StorageUnavailable
from bot.ports import UnitOfWork
from tests.fakes import FakeUnitOfWork
from tests.unit.conftest import CID, World, info, plain
from tests.unit.conftest import world as world


class Flaky:
    """A unit of work factory whose first `failures` units meet a database that is away."""

    def __init__(self, real: Callable[[], FakeUnitOfWork], failures: int) -> None:
        self._real = real
        self.failures = failures

    def __call__(self) -> UnitOfWork:
        if self.failures > 0:
            self.failures -= 1
            return _Down()
        return self._real()


class _Down:
    async def __aenter__(self) -> UnitOfWork:
        raise StorageUnavailable("ConnectionRefusedError: the database is away")

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


async def no_pause(_seconds: float) -> None:
    return None


async def test_an_event_waits_for_the_database_and_counts_once(world: World) -> None:
    flaky = Flaky(world.db.uow, failures=5)
    world.bot._uow = flaky  # type: ignore[assignment]
    world.bot.patience = Patience(total=60, sleep=no_pause)
    answers = await world.cmd("alice", "ask", "Does this survive a restart?")
    assert "Your ask is up as #1" in plain(answers[0])
    assert flaky.failures == 0
    async with world.db.uow() as uow:
        assert len(await uow.asks.by_asker(CID, "alice")) == 1


async def test_after_the_bounded_wait_the_member_is_told_nothing_was_saved(world: World) -> None:
    clock = [0.0]

    async def sleep(seconds: float) -> None:
        clock[0] += seconds

    world.bot._uow = Flaky(world.db.uow, failures=10**6)  # type: ignore[assignment]
    world.bot.patience = Patience(total=120, sleep=sleep, monotonic=lambda: clock[0])
    answers = await world.cmd("alice", "ask", "Anyone?")
    assert plain(answers[0]) == copy.storage_unavailable().plain()
    assert 120 <= clock[0] <= 121  # two minutes, then a plain answer


async def test_a_claimed_community_acts_only_for_its_members(world: World) -> None:
    ask = await world.ask("alice")
    stranger = ButtonPressed(
        event_id="dm-press-1",
        community_id=CID,
        actor=MemberInfo("mallory", "Mallory"),
        action=copy.OFFER,
        value=str(ask.id),
        community_from_platform=False,
    )
    answers = await world.send(stranger)
    assert plain(answers[0]) == copy.not_for_you().plain()
    async with world.db.uow() as uow:
        assert await uow.members.get(CID, "mallory") is None  # nothing saved
        assert await uow.asks.offers(ask.id) == []
    await world.cmd("bob", "payforward", "me")  # bob is a member
    member = ButtonPressed(
        event_id="dm-press-2",
        community_id=CID,
        actor=info("bob"),
        action=copy.OFFER,
        value=str(ask.id),
        community_from_platform=False,
    )
    await world.send(member)
    async with world.db.uow() as uow:
        assert [o.member_id for o in await uow.asks.offers(ask.id)] == ["bob"]


async def test_text_that_looks_empty_is_empty_in_every_command(world: World) -> None:
    blank = "\u200b\u2060\ufeff\u3164"
    for command, text in (("ask", blank), ("give", blank), ("thanks", blank)):
        answers = await world.cmd("alice", command, text)
        assert plain(answers[0]) == copy.usage(command).plain(), command
    answers = await world.cmd("alice", "give", f"<@bob> {blank}")
    assert plain(answers[0]) == copy.usage("give").plain()
    answers = await world.submit("alice", copy.SHARE_FORM, "", what=blank)
    assert "can't be empty" in plain(answers[0])
    async with world.db.uow() as uow:
        assert await uow.asks.by_asker(CID, "alice") == []
        assert await uow.gives.involving(CID, "alice") == []


async def test_a_nul_byte_never_reaches_storage(world: World) -> None:
    await world.cmd("alice", "ask", "a NUL \x00 inside")
    ask = await world.latest_ask()
    assert ask.text == "a NUL  inside"


async def test_forget_leaves_no_words_and_no_name_behind(world: World) -> None:
    ask = await world.ask("alice", "my secret onboarding troubles")
    await world.react("bob", ask)
    await world.cmd("alice", "thanks", "<@bob> quiet words of thanks")
    await world.press("alice", copy.FORGET_CONFIRM, "")
    await world.cmd("alice", "payforward", "me")  # a later command
    async with world.db.uow() as uow:
        alice = await uow.members.get(CID, "alice")
    assert alice is not None and alice.display_name is None and alice.forgotten
    for row in world.db.state.outbox.values():
        said = row.item.message.plain()
        assert "secret onboarding" not in said and "quiet words" not in said
        assert target_member(row.item.target) != "alice"  # no DM to her is kept
