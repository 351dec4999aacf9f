"""The dashboard's rules over fakes: sign-in links, sessions, who may see what, what the
pages hold, and the use cases behind its forms."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest

from bot import admin, copy, dashboard, routing
from bot.context import Refusal
from bot.dashboard import Access, LinkProblem, SignedIn
from bot.domain import OptOut
from bot.events import CommandInvoked, MemberInfo
from tests.unit.conftest import CID, START, World, plain

URL = "https://pf.example.com"
TOKEN = re.compile(r"/dashboard/signin/([\w-]+)")


@pytest.fixture
def site(world: World) -> World:
    world.bot.dashboard_url = URL
    return world


async def link(world: World, who: str) -> str:
    await world.cmd(who, "payforward", "dashboard")
    found = TOKEN.search(world.dms(who)[-1])
    assert found, world.dms(who)
    return found.group(1)


async def signed_in(world: World, who: str) -> SignedIn:
    signed = await dashboard.sign_in(world.db.uow, await link(world, who), world.clock.now())
    assert isinstance(signed, SignedIn)
    return signed


async def seen_by(world: World, who: str, community: str = CID) -> Access | None:
    signed = await signed_in(world, who)
    async with world.db.uow() as uow:
        viewer = await dashboard.viewer(uow, signed.token, world.clock.now())
        assert viewer is not None
        return await dashboard.access(uow, viewer, community)


# Sign-in links.


async def test_dashboard_dms_a_one_time_link_and_stores_only_its_hash(site: World) -> None:
    answers = await site.cmd("bob", "payforward", "dashboard")

    assert "sign-in link" in plain(answers[0])
    [dm] = site.dms("bob")
    assert f"{URL}/dashboard/signin/" in dm and "15 minutes" in dm
    token = TOKEN.search(dm).group(1)  # type: ignore[union-attr]
    assert len(token) >= 43  # 256 random bits
    stored = site.db.state.sign_in_links
    assert list(stored) == [dashboard.digest(token)] and token not in str(stored)


async def test_without_a_public_address_the_command_says_the_dashboard_is_off(
    world: World,
) -> None:
    answers = await world.cmd("bob", "payforward", "dashboard")

    assert "isn't switched on" in plain(answers[0])
    assert world.dms("bob") == []


async def test_at_most_five_links_an_hour(site: World) -> None:
    for _ in range(dashboard.LINKS_PER_HOUR):
        await site.cmd("bob", "payforward", "dashboard")
    refused = await site.cmd("bob", "payforward", "dashboard")

    assert "sign-in links this hour" in plain(refused[0])
    assert len(site.dms("bob")) == dashboard.LINKS_PER_HOUR
    site.clock.advance(timedelta(hours=1, minutes=1))
    await site.cmd("bob", "payforward", "dashboard")
    assert len(site.dms("bob")) == dashboard.LINKS_PER_HOUR + 1


async def test_a_link_signs_in_once(site: World) -> None:
    token = await link(site, "bob")
    now = site.clock.now()

    first = await dashboard.sign_in(site.db.uow, token, now)
    again = await dashboard.sign_in(site.db.uow, token, now)

    assert isinstance(first, SignedIn) and first.session.member_id == "bob"
    assert first.session.platform == "test" and first.community_id == CID
    assert again is LinkProblem.USED


async def test_a_link_expires_after_fifteen_minutes(site: World) -> None:
    token = await link(site, "bob")
    site.clock.advance(dashboard.LINK_TTL)

    assert await dashboard.sign_in(site.db.uow, token, site.clock.now()) is LinkProblem.EXPIRED


async def test_an_unknown_link_and_a_forgotten_members_link_sign_nobody_in(site: World) -> None:
    assert await dashboard.sign_in(site.db.uow, "made-up", START) is LinkProblem.UNKNOWN
    token = await link(site, "bob")
    await site.press("bob", "forget_confirm")

    assert await dashboard.sign_in(site.db.uow, token, site.clock.now()) is LinkProblem.UNKNOWN


async def test_signing_in_again_ends_the_session_the_browser_had(site: World) -> None:
    old = await signed_in(site, "bob")
    new = await dashboard.sign_in(
        site.db.uow, await link(site, "bob"), site.clock.now(), replacing=old.token
    )

    assert isinstance(new, SignedIn) and new.token != old.token
    async with site.db.uow() as uow:
        assert await dashboard.viewer(uow, old.token, site.clock.now()) is None
        assert await dashboard.viewer(uow, new.token, site.clock.now()) is not None


async def test_a_session_lasts_twelve_hours_and_ends_at_sign_out(site: World) -> None:
    signed = await signed_in(site, "bob")
    site.clock.advance(dashboard.SESSION_TTL - timedelta(seconds=1))
    async with site.db.uow() as uow:
        assert await dashboard.viewer(uow, signed.token, site.clock.now()) is not None

    await dashboard.sign_out(site.db.uow, signed.token)

    async with site.db.uow() as uow:
        assert await dashboard.viewer(uow, signed.token, site.clock.now()) is None


# Who may see what.


async def test_a_member_sees_their_community_and_not_another(site: World) -> None:
    site.community = "test:other"
    await site.ask("zoe", "Somewhere else")
    site.community = CID

    seen = await seen_by(site, "bob")
    assert seen is not None and seen.member.member_id == "bob" and not seen.admin
    assert await seen_by(site, "bob", "test:other") is None
    assert await seen_by(site, "bob", "slack:T1") is None  # another platform


async def test_the_admin_flag_is_the_one_the_platform_last_reported(site: World) -> None:
    seen = await seen_by(site, "admin")
    assert seen is not None and seen.admin

    demoted = MemberInfo("admin", display_name="Admin", is_admin=False)
    await site.send(
        CommandInvoked(
            event_id="demoted", community_id=CID, actor=demoted, command="payforward", text="me"
        )
    )
    assert site.db.state.members[(CID, "admin")].is_admin is False

    unknown = MemberInfo("admin", is_admin=None)  # a Discord reaction, say
    await site.send(
        CommandInvoked(
            event_id="silent", community_id=CID, actor=unknown, command="payforward", text="me"
        )
    )
    assert site.db.state.members[(CID, "admin")].is_admin is False


async def test_a_forgotten_member_sees_nothing(site: World) -> None:
    signed = await signed_in(site, "bob")
    await site.press("bob", "forget_confirm")

    async with site.db.uow() as uow:
        viewer = await dashboard.viewer(uow, signed.token, site.clock.now())
        assert viewer is not None
        assert await dashboard.access(uow, viewer, CID) is None
        assert await dashboard.communities(uow, viewer) == []


# Pages.


async def history(world: World) -> None:
    """bob helps alice, alice pays it forward to dave; erin helps and opts out."""
    world.clock.set(START - timedelta(weeks=1))
    await world.cmd("alice", "thanks", "<@bob> for the tip")
    world.clock.set(START)
    await world.cmd("dave", "thanks", "<@alice> for pairing")
    await world.cmd("carol", "thanks", "<@erin> for the notes")
    await world.cmd("erin", "give", "Slides from my talk")
    await world.cmd("erin", "ask", "Erin's own question")
    await world.cmd("frank", "ask", "Frank's question")
    await world.cmd("erin", "payforward", "optout leaderboard")


async def test_the_community_page_leaves_out_opted_out_members(site: World) -> None:
    await history(site)
    seen = await seen_by(site, "dave")
    assert seen is not None

    async with site.db.uow() as uow:
        page = await dashboard.community_page(uow, seen, site.clock.now(), 12)

    assert [s.member_id for s in page.week.table] == ["alice"]
    assert page.week.mine is None  # dave helped nobody this week
    assert [c.members for c in page.week.chains] == [("bob", "alice", "dave")]
    assert [a.asker_id for a in page.needs_help] == ["frank"]
    assert page.week.shared == []  # erin's share is hers, and she opted out
    assert "erin" not in page.names
    assert len(page.activity.weeks) == 12 and page.activity.gives[-2:] == [1, 2]
    assert page.activity.helped[-2:] == [1, 2]
    assert len(page.past_weeks) == 11 and page.past_weeks[0][1] == page.week.start


async def test_a_past_week_page_is_only_for_finished_weeks_of_the_last_year(
    site: World,
) -> None:
    await history(site)
    seen = await seen_by(site, "bob")
    assert seen is not None
    this_monday = START.date() - timedelta(days=START.weekday())
    now = site.clock.now()

    async with site.db.uow() as uow:
        last = await dashboard.week_page(uow, seen, this_monday - timedelta(days=7), now)
        assert last is not None and [s.member_id for s in last.week.table] == ["bob"]
        assert await dashboard.week_page(uow, seen, this_monday, now) is None  # under way
        assert await dashboard.week_page(uow, seen, this_monday - timedelta(days=6), now) is None
        long_ago = this_monday - timedelta(weeks=60)
        assert await dashboard.week_page(uow, seen, long_ago, now) is None


async def test_the_member_page_counts_their_help_and_finds_their_chains(site: World) -> None:
    await history(site)
    for who in ("bob", "alice", "dave"):
        seen = await seen_by(site, who)
        assert seen is not None
        async with site.db.uow() as uow:
            page = await dashboard.member_page(uow, seen, site.clock.now(), 12)
        assert [c.members for c in page.chains] == [("bob", "alice", "dave")], who
    assert page.received[-1] == 1 and sum(page.given) == 0  # dave's


async def test_the_export_is_the_same_json_as_the_command(site: World) -> None:
    await history(site)
    seen = await seen_by(site, "erin")
    assert seen is not None
    async with site.db.uow() as uow:
        exported = await dashboard.export(uow, seen, site.clock.now())

    await site.cmd("erin", "payforward", "export")
    sent = site.chat.to("dm", "erin")[-1].attachment
    assert sent is not None and sent.content == exported


# The forms' use cases.


async def test_opt_outs_are_set_to_exactly_what_was_chosen(site: World) -> None:
    seen = await seen_by(site, "bob")
    assert seen is not None
    use = dashboard.choose_opt_outs(frozenset({OptOut.PROMPTS, OptOut.REMINDERS}))

    answers = await site.bot.perform(dashboard.web_event(seen, "optouts"), use)

    assert "opted out of prompts, reminders" in plain(answers[0])
    assert site.db.state.members[(CID, "bob")].opt_outs == {OptOut.PROMPTS, OptOut.REMINDERS}
    await site.bot.perform(
        dashboard.web_event(seen, "optouts"), dashboard.choose_opt_outs(frozenset())
    )
    assert site.db.state.members[(CID, "bob")].opt_outs == frozenset()


async def test_a_setting_is_checked_as_the_command_checks_it(site: World) -> None:
    seen = await seen_by(site, "admin")
    assert seen is not None

    with pytest.raises(Refusal) as refused:
        await site.bot.perform(
            dashboard.web_event(seen, "config"), dashboard.change_setting("timezone", "Mars/Base")
        )
    command = await site.cmd("admin", "payforward", "config timezone Mars/Base")
    assert refused.value.message == command[0].message  # type: ignore[union-attr]

    saved = await site.bot.perform(
        dashboard.web_event(seen, "config"), dashboard.change_setting("leaderboard", "tue 10:30")
    )
    assert plain(saved[0]) == "Saved: the leaderboard posts Tuesday 10:30."
    assert site.db.state.communities[CID].leaderboard.weekday == 1


async def test_a_setting_needs_the_recorded_admin_flag_at_that_moment(site: World) -> None:
    seen = await seen_by(site, "admin")
    assert seen is not None
    members = site.db.state.members
    members[(CID, "admin")] = replace(members[(CID, "admin")], is_admin=False)

    with pytest.raises(Refusal) as refused:
        await site.bot.perform(
            dashboard.web_event(seen, "config"), dashboard.change_setting("timezone", "UTC")
        )
    assert "Only community admins" in refused.value.message.plain()


async def test_a_config_change_reaches_the_scheduler(site: World) -> None:
    heard: list[str] = []

    async def listen(community_id: str) -> None:
        heard.append(community_id)

    site.bot.on_config = listen
    seen = await seen_by(site, "admin")
    assert seen is not None
    await site.bot.perform(
        dashboard.web_event(seen, "config"), dashboard.change_setting("prompts", "off")
    )
    assert heard == [CID] and site.db.state.communities[CID].prompts is None


async def test_forget_is_the_commands_forget_and_ends_the_sessions(site: World) -> None:
    await site.ask("bob", "My question")
    signed = await signed_in(site, "bob")
    seen = await seen_by(site, "bob")
    assert seen is not None

    answers = await site.bot.perform(dashboard.web_event(seen, "forget"), dashboard.forget)

    assert "personal data is deleted" in plain(answers[0])
    bob = site.db.state.members[(CID, "bob")]
    assert bob.forgotten and bob.display_name is None
    assert next(iter(site.db.state.asks.values())).text == "[deleted]"
    async with site.db.uow() as uow:
        assert await dashboard.viewer(uow, signed.token, site.clock.now()) is None


# The connector on the dashboard.

ASYNCIO = "How do I profile asyncio code?"


async def connected(world: World) -> None:
    """bob helped alice before; carol's ask is routed to bob, who offers and is
    credited (a connection); frank's is routed to bob too, who says not this time."""
    ask = await world.ask("alice", ASYNCIO)
    await world.press("bob", copy.OFFER, str(ask.id))
    await world.submit("alice", copy.RESOLVE_FORM, str(ask.id), helpers=("bob",), note="")
    await world.cmd("bob", "payforward", "interests asyncio, public speaking")
    routed = await world.ask("carol", "Profiling slow asyncio coroutines")
    await world.until(timedelta(minutes=30))
    await world.press("bob", copy.OFFER, str(routed.id))
    await world.submit("carol", copy.RESOLVE_FORM, str(routed.id), helpers=("bob",), note="")
    declined = await world.ask("frank", "Tips for public speaking at a meetup?")
    await world.until(timedelta(minutes=30))
    await world.press("bob", routing.DECLINE, str(declined.id))


