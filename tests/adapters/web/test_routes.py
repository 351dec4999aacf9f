"""Every dashboard route over HTTP: signed in or not, member or admin, another
community's ids, expired and reused links, forms without their token, bad values."""

from __future__ import annotations

import html
import json
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from adapters.web import WebDeps, install, views
from adapters.web.security import CSP
from bot import dashboard
from bot.domain import Give, GiveSource, GiveStatus, OptOut
from bot.events import CommandInvoked
from bot.ports import Cup, CupSeat, Route
from tests.adapters.web.conftest import CID, OTHER, START, WebWorld, csrf

SIGN_IN_FIRST = "Please sign in"
PAGES = ["", "index.json", "weeks/2026-11-16", "me", "me.json", "me/export", "me/forget", "admin"]
FORMS = ["me/optouts", "me/interests", "me/forget", "admin"]


async def status_and_text(client: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    """The status and the page as a person reads it (entities unescaped)."""
    async with client.get(url, allow_redirects=False) as response:
        return response.status, html.unescape(await response.text())


async def token_on(client: aiohttp.ClientSession, url: str) -> str:
    async with client.get(url) as page:
        assert page.status == 200, await page.text()
        return csrf(await page.text())


async def post(
    client: aiohttp.ClientSession, url: str, data: dict[str, str] | list[tuple[str, str]]
) -> tuple[int, str, aiohttp.ClientResponse]:
    async with client.post(url, data=data, allow_redirects=False) as response:
        return response.status, html.unescape(await response.text()), response


# Signed out.


async def test_the_home_page_says_how_to_sign_in(world: WebWorld) -> None:
    async with world.client() as client, client.get(f"{world.base}/dashboard/") as home:
        assert home.status == 200
        assert "/payforward dashboard" in await home.text()
        assert home.headers["Content-Security-Policy"] == CSP
        assert "script-src" not in CSP and "'unsafe-inline'" not in CSP
        assert "frame-ancestors 'none'" in CSP
        assert home.headers["X-Frame-Options"] == "DENY"
        assert home.headers["X-Content-Type-Options"] == "nosniff"
        assert home.headers["Referrer-Policy"] == "no-referrer"
        assert home.headers["Cache-Control"] == "no-store"


async def test_the_stylesheet_is_served_and_other_routes_keep_their_headers(
    world: WebWorld,
) -> None:
    async with world.client() as client:
        async with client.get(f"{world.base}/dashboard/static/dashboard.css") as css:
            assert css.status == 200 and css.content_type == "text/css"
            assert css.headers["Cache-Control"].startswith("public")
            assert css.headers["X-Content-Type-Options"] == "nosniff"
        async with client.get(f"{world.base}/healthz") as health:
            assert await health.text() == "ok"
            assert "Content-Security-Policy" not in health.headers


@pytest.mark.parametrize("rest", PAGES)
async def test_pages_ask_to_sign_in_first(world: WebWorld, rest: str) -> None:
    await world.history()
    async with world.client() as client:
        status, text = await status_and_text(client, world.page(rest=rest))
    assert status == 401 and SIGN_IN_FIRST in text
    assert "carol" not in text.lower()


@pytest.mark.parametrize("rest", FORMS)
async def test_forms_ask_to_sign_in_first(world: WebWorld, rest: str) -> None:
    async with world.client() as client:
        status, text, _ = await post(client, world.page(rest=rest), {"csrf": "x"})
    assert status == 401 and SIGN_IN_FIRST in text


# Signing in.


async def test_opening_a_link_asks_to_confirm_and_does_not_use_it(world: WebWorld) -> None:
    link = await world.link_for("bob")
    async with world.client() as client:
        for _ in range(2):
            status, text = await status_and_text(client, link)
            assert status == 200 and "signing in as <strong>Bob</strong>" in text
        await world.open_link(client, link)


async def test_signing_in_sets_a_strict_session_cookie_and_lands_on_the_community(
    world: WebWorld,
) -> None:
    link = await world.link_for("bob")
    async with world.client() as client:
        signed = await world.open_link(client, link)
        assert signed.headers["Location"] == f"/dashboard/c/{CID}/"
        cookie = signed.cookies["pf_session"]
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
        assert cookie["path"] == "/dashboard" and not cookie["secure"]
        assert len(cookie.value) >= 43
        status, text = await status_and_text(client, world.page())
        assert status == 200 and "Sign out" in text


async def test_a_used_link_gets_a_plain_page_saying_what_to_do(world: WebWorld) -> None:
    link = await world.link_for("bob")
    async with world.client() as first:
        await world.open_link(first, link)
    async with world.client() as second:
        status, text = await status_and_text(second, link)
        assert status == 410 and "already used" in text and "/payforward dashboard" in text


async def test_a_link_used_between_the_page_and_the_button_is_refused(world: WebWorld) -> None:
    link = await world.link_for("bob")
    async with world.client() as slow, world.client() as fast:
        token = await token_on(slow, link)
        await world.open_link(fast, link)
        status, text, _ = await post(slow, link, {"csrf": token})
    assert status == 410 and "already used" in text


async def test_an_expired_link_gets_a_plain_page(world: WebWorld) -> None:
    link = await world.link_for("bob")
    async with world.client() as client:
        token = await token_on(client, link)
        world.clock.advance(dashboard.LINK_TTL)
        status, text = await status_and_text(client, link)
        assert status == 410 and "expired" in text and "15 minutes" in text
        status, _, _ = await post(client, link, {"csrf": token})
        assert status == 410


async def test_an_unknown_link_is_not_found(world: WebWorld) -> None:
    async with world.client() as client:
        status, text = await status_and_text(client, f"{world.base}/dashboard/signin/nope")
    assert status == 404 and "doesn't work" in text


async def test_the_sign_in_button_needs_its_own_token(world: WebWorld) -> None:
    link = await world.link_for("bob")
    async with world.client() as client:
        await token_on(client, link)
        status, text, _ = await post(client, link, {})
        assert status == 403 and "expired" in text
        status, _, _ = await post(client, link, {"csrf": "forged"})
        assert status == 403
        await world.open_link(client, link)  # still usable


async def test_sign_in_attempts_are_limited_per_address(world: WebWorld) -> None:
    async with world.client() as client:
        for _ in range(10):
            status, _ = await status_and_text(client, f"{world.base}/dashboard/signin/guess")
            assert status == 404
        status, text = await status_and_text(client, f"{world.base}/dashboard/signin/guess")
        assert status == 429 and "Wait a minute" in text
        world.clock.advance(timedelta(minutes=1))
        status, _ = await status_and_text(client, f"{world.base}/dashboard/signin/guess")
        assert status == 404


async def test_signing_in_again_replaces_the_session(world: WebWorld) -> None:
    async with world.client() as client:
        await world.open_link(client, await world.link_for("bob"))
        old = client.cookie_jar.filter_cookies(URL(f"{world.base}/dashboard/"))["pf_session"].value
        await world.open_link(client, await world.link_for("bob"))
        new = client.cookie_jar.filter_cookies(URL(f"{world.base}/dashboard/"))["pf_session"].value
    assert new != old
    async with world.uow() as uow:
        assert await dashboard.viewer(uow, old, world.clock.now()) is None


async def test_under_https_cookies_are_secure_and_scoped_to_the_public_path(
    world: WebWorld,
) -> None:
    app = web.Application()
    deps = WebDeps(world.uow, world.clock, world.bot, "https://pf.example.com/pf")
    install(app, deps)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        link = (await world.link_for("bob")).replace(world.base, f"http://{host}:{port}")
        # Secure cookies go back over https only: this client hands its cookie over itself.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as client:
            async with client.get(link) as page:
                text = await page.text()
                assert 'href="/pf/dashboard/static/dashboard.css"' in text
                sign_in = page.cookies["pf_signin"]
                assert sign_in["secure"] and sign_in["path"] == "/pf/dashboard"
            cookie = {"Cookie": f"pf_signin={sign_in.value}"}
            async with client.post(
                link, data={"csrf": csrf(text)}, headers=cookie, allow_redirects=False
            ) as signed:
                assert signed.status == 303
                assert signed.headers["Location"] == f"/pf/dashboard/c/{CID}/"
                session = signed.cookies["pf_session"]
        assert session["secure"] and session["path"] == "/pf/dashboard"
    finally:
        await runner.cleanup()


# Who sees what.


async def test_a_member_sees_their_community_without_opted_out_members(world: WebWorld) -> None:
    await world.history()
    async with await world.sign_in("bob") as client:
        status, page = await status_and_text(client, world.page())
        assert status == 200
        assert "Carol" in page and "Dave" in page and "PostgreSQL index primer" in page
        assert "Erin" not in page  # opted out of the leaderboard: not in the table, chains or asks
        status, data = await status_and_text(client, world.page(rest="index.json"))
        assert status == 200 and "Erin" not in data and "erin" not in data
        parsed = json.loads(data)
        assert [row["name"] for row in parsed["this_week"]["table"]] == ["Carol", "Dave"]
        assert len(parsed["per_week"]) == 12
        assert [a["text"] for a in parsed["needs_help"]] == [
            "Who knows a good PostgreSQL index primer?"
        ]


async def test_another_communitys_pages_are_not_found_and_say_nothing(world: WebWorld) -> None:
    await world.history()
    async with await world.sign_in("bob") as client:
        for rest in PAGES:
            other = await status_and_text(client, world.page(OTHER, rest))
            missing = await status_and_text(client, world.page("test:nowhere", rest))
            assert other[0] == missing[0] == 404, rest
            assert other[1] == missing[1]  # nothing tells the two apart
            assert "Zoe" not in other[1] and "another community" not in other[1]
        for rest in FORMS:
            status, _, _ = await post(client, world.page(OTHER, rest), {"csrf": "x"})
            assert status == 404


async def test_a_member_of_two_communities_sees_both_listed(world: WebWorld) -> None:
    await world.cmd("bob", "payforward", "me", community=OTHER)
    async with await world.sign_in("bob") as client:
        _, home = await status_and_text(client, f"{world.base}/dashboard/")
        assert f"/dashboard/c/{CID}/" in home and f"/dashboard/c/{OTHER}/" in home
        status, _ = await status_and_text(client, world.page(OTHER))
        assert status == 200


async def test_settings_are_for_admins_only(world: WebWorld) -> None:
    async with await world.sign_in("bob") as client:
        status, text = await status_and_text(client, world.page(rest="admin"))
        assert status == 403 and "admins" in text
        token = await token_on(client, world.page(rest="me"))
        data = {"csrf": token, "setting": "timezone", "timezone": "Europe/Berlin"}
        status, _, _ = await post(client, world.page(rest="admin"), data)
        assert status == 403
    async with world.uow() as uow:
        community = await uow.communities.get(CID)
    assert community is not None and community.timezone == "UTC"


async def test_admin_status_is_checked_again_on_every_request(world: WebWorld) -> None:
    async with await world.sign_in("alice") as client:
        status, _ = await status_and_text(client, world.page(rest="admin"))
        assert status == 200
        token = await token_on(client, world.page(rest="admin"))
        world.admins.discard("alice")  # no longer an admin on the platform …
        await world.cmd("alice", "payforward", "me")  # … which her next event says
        status, _ = await status_and_text(client, world.page(rest="admin"))
        assert status == 403
        data = {"csrf": token, "setting": "timezone", "timezone": "Europe/Berlin"}
        status, _, _ = await post(client, world.page(rest="admin"), data)
        assert status == 403


async def test_period_and_week_addresses_are_checked(world: WebWorld) -> None:
    await world.history()
    async with await world.sign_in("bob") as client:
        assert (await status_and_text(client, world.page(rest="?weeks=52")))[0] == 200
        status, text = await status_and_text(client, world.page(rest="?weeks=7"))
        assert status == 400 and "12 or 52" in text
        status, text = await status_and_text(client, world.page(rest="weeks/2026-11-16.json"))
        assert status == 200 and json.loads(text)["week"]["table"][0]["name"] == "Carol"
        for day in ("2026-11-23", "2026-11-17", "1999-01-04", "yesterday"):
            status, _ = await status_and_text(client, world.page(rest=f"weeks/{day}"))
            assert status == 404, day


# Forms.


async def test_opt_outs_need_the_forms_token(world: WebWorld) -> None:
    async with await world.sign_in("bob") as client:
        for data in ({"optout": "prompts"}, {"optout": "prompts", "csrf": "forged"}):
            status, text, _ = await post(client, world.page(rest="me/optouts"), data)
            assert status == 403 and "reload the page" in text
    async with world.uow() as uow:
        bob = await uow.members.get(CID, "bob")
    assert bob is not None and bob.opt_outs == frozenset()


async def test_opt_outs_are_saved_and_said_once(world: WebWorld) -> None:
    async with await world.sign_in("bob") as client:
        token = await token_on(client, world.page(rest="me"))
        data = [("csrf", token), ("optout", "prompts"), ("optout", "reminders")]
        status, _, saved = await post(client, world.page(rest="me/optouts"), data)
        assert status == 303 and saved.headers["Location"] == f"/dashboard/c/{CID}/me"
        _, page = await status_and_text(client, world.page(rest="me"))
        assert "opted out of prompts, reminders" in page
        _, again = await status_and_text(client, world.page(rest="me"))
        assert "opted out of prompts, reminders" not in again
        status, _, _ = await post(
            client, world.page(rest="me/optouts"), {"csrf": token, "optout": "everything"}
        )
        assert status == 400
    async with world.uow() as uow:
        bob = await uow.members.get(CID, "bob")
    assert bob is not None and bob.opt_outs == {OptOut.PROMPTS, OptOut.REMINDERS}
    assert world.kicks == 1


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"setting": "timezone", "timezone": "Mars/Olympus"}, "isn't a timezone I know"),
        ({"setting": "timezone", "timezone": ""}, "isn't a timezone I know"),
        ({"setting": "leaderboard", "day": "someday", "time": "09:00"}, "I need a day"),
        ({"setting": "prompts", "day": "fri", "time": "25:00"}, "(or `prompts off`)"),
        ({"setting": "emoji", "emoji": "not an emoji"}, "Give one emoji"),
        ({"setting": "channel", "channel": ""}, "Name the channel"),
        ({"setting": "connector", "connector": "24h"}, "between 1 minute and 23 hours"),
        ({"setting": "connector", "connector": ""}, "`connector 30m`, `connector 2h`"),
        ({"setting": "cups", "every": "3w", "day": "mon", "time": "10:00"}, "every 1w, 2w or 4w"),
    ],
)
async def test_bad_settings_get_the_commands_own_words(
    world: WebWorld, fields: dict[str, str], said: str
) -> None:
    async with await world.sign_in("alice") as client:
        token = await token_on(client, world.page(rest="admin"))
        status, text, _ = await post(client, world.page(rest="admin"), {"csrf": token, **fields})
    assert status == 400
    assert said.replace("`", "") in text.replace("<code>", "").replace("</code>", "")
    assert 'class="problem"' in text
    async with world.uow() as uow:
        community = await uow.communities.get(CID)
    assert community is not None and community.timezone == "UTC" and community.prompts


