"""The dashboard served by `payforward run` with Discord only: a member types
`/payforward dashboard` in a guild (an interaction from the loopback fake Discord),
the link is read from the DM the fake received, and headless Chromium signs in with
it, sees the guild's charts and weekly table with no console error, and signs out."""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path

from playwright.async_api import Browser

from tests.adapters.discord.conftest import ALICE, BOB, GENERAL, GUILD
from tests.adapters.discord.conftest import fake as fake
from tests.adapters.discord.fake_discord import TOKEN, FakeDiscord, text_of
from tests.adapters.slack.test_run import free_port, wait_listening
from tests.adapters.test_cli import payforward_command
from tests.adapters.web.browser import DESKTOP, PHONE, SHOTS, Watched, shoot, sign_out
from tests.adapters.web.test_served import environment

LINK = re.compile(r"http://127\.0\.0\.1:\d+/dashboard/signin/[0-9a-f]+")


async def test_a_discord_member_signs_in_from_the_dm_and_sees_the_charts(
    tmp_path: Path, fake: FakeDiscord, browser: Browser
) -> None:
    port = free_port()
    env = environment(
        tmp_path,
        DISCORD_TOKEN=TOKEN,
        DISCORD_API_URL=fake.api_url,
        DISCORD_GATEWAY_URL=fake.gateway_url,
        PAYFORWARD_HTTP_PORT=str(port),
    )
    process = await asyncio.create_subprocess_exec(
        *payforward_command(), "run", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        await wait_listening(port, process)
        await fake.wait_connected(within=60)
        thanks = await fake.command(
            GUILD,
            GENERAL,
            ALICE,
            "thanks",
            [
                {"type": 6, "name": "member", "value": str(BOB)},
                {"type": 3, "name": "note", "value": "for the asyncio tip"},
            ],
            resolved_users=(BOB,),
        )
        assert "Thanks sent" in text_of((await fake.answer(thanks, within=20))["data"])
        asked = await fake.command(
            GUILD, GENERAL, ALICE, "payforward", [{"type": 1, "name": "dashboard", "options": []}]
        )
        assert "sign-in link" in text_of((await fake.answer(asked, within=20))["data"])
        [dm] = await fake.wait_for(
            lambda c: fake.dm_to(ALICE)(c) and "/signin/" in text_of(c.body), within=20
        )
        found = LINK.search(text_of(dm.body))
        assert found, text_of(dm.body)

        desktop = await browser.new_context(viewport=DESKTOP)
        phone = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        page = await desktop.new_page()
        tab = Watched(page)
        await page.goto(found.group(0))
        assert await page.locator("h1").inner_text() == "Sign in to payforward"
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"http://127.0.0.1:{port}/dashboard/c/discord:{GUILD}/")
        tab.clean()
        assert await page.locator("h1").inner_text() == "One"  # the guild's name

        titles = await page.locator("figure.chart svg title[id$=-title]").all_text_contents()
        assert len(titles) == 4 and titles[0] == "Confirmed gives per week"
        summaries = await page.locator("figure.chart p.summary").all_inner_texts()
        assert ": 1 in all" in summaries[0]  # one thanks
        board = await page.locator("table.board").inner_text()
        assert "bob" in board.lower(), board
        await shoot(page, phone, "discord-community")
        tab.clean()

        await sign_out(tab)
        await desktop.close()
        await phone.close()
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr
    assert (SHOTS / "discord-community-desktop.png").exists()
