"""Debian's headless Chromium for the dashboard's browser tests, driven by Playwright:
where it is, how it is started, and how pages are watched and saved.

Chromium comes from the distribution (scripts/test-browser.sh installs it for
`make test`); a missing browser fails the tests, it never skips them. Screenshots go
to artifacts/dashboard/ (git-ignored), at desktop and phone width.
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[3] / "artifacts" / "dashboard"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


class Watched:
    """A page whose console errors and uncaught exceptions are kept."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def clean(self) -> None:
        errors, self.errors = self.errors, []
        assert errors == [], errors


async def sign_out(tab: Watched) -> None:
    """Sign out from the page the tab shows and see it said, with no console error."""
    await tab.page.get_by_role("button", name="Sign out").click()
    assert await tab.page.locator("p.notice").inner_text() == "You're signed out."
    tab.clean()


async def shoot(page: Page, phone: BrowserContext, name: str) -> None:
    """The page as it is now, at desktop width, and the same address on a phone."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SHOTS / f"{name}-desktop.png", full_page=True)
    await phone.add_cookies(await page.context.cookies())
    small = await phone.new_page()
    try:
        watched = Watched(small)
        await small.goto(page.url)
        await small.screenshot(path=SHOTS / f"{name}-phone.png", full_page=True)
        watched.clean()
    finally:
        await small.close()