@pytest.mark.parametrize(
    "fields",
    [
        {"setting": "nonsense"},
        {"setting": "channel", "channel": "<#C1> config timezone"},
        {"setting": "timezone"},
    ],
)
async def test_forms_that_are_not_the_pages_are_refused(
    world: WebWorld, fields: dict[str, str]
) -> None:
    async with await world.sign_in("alice") as client:
        token = await token_on(client, world.page(rest="admin"))
        status, text, _ = await post(client, world.page(rest="admin"), {"csrf": token, **fields})
    assert status == 400 and "Use the forms on the page" in text


async def test_settings_are_saved_like_the_command_saves_them(world: WebWorld) -> None:
    await world.cmd("bob", "ask", "Anyone?", channel="help-desk")
    heard: list[str] = []

    async def listen(community_id: str) -> None:
        heard.append(community_id)

    world.bot.on_config = listen
    async with await world.sign_in("alice") as client:
        admin = world.page(rest="admin")
        token = await token_on(client, admin)
        for fields, said in (
            (
                {"setting": "timezone", "timezone": "Europe/Berlin"},
                "Saved: timezone Europe/Berlin.",
            ),
            ({"setting": "leaderboard", "day": "tue", "time": "10:30"}, "Tuesday 10:30"),
            ({"setting": "prompts", "day": "off", "time": "15:00"}, "prompts are off"),
            ({"setting": "emoji", "emoji": "🙏"}, "offers are made with 🙏"),
            ({"setting": "channel", "channel": "help-desk"}, "the weekly post goes"),
            ({"setting": "connector", "connector": "2h"}, "after 2 h go to likely helpers"),
            ({"setting": "cups", "every": "2w", "day": "wed", "time": "11:00"}, "cups rounds"),
        ):
            status, _, saved = await post(client, admin, {"csrf": token, **fields})
            assert status == 303 and saved.headers["Location"] == f"/dashboard/c/{CID}/admin"
            _, page = await status_and_text(client, admin)
            assert said in page
        assert '<option value="help-desk" selected>' in page
    async with world.uow() as uow:
        community = await uow.communities.get(CID)
    assert community is not None
    assert (community.timezone, community.leaderboard.weekday) == ("Europe/Berlin", 1)
    assert community.prompts is None and community.offer_emoji == "pray"
    assert community.channel_id == "help-desk"
    assert community.connector_after == timedelta(hours=2)
    assert 'id="connector" name="connector" value="2h"' in page
    assert community.cups is not None and community.cups.weeks == 2
    assert (community.cups.schedule.weekday, community.cups.schedule.at.hour) == (2, 11)
    assert '<option value="2w" selected>' in page
    assert heard == [CID] * 7