async def test_the_community_page_counts_connections_per_week(site: World) -> None:
    await connected(site)
    seen = await seen_by(site, "dave")
    assert seen is not None

    async with site.db.uow() as uow:
        page = await dashboard.community_page(uow, seen, site.clock.now(), 12)

    assert len(page.activity.connections) == 12
    assert page.activity.connections[-1] == 1 and sum(page.activity.connections) == 1
    start, end = page.activity.weeks[-1]
    async with site.db.uow() as uow:  # exactly what the weekly post counts
        assert await uow.connector.connections(CID, start, end) == 1


async def test_the_member_page_shows_interests_and_the_asks_routed_to_them(site: World) -> None:
    await connected(site)
    seen = await seen_by(site, "bob")
    assert seen is not None

    async with site.db.uow() as uow:
        page = await dashboard.member_page(uow, seen, site.clock.now(), 12)

    assert page.interests == ["asyncio", "public speaking"] and page.connector_on
    assert page.routed_in_all == 2
    newest, oldest = page.routed
    assert newest.ask.asker_id == "frank" and newest.route.declined_at is not None
    assert not newest.thanked
    assert oldest.ask.asker_id == "carol" and oldest.route.offered_at is not None
    assert oldest.thanked
    assert "you helped @alice with" in oldest.route.reason
    assert {"alice", "carol", "frank"} <= set(page.names)  # named in the reasons too

    other = await seen_by(site, "dave")
    assert other is not None
    async with site.db.uow() as uow:
        theirs = await dashboard.member_page(uow, other, site.clock.now(), 12)
    assert theirs.routed == [] and theirs.interests == [] and not theirs.connector_on


