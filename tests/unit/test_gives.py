from __future__ import annotations

from bot import copy
from bot.domain import GiveSource, GiveStatus
from bot.messages import Reply
from tests.unit.conftest import World, plain


def gives(world: World) -> list[tuple[str, str | None, GiveSource, GiveStatus]]:
    return [
        (g.giver_id, g.receiver_id, g.source, g.status)
        for g in sorted(world.db.state.gives.values(), key=lambda g: g.id)
    ]


async def test_thanks_records_a_confirmed_give_from_that_member_to_me(world: World) -> None:
    answers = await world.cmd("alice", "thanks", "<@bob> for the py-spy tip")
    assert plain(answers[0]) == "Thanks sent to @bob. It counts on this week's board."
    assert gives(world) == [("bob", "alice", GiveSource.THANKS, GiveStatus.CONFIRMED)]
    assert "@alice thanked you: “for the py-spy tip”" in world.dms("bob")[0]


async def test_thanks_links_the_open_ask_the_helper_offered_on(world: World) -> None:
    ask = await world.ask("alice")
    await world.react("bob", ask)
    await world.cmd("alice", "thanks", "<@bob>")
    [give] = world.db.state.gives.values()
    assert give.ask_id == ask.id and give.note is None


async def test_self_thanks_is_refused_and_nothing_is_saved(world: World) -> None:
    answers = await world.cmd("alice", "thanks", "<@alice> me")
    assert "You can't thank yourself" in plain(answers[0])
    assert world.db.state.gives == {} and world.chat.sent == []


async def test_thanks_without_a_member_gets_usage(world: World) -> None:
    assert "Usage: `/thanks @member" in plain((await world.cmd("alice", "thanks", ""))[0])
    assert "Usage: `/thanks @member" in plain((await world.cmd("alice", "thanks", "great job"))[0])


async def test_unknown_members_get_a_plain_answer(world: World) -> None:
    named = await world.cmd("alice", "thanks", "@zed for everything")
    assert "couldn't find a member called @zed" in plain(named[0])
    unresolved = await world.cmd("alice", "thanks", "<@ghost1> hi")
    assert "couldn't find that member" in plain(unresolved[0])
    assert world.db.state.gives == {}


async def test_bots_cannot_be_thanked_or_given_to(world: World) -> None:
    assert "Bots can't" in plain((await world.cmd("alice", "thanks", "<@helperbot>"))[0])
    assert "Bots can't" in plain((await world.cmd("alice", "give", "<@helperbot> a fix"))[0])
    assert world.db.state.gives == {}


async def test_overlong_note_is_refused(world: World) -> None:
    answers = await world.cmd("alice", "thanks", "<@bob> " + "x" * 1001)
    assert "under 1,000 characters" in plain(answers[0])
    assert world.db.state.gives == {}


async def test_reported_give_waits_for_the_receiver(world: World) -> None:
    answers = await world.cmd("alice", "give", "<@bob> reviewed his talk slides")
    assert "asked @bob to confirm" in plain(answers[0])
    assert gives(world) == [("alice", "bob", GiveSource.REPORT, GiveStatus.PENDING)]
    [request] = world.chat.to("dm", "bob")
    assert "@alice says they helped you: “reviewed his talk slides”" in request.plain()
    assert [b.label for b in request.buttons] == ["Yes, this helped", "Not really"]


async def test_confirming_a_reported_give_makes_it_count(world: World) -> None:
    await world.cmd("alice", "give", "<@bob> reviewed his slides")
    [give] = world.db.state.gives.values()
    dm_ref = world.db.state.outbox  # the request DM's own message is edited in place
    assert dm_ref
    from bot.domain import MessageRef

    answers = await world.press("bob", copy.CONFIRM_GIVE, str(give.id), MessageRef("dm:bob", "m9"))
    assert answers == []
    assert gives(world) == [("alice", "bob", GiveSource.REPORT, GiveStatus.CONFIRMED)]
    assert world.chat.sent[-2].kind == "update" or world.chat.sent[-1].kind == "update"
    assert any("confirmed your help" in dm for dm in world.dms("alice"))
    again = await world.press("bob", copy.DECLINE_GIVE, str(give.id))
    assert "already answered" in plain(again[0])


async def test_declining_records_nothing_and_tells_no_one(world: World) -> None:
    await world.cmd("alice", "give", "<@bob> something")
    [give] = world.db.state.gives.values()
    answers = await world.press("bob", copy.DECLINE_GIVE, str(give.id))
    assert "nothing recorded" in plain(answers[0])
    assert gives(world) == [("alice", "bob", GiveSource.REPORT, GiveStatus.DECLINED)]
    assert world.dms("alice") == []


async def test_only_the_receiver_can_confirm(world: World) -> None:
    await world.cmd("alice", "give", "<@bob> something")
    [give] = world.db.state.gives.values()
    for who in ("alice", "carol"):
        answers = await world.press(who, copy.CONFIRM_GIVE, str(give.id))
        assert isinstance(answers[0], Reply) and "isn't yours" in plain(answers[0])
    assert gives(world)[0][3] is GiveStatus.PENDING


async def test_give_to_the_community_is_listed_never_scored(world: World) -> None:
    answers = await world.cmd("alice", "give", "a guide to asyncio profiling: https://example.org")
    assert "listed in the weekly post" in plain(answers[0])
    assert gives(world) == [("alice", None, GiveSource.COMMUNITY, GiveStatus.CONFIRMED)]
    board = await world.cmd("carol", "payforward", "leaderboard")
    assert "@alice" not in plain(board[0])


async def test_give_without_text_gets_usage(world: World) -> None:
    assert "Usage: `/give" in plain((await world.cmd("alice", "give", ""))[0])
    assert "Usage: `/give" in plain((await world.cmd("alice", "give", "<@bob>"))[0])
    assert world.db.state.gives == {}


async def test_self_give_is_refused(world: World) -> None:
    assert "can't log a give to yourself" in plain(
        (await world.cmd("alice", "give", "<@alice> x"))[0]
    )
