"""Multi-workspace installs: the OAuth flow stores each workspace's bot token in the
database, and each workspace is then served with its own token, as its own community."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slack_sdk.oauth.installation_store import Installation

from adapters.slack.oauth import DatabaseInstallationStore
from storage.db import make_engine
from storage.migrate import upgrade
from storage.slack_installations import SlackInstallations
from tests.adapters.slack import payloads
from tests.adapters.slack.conftest import Slack, in_channel, open_slack
from tests.adapters.slack.fake_slack import FakeSlack


@pytest.fixture
async def oauth_slack(tmp_path: Path, fake: FakeSlack) -> AsyncIterator[Slack]:
    async for running in open_slack(
        tmp_path, fake, "http", slack_client_id="111.222", slack_client_secret="client-secret"
    ):
        yield running


async def install(slack: Slack, team: str) -> int:
    """Walk the browser's part of the flow: the install page, then Slack's redirect."""
    assert slack.session is not None
    base = f"http://127.0.0.1:{slack.port}"
    async with slack.session.get(f"{base}/slack/install", allow_redirects=False) as page:
        html = await page.text()
        cookie = page.headers["Set-Cookie"].split(";")[0]
    state = re.search(r"state=([^&\"']+)", html)
    assert state is not None and "client_id=111.222" in html
    redirect = f"{base}/slack/oauth_redirect?code=code-{team}&state={state.group(1)}"
    async with slack.session.get(redirect, headers={"Cookie": cookie}) as done:
        await done.read()
        return done.status


async def test_an_installed_workspace_is_served_with_its_own_token(
    oauth_slack: Slack, tmp_path: Path
) -> None:
    fake = oauth_slack.fake
    assert await install(oauth_slack, "T2") == 200
    (exchange,) = fake.of("oauth.v2.access")
    assert exchange.args["code"] == "code-T2"

    engine = make_engine(f"sqlite:///{tmp_path / 'payforward.db'}")
    try:
        stored = await SlackInstallations(engine).find_team("T2")
    finally:
        await engine.dispose()
    assert stored is not None and "xoxb-T2" in stored

    await oauth_slack.command("UTWO", "/ask", "Installed via OAuth?", team="T2", channel="C1")
    (card,) = await fake.wait_for("chat.postMessage", in_channel("C1"))
    assert card.token == "xoxb-T2"
    assert oauth_slack.handled[0][0].community_id == "slack:T2"

    await oauth_slack.command("UONE", "/ask", "And the home workspace?", team="T1", channel="C5")
    (home,) = await fake.wait_for("chat.postMessage", in_channel("C5"))
    assert home.token == "xoxb-test-token"  # SLACK_BOT_TOKEN still serves its workspace


async def test_a_replayed_or_forged_state_installs_nothing(oauth_slack: Slack) -> None:
    assert oauth_slack.session is not None
    base = f"http://127.0.0.1:{oauth_slack.port}"
    url = f"{base}/slack/oauth_redirect?code=code-T9&state=forged"
    async with oauth_slack.session.get(
        url, headers={"Cookie": "slack-app-oauth-state=forged"}
    ) as r:
        assert r.status >= 400
    assert not oauth_slack.fake.of("oauth.v2.access")


async def test_without_any_token_a_workspace_that_never_installed_is_refused(
    tmp_path: Path, fake: FakeSlack
) -> None:
    async for slack in open_slack(
        tmp_path,
        fake,
        "http",
        slack_bot_token=None,
        slack_client_id="111.222",
        slack_client_secret="client-secret",
    ):
        await slack.command("USTRANGER", "/ask", "Hello?", team="T404")
        # Bolt refuses before any listener runs, and tells the member why.
        (refusal,) = await fake.wait_for("respond")
        assert "install" in refusal.blocks_text().lower()
        assert slack.handled == []
        assert not fake.of("chat.postMessage")


async def test_the_installation_store_round_trips_and_forgets(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    await upgrade(url)
    engine = make_engine(url)
    store = DatabaseInstallationStore(SlackInstallations(engine))
    try:
        first = Installation(
            team_id="T7",
            bot_token="xoxb-old",
            bot_id="B7",
            bot_user_id="U7",
            user_id="UI",
            bot_scopes="commands,chat:write",
            installed_at=1_700_000_000.0,
        )
        await store.async_save(first)
        await store.async_save(
            Installation(**{**first.to_dict_for_copying(), "bot_token": "xoxb-new"})
        )

        bot = await store.async_find_bot(enterprise_id=None, team_id="T7")
        assert bot is not None and (bot.bot_token, bot.bot_user_id) == ("xoxb-new", "U7")
        assert bot.bot_scopes == ["commands", "chat:write"]
        assert await store.async_find_bot(enterprise_id=None, team_id="T8") is None

        await store.async_delete_installation(enterprise_id=None, team_id="T7")
        assert await store.async_find_installation(enterprise_id=None, team_id="T7") is None
    finally:
        await engine.dispose()


async def test_without_a_bot_token_every_workspace_comes_from_installs(
    tmp_path: Path, fake: FakeSlack
) -> None:
    async for slack in open_slack(
        tmp_path,
        fake,
        "http",
        slack_bot_token=None,
        slack_client_id="111.222",
        slack_client_secret="client-secret",
    ):
        assert await install(slack, "T3") == 200

        await slack.command("UTHREE", "/ask", "Only installs here?", team="T3", channel="C1")

        (card,) = await fake.wait_for("chat.postMessage", in_channel("C1"))
        assert card.token == "xoxb-T3"


async def test_an_uninstalled_workspace_is_forgotten(oauth_slack: Slack, tmp_path: Path) -> None:
    fake = oauth_slack.fake
    assert await install(oauth_slack, "T2") == 200

    await oauth_slack.event(payloads.event("T2", {"type": "app_uninstalled"}))

    engine = make_engine(f"sqlite:///{tmp_path / 'payforward.db'}")
    try:
        for _ in range(200):  # the listener runs after the ack
            if await SlackInstallations(engine).find_team("T2") is None:
                break
            await asyncio.sleep(0.01)
        assert await SlackInstallations(engine).find_team("T2") is None
    finally:
        await engine.dispose()
    # The dead token is never used again: without an installation the workspace falls
    # back to SLACK_BOT_TOKEN, as any workspace without one does.
    await oauth_slack.command("UTWO", "/ask", "Still there?", team="T2", channel="C1")
    (card,) = await fake.wait_for("chat.postMessage", in_channel("C1"))
    assert card.token == "xoxb-test-token"


async def test_a_workspace_whose_token_died_while_we_were_away_is_forgotten(
    oauth_slack: Slack, tmp_path: Path
) -> None:
    assert await install(oauth_slack, "T2") == 200
    oauth_slack.fake.fail_next("auth.test", "invalid_auth")  # uninstalled meanwhile

    await oauth_slack.event(payloads.event("T2", {"type": "app_uninstalled"}))

    engine = make_engine(f"sqlite:///{tmp_path / 'payforward.db'}")
    try:
        assert await SlackInstallations(engine).find_team("T2") is None
    finally:
        await engine.dispose()
