"""Cups through the core: opting in, the admin's rhythm, a round and its intros, the
answers, the follow-up, the weekly line, and what `me`, `export` and `forget` do."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot import copy, cups
from bot.dispatch import Dispatcher
from bot.domain import Ask, MessageRef
from bot.jobs import CUPS, Jobs, Result
from bot.messages import Priority, Reply, ToGroup
from tests.fakes import Sent
from tests.unit.conftest import START, World, plain

ASYNCIO = "How do I profile asyncio code?"
MONDAY = datetime(2026, 11, 30, 10, tzinfo=UTC)  # the first round of `every … mon 10:00`
ROUND = "2026-11-30"


async def helped(world: World, helper: str, text: str = ASYNCIO, asker: str = "alice") -> Ask:
    """`asker` asks, `helper` offers and is credited when the ask is resolved."""
    ask = await world.ask(asker, text)
    await world.press(helper, copy.OFFER, str(ask.id))
    await world.submit(asker, copy.RESOLVE_FORM, str(ask.id), helpers=(helper,), note="")
    return ask


async def say(world: World, who: str, text: str) -> str:
    return "\n".join(plain(a) for a in await world.cmd(who, "payforward", text))


async def opt_in(world: World, *members: str) -> None:
    for member in members:
        await world.cmd(member, "payforward", "optin cups")


async def rhythm(world: World, value: str = "every 1w mon 10:00") -> str:
    return await say(world, "admin", f"config cups {value}")


def intros(world: World, member: str) -> list[str]:
    return [t for t in world.dms(member) if t.startswith("☕ Time for a cup")]


def intro_messages(world: World, member: str) -> list[Sent]:
    return [s for s in world.chat.sent if s.kind == "dm" and s.to == member]


async def round_of_four(world: World) -> None:
    """alice asked about asyncio and bob helped; carol and dave share nothing."""
    await helped(world, "bob")
    await opt_in(world, "alice", "bob", "carol", "dave")
    await rhythm(world)
    await world.until(MONDAY - world.clock.now())


async def test_a_round_pairs_on_topics_and_dms_each_member_naming_the_other(
    world: World,
) -> None:
    await round_of_four(world)

    [alice] = intros(world, "alice")
    assert alice.startswith("☕ Time for a cup: meet @bob!")
    assert f"Why: you asked about “{ASYNCIO}”, and @bob helped with it." in alice
    [bob] = intros(world, "bob")
    assert bob.startswith("☕ Time for a cup: meet @alice!")
    assert f"Why: @alice asked about “{ASYNCIO}”, and you helped with it." in bob
    [carol] = intros(world, "carol")
    assert carol.startswith("☕ Time for a cup: meet @dave!")
    assert "Nothing in common that I know of yet" in carol
    assert intros(world, "admin") == []  # never opted in
    [message] = [s.message for s in intro_messages(world, "alice")][-1:]
    assert [(b.action, b.label) for b in message.buttons] == [
        (cups.MET_BUTTON, "We met"),
        (cups.CANT_BUTTON, "Can't make it"),
    ]
    queued = [r.item for r in world.db.state.outbox.values() if r.item.purpose.startswith("cup:")]
    assert len(queued) == 4
    assert {i.priority for i in queued} == {Priority.BULK}
    assert all(i.purpose.startswith(f"cup:{ROUND}.") for i in queued)


async def test_a_newer_member_who_helped_is_an_upside_down_pair_and_the_intro_says_so(
    world: World,
) -> None:
    old = await world.ask("alice", ASYNCIO)  # alice: first seen now
    world.clock.advance(timedelta(days=40))
    await world.press("bob", copy.OFFER, str(old.id))  # bob: first seen 40 days later
    await world.submit("alice", copy.RESOLVE_FORM, str(old.id), helpers=("bob",), note="")
    await opt_in(world, "alice", "bob")
    await rhythm(world, "every 1w fri 11:00")  # 40 days on: a Sunday; Friday is next

    await world.until(timedelta(days=7))

    [alice] = intros(world, "alice")
    assert "Upside-down mentoring: @bob joined the community after you" in alice
    [bob] = intros(world, "bob")
    assert "Upside-down mentoring: you joined the community after @alice" in bob
    [cup] = world.db.state.cups.cups.values()
    assert cup.upside_down


async def test_opted_out_and_inactive_members_are_not_paired(world: World) -> None:
    await opt_in(world, "frank")  # active now, not in 31 days
    world.clock.advance(timedelta(days=31))
    await opt_in(world, "alice", "bob", "erin")
    await world.cmd("erin", "payforward", "optout cups")
    await rhythm(world, "every 1w fri 11:00")  # 31 days on: a Friday, 10:00

    await world.until(timedelta(hours=2))

    assert len(intros(world, "alice")) == len(intros(world, "bob")) == 1
    assert intros(world, "erin") == [] and intros(world, "frank") == []


async def test_a_listed_interest_is_said_in_the_intro(world: World) -> None:
    await world.cmd("bob", "payforward", "interests helm charts")
    await world.ask("alice", "Our helm chart values drift between clusters")
    await opt_in(world, "alice", "bob")
    await rhythm(world)

    await world.until(MONDAY - world.clock.now())

    [bob] = intros(world, "bob")
    assert "and you listed *helm charts* as a topic to help with." in bob
    [alice] = intros(world, "alice")
    assert "Why: you asked about “Our helm chart values" in alice
    assert "and @bob listed *helm charts* as a topic to help with." in alice


async def test_three_members_make_one_group_of_three(world: World) -> None:
    await opt_in(world, "alice", "bob", "carol")
    await rhythm(world)
    await world.until(MONDAY - world.clock.now())

    for member, others in (("alice", "@bob and @carol"), ("carol", "@alice and @bob")):
        [intro] = intros(world, member)
        assert intro.startswith(f"☕ Time for a cup: meet {others}!")


async def test_we_met_replaces_the_dm_and_the_weekly_post_counts_it(world: World) -> None:
    await round_of_four(world)
    [sent] = [s for s in intro_messages(world, "alice") if "Time for a cup" in s.message.plain()]
    [button] = [b for b in sent.message.buttons if b.action == cups.MET_BUTTON]

    answers = await world.press("alice", button.action, button.value, MessageRef("dm:alice", "x"))
    await world.press("bob", cups.MET_BUTTON, button.value)  # both said so: one conversation
    await world.press("carol", cups.CANT_BUTTON, f"{ROUND}.2")

    assert answers == []  # answered in place: the DM's buttons are spent
    [edited] = [s.message.plain() for s in world.chat.sent if (s.kind, s.to) == ("update", "x")]
    assert edited.startswith("☕ Glad you met @bob!")
    await world.until(timedelta(days=7))
    [post] = [p for p in world.posts() if "Pay-it-forward week" in p][-1:]
    assert "☕ 1 conversation this week" in post
    line = next(x for x in post.splitlines() if x.startswith("☕"))
    assert "@" not in line


async def test_no_conversation_no_line(world: World) -> None:
    await round_of_four(world)
    await world.press("carol", cups.CANT_BUTTON, f"{ROUND}.2")

    await world.until(timedelta(days=7))

    [post] = [p for p in world.posts() if "Pay-it-forward week" in p][-1:]
    assert "conversation" not in post


async def test_someone_elses_cup_and_a_bad_value_get_plain_refusals(world: World) -> None:
    await round_of_four(world)

    [theirs] = await world.press("carol", cups.MET_BUTTON, f"{ROUND}.1")
    [gone] = await world.press("carol", cups.MET_BUTTON, "not-a-cup")

    assert plain(theirs) == "That coffee pairing isn't yours, so there is nothing to answer."
    assert plain(gone) == "I can't find that coffee pairing any more."


async def test_one_follow_up_a_week_later_to_those_who_did_not_answer(world: World) -> None:
    await round_of_four(world)
    await world.press("alice", cups.MET_BUTTON, f"{ROUND}.1")
    await rhythm(world, "off")  # no next round in the way

    await world.until(timedelta(days=7) - timedelta(minutes=1))
    assert not any("A week ago" in t for m in ("alice", "bob") for t in world.dms(m))
    await world.until(timedelta(days=14))

    def nudges(member: str) -> list[str]:
        return [t for t in world.dms(member) if t.startswith("☕ A week ago")]

    assert nudges("alice") == []
    assert nudges("bob") == [
        "☕ A week ago I paired you with @alice. Did you meet?\n" + cups.OPT_OUT_HINT
    ]
    assert len(nudges("carol")) == len(nudges("dave")) == 1
    followed = [r.item for r in world.db.state.outbox.values() if r.item.purpose.startswith("cup_")]
    assert {i.priority for i in followed} == {Priority.BULK}
    [late] = await world.press("bob", cups.MET_BUTTON, f"{ROUND}.1")  # answering it still counts
    assert late == Reply(late.message)  # no message ref given: answered privately


async def test_a_round_runs_once_per_period_across_processes(world: World) -> None:
    await round_of_four(world)
    other = Jobs(world.db.uow, owner="another process")

    again = await other.run_due(MONDAY + timedelta(minutes=1))
    forced = await other.run(CUPS, MONDAY)
    await world.dispatcher.drain()

    assert all(r.result is Result.SETTLED for r in again + forced if r.job == CUPS)
    assert len(intros(world, "alice")) == 1


async def test_every_two_weeks_there_is_no_round_in_the_week_between(world: World) -> None:
    await opt_in(world, "alice", "bob", "carol", "dave", "erin", "finn")
    await rhythm(world, "every 2w mon 10:00")

    await world.until(MONDAY + timedelta(weeks=3) - world.clock.now())

    rounds = sorted({k[1] for k in world.db.state.cups.cups})
    assert rounds == ["2026-11-30", "2026-12-14"]


async def test_members_who_met_lately_are_not_paired_again(world: World) -> None:
    await opt_in(world, "alice", "bob")
    await rhythm(world)

    await world.until(MONDAY + timedelta(weeks=1, hours=1) - world.clock.now())

    assert len(world.db.state.cups.cups) == 1  # the second week: nobody new to meet
    assert len(intros(world, "alice")) == 1


async def test_the_intro_waits_for_the_morning_where_the_member_is(world: World) -> None:
    await opt_in(world, "alice", "bob")
    await world.cmd("bob", "payforward", "timezone Pacific/Auckland")  # 23:00 at the round
    await rhythm(world)

    await world.until(MONDAY + timedelta(days=1) - world.clock.now())

    when = {s.to: at for at, s in world.delivered if "Time for a cup" in s.message.plain()}
    assert when["alice"] == MONDAY
    assert when["bob"] == datetime(2026, 11, 30, 19, tzinfo=UTC)  # 08:00 in Auckland


async def test_a_held_intro_naming_someone_who_forgot_is_dropped(world: World) -> None:
    await opt_in(world, "alice", "bob")
    await world.cmd("bob", "payforward", "timezone Pacific/Auckland")
    await rhythm(world)
    await world.until(MONDAY - world.clock.now())
    assert len(intros(world, "alice")) == 1

    await world.press("alice", copy.FORGET_CONFIRM)
    await world.until(timedelta(days=1))

    assert intros(world, "bob") == []


async def test_config_cups_is_for_admins_validated_and_shown(world: World) -> None:
    assert "Only community admins" in await say(world, "bob", "config cups every 2w mon 10:00")
    refused = await say(world, "admin", "config cups every 3w mon 10:00")
    assert refused == (
        "Cups rounds run every 1, 2 or 4 weeks, not “3w”: `config cups every 2w mon 10:00` "
        "(every 1w, 2w or 4w, a day and a 24-hour time), or `config cups off`."
    )
    assert "Cups: off" in await say(world, "admin", "config show")

    saved = await rhythm(world, "every 2w mon 10:00")

    assert saved == (
        "Saved: cups rounds every 2 weeks, Monday 10:00, the first on Mon 30 Nov 2026, 10:00 "
        "(members join with `/payforward optin cups`)."
    )
    assert "Cups: every 2 weeks, Monday 10:00" in await say(world, "admin", "config show")
    assert await rhythm(world, "off") == "Saved: cups rounds are off."
    assert world.db.state.communities[world.community].cups is None


async def test_opting_in_says_when_the_next_round_is(world: World) -> None:
    off = await say(world, "bob", "optin cups")
    assert "Cups are off in this community until an admin turns them on" in off
    await rhythm(world)

    on = await say(world, "carol", "optin cups")
    assert "Rounds run every week, Monday 10:00; the next is Mon 30 Nov 2026, 10:00." in on
    assert "no more coffee pairings" in await say(world, "carol", "optout cups")
    assert ("test:acme", "carol") not in world.db.state.cups.optins


async def test_help_lists_the_cups_commands(world: World) -> None:
    member = await say(world, "bob", "help")
    admin = await say(world, "admin", "help")

    assert "`/payforward optin|optout cups`" in member
    assert "`/payforward config cups every 2w mon 10:00` or `off`" in admin


async def test_me_shows_my_conversations_export_has_them_forget_removes_them(
    world: World,
) -> None:
    await round_of_four(world)
    await world.press("alice", cups.MET_BUTTON, f"{ROUND}.1")

    me = await say(world, "alice", "me")
    assert "Cups: on · 1 conversation" in me
    assert "☕ Mon 30 Nov: with @bob — you met" in me
    assert "☕ Mon 30 Nov: with @alice — no answer yet" in await say(world, "bob", "me")

    await world.cmd("alice", "payforward", "export")
    [exported] = [m for m in world.chat.to("dm", "alice") if m.attachment is not None]
    data = json.loads(exported.attachment.content)  # type: ignore[union-attr]
    assert data["cups_opted_in"] is True
    [cup] = data["cups"]
    assert cup["with"] == ["bob"] and cup["your_answer"] == "met" and cup["round"] == ROUND
    assert cup["why"] == f"@alice asked about “{ASYNCIO}”, and @bob helped with it."

    await world.press("alice", copy.FORGET_CONFIRM)

    state = world.db.state.cups
    assert ("test:acme", "alice") not in state.optins
    assert all("alice" not in c.members for c in state.cups.values())
    bob_cup = state.cups[("test:acme", ROUND, 1)]
    assert bob_cup.members == ("bob",) and bob_cup.reason is not None
    assert ASYNCIO not in bob_cup.reason.plain()  # her words, quoted in bob's cup, are gone


async def test_ops_run_of_cups_is_off_for_a_community_without_rounds(world: World) -> None:
    await opt_in(world, "alice")

    [ran] = await world.jobs.run(CUPS, START)

    assert ran.result is Result.OFF


class TestSlack:
    """On Slack the intro is one group DM with both; each answers for themselves."""

    async def world(self) -> World:
        world = World()
        world.community = "slack:T1"
        world.dispatcher = Dispatcher(world.db.uow, world.clock, {"slack": world.chat}, world.bot)
        await round_of_four(world)
        return world

    async def test_one_message_to_the_group_and_no_dms(self) -> None:
        world = await self.world()

        groups = [s for s in world.chat.sent if s.kind == "post" and s.to.startswith("group:")]
        assert sorted(s.to for s in groups) == ["group:alice,bob", "group:carol,dave"]
        [ours] = [s.message.plain() for s in groups if s.to == "group:alice,bob"]
        assert ours.startswith("☕ Time for a cup: @alice and @bob, meet each other!")
        assert f"Why: @alice asked about “{ASYNCIO}”, and @bob helped with it." in ours
        assert intros(world, "alice") == []
        [item] = [
            r.item
            for r in world.db.state.outbox.values()
            if r.item.target == ToGroup.of(("alice", "bob"))
        ]
        assert item.priority is Priority.BULK

    async def test_each_answers_privately_on_the_shared_intro(self) -> None:
        world = await self.world()
        [sent] = [s for s in world.chat.sent if s.to == "group:alice,bob"]
        [met] = [b for b in sent.message.buttons if b.action == cups.MET_BUTTON]
        assert met.value == f"{ROUND}.1.g"

        [reply] = await world.press("alice", met.action, met.value, MessageRef("G1", "1.0"))
        [cant] = await world.press("bob", cups.CANT_BUTTON, met.value, MessageRef("G1", "1.0"))

        assert plain(reply).startswith("☕ Glad you met @bob!")
        assert plain(cant).startswith("No problem")
        assert world.chat.to("update", "1.0") == []  # the intro stays for the others
        seats = {
            s.member_id: s.answer for s in world.db.state.cups.cups[("slack:T1", ROUND, 1)].seats
        }
        assert seats == {"alice": cups.MET, "bob": cups.CANT}

    async def test_the_group_intro_waits_until_nobody_is_in_quiet_hours(self) -> None:
        world = World()
        world.community = "slack:T1"
        world.dispatcher = Dispatcher(world.db.uow, world.clock, {"slack": world.chat}, world.bot)
        await opt_in(world, "alice", "bob")
        await world.cmd("bob", "payforward", "timezone Pacific/Auckland")
        await rhythm(world)

        await world.until(MONDAY + timedelta(days=1) - world.clock.now())

        [(at, _)] = [(at, s) for at, s in world.delivered if s.to == "group:alice,bob"]
        assert at == datetime(2026, 11, 30, 19, tzinfo=UTC)