async def test_settings_name_channels_as_the_platform_does(world: WebWorld) -> None:
    await world.bot.handle(
        CommandInvoked(
            event_id="ev-named",
            community_id=CID,
            actor=world.info("bob"),
            channel_id="C0HELP",
            command="ask",
            text="Anyone?",
            channel_name="help-desk",
        )
    )
    await world.cmd("bob", "ask", "And here?", channel="C0QUIET")  # a channel never named
    async with await world.sign_in("alice") as client:
        _, page = await status_and_text(client, world.page(rest="admin"))
    assert '<option value="C0HELP">#help-desk</option>' in page
    assert '<option value="C0QUIET">#C0QUIET</option>' in page


async def test_every_config_setting_has_its_form(world: WebWorld) -> None:
    async with await world.sign_in("alice") as client:
        _, page = await status_and_text(client, world.page(rest="admin"))
    for key in dashboard.SETTINGS:
        assert f'name="setting" value="{key}"' in page, key


async def test_the_export_downloads_as_the_commands_json(world: WebWorld) -> None:
    await world.history()
    client = await world.sign_in("carol")
    async with client, client.get(world.page(rest="me/export")) as download:
        assert download.status == 200 and download.content_type == "application/json"
        assert "attachment" in download.headers["Content-Disposition"]
        exported = await download.text()
    await world.cmd("carol", "payforward", "export")
    sent = world.chat.to("dm", "carol")[-1].attachment
    assert sent is not None
    mine, theirs = json.loads(exported), json.loads(sent.content)
    mine.pop("exported_at"), theirs.pop("exported_at")
    assert mine == theirs and mine["member"]["id"] == "carol"


