"""The weekly "what have you shared lately?" prompt, its buttons and its share form."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot import copy, jobs, prompts
from bot.domain import GiveSource, GiveStatus, MessageRef
from bot.messages import OpenForm, Reply
from tests.unit.conftest import CID, START, World

FRIDAY = datetime(2026, 11, 27, 15, tzinfo=UTC)


def prompted(world: World, member: str) -> list[datetime]:
    return [at for at, t in world.sent_at("dm", member) if t.startswith("What have you shared")]


async def active(world: World, *names: str) -> None:
    for name in names:
        await world.cmd(name, "payforward", "me")


async def test_members_active_in_the_last_30_days_are_prompted_on_friday(world: World) -> None:
    await active(world, "alice", "bob")
    key = (CID, "carol")
    await active(world, "carol")
    carol = world.db.state.members[key]
    world.db.state.members[key] = replace(carol, last_active_at=START - timedelta(days=31))

    await world.until(timedelta(days=4))

    assert prompted(world, "alice") == [FRIDAY]
    assert prompted(world, "bob") == [FRIDAY]
    assert prompted(world, "carol") == []
    [dm] = [m for m in world.chat.to("dm", "alice") if m.buttons]
    assert [b.label for b in dm.buttons] == ["Share something", "Nothing this week", "Pause these"]


async def test_prompts_wait_for_morning_in_the_members_timezone(world: World) -> None:
    await world.cmd("alice", "payforward", "timezone Asia/Tokyo")  # what Discord members do

    await world.until(timedelta(days=4))

    assert prompted(world, "alice") == [datetime(2026, 11, 27, 23, tzinfo=UTC)]  # Sat 08:00


async def test_opted_out_members_and_prompts_off_get_none(world: World) -> None:
    await active(world, "alice", "bob")
    await world.cmd("bob", "payforward", "optout prompts")
    await world.until(timedelta(days=4))
    assert prompted(world, "bob") == [] and prompted(world, "alice") == [FRIDAY]

    await world.cmd("admin", "payforward", "config prompts off")
    await world.until(timedelta(days=7))
    assert prompted(world, "alice") == [FRIDAY]


async def test_pause_these_stops_next_weeks_prompt(world: World) -> None:
    await active(world, "alice")
    await world.until(timedelta(days=4))

    [answer] = await world.press("alice", copy.PAUSE_PROMPTS)

    assert isinstance(answer, Reply) and "Paused" in answer.message.plain()
    await world.until(timedelta(days=7))
    assert prompted(world, "alice") == [FRIDAY]


async def test_nothing_this_week_replaces_the_prompt_in_place(world: World) -> None:
    await active(world, "alice")
    await world.until(timedelta(days=4))
    prompt = world.delivered[-1][1]
    ref = MessageRef(f"dm:{prompt.to}", f"m{len(world.chat.sent)}")

    answers = await world.press("alice", copy.NOTHING_THIS_WEEK, message=ref)

    assert answers == []
    [(_, update)] = world.sent_at("update", ref.message_id)
    assert "see you next week" in update


async def test_sharing_with_a_member_becomes_a_give_they_confirm(world: World) -> None:
    await active(world, "alice", "bob")
    [form] = await world.press("alice", copy.SHARE)
    assert isinstance(form, OpenForm) and form.form.form == copy.SHARE_FORM

    [thanks] = await world.submit(
        "alice", copy.SHARE_FORM, "", what="Reviewed bob's PR", public=True, **{"with": "bob"}
    )

    assert "asked @bob to confirm" in thanks.message.plain()  # type: ignore[union-attr]
    [give] = world.db.state.gives.values()
    assert (give.source, give.status, give.share_ok) == (
        GiveSource.PROMPT,
        GiveStatus.PENDING,
        True,
    )
    assert [m for m in world.chat.to("dm", "bob") if m.buttons]
    await world.press("bob", copy.CONFIRM_GIVE, str(give.id))
    assert world.db.state.gives[give.id].status is GiveStatus.CONFIRMED


async def test_sharing_with_everyone_is_listed_only_with_consent(world: World) -> None:
    await world.ask("carol")  # gives the weekly post a channel
    await world.submit("alice", copy.SHARE_FORM, "", what="Wrote a guide to py-spy", public=True)
    await world.submit("bob", copy.SHARE_FORM, "", what="A private kindness", public=False)

    await world.until(timedelta(days=7))

    [post] = [t for _, t in world.sent_at("post", "general") if "Pay-it-forward week" in t]
    assert "Shared with everyone" in post and "@alice: Wrote a guide to py-spy" in post
    assert "private kindness" not in post


@pytest.mark.parametrize(
    ("fields", "refusal"),
    [
        ({"what": "  "}, "can't be empty"),
        ({"what": "x" * 1001}, "under 1,000"),
        ({"what": "Helped", "with": "alice"}, "yourself"),
    ],
)
async def test_a_bad_share_is_refused_and_nothing_is_saved(
    world: World, fields: dict[str, object], refusal: str
) -> None:
    [answer] = await world.submit("alice", copy.SHARE_FORM, "", **fields)

    assert isinstance(answer, Reply) and refusal in answer.message.plain()
    assert world.db.state.gives == {}


async def test_a_big_community_is_prompted_a_page_at_a_time_and_resumed_after_a_crash(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prompts, "PAGE", 2)
    names = [f"m{i}" for i in range(5)]
    await active(world, *names)
    world.clock.set(FRIDAY)
    real_page = prompts.send_page
    calls = 0

    async def crash_on_second_page(*args: object) -> str | None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the process died")
        return await real_page(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(prompts, "send_page", crash_on_second_page)
    with pytest.raises(RuntimeError):
        await world.jobs.run_due(FRIDAY)
    await world.dispatcher.drain()
    assert sum(len(prompted(world, n)) for n in names) == 2  # the first page went out

    other = jobs.Jobs(world.db.uow, owner="other")
    world.clock.set(FRIDAY + jobs.LEASE + timedelta(seconds=1))
    await other.run_due(world.clock.now())
    await world.dispatcher.drain()

    assert [len(prompted(world, n)) for n in names] == [1, 1, 1, 1, 1]
