from __future__ import annotations

from datetime import timedelta

from bot import copy
from bot.domain import AskStatus, GiveSource, GiveStatus, MessageRef, OfferStatus
from bot.events import CommandInvoked, ReactionAdded
from bot.messages import FieldKind, OpenForm, Reply
from tests.unit.conftest import CID, World, info, plain


async def test_ask_posts_a_card_in_the_channel_and_answers_privately(world: World) -> None:
    answers = await world.cmd("alice", "ask", "How do I profile asyncio code?")
    assert [plain(a) for a in answers] == [
        "Your ask is up as #1. I'll let you know when someone offers to help."
    ]
    [card] = world.chat.to("post", "general")
    assert card.ask_number == 1
    assert "How do I profile asyncio code?" in card.plain()
    assert [b.label for b in card.buttons] == ["I can help", "Resolved"]
    ask = await world.latest_ask()
    assert ask.message is not None and ask.status is AskStatus.OPEN


async def test_asks_are_numbered_per_community(world: World) -> None:
    await world.ask("alice", "first")
    await world.ask("bob", "second")
    world.community = "test:other"
    other = await world.ask("carol", "elsewhere")
    assert [a.number for a in sorted(world.db.state.asks.values(), key=lambda a: a.id)] == [1, 2, 1]
    assert other.community_id == "test:other"


async def test_empty_ask_gets_usage_and_posts_nothing(world: World) -> None:
    answers = await world.cmd("alice", "ask", "   ")
    assert "Usage: `/ask" in plain(answers[0])
    assert world.chat.sent == [] and world.db.state.asks == {}


async def test_overlong_ask_is_refused_and_nothing_is_posted(world: World) -> None:
    answers = await world.cmd("alice", "ask", "x" * 3001)
    assert "3,001 characters; the limit is 3,000" in plain(answers[0])
    assert world.chat.sent == [] and world.db.state.asks == {}
    await world.cmd("alice", "ask", "y" * 3000)
    assert len(world.db.state.asks) == 1


async def test_offer_by_reaction_dms_the_asker_and_updates_the_card(world: World) -> None:
    ask = await world.ask("alice")
    answers = await world.react("bob", ask)
    assert "Thanks for offering to help with #1" in plain(answers[0])
    [dm] = world.dms("alice")
    assert "@bob offered to help with #1" in dm
    [update] = world.chat.to("update", ask.message.message_id)  # type: ignore[union-attr]
    assert "Offered to help: @bob" in update.plain()
    offer = world.db.state.offers[(ask.id, "bob")]
    assert offer.status is OfferStatus.ACTIVE


async def test_offer_reaction_accepts_slack_names_and_skin_tones(world: World) -> None:
    ask = await world.ask("alice")
    await world.react("bob", ask, "raising_hand::skin-tone-3")
    await world.react("carol", ask, "🙋🏽")
    assert {m for (_, m) in world.db.state.offers} == {"bob", "carol"}


async def test_offer_on_own_ask_is_ignored(world: World) -> None:
    ask = await world.ask("alice")
    assert await world.react("alice", ask) == []
    assert world.db.state.offers == {} and world.dms("alice") == []


async def test_reaction_on_a_message_that_is_no_ask_is_ignored(world: World) -> None:
    await world.ask("alice")
    assert await world.react("bob", MessageRef("general", "not-a-card")) == []
    assert world.db.state.offers == {}


async def test_other_emoji_is_not_an_offer(world: World) -> None:
    ask = await world.ask("alice")
    assert await world.react("bob", ask, "👍") == []
    assert world.db.state.offers == {}


async def test_offer_on_a_resolved_ask_is_ignored(world: World) -> None:
    ask = await world.ask("alice")
    await world.press("alice", copy.RESOLVE, str(ask.id))
    await world.submit("alice", copy.RESOLVE_FORM, str(ask.id), helpers=(), note="")
    assert await world.react("bob", ask) == []
    assert world.db.state.offers == {}


async def test_unreact_withdraws_the_offer_quietly(world: World) -> None:
    ask = await world.ask("alice")
    await world.react("bob", ask)
    dms_before = len(world.dms("alice"))
    assert await world.react("bob", ask, added=False) == []
    assert world.db.state.offers[(ask.id, "bob")].status is OfferStatus.WITHDRAWN
    assert len(world.dms("alice")) == dms_before
    last_card = world.chat.sent[-1].message.plain()
    assert "Offered to help" not in last_card


async def test_same_reaction_event_delivered_twice_counts_once(world: World) -> None:
    ask = await world.ask("alice")
    assert ask.message is not None
    replay = ReactionAdded(
        event_id="retried-1",
        community_id=world.community,
        actor=info("bob"),
        message=ask.message,
        emoji="🙋",
    )
    assert "Thanks for offering" in plain((await world.send(replay))[0])
    world.db.state.offers.clear()  # even with the offer gone, the same event id changes nothing
    assert await world.send(replay) == []
    assert world.db.state.offers == {}
    assert len(world.dms("alice")) == 1