async def test_forget_asks_first_then_forgets_and_signs_out(world: WebWorld) -> None:
    await world.cmd("bob", "ask", "Bob's question")
    async with await world.sign_in("bob") as client:
        forget = world.page(rest="me/forget")
        status, text = await status_and_text(client, forget)
        assert status == 200 and "Yes, forget me" in text and "Sure?" in text
        token = csrf(text)
        status, _, _ = await post(client, forget, {})
        assert status == 403
        status, text, _ = await post(client, forget, {"csrf": token})
        assert status == 200 and "personal data is deleted" in text
        status, _ = await status_and_text(client, world.page())
        assert status == 401
    async with world.uow() as uow:
        bob = await uow.members.get(CID, "bob")
        ask = await uow.asks.by_number(CID, 1)
    assert bob is not None and bob.forgotten and bob.display_name is None
    assert ask is not None and ask.text == "[deleted]"


async def test_sign_out_needs_the_token_and_ends_the_session(world: WebWorld) -> None:
    async with await world.sign_in("bob") as client:
        token = await token_on(client, world.page())
        status, _, _ = await post(client, f"{world.base}/dashboard/signout", {})
        assert status == 403
        assert (await status_and_text(client, world.page()))[0] == 200
        status, _, out = await post(client, f"{world.base}/dashboard/signout", {"csrf": token})
        assert status == 303 and out.headers["Location"] == "/dashboard/"
        _, home = await status_and_text(client, f"{world.base}/dashboard/")
        assert "You're signed out." in home
        assert (await status_and_text(client, world.page()))[0] == 401


