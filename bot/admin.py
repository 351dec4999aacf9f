"""Admin commands: `/payforward config …` and `/payforward leaderboard post` (on
Discord, `/payforward-admin …`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot import copy, emoji_names, rounds
from bot.context import Context, Refusal
from bot.domain import Community
from bot.messages import Answer, Reply
from bot.parsing import describe_schedule, first_channel, parse_delay, parse_schedule
from bot.report import weekly_post, weekly_report
from bot.weeks import is_timezone, week_of

CONFIG_USAGE = (
    "Usage: `{admin} config channel #channel | timezone Europe/Berlin | "
    "leaderboard mon 09:00 | prompts fri 15:00|off | emoji :raising_hand: | connector 30m|off | "
    "cups every 2w mon 10:00|off`"
)
CONNECTOR_RANGE = (timedelta(minutes=1), timedelta(hours=23))  # routed before the 24 h bump
SETTINGS = (
    "channel",
    "timezone",
    "leaderboard",
    "prompts",
    "emoji",
    "connector",
    "cups",
)  # `config KEY`


def require_admin(ctx: Context) -> None:
    if not ctx.event.actor.is_admin:
        raise Refusal(copy.not_admin())


async def configure(ctx: Context, words: list[str]) -> list[Answer]:
    require_admin(ctx)
    if not words or (len(words) == 1 and words[0].lower() == "show"):
        return [Reply(copy.config_summary(ctx.community))]
    key, value = words[0].lower(), " ".join(words[1:]).strip()
    if key == "cups":
        updated, saved = _cups(ctx, value)
    else:
        updated, saved = _apply(ctx.community, key, value)
    await ctx.uow.communities.save(updated)
    if key == "connector" and updated.connector_after is not None:
        await ctx.uow.connector.reschedule(ctx.cid, updated.connector_after)
    ctx.config_changed = True
    return [Reply(copy.config_saved(saved))]


def _apply(community: Community, key: str, value: str) -> tuple[Community, str]:
    """The changed settings and a plain description, or a Refusal saying what is wrong."""
    if key == "channel":
        channel = first_channel(value)
        if channel is None and value.startswith("#") and len(value) > 1:
            # Platforms turn the channels they know into mentions; this one stayed text.
            raise Refusal(
                f"I don't know a channel {value.split()[0]} here. Pick one I can see "
                "(invite me to a private one first), like "
                f"`{copy.admin_command(community.platform)} config channel #general`."
            )
        if channel is None:
            raise Refusal(
                "Name the channel like `#general`: "
                f"`{copy.admin_command(community.platform)} config channel #general`."
            )
        return replace(community, channel_id=channel), "the weekly post goes to that channel"
    if key == "timezone":
        if not is_timezone(value):
            raise Refusal(copy.unknown_timezone(value))
        return replace(community, timezone=value), f"timezone {value}"
    if key in ("leaderboard", "prompts"):
        if key == "prompts" and value.lower() == "off":
            return replace(community, prompts=None), "weekly prompts are off"
        schedule = parse_schedule(value)
        if schedule is None:
            raise Refusal(
                f"I need a day and a 24-hour time, like `{key} mon 09:00`"
                + (" (or `prompts off`)." if key == "prompts" else ".")
            )
        when = describe_schedule(schedule)
        if key == "leaderboard":
            return replace(community, leaderboard=schedule), f"the leaderboard posts {when}"
        return replace(community, prompts=schedule), f"prompts go out {when}"
    if key == "emoji":
        name = emoji_names.canonical(value)
        if name is None or not _looks_like_emoji(value, name):
            raise Refusal(
                f"“{value}” is not an emoji. Give one emoji, like `:raising_hand:` or 🙋 "
                "(a custom one by its name in colons, like `:partyparrot:`)."
            )
        return replace(
            community, offer_emoji=name
        ), f"offers are made with {emoji_names.glyph(name)}"
    if key == "connector":
        return _connector(community, value)
    raise Refusal(CONFIG_USAGE.format(admin=copy.admin_command(community.platform)))


def _looks_like_emoji(value: str, name: str) -> bool:
    """A bare word (`hello`) counts only when it is a standard emoji's name; a custom
    emoji is written in colons (`:partyparrot:`) or sent as one (`<:name:123>`)."""
    return value.strip().startswith((":", "<")) or emoji_names.glyph(name) != f":{name}:"


def _connector(community: Community, value: str) -> tuple[Community, str]:
    if value.lower() == "off":
        return replace(community, connector_after=None), "the connector is off"
    after = parse_delay(value)
    low, high = CONNECTOR_RANGE
    if after is None or not low <= after <= high:
        raise Refusal(
            "Say how long an ask waits for an offer before I DM it to likely helpers, "
            "between 1 minute and 23 hours: `connector 30m`, `connector 2h`, or `connector off`."
        )
    updated = replace(community, connector_after=after)
    return updated, f"connector: {copy.describe_delay(after)}"


def _cups(ctx: Context, value: str) -> tuple[Community, str]:
    """`config cups every 2w mon 10:00|off`: the first round is the next such moment."""
    community = ctx.community
    try:
        rhythm = rounds.parse(value, community.timezone, ctx.now)
    except rounds.BadRhythm as error:
        raise Refusal(str(error)) from None
    if rhythm is None:
        return replace(community, cups=None), "cups rounds are off"
    first = rounds.describe_next(rhythm, community.timezone, ctx.now)
    return replace(community, cups=rhythm), (
        f"cups rounds {rounds.describe(rhythm)}, the first on {first} "
        "(members join with `/payforward optin cups`)"
    )


async def post_leaderboard(ctx: Context) -> list[Answer]:
    """Post the board now: this week so far, in the configured channel (or here)."""
    require_admin(ctx)
    channel = ctx.community.channel_id or ctx.event.channel_id
    if channel is None:
        command = copy.admin_command(ctx.community.platform)
        raise Refusal(f"Set a channel first: `{command} config channel #channel`.")
    start, end = week_of(ctx.now, ctx.community.timezone)
    report = await weekly_report(ctx.uow, ctx.community, start, end, public=True, now=ctx.now)
    await ctx.post(channel, weekly_post(report, title="Pay-it-forward week so far"))
    return [Reply(copy.say("Posted the board."))]