@pytest.mark.parametrize(
    "value",
    [
        "",
        " , ,",
        ", ".join(f"t{n}" for n in range(11)),
        "x" * 41,
        "<@bob>",
        "the, and",
    ],
)
async def test_interests_are_refused_in_the_commands_words(site: World, value: str) -> None:
    seen = await seen_by(site, "bob")
    assert seen is not None

    with pytest.raises(Refusal) as refused:
        await site.bot.perform(
            dashboard.web_event(seen, "interests"), dashboard.change_interests(value)
        )

    typed = value or ","  # an empty command shows the interests instead of refusing
    [answer] = await site.cmd("bob", "payforward", f"interests {typed}")
    assert refused.value.message == answer.message  # type: ignore[union-attr]
    async with site.db.uow() as uow:
        assert await uow.connector.interests(CID, "bob") == []


async def test_interests_are_saved_and_cleared_as_the_command_does(site: World) -> None:
    seen = await seen_by(site, "bob")
    assert seen is not None

    saved = await site.bot.perform(
        dashboard.web_event(seen, "interests"), dashboard.change_interests("python,  SQL ")
    )
    assert "Saved your interests: *python*, *SQL*" in plain(saved[0])
    async with site.db.uow() as uow:
        assert await uow.connector.interests(CID, "bob") == ["python", "SQL"]
        assert await uow.connector.opted_in(CID, "bob") is True

    cleared = await site.bot.perform(
        dashboard.web_event(seen, "interests"), dashboard.change_interests("clear")
    )
    assert "Cleared your interests" in plain(cleared[0])
    async with site.db.uow() as uow:
        assert await uow.connector.interests(CID, "bob") == []