async def test_pages_render_at_the_start_of_a_week_with_no_help_yet(world: WebWorld) -> None:
    world.clock.set(START.replace(day=23, hour=0, minute=1))  # Monday just after midnight
    async with await world.sign_in("bob") as client:
        status, page = await status_and_text(client, world.page())
        assert status == 200 and "No confirmed help yet" in page
        assert (await status_and_text(client, world.page(rest="me")))[0] == 200


# The connector.


async def connect(world: WebWorld) -> None:
    """An ask routed to bob that he helped with (a connection, this week), and one
    he said *Not this time* to."""
    await world.cmd("bob", "payforward", "interests PostgreSQL, talks")
    await world.cmd("frank", "ask", "Reading a PostgreSQL query plan?")
    await world.cmd("dave", "ask", "Any tips for a first conference talk?")
    now = world.clock.now()
    async with world.uow() as uow:
        helped, declined = await uow.asks.by_number(CID, 1), await uow.asks.by_number(CID, 2)
        assert helped is not None and declined is not None
        for ask, why in ((helped, "you listed *PostgreSQL*"), (declined, "you listed *talks*")):
            await uow.connector.add_route(Route(ask.id, "bob", CID, now, 1, why))
        await uow.connector.mark_offered(helped.id, "bob", now)
        await uow.connector.decline(declined.id, "bob", now)
        give = Give(
            0,
            CID,
            "bob",
            "frank",
            GiveSource.RESOLVE,
            GiveStatus.CONFIRMED,
            now,
            ask_id=helped.id,
            confirmed_at=now,
        )
        await uow.gives.add(give)
        await uow.commit()


