"""A whole core on SQLite with the dashboard served on 127.0.0.1 (port 0), and members
who act through the core as they would in chat: the sign-in link arrives by DM."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, async_playwright

from adapters.web import WebDeps, install
from bot.clock import ManualClock
from bot.dispatch import Dispatcher
from bot.events import CommandInvoked, MemberInfo
from bot.messages import Answer
from bot.service import PayForward
from storage.db import make_engine
from storage.migrate import upgrade
from storage.uow import unit_of_work_factory
from tests.adapters.web.browser import CHROMIUM, FLAGS
from tests.fakes import FakeChat

CID = "test:acme"
OTHER = "test:other"
START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday
ADMINS = {"alice"}
LINK = re.compile(r"(http://\S+/dashboard/signin/[\w-]+)")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class WebWorld:
    """The bot, its dispatcher (delivering to a fake chat) and the dashboard."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.clock = ManualClock(START)
        self.chat = FakeChat()
        self.kicks = 0
        self.admins = set(ADMINS)  # who the platform says is an admin
        self._ids = itertools.count(1)
        self.base = ""

    async def start(self) -> None:
        await upgrade(self.url)
        self.engine = make_engine(self.url)
        self.uow = unit_of_work_factory(self.engine)
        self.bot = PayForward(self.uow, self.clock)
        self.dispatcher = Dispatcher(self.uow, self.clock, {"test": self.chat}, self.bot)
        self.app = web.Application()
        self.app.router.add_get("/healthz", _ok)  # the listener is shared with others
        install(self.app, self.deps())
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.base = f"http://{host}:{port}"
        self.bot.dashboard_url = self.base

    def deps(self) -> WebDeps:
        def kick() -> None:
            self.kicks += 1

        return WebDeps(self.uow, self.clock, self.bot, "http://127.0.0.1", kick=kick)

    async def stop(self) -> None:
        await self.runner.cleanup()
        await self.engine.dispose()

    def info(self, member_id: str) -> MemberInfo:
        return MemberInfo(
            member_id, display_name=member_id.title(), is_admin=member_id in self.admins
        )

    async def cmd(
        self, who: str, command: str, text: str = "", community: str = CID, channel: str = "general"
    ) -> list[Answer]:
        mentions = {m: self.info(m) for m in re.findall(r"<@([^>]+)>", text)}
        answers = await self.bot.handle(
            CommandInvoked(
                event_id=f"ev{next(self._ids)}",
                community_id=community,
                actor=self.info(who),
                channel_id=channel,
                command=command,
                text=text,
                mentions=mentions,
            )
        )
        await self.dispatcher.drain()
        return answers

    async def thanks(self, who: str, helper: str, community: str = CID) -> None:
        await self.cmd(who, "thanks", f"<@{helper}> for the help", community)

    def last_dm(self, member_id: str) -> str:
        return self.chat.to("dm", member_id)[-1].plain()

    async def link_for(self, who: str, community: str = CID) -> str:
        await self.cmd(who, "payforward", "dashboard", community)
        found = LINK.search(self.last_dm(who))
        assert found, self.last_dm(who)
        return found.group(1)

    def client(self) -> aiohttp.ClientSession:
        """A browser of its own: cookies kept (for an IP address too), no redirects followed
        unless asked."""
        return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def sign_in(self, who: str, community: str = CID) -> aiohttp.ClientSession:
        client = self.client()
        await self.open_link(client, await self.link_for(who, community))
        return client

    async def open_link(self, client: aiohttp.ClientSession, link: str) -> aiohttp.ClientResponse:
        async with client.get(link) as page:
            assert page.status == 200, await page.text()
            token = csrf(await page.text())
        async with client.post(link, data={"csrf": token}, allow_redirects=False) as signed:
            assert signed.status == 303, await signed.text()
            return signed

    def page(self, community: str = CID, rest: str = "") -> str:
        return f"{self.base}/dashboard/c/{community}/{rest}"

    async def history(self) -> None:
        """Four weeks of help in the community: a chain bob → alice → dave, carol helping
        several people, an opted-out member (erin) who helped too, and an open ask."""
        week = timedelta(weeks=1)
        self.clock.set(START - 3 * week)
        await self.thanks("alice", "bob")  # bob helped alice
        await self.thanks("carol", "bob")
        self.clock.set(START - 2 * week)
        await self.thanks("dave", "alice")  # alice paid it forward: bob → alice → dave
        await self.thanks("bob", "carol")
        self.clock.set(START - week)
        await self.thanks("frank", "carol")
        await self.thanks("erin", "dave")
        self.clock.set(START)
        await self.thanks("alice", "carol")
        await self.thanks("bob", "erin")  # erin helped bob, but erin opts out below
        await self.thanks("frank", "dave")
        await self.cmd("erin", "payforward", "optout leaderboard")
        await self.cmd("frank", "ask", "Who knows a good PostgreSQL index primer?")
        await self.cmd("erin", "ask", "Erin's ask stays off community pages")
        await self.cmd("zoe", "ask", "Somebody in another community", community=OTHER)


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, html
    return found.group(1)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[WebWorld]:
    opened = WebWorld(f"sqlite:///{tmp_path / 'payforward.db'}")
    await opened.start()
    try:
        yield opened
    finally:
        await opened.stop()


@pytest.fixture
def chromium() -> Path:
    assert CHROMIUM.exists(), "Chromium is missing: run scripts/test-browser.sh (make test does)"
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=FLAGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()