async def test_the_connector_is_chosen_with_the_other_opt_outs(site: World) -> None:
    seen = await seen_by(site, "bob")
    assert seen is not None

    async def choose(connector: bool) -> str:
        use = dashboard.choose_opt_outs(frozenset({OptOut.PROMPTS}), connector=connector)
        return plain((await site.bot.perform(dashboard.web_event(seen, "optouts"), use))[0])

    assert "opted out of connector, prompts" in await choose(False)
    async with site.db.uow() as uow:  # never chose, left off: still undecided
        assert await uow.connector.opted_in(CID, "bob") is None
    assert "opted out of prompts." in await choose(True)
    async with site.db.uow() as uow:
        assert await uow.connector.opted_in(CID, "bob") is True
    await choose(False)
    async with site.db.uow() as uow:
        assert await uow.connector.opted_in(CID, "bob") is False
    assert site.db.state.members[(CID, "bob")].opt_outs == {OptOut.PROMPTS}


async def test_every_config_setting_has_a_form_on_the_settings_page(site: World) -> None:
    """`config KEY` as the command's usage names them, and the dashboard's list."""
    usage = admin.CONFIG_USAGE.split("config ", 1)[1]
    named = [part.split()[0] for part in usage.split(" | ")]
    assert tuple(named) == dashboard.SETTINGS


async def test_the_connector_setting_is_checked_as_the_command_checks_it(site: World) -> None:
    seen = await seen_by(site, "admin")
    assert seen is not None

    for bad in ("30s", "24h", "soon", ""):
        with pytest.raises(Refusal) as refused:
            await site.bot.perform(
                dashboard.web_event(seen, "config"), dashboard.change_setting("connector", bad)
            )
        [command] = await site.cmd("admin", "payforward", f"config connector {bad}".strip())
        if bad:
            assert refused.value.message == command.message  # type: ignore[union-attr]
    saved = await site.bot.perform(
        dashboard.web_event(seen, "config"), dashboard.change_setting("connector", "1h30m")
    )
    assert "connector: asks with no offer after 1 h 30 min" in plain(saved[0])
    assert site.db.state.communities[CID].connector_after == timedelta(minutes=90)
    await site.bot.perform(
        dashboard.web_event(seen, "config"), dashboard.change_setting("connector", "off")
    )
    assert site.db.state.communities[CID].connector_after is None
