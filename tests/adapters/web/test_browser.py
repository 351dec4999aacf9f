"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright.

A console session (the real console adapter, piped) builds a month of help and asks
for a sign-in link; its `[DM @alice]` block carries the link. The browser signs in,
sees the charts drawn with no console error, changes a setting (a bad value first)
and interests, downloads the export, and signs out. Every page is saved as a
screenshot at desktop and phone width under artifacts/dashboard/ (git-ignored).
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser

from adapters.web import WebDeps, install
from bot.clock import ManualClock
from bot.service import PayForward
from payforward.bootstrap import migrate, run_console
from payforward.settings import Settings
from storage.db import make_engine
from storage.uow import unit_of_work_factory
from tests.adapters.web.browser import DESKTOP, PHONE, SHOTS, Watched, shoot, sign_out

COMMUNITY = "console:local"
LINK = re.compile(r"\[DM @alice\]\n(?:.*\n)*?.*?(http://\S+/dashboard/signin/[\w-]+)")

# A month in the console community: everyone appears, then help flows week by week
# (bob → alice → dave is a chain), erin opts out of the leaderboard, an ask stays open.
# alice lists interests: the connector sends her carol's ask (she helps: a connection)
# and frank's (not this time).
SESSION = """\
:as bob
:as carol
:as dave
:as erin
:as frank
:as alice
/thanks @bob for the asyncio tip
/payforward interests PostgreSQL, public speaking
:as carol
/thanks @bob for the code review
/ask How do I read a PostgreSQL query plan?
:clock +31m
:as alice
:press 1 I can help
:as carol
:press 1 Resolved


:clock +7d
:as dave
/thanks @alice for pairing on the flaky test
:as bob
/thanks @carol for the intro to the data team
:as frank
/ask Public speaking tips for a short demo?
:clock +31m
:as alice
:press 2 Not this time
:clock +7d
:as frank
/thanks @carol for the conference slides
:as erin
/thanks @dave for the SQL help
:as carol
/give A guide to our deploy pipeline
:clock +7d
:as alice
/thanks @carol for the talk rehearsal
:as bob
/thanks @erin for the on-call notes
:as frank
/thanks @dave for the index tuning
:as erin
/payforward optout leaderboard
:as frank
/ask Who knows a good PostgreSQL index primer?
:as dave
/ask Any tips for a first conference talk?
:as alice
/payforward dashboard
"""


@dataclass
class Served:
    base: str
    link: str
    url: str  # the database
    clock: ManualClock


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    url = f"sqlite:///{tmp_path / 'payforward.db'}"
    clock = ManualClock(datetime(2026, 11, 2, 10, 0, tzinfo=UTC))  # a Monday
    await migrate(Settings(database_url=url))
    engine = make_engine(url)
    uow = unit_of_work_factory(engine)
    app = web.Application()
    install(app, WebDeps(uow, clock, PayForward(uow, clock), "http://127.0.0.1"))
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    base = f"http://{host}:{port}"
    try:
        output = io.StringIO()
        settings = Settings(database_url=url, PAYFORWARD_PUBLIC_URL=base)
        await run_console(
            settings,
            member="alice",
            clock=clock,
            input=io.StringIO(SESSION),
            output=output,
            interactive=False,
        )
        found = LINK.search(output.getvalue())
        assert found, output.getvalue()[-2000:]
        yield Served(base, found.group(1), url, clock)
    finally:
        await runner.cleanup()
        await engine.dispose()


