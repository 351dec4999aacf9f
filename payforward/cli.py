"""The `payforward` command: `run`, `console`, `db upgrade`, `jobs run`, set-up helpers.

Commands read settings once, log to stderr (stdout is the console transcript, which
scripts read), migrate the database before touching it, and turn configuration
mistakes into one clear line instead of a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import datetime

import click
from pydantic import ValidationError

from adapters.console.members import is_valid_name
from bot.clock import ManualClock, SystemClock
from bot.jobs import JOBS, Ran
from payforward import bootstrap
from payforward.settings import Settings

NO_PLATFORM_NOTICE = (
    "payforward: no Slack or Discord credentials are set, so this starts the console "
    "community; to connect Slack set SLACK_BOT_TOKEN plus SLACK_APP_TOKEN (Socket Mode) "
    "or SLACK_SIGNING_SECRET (HTTP mode), for Discord set DISCORD_TOKEN "
    "(README: Configuration; .env.example lists every variable)."
)


def _instant(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """An ISO 8601 instant with a timezone: a console clock must mean one moment."""
    if value is None:
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 instant, e.g. 2025-01-06T09:00:00+00:00"
        ) from None
    if instant.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no timezone; add one, e.g. {value}+00:00")
    return instant


def _member_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not is_valid_name(value):
        raise click.BadParameter("use letters, digits, _ . or - (the name is the member id)")
    return value


@click.group()
@click.pass_context
def cli(ctx: click.Context) -> None:
    """payforward: a pay-it-forward bot for Slack, Discord and the console."""
    ctx.obj = _load_settings()
    logging.basicConfig(
        stream=sys.stderr,
        level=ctx.obj.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if ctx.obj.log_level != "DEBUG":
        # Alembic narrates every start at INFO ("Context impl SQLiteImpl."), which would
        # interleave with the console prompt; its warnings and errors still show.
        logging.getLogger("alembic").setLevel(logging.WARNING)


@cli.command()
@click.pass_obj
def run(settings: Settings) -> None:
    """Start every adapter whose credentials are set; with none, the console community."""
    platforms = [
        name
        for name, enabled in (
            ("Slack", settings.slack_enabled),
            ("Discord", settings.discord_enabled),
        )
        if enabled
    ]
    if platforms:
        _run_platforms(settings)
        return
    click.echo(NO_PLATFORM_NOTICE, err=True)
    _run_console(settings, member="you", clock=ManualClock(SystemClock().now()))


@cli.command()
@click.option(
    "--as",
    "member",
    default="you",
    show_default=True,
    callback=_member_name,
    help="The member you speak as first (the community admin).",
)
@click.option(
    "--clock",
    "start",
    metavar="ISO-INSTANT",
    callback=_instant,
    help="Start the console clock at this instant, e.g. 2025-01-06T09:00:00Z.",
)
@click.pass_obj
def console(settings: Settings, member: str, start: datetime | None) -> None:
    """Talk to payforward in the terminal, or replay a transcript from a pipe."""
    clock = ManualClock(start if start is not None else SystemClock().now())
    _run_console(settings, member=member, clock=clock)


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@click.pass_obj
def upgrade(settings: Settings) -> None:
    """Migrate DATABASE_URL to the newest schema."""
    asyncio.run(bootstrap.migrate(settings))
    click.echo(f"Database {settings.database_url_for_display} is up to date.")


@cli.group()
def jobs() -> None:
    """Scheduled jobs, by hand."""


@jobs.command("run")
@click.argument("name", type=click.Choice(JOBS))
@click.option(
    "--at",
    callback=_instant,
    metavar="ISO",
    help="Run as if the trigger fired at this instant (default: now).",
)
@click.option(
    "--queue-only",
    is_flag=True,
    help="Only queue the messages: the running bot sends them.",
)
@click.pass_obj
def run_job(settings: Settings, name: str, at: datetime | None, queue_only: bool) -> None:
    """Run one job for every community, through the same once-only claims as the
    scheduler: running it twice, even at once, does the work once. Then deliver what
    is due (a progress bar on a terminal, log lines otherwise) and exit; each message
    is sent once, beside a running bot too. With --queue-only, the bot sends them."""
    from payforward.progress import watch_delivery

    deliver = not queue_only and (settings.slack_enabled or settings.discord_enabled)
    if not queue_only and not deliver:
        click.echo("payforward: no Slack or Discord credentials set: queued only.", err=True)

    async def once() -> list[Ran]:
        await bootstrap.migrate(settings)
        return await bootstrap.run_job(
            settings, name, at or SystemClock().now(), deliver=deliver, watch=watch_delivery
        )

    ran = asyncio.run(once())
    for run in ran:
        period = f" {run.period}" if run.period else ""
        click.echo(f"{run.community_id}  {run.job}{period}: {run.result}")
    if not ran:
        click.echo(f"{name}: nothing to do.")


@cli.group()
def slack() -> None:
    """Slack set-up."""


@slack.command()
def manifest() -> None:
    """Print the Slack app manifest (JSON) to paste into api.slack.com/apps."""
    from adapters.slack.manifest import manifest_json

    click.echo(manifest_json())


@cli.group()
def discord() -> None:
    """Discord set-up."""


@discord.command("invite-url")
@click.pass_obj
def invite_url(settings: Settings) -> None:
    """Print the OAuth2 URL that invites the bot with exactly the permissions it needs."""
    from adapters.discord.invite import invite_url as url

    if not settings.discord_application_id:
        raise click.UsageError("set DISCORD_APPLICATION_ID (the application's id) first")
    click.echo(url(settings.discord_application_id))


def _run_platforms(settings: Settings) -> None:
    async def serve() -> None:
        await bootstrap.migrate(settings)
        await bootstrap.run_platforms(settings, SystemClock())

    asyncio.run(serve())


def _run_console(settings: Settings, *, member: str, clock: ManualClock) -> None:
    async def session() -> None:
        await bootstrap.migrate(settings)
        await bootstrap.run_console(
            settings,
            member=member,
            clock=clock,
            input=sys.stdin,
            output=sys.stdout,
            interactive=sys.stdin.isatty(),
        )

    asyncio.run(session())


def _load_settings() -> Settings:
    """Settings, or a usage error naming the bad variables (never their values)."""
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']).upper()}: {problem['msg']}"
            for problem in error.errors(include_input=False, include_url=False)
        )
        raise click.UsageError(f"bad configuration: {problems}") from None


def main() -> None:
    """The `payforward` console script."""
    cli(prog_name="payforward")
