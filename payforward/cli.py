"""The `payforward` command: `run`, `console`, `db upgrade`, `jobs run`, `doctor`,
set-up helpers.

Commands read settings once, log to stderr (stdout is the console transcript, which
scripts read), migrate the database before touching it, and turn configuration
mistakes into one clear line (`payforward: …`) and an exit code instead of a traceback:
2 for a configuration error, 1 for a database or listener that cannot be used.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Coroutine
from datetime import datetime
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from adapters.console.members import is_valid_name
from bot.clock import ManualClock, SystemClock
from bot.jobs import JOBS, Ran
from payforward import bootstrap, logs
from payforward.checks import database_problem, platform_problems
from payforward.http import ListenError
from payforward.settings import Settings

T = TypeVar("T")
HELP_ASKED = "payforward.help"

NO_PLATFORM_NOTICE = (
    "payforward: no Slack or Discord credentials are set, so this starts the console "
    "community, where you speak as `you`, its admin (`:as alice` switches member, "
    "`/payforward help` lists the commands); to connect Slack set SLACK_BOT_TOKEN plus "
    "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode), for Discord "
    "set DISCORD_TOKEN (README: Configuration; .env.example lists every variable)."
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


class OneLine(click.ClickException):
    """An error an operator can fix, said as one line on stderr."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"payforward: {self.format_message()}", err=True)


class _Cli(click.Group):
    """Notes whether help was asked for anywhere on the line, so that a bad setting
    (`LOG_LEVEL=verbose payforward run --help`) does not stand in the way of the help."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[HELP_ASKED] = any(arg in ctx.help_option_names for arg in args)
        return super().parse_args(ctx, args)


@click.group(cls=_Cli)
@click.version_option(package_name="payforward", prog_name="payforward")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """payforward: a pay-it-forward bot for Slack, Discord and the console."""
    if ctx.meta.get(HELP_ASKED):
        return  # the subcommand prints its help and exits before it would run
    ctx.obj = _load_settings()
    logs.configure(ctx.obj.log_level, ctx.obj.log_format)


@cli.command()
@click.pass_obj
def run(settings: Settings) -> None:
    """Start every adapter whose credentials are set; with none, the console community."""
    problems = platform_problems(settings)
    if problems:
        raise OneLine("; ".join(problems), exit_code=2)
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
    _run_console(
        settings, member="you", clock=ManualClock(SystemClock().now()), notice=NO_PLATFORM_NOTICE
    )


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
    asyncio.run(_migrated(settings))
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
        await _migrated(settings)
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


def _public_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """https://host[/path] → its /slack/events URL (Slack only calls https URLs)."""
    if value is None:
        return None
    if not value.startswith("https://") or len(value) <= len("https://"):
        raise click.BadParameter(f"{value!r} is not an https:// URL; Slack only calls https")
    url = value.rstrip("/")
    return url if url.endswith("/slack/events") else url + "/slack/events"


@slack.command()
@click.option(
    "--url",
    metavar="HTTPS-URL",
    callback=_public_url,
    help="HTTP mode: your public URL (https://pf.example.com); Slack's requests go to "
    "its /slack/events. Without it, the manifest is for Socket Mode.",
)
def manifest(url: str | None) -> None:
    """Print the Slack app manifest (JSON) to paste into api.slack.com/apps."""
    from adapters.slack.manifest import manifest_json

    click.echo(manifest_json(url))


@cli.group()
def discord() -> None:
    """Discord set-up."""


@discord.command("invite-url")
@click.pass_obj
def invite_url(settings: Settings) -> None:
    """Print the OAuth2 URL that invites the bot with exactly the permissions it needs."""
    from adapters.discord.invite import invite_url as url

    if not settings.discord_application_id:
        raise OneLine("set DISCORD_APPLICATION_ID (the application's id) first", exit_code=2)
    click.echo(url(settings.discord_application_id))


@cli.command()
@click.pass_obj
def doctor(settings: Settings) -> None:
    """Check the configuration, the database, and Slack's and Discord's answers; each
    problem comes with its fix. Exits 1 when something needs fixing."""
    from payforward.doctor import diagnose

    checks = asyncio.run(diagnose(settings))
    for check in checks:
        for line in check.lines():
            click.echo(line)
    if not all(check.ok for check in checks):
        raise click.exceptions.Exit(1)


def _run_platforms(settings: Settings) -> None:
    async def serve() -> None:
        await _migrated(settings)
        await bootstrap.run_platforms(settings, SystemClock())

    _run(serve())


def _run(work: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, with a listener that cannot bind said as one line."""
    try:
        return asyncio.run(work)
    except ListenError as error:
        raise OneLine(str(error)) from None


async def _migrated(settings: Settings) -> None:
    """Migrate, or say in one line why the database cannot be used."""
    await _or_one_line(bootstrap.migrate(settings), settings)


async def _or_one_line(work: Awaitable[None], settings: Settings) -> None:
    try:
        await work
    except (OSError, ValueError, RuntimeError) as error:
        raise OneLine(database_problem(error, settings)) from None
    except Exception as error:  # SQLAlchemy's and the drivers' own errors
        if type(error).__module__.split(".")[0] in ("sqlalchemy", "asyncpg", "sqlite3"):
            raise OneLine(database_problem(error, settings)) from None
        raise


def _run_console(
    settings: Settings, *, member: str, clock: ManualClock, notice: str | None = None
) -> None:
    async def session() -> None:
        await _migrated(settings)
        if notice is not None:
            click.echo(notice, err=True)
        await bootstrap.run_console(
            settings,
            member=member,
            clock=clock,
            input=sys.stdin,
            output=sys.stdout,
            interactive=sys.stdin.isatty(),
            serve=True,
        )

    asyncio.run(session())


def _load_settings() -> Settings:
    """Settings, or one line naming the bad variables (never a secret's value)."""
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            _problem(problem["loc"], problem["msg"])
            for problem in error.errors(include_input=False, include_url=False)
        )
        raise OneLine(f"bad configuration: {problems}", exit_code=2) from None


def _problem(loc: tuple[int | str, ...], message: str) -> str:
    message = message.removeprefix("Value error, ")
    if not loc:  # a check across settings names its variables itself
        return message
    return f"{'.'.join(str(part) for part in loc).upper()}: {message}"


def main() -> None:
    """The `payforward` console script."""
    cli(prog_name="payforward")
