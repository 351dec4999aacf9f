"""`payforward doctor` against the loopback fakes of Slack and Discord: a ✓ for what
works, a ✗ with its fix for what does not, and exit code 1 while anything needs fixing."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from payforward.doctor import Check, diagnose
from payforward.settings import Settings
from storage.migrate import upgrade
from tests.adapters.discord.conftest import discord_world
from tests.adapters.discord.fake_discord import TOKEN, FakeDiscord
from tests.adapters.slack.fake_slack import FakeSlack
from tests.adapters.test_cli import PLATFORM_VARIABLES, payforward_command


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(app_token="xapp-right")
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscord]:
    fake = discord_world()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


def environment(tmp_path: Path, slack: FakeSlack, discord: FakeDiscord) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'payforward.db'}",
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_APP_TOKEN": "xapp-right",
        "SLACK_API_URL": slack.api_url,
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_API_URL": discord.api_url,
        "DISCORD_GATEWAY_URL": discord.gateway_url,
    }


def settings(values: dict[str, str]) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def failed(checks: list[Check]) -> list[Check]:
    return [check for check in checks if not check.ok]


async def test_all_green(tmp_path: Path, slack: FakeSlack, discord: FakeDiscord) -> None:
    env = environment(tmp_path, slack, discord)
    await upgrade(env["DATABASE_URL"])

    checks = await diagnose(settings({k.lower(): v for k, v in env.items()}))

    assert failed(checks) == []
    said = "\n".join(line for check in checks for line in check.lines())
    assert "✓ configuration: `payforward run` starts Slack (Socket Mode), Discord" in said
    assert "✓ Slack: bot @payforward in workspace Fake" in said
    assert "✓ Slack: the token has every scope the manifest asks for" in said
    assert "✓ Slack: the app token opens Socket Mode connections" in said
    assert "✓ Discord: logged in as payforward" in said
    assert "✓ Discord: in 2 server(s): One, Two" in said


async def test_each_problem_is_a_cross_with_its_fix(
    tmp_path: Path, slack: FakeSlack, discord: FakeDiscord
) -> None:
    env = environment(tmp_path, slack, discord) | {"SLACK_APP_TOKEN": "xapp-wrong"}
    (tmp_path / "payforward.db").touch()  # there, but empty
    slack.granted_scopes = tuple(s for s in slack.granted_scopes if s != "files:write")
    discord.guilds.clear()

    checks = await diagnose(settings({k.lower(): v for k, v in env.items()}))

    crosses = {check.what: check.fix for check in failed(checks)}
    assert crosses == {
        "database is at revision none (empty), the newest is "
        + next(w for w in crosses if w.startswith("database")).rsplit(" ", 1)[1]: (
            "run `payforward db upgrade` (`payforward run` also migrates at start)"
        ),
        "Slack: the bot token lacks the scopes files:write": (
            "add them under OAuth & Permissions → Scopes (or recreate the app from "
            "`payforward slack manifest`), then reinstall the app to the workspace"
        ),
        "Slack refused SLACK_APP_TOKEN (invalid_auth)": (
            "Basic Information → App-Level Tokens: generate one with the scope "
            "connections:write (xapp-…), and turn Socket Mode on"
        ),
        "Discord: the bot is in no server yet": (
            "open the URL from `payforward discord invite-url` as a server admin"
        ),
    }


async def test_refused_tokens_and_incomplete_configuration(
    tmp_path: Path, slack: FakeSlack, discord: FakeDiscord
) -> None:
    env = environment(tmp_path, slack, discord) | {"DISCORD_TOKEN": "not-the-token"}
    slack.fail_next("auth.test", "invalid_auth")
    await upgrade(env["DATABASE_URL"])

    checks = await diagnose(settings({k.lower(): v for k, v in env.items()}))
    assert [c.what for c in failed(checks)] == [
        "Slack refused SLACK_BOT_TOKEN (invalid_auth)",
        "Discord refused DISCORD_TOKEN",
    ]

    half = await diagnose(settings({"database_url": env["DATABASE_URL"], "slack_app_token": "x"}))
    [problem] = failed(half)
    assert "SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not" in problem.fix


async def test_the_command_prints_the_lines_and_exits_1(
    tmp_path: Path, slack: FakeSlack, discord: FakeDiscord
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in PLATFORM_VARIABLES}
    env |= environment(tmp_path, slack, discord)
    discord.guilds.clear()
    process = await asyncio.create_subprocess_exec(
        *payforward_command(),
        "doctor",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):  # a bound for a hung test, not a speed claim
        out, err = await process.communicate()

    lines = out.decode().splitlines()
    assert process.returncode == 1, err.decode()
    assert "Traceback" not in err.decode()
    assert lines[0].startswith("✓ configuration")
    assert "✗ Discord: the bot is in no server yet" in lines
    assert f"✗ database file {tmp_path / 'payforward.db'} does not exist yet" in lines
    assert not (tmp_path / "payforward.db").exists()  # doctor changes nothing
    assert lines[lines.index("✗ Discord: the bot is in no server yet") + 1] == (
        "  fix: open the URL from `payforward discord invite-url` as a server admin"
    )
    assert all(line.startswith(("✓ ", "✗ ", "  fix: ")) for line in lines)