async def test_sign_in_look_change_download_sign_out(served: Served, browser: Browser) -> None:
    desktop = await browser.new_context(viewport=DESKTOP, accept_downloads=True)
    phone = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = await desktop.new_page()
    tab = Watched(page)

    # The link from the DM asks to confirm, then signs in and lands on the community.
    await page.goto(served.link)
    assert await page.locator("h1").inner_text() == "Sign in to payforward"
    await page.screenshot(path=SHOTS / "sign-in-desktop.png", full_page=True)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{served.base}/dashboard/c/{COMMUNITY}/")
    tab.clean()

    # The charts are drawn: bars with heights, titled for screen readers.
    charts = page.locator("figure.chart svg[role=img]")
    assert await charts.count() == 4
    heights = await page.locator("figure.chart rect.bar").evaluate_all(
        "bars => bars.map(b => b.getBBox().height)"
    )
    assert len(heights) == 48 and sum(h > 0 for h in heights) >= 7
    connections = page.locator("figure.chart:has(#connections-title)")
    assert "2 in all" not in await connections.locator("p.summary").inner_text()
    assert "1 in all" in await connections.locator("p.summary").inner_text()
    assert await page.locator("figure.graph svg g.node").count() >= 2
    board = await page.locator("table.board").inner_text()
    assert "carol" in board and "erin" not in board  # erin opted out
    assert "Who knows a good PostgreSQL index primer?" in await page.content()
    await shoot(page, phone, "community")
    await page.set_viewport_size({"width": 1040, "height": 1280})  # docs/dashboard.png
    await page.screenshot(path=SHOTS / "readme.png")
    await page.set_viewport_size(DESKTOP)
    await page.get_by_role("link", name="52 weeks").click()
    assert await page.locator("figure.chart rect.bar").count() == 208
    await shoot(page, phone, "community-52-weeks")
    tab.clean()

    # A finished week's table.
    await page.locator("ul.weeks a").first.click()
    assert (await page.locator("h1").inner_text()).startswith("Week of")
    await shoot(page, phone, "past-week")
    tab.clean()

    # Settings: a bad timezone is refused with the command's own words, a good one saved.
    await page.get_by_role("link", name="Settings").click()
    await shoot(page, phone, "settings")
    tab.clean()
    timezone = page.locator("form:has(#timezone)")
    await page.fill("#timezone", "Mars/Olympus")
    await timezone.get_by_role("button", name="Save").click()
    problem = page.locator("p.problem")
    assert "isn't a timezone I know" in await problem.inner_text()
    assert await page.input_value("#timezone") == "Mars/Olympus"  # kept, to correct it
    await page.screenshot(path=SHOTS / "settings-refused-desktop.png", full_page=True)
    assert all("400" in error for error in tab.errors)  # the browser notes the status
    tab.errors.clear()
    await page.fill("#timezone", "Europe/Berlin")
    await page.locator("form:has(#timezone)").get_by_role("button", name="Save").click()
    assert await page.locator("p.notice").inner_text() == "Saved: timezone Europe/Berlin."
    assert await page.input_value("#timezone") == "Europe/Berlin"
    tab.clean()

    # My page: the chart, the asks the connector sent, interests (a refusal in the
    # command's words first), an opt-out, and the export download.
    await page.get_by_role("link", name="Me", exact=True).click()
    assert await page.locator("figure.chart rect.bar").count() == 24
    routed = await page.locator("table.routed tbody tr").all_inner_texts()
    assert len(routed) == 2
    assert "Not this time" in routed[0] and "Public speaking tips" in routed[0]
    assert "You offered to help" in routed[1] and "thanked" in routed[1]
    assert await page.input_value("#interests") == "PostgreSQL, public speaking"
    interests = page.locator("form:has(#interests)")
    await page.fill("#interests", ", ".join(f"topic {n}" for n in range(11)))
    await interests.get_by_role("button", name="Save").click()
    assert "the limit is 10. Nothing was saved" in await page.locator("p.problem").inner_text()
    await page.screenshot(path=SHOTS / "me-refused-desktop.png", full_page=True)
    assert all("400" in error for error in tab.errors)
    tab.errors.clear()
    await page.fill("#interests", "PostgreSQL, public speaking, pytest")
    await page.locator("form:has(#interests)").get_by_role("button", name="Save").click()
    assert "Saved your interests" in await page.locator("p.notice").inner_text()
    assert await page.input_value("#interests") == "PostgreSQL, public speaking, pytest"
    tab.clean()
    assert not await page.is_checked("input[value=connector]")  # in, by her interests
    await page.check("input[value=prompts]")
    await page.locator("form:has(input[value=prompts])").get_by_role("button", name="Save").click()
    assert "opted out of prompts" in await page.locator("p.notice").inner_text()
    await shoot(page, phone, "me")
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Download my data (JSON)").click()
    download = await downloading.value
    exported = json.loads(await asyncio.to_thread(Path(await download.path()).read_text))
    assert download.suggested_filename == "payforward-export.json"
    assert exported["member"]["id"] == "alice"
    assert exported["member"]["opted_out_of"] == ["prompts"]
    assert {"asks", "offers", "gives", "exported_at"} <= set(exported)
    tab.clean()

    # Forget asks for confirmation first (not confirmed here).
    await page.get_by_role("link", name="Forget me…").click()
    assert await page.get_by_role("button", name="Yes, forget me").count() == 1
    await shoot(page, phone, "forget")
    await page.get_by_role("link", name="No, take me back").click()
    tab.clean()

    # Signing out ends the session: the pages ask to sign in again.
    await sign_out(tab)
    await shoot(page, phone, "signed-out")
    tab.clean()
    await page.goto(f"{served.base}/dashboard/c/{COMMUNITY}/")
    assert await page.locator("h1").inner_text() == "Please sign in"
    tab.errors.clear()  # the 401 itself
    await desktop.close()
    await phone.close()
