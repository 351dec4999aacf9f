"""Configuration that parses but cannot work, and database errors, said in one line.

`payforward run` refuses to start on these (rather than silently falling back to the
console, or failing later with a traceback); `payforward doctor` lists them with the
rest of its checks.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from payforward.settings import Settings


def platform_problems(settings: Settings) -> list[str]:
    """What is missing for the platform credentials that are set; empty when complete."""
    problems: list[str] = []
    bot = settings.slack_bot_token is not None
    app = settings.slack_app_token is not None
    secret = settings.slack_signing_secret is not None
    client_id = settings.slack_client_id is not None
    client_secret = settings.slack_client_secret is not None
    if client_id != client_secret:
        problems.append(
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together (OAuth installs): "
            "set both or neither"
        )
    oauth = client_id and client_secret and not app
    if app and not bot:
        problems.append(
            "SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not: Socket Mode needs both "
            "(the bot token is under OAuth & Permissions)"
        )
    elif bot and not app and not secret:
        problems.append(
            "SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN (Socket Mode) nor "
            "SLACK_SIGNING_SECRET (HTTP mode): set one of them"
        )
    elif secret and not bot and not app and not oauth:
        problems.append(
            "SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is not: HTTP mode needs both "
            "(or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for OAuth installs)"
        )
    elif oauth and not secret:
        problems.append("OAuth installs (SLACK_CLIENT_ID) need SLACK_SIGNING_SECRET too")
    if settings.discord_token is None:
        discord_only = [
            name
            for name, value in (
                ("DISCORD_GUILD_IDS", settings.discord_guild_ids),
                ("DISCORD_SHARD_COUNT", settings.discord_shard_count),
                ("DISCORD_SHARD_IDS", settings.discord_shard_ids),
            )
            if value is not None
        ]
        if discord_only:
            problems.append(f"{', '.join(discord_only)} set but DISCORD_TOKEN is not")
    return problems


def database_problem(error: BaseException, settings: Settings) -> str:
    """One line for why the database could not be opened or migrated."""
    where = settings.database_url_for_display
    reason = _reason(error)
    return f"cannot open the database {where}: {reason}"


def _reason(error: BaseException) -> str:
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
    elif isinstance(error, SQLAlchemyError) and error.__cause__ is not None:
        error = error.__cause__
    text = " ".join(str(error).split())
    return text or type(error).__name__
