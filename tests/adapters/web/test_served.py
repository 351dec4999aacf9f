"""The dashboard as operators serve it: `payforward run` and `payforward console` as
real subprocesses, each with the dashboard on its one HTTP listener.

In Slack's HTTP mode a member types `/payforward dashboard` (a signed request to the
subprocess), the link is read from the DM the loopback fake Slack received, and
headless Chromium signs in with it, sees the community's charts with no console
error, changes a setting, downloads the export, and signs out. The console prints its link in the `[DM @alice]` block, and the
link opens while the console is still running.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
import urllib.parse
from pathlib import Path

import aiohttp
from playwright.async_api import Browser

from tests.adapters.slack import payloads
from tests.adapters.slack.conftest import SECRET
from tests.adapters.slack.conftest import fake as fake
from tests.adapters.slack.fake_slack import FakeSlack
from tests.adapters.slack.test_run import delivered_everything, free_port, signed, wait_listening
from tests.adapters.test_cli import PLATFORM_VARIABLES, payforward_command
from tests.adapters.web.browser import DESKTOP, PHONE, SHOTS, Watched, shoot, sign_out

LINK = re.compile(r"http://127\.0\.0\.1:\d+/dashboard/signin/[0-9a-f]+")
FORM = "application/x-www-form-urlencoded"


def environment(tmp_path: Path, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PLATFORM_VARIABLES}
    return env | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'payforward.db'}",
        "PAYFORWARD_HTTP_HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        **more,
    }


async def test_a_slack_member_signs_in_from_the_dm_and_sees_the_charts(
    tmp_path: Path, fake: FakeSlack, browser: Browser
) -> None:
    fake.admins.add("UALICE")  # a workspace admin: the settings are hers to change
    port = free_port()
    env = environment(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-e2e",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.api_url,
        PAYFORWARD_HTTP_PORT=str(port),
    )
    process = await asyncio.create_subprocess_exec(
        *payforward_command(), "run", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    events = f"http://127.0.0.1:{port}/slack/events"

    async def slash(session: aiohttp.ClientSession, user: str, command: str, text: str) -> None:
        body = payloads.slash("T1", user, command, text, fake.response_url())
        assert await signed(session, events, urllib.parse.urlencode(body), FORM) == 200

    try:
        await wait_listening(port, process)
        async with aiohttp.ClientSession() as session:
            await slash(session, "UALICE", "/thanks", "<@UBOB|ubob> for the asyncio tip")
            await slash(session, "UCAROL", "/thanks", "<@UBOB|ubob> for the code review")
            await slash(session, "UBOB", "/thanks", "<@UDAVE|udave> for pairing")
            await slash(session, "UALICE", "/payforward", "dashboard")
        (dm,) = await fake.wait_for("chat.postMessage", lambda c: "/signin/" in c.blocks_text())
        assert dm.result["channel"] == "DUALICE"
        found = LINK.search(dm.blocks_text())
        assert found, dm.blocks_text()
        link = found.group(0)

        desktop = await browser.new_context(viewport=DESKTOP)
        phone = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        page = await desktop.new_page()
        tab = Watched(page)
        await page.goto(link)
        assert await page.locator("h1").inner_text() == "Sign in to payforward"
        assert "ualice" in await page.locator("main").inner_text()
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"http://127.0.0.1:{port}/dashboard/c/slack:T1/")
        tab.clean()
        assert await page.locator("h1").inner_text() == "Fake"  # auth.test's team name

        titles = await page.locator("figure.chart svg title[id$=-title]").all_text_contents()
        assert titles == [
            "Confirmed gives per week",
            "People helped per week",
            "Connections per week",
            "Conversations per week",
        ]
        heights = await page.locator("figure.chart rect.bar").evaluate_all(
            "bars => bars.map(b => b.getBBox().height)"
        )
        assert len(heights) == 48 and any(heights[:12]) and any(heights[12:24])
        summaries = await page.locator("figure.chart p.summary").all_inner_texts()
        assert ": 3 in all" in summaries[0]  # three thanks
        assert ": 3 in all" in summaries[1]  # alice, carol and bob were helped
        assert ": 0 in all" in summaries[2]
        assert "ubob" in await page.locator("table.board").inner_text()
        await shoot(page, phone, "slack-community")
        tab.clean()

        await page.get_by_role("link", name="Settings").click()
        await page.fill("#timezone", "Europe/Berlin")
        await page.locator("form:has(#timezone)").get_by_role("button", name="Save").click()
        assert await page.locator("p.notice").inner_text() == "Saved: timezone Europe/Berlin."
        tab.clean()

        await page.get_by_role("link", name="Me", exact=True).click()
        async with page.expect_download() as downloading:
            await page.get_by_role("link", name="Download my data (JSON)").click()
        download = await downloading.value
        exported = json.loads(await asyncio.to_thread(Path(await download.path()).read_text))
        assert exported["member"]["id"] == "UALICE"
        assert [(g["giver"], g["receiver"]) for g in exported["gives"]] == [("UBOB", "UALICE")]
        tab.clean()

        await sign_out(tab)
        await desktop.close()
        await phone.close()
        await delivered_everything(env["DATABASE_URL"])
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr
    assert (SHOTS / "slack-community-desktop.png").exists()


async def test_the_console_prints_a_link_that_opens_while_it_runs(tmp_path: Path) -> None:
    env = environment(tmp_path, PAYFORWARD_HTTP_PORT="0")
    process = await asyncio.create_subprocess_exec(
        *payforward_command(),
        "console",
        "--as",
        "alice",
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(b"/payforward dashboard\n")
        await process.stdin.drain()
        printed = await _until_link(process.stdout)
        link = LINK.search(printed)
        assert link, printed
        assert "[DM @alice]" in printed

        async with aiohttp.ClientSession() as session, session.get(link.group(0)) as page:
            assert page.status == 200
            text = await page.text()
        assert "Sign in to payforward" in text and "alice" in text
        assert process.returncode is None  # the console is still running

        process.stdin.write(b":quit\n")
        await process.stdin.drain()
        process.stdin.close()
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr


async def _until_link(stdout: asyncio.StreamReader, within: float = 60.0) -> str:
    """What the console printed, up to the line with the sign-in link."""
    deadline = time.monotonic() + within
    printed = ""
    while not LINK.search(printed):
        left = deadline - time.monotonic()
        line = await asyncio.wait_for(stdout.readline(), max(left, 0.01))
        if not line:
            raise AssertionError(f"the console ended without a link:\n{printed}")
        printed += line.decode()
    return printed