async def test_connections_per_week_are_charted_and_in_the_json(world: WebWorld) -> None:
    await connect(world)
    async with await world.sign_in("carol") as client:
        _, page = await status_and_text(client, world.page())
        assert "Connections per week" in page
        assert "Asks resolved by a member the connector reached" in page
        assert "will appear here" not in page
        _, data = await status_and_text(client, world.page(rest="index.json?weeks=52"))
    per_week = json.loads(data)["per_week"]
    assert len(per_week) == 52 and per_week[-1]["connections"] == 1
    assert sum(w["connections"] for w in per_week) == 1


async def test_the_member_page_shows_what_the_connector_sent_and_what_they_did(
    world: WebWorld,
) -> None:
    await connect(world)
    async with await world.sign_in("bob") as client:
        _, page = await status_and_text(client, world.page(rest="me"))
        assert 'value="PostgreSQL, talks"' in page
        assert "Reading a PostgreSQL query plan?" in page and "You offered to help" in page
        assert "Any tips for a first conference talk?" in page and "Not this time" in page
        assert "you listed <strong>PostgreSQL</strong>" in page
        assert '<input type="checkbox" name="optout" value="connector">' in page  # on
        _, data = await status_and_text(client, world.page(rest="me.json"))
    mine = json.loads(data)
    assert mine["interests"] == ["PostgreSQL", "talks"] and mine["connector_opted_in"]
    assert [(r["ask"], r["did"], r["thanked"]) for r in mine["routed_to_me"]] == [
        (2, "not_this_time", False),
        (1, "offered", True),
    ]
    async with await world.sign_in("carol") as client:  # nothing of bob's
        _, page = await status_and_text(client, world.page(rest="me"))
    assert "query plan" not in page and "None yet." in page


