"""`payforward doctor`: is this installation ready to run? Each check prints one
✓ or ✗ line, and each ✗ says how to fix it.

It reads the configuration, opens the database (reachable? at the newest schema?),
asks Slack who the bot token is (`auth.test`) and which scopes it was granted (the
`x-oauth-scopes` header) against the manifest's, tries the app token (Socket Mode),
and logs in to Discord over REST: the token, the application's privileged intents
(payforward needs none), the servers the bot has joined. Nothing is changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from payforward.checks import database_problem, platform_problems
from payforward.settings import Settings
from storage.db import make_engine, sqlite_file
from storage.migrate import alembic_config

CHECK_SECONDS = 15.0


@dataclass(frozen=True)
class Check:
    ok: bool
    what: str
    fix: str = ""

    def lines(self) -> list[str]:
        if self.ok:
            return [f"✓ {self.what}"]
        return [f"✗ {self.what}", f"  fix: {self.fix}"] if self.fix else [f"✗ {self.what}"]


async def diagnose(settings: Settings) -> list[Check]:
    checks = configuration(settings)
    checks += await _bounded("database", lambda: database(settings))
    if settings.slack_enabled and settings.slack_bot_token is not None:
        checks += await _bounded("Slack", lambda: slack(settings))
    if settings.discord_enabled:
        checks += await _bounded("Discord", lambda: discord(settings))
    return checks


def configuration(settings: Settings) -> list[Check]:
    problems = platform_problems(settings)
    if problems:
        return [Check(False, "configuration is incomplete", problem) for problem in problems]
    platforms = []
    if settings.slack_enabled:
        platforms.append("Slack (Socket Mode)" if settings.slack_socket_mode else "Slack (HTTP)")
    if settings.discord_enabled:
        platforms.append("Discord")
    running = ", ".join(platforms) or "the console community (no platform credentials set)"
    return [Check(True, f"configuration: `payforward run` starts {running}")]


async def database(settings: Settings) -> list[Check]:
    where = settings.database_url_for_display
    path = sqlite_file(settings.database_url)
    if path is not None and not path.exists():  # opening it would create it: look only
        return [
            Check(
                False,
                f"database file {path} does not exist yet",
                "`payforward db upgrade` (or `payforward run`) creates and migrates it",
            )
        ]
    engine = make_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    except Exception as error:
        return [
            Check(
                False,
                database_problem(error, settings),
                "check DATABASE_URL, that the server runs and accepts this user, "
                "or that the SQLite file's folder is writable",
            )
        ]
    finally:
        await engine.dispose()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if current != head:
        return [
            Check(True, f"database {where} is reachable"),
            Check(
                False,
                f"database is at revision {current or 'none (empty)'}, the newest is {head}",
                "run `payforward db upgrade` (`payforward run` also migrates at start)",
            ),
        ]
    return [Check(True, f"database {where} is reachable and migrated ({head})")]


async def slack(settings: Settings) -> list[Check]:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    from adapters.slack.manifest import BOT_SCOPES

    assert settings.slack_bot_token is not None
    options = {"base_url": settings.slack_api_url} if settings.slack_api_url else {}
    client = AsyncWebClient(token=settings.slack_bot_token.get_secret_value(), **options)
    try:
        auth = await client.auth_test()
    except SlackApiError as error:
        return [
            Check(
                False,
                f"Slack refused SLACK_BOT_TOKEN ({error.response.get('error')})",
                "copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions",
            )
        ]
    checks = [Check(True, f"Slack: bot @{auth.get('user')} in workspace {auth.get('team')}")]
    granted = {s.strip() for s in str(auth.headers.get("x-oauth-scopes", "")).split(",")}
    missing = [scope for scope in BOT_SCOPES if scope not in granted]
    if missing:
        checks.append(
            Check(
                False,
                f"Slack: the bot token lacks the scopes {', '.join(missing)}",
                "add them under OAuth & Permissions → Scopes (or recreate the app from "
                "`payforward slack manifest`), then reinstall the app to the workspace",
            )
        )
    else:
        checks.append(Check(True, "Slack: the token has every scope the manifest asks for"))
    if settings.slack_app_token is not None:
        try:
            await client.apps_connections_open(
                app_token=settings.slack_app_token.get_secret_value()
            )
        except SlackApiError as error:
            checks.append(
                Check(
                    False,
                    f"Slack refused SLACK_APP_TOKEN ({error.response.get('error')})",
                    "Basic Information → App-Level Tokens: generate one with the scope "
                    "connections:write (xapp-…), and turn Socket Mode on",
                )
            )
        else:
            checks.append(Check(True, "Slack: the app token opens Socket Mode connections"))
    return checks


async def discord(settings: Settings) -> list[Check]:
    import discord as discord_py

    from adapters.discord.client import intents, quiet_voice_warnings
    from adapters.discord.gateway import point_at

    assert settings.discord_token is not None
    point_at(settings.discord_api_url, settings.discord_gateway_url)
    quiet_voice_warnings()
    client = discord_py.Client(intents=intents())
    try:
        try:
            await client.login(settings.discord_token.get_secret_value())
        except discord_py.LoginFailure:
            return [
                Check(
                    False,
                    "Discord refused DISCORD_TOKEN",
                    "Developer Portal → your application → Bot → Reset Token, "
                    "and copy it into DISCORD_TOKEN",
                )
            ]
        checks = [Check(True, f"Discord: logged in as {client.user}")]
        app = await client.application_info()
        flags = app.flags
        privileged = [
            name
            for name, on in (
                ("Presence", flags.gateway_presence or flags.gateway_presence_limited),
                (
                    "Server Members",
                    flags.gateway_guild_members or flags.gateway_guild_members_limited,
                ),
                (
                    "Message Content",
                    flags.gateway_message_content or flags.gateway_message_content_limited,
                ),
            )
            if on
        ]
        wanted = "guilds and guild message reactions, neither privileged"
        extra = f"; on but unused: {', '.join(privileged)}" if privileged else ""
        checks.append(Check(True, f"Discord: intents needed: {wanted}{extra}"))
        guilds = [guild async for guild in client.fetch_guilds(limit=200)]
        if guilds:
            names = ", ".join(guild.name for guild in guilds[:5])
            more = f" and {len(guilds) - 5} more" if len(guilds) > 5 else ""
            checks.append(Check(True, f"Discord: in {len(guilds)} server(s): {names}{more}"))
        else:
            checks.append(
                Check(
                    False,
                    "Discord: the bot is in no server yet",
                    "open the URL from `payforward discord invite-url` as a server admin",
                )
            )
        return checks
    finally:
        await client.close()


async def _bounded(name: str, check: Callable[[], Awaitable[list[Check]]]) -> list[Check]:
    """A check that hangs or fails unexpectedly is a ✗ of its own, not a traceback."""
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            return await check()
    except TimeoutError:
        return [Check(False, f"{name}: no answer within {CHECK_SECONDS:g} s", "check the network")]
    except Exception as error:
        return [Check(False, f"{name}: {' '.join(str(error).split()) or type(error).__name__}")]