async def test_reacting_again_after_offering_sends_no_second_dm(world: World) -> None:
    ask = await world.ask("alice")
    await world.react("bob", ask)
    await world.react("bob", ask)
    assert len(world.dms("alice")) == 1


async def test_bots_are_never_members(world: World) -> None:
    ask = await world.ask("alice")
    assert await world.react("helperbot", ask) == []
    assert await world.cmd("helperbot", "ask", "beep") == []
    assert ("test:acme", "helperbot") not in world.db.state.members
    assert world.db.state.offers == {}


async def test_i_can_help_button_offers_and_answers_every_press(world: World) -> None:
    ask = await world.ask("alice")
    first = await world.press("bob", copy.OFFER, str(ask.id))
    again = await world.press("bob", copy.OFFER, str(ask.id))
    own = await world.press("alice", copy.OFFER, str(ask.id))
    assert "Thanks for offering" in plain(first[0])
    assert "already on the list" in plain(again[0])
    assert "your own ask" in plain(own[0])
    assert len(world.dms("alice")) == 1


async def test_resolve_opens_a_form_with_the_offerers_preselected(world: World) -> None:
    ask = await world.ask("alice")
    await world.react("bob", ask)
    await world.react("carol", ask)
    [answer] = await world.press("alice", copy.RESOLVE, str(ask.id))
    assert isinstance(answer, OpenForm)
    helpers = answer.form.fields[0]
    assert helpers.kind is FieldKind.MEMBERS
    assert helpers.initial == ("bob", "carol") and helpers.options == ("bob", "carol")


async def test_only_the_asker_can_resolve(world: World) -> None:
    ask = await world.ask("alice")
    [answer] = await world.press("bob", copy.RESOLVE, str(ask.id))
    assert isinstance(answer, Reply) and "Only @alice can mark #1 resolved" in plain(answer)
    submitted = await world.submit("bob", copy.RESOLVE_FORM, str(ask.id), helpers=("bob",), note="")
    assert "Only @alice" in plain(submitted[0])
    assert world.db.state.gives == {}


async def test_resolving_credits_each_picked_helper_with_a_confirmed_give(world: World) -> None:
    ask = await world.ask("alice")
    await world.react("bob", ask)
    await world.react("carol", ask)
    world.clock.advance(timedelta(hours=1))
    answers = await world.submit(
        "alice",
        copy.RESOLVE_FORM,
        str(ask.id),
        helpers=("bob", "carol", "alice"),
        note="so helpful",
    )
    assert "Marked #1 resolved and thanked @bob and @carol" in plain(answers[0])
    gives = sorted(world.db.state.gives.values(), key=lambda g: g.id)
    assert [(g.giver_id, g.receiver_id, g.source, g.status) for g in gives] == [
        ("bob", "alice", GiveSource.RESOLVE, GiveStatus.CONFIRMED),
        ("carol", "alice", GiveSource.RESOLVE, GiveStatus.CONFIRMED),
    ]
    assert all(g.ask_id == ask.id and g.note == "so helpful" for g in gives)
    assert "resolved #1 and credited you" in world.dms("bob")[0]
    assert world.chat.sent[-1].kind == "update"
    assert "✅ Resolved — thanks to @bob and @carol" in world.chat.sent[-1].message.plain()
    assert world.chat.sent[-1].message.buttons == ()
    assert world.db.state.asks[ask.id].status is AskStatus.RESOLVED


async def test_resolving_ignores_unknown_member_ids(world: World) -> None:
    ask = await world.ask("alice")
    await world.submit("alice", copy.RESOLVE_FORM, str(ask.id), helpers=("nobody-here",), note="")
    assert world.db.state.gives == {}
    assert world.db.state.asks[ask.id].status is AskStatus.RESOLVED


async def test_offer_before_the_card_is_delivered_is_shown_once_it_is(world: World) -> None:
    slow = CommandInvoked(
        event_id="a1",
        community_id=world.community,
        actor=info("alice"),
        channel_id="general",
        command="ask",
        text="slow card",
    )
    await world.bot.handle(slow)  # queued, not yet sent
    ask = await world.latest_ask()
    assert ask.message is None
    await world.press("bob", copy.OFFER, str(ask.id))  # drains: the card goes out, then its edit
    assert [s.kind for s in world.chat.sent] == ["post", "dm", "update"]
    assert "Offered to help: @bob" in world.chat.sent[-1].message.plain()


async def test_an_ask_keeps_the_name_its_channel_has_on_the_platform(world: World) -> None:
    for name in ("general", " help\n desk ", None):
        await world.send(
            CommandInvoked(
                event_id=world.event_id(),
                community_id=CID,
                actor=info("alice"),
                channel_id="C1" if name != " help\n desk " else "C2",
                command="ask",
                text="How do I profile asyncio code?",
                channel_name=name,
            )
        )
    async with world.db.uow() as uow:
        names = await uow.communities.channel_names(CID, ["C1", "C2"])
    assert names == {"C1": "general", "C2": "help desk"}  # an ask that didn't say keeps it