async def test_interests_need_the_forms_token(world: WebWorld) -> None:
    async with await world.sign_in("bob") as client:
        for data in ({"interests": "python"}, {"interests": "python", "csrf": "forged"}):
            status, _, _ = await post(client, world.page(rest="me/interests"), data)
            assert status == 403
    async with world.uow() as uow:
        assert await uow.connector.interests(CID, "bob") == []


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("", "Name at least one topic"),
        (", ".join(f"t{n}" for n in range(11)), "That's 11 topics; the limit is 10"),
        ("y" * 41, "a topic can have at most 40. Nothing was saved."),
        ("<@carol>", "Topics are words, not people or channels"),
    ],
)
async def test_bad_interests_get_the_commands_own_words_and_stay_in_the_field(
    world: WebWorld, typed: str, said: str
) -> None:
    await world.cmd("bob", "payforward", "interests python")
    async with await world.sign_in("bob") as client:
        token = await token_on(client, world.page(rest="me"))
        status, page, _ = await post(
            client, world.page(rest="me/interests"), {"csrf": token, "interests": typed}
        )
    assert status == 400 and said in page and 'class="problem"' in page
    assert f'name="interests" value="{typed}"' in page
    async with world.uow() as uow:
        assert await uow.connector.interests(CID, "bob") == ["python"]


async def test_interests_are_saved_cleared_and_said_once(world: WebWorld) -> None:
    async with await world.sign_in("bob") as client:
        me = world.page(rest="me")
        token = await token_on(client, me)
        form = world.page(rest="me/interests")
        status, _, saved = await post(client, form, {"csrf": token, "interests": "Go, SQL"})
        assert status == 303 and saved.headers["Location"] == f"/dashboard/c/{CID}/me"
        _, page = await status_and_text(client, me)
        assert "Saved your interests: *Go*, *SQL*" in page and 'value="Go, SQL"' in page
        assert "It is <strong>on</strong> for you" in page
        status, _, _ = await post(client, form, {"csrf": token, "interests": "x", "clear": "1"})
        assert status == 303
        _, page = await status_and_text(client, me)
        assert "Cleared your interests" in page and 'name="interests" value=""' in page
        status, text, _ = await post(client, form, {"csrf": token})
        assert status == 400 and "Use the forms on the page" in text
    async with world.uow() as uow:
        assert await uow.connector.interests(CID, "bob") == []
        assert await uow.connector.opted_in(CID, "bob") is True  # as the command leaves it
    assert world.kicks == 2


async def test_the_connector_is_an_opt_out_like_the_others(world: WebWorld) -> None:
    await world.cmd("bob", "payforward", "optin connector")
    async with await world.sign_in("bob") as client:
        token = await token_on(client, world.page(rest="me"))
        data = [("csrf", token), ("optout", "connector")]
        status, _, _ = await post(client, world.page(rest="me/optouts"), data)
        assert status == 303
        _, page = await status_and_text(client, world.page(rest="me"))
        assert "opted out of connector" in page and "It is <strong>off</strong>" in page
        await post(client, world.page(rest="me/optouts"), {"csrf": token})
    async with world.uow() as uow:
        assert await uow.connector.opted_in(CID, "bob") is True


def test_why_the_connector_chose_a_member_names_people_and_stresses_topics() -> None:
    reason = "you helped @U2 with “Flaky @pytest runs” and you listed *python* and *CI*"
    assert views.because(reason, {"U2": "Bob"}) == [
        (False, "you helped @Bob with “Flaky @pytest runs” and you listed "),
        (True, "python"),
        (False, " and "),
        (True, "CI"),
    ]
    assert views.because("you listed *SQL*", {}) == [(False, "you listed "), (True, "SQL")]


# Cups.


async def test_conversations_per_week_are_charted_and_in_the_json(world: WebWorld) -> None:
    now = world.clock.now()
    async with world.uow() as uow:
        seats = (CupSeat("bob"), CupSeat("carol"))
        await uow.cups.add_round([Cup(CID, "2026-11-16", 1, now, seats)])
        await uow.cups.answer(CID, "2026-11-16", 1, "bob", "met", now)
        await uow.commit()
    async with await world.sign_in("carol") as client:
        _, page = await status_and_text(client, world.page())
        assert "Conversations per week" in page
        assert "Cups rounds are off in this community." in page
        _, data = await status_and_text(client, world.page(rest="index.json"))
    per_week = json.loads(data)["per_week"]
    assert [week["conversations"] for week in per_week][-1] == 1
    assert sum(week["conversations"] for week in per_week) == 1
