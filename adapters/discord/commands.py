"""The slash commands, as a discord.py `CommandTree`, each reduced to the core's text form.

Discord gives typed options where Slack gives one string; every callback rebuilds the
text a member would have typed (`<@id> note`, `config channel <#id>`), so the core
parses one syntax for every platform. Admin commands live in their own top-level
command, `/payforward-admin`: Discord applies default member permissions per top-level
command only, so that is the one way to hide them from members who lack *Manage
Server*. The core checks the permission again at run time (`MemberInfo.is_admin`),
because a server can override who sees a command.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

import discord
from discord import app_commands

ASK_DESCRIPTION = "Ask the community for help"
OptChoice = Literal["leaderboard", "prompts", "reminders", "connector", "cups", "all"]
ADMIN_COMMAND = "payforward-admin"


class CommandHandler(Protocol):
    async def on_command(
        self,
        interaction: discord.Interaction,
        command: str,
        text: str,
        users: Sequence[discord.abc.User] = (),
    ) -> None: ...


def _bridge(interaction: discord.Interaction) -> CommandHandler:
    handler: CommandHandler = getattr(interaction.client, "bridge")  # noqa: B009
    return handler


def _joined(*parts: str | None) -> str:
    return " ".join(part.strip() for part in parts if part and part.strip())


@app_commands.command(name="ask", description=ASK_DESCRIPTION)
@app_commands.guild_only()
@app_commands.describe(text="Your question: what do you need help with?")
async def ask(interaction: discord.Interaction, text: str) -> None:
    await _bridge(interaction).on_command(interaction, "ask", text)


@app_commands.command(name="thanks", description="Thank someone who helped you")
@app_commands.guild_only()
@app_commands.describe(member="Who helped you", note="What they did (optional)")
async def thanks(
    interaction: discord.Interaction, member: discord.User, note: str | None = None
) -> None:
    text = _joined(f"<@{member.id}>", note)
    await _bridge(interaction).on_command(interaction, "thanks", text, [member])


@app_commands.command(name="give", description="Log help you gave, or something you shared")
@app_commands.guild_only()
@app_commands.describe(
    what="What you did or shared",
    member="Who you helped (they confirm it); leave out for something shared with everyone",
)
async def give(
    interaction: discord.Interaction, what: str, member: discord.User | None = None
) -> None:
    text = _joined(f"<@{member.id}>" if member else None, what)
    users = [member] if member else []
    await _bridge(interaction).on_command(interaction, "give", text, users)


payforward = app_commands.Group(
    name="payforward", description="Your pay-it-forward stats and settings", guild_only=True
)


async def _sub(interaction: discord.Interaction, text: str) -> None:
    await _bridge(interaction).on_command(interaction, "payforward", text)


@payforward.command(name="me", description="Your stats")
async def me(interaction: discord.Interaction) -> None:
    await _sub(interaction, "me")


@payforward.command(name="leaderboard", description="This week so far, just for you")
async def leaderboard(interaction: discord.Interaction) -> None:
    await _sub(interaction, "leaderboard")


@payforward.command(name="interests", description="Topics you like to help with")
@app_commands.describe(
    topics="Comma-separated, e.g. python, public speaking; `clear` removes them; empty shows yours"
)
async def interests(interaction: discord.Interaction, topics: str | None = None) -> None:
    await _sub(interaction, _joined("interests", topics))


@payforward.command(name="who", description="Who might know about something (only you see it)")
@app_commands.describe(text="A topic or a question")
async def who(interaction: discord.Interaction, text: str) -> None:
    await _sub(interaction, _joined("who", text))


@payforward.command(name="optout", description="Stop leaderboard listing, prompts, reminders, …")
@app_commands.describe(what="What to opt out of")
async def optout(interaction: discord.Interaction, what: OptChoice) -> None:
    await _sub(interaction, f"optout {what}")


@payforward.command(name="optin", description="Opt in (again): cups, the connector, …")
@app_commands.describe(what="What to opt in to")
async def optin(interaction: discord.Interaction, what: OptChoice) -> None:
    await _sub(interaction, f"optin {what}")


@payforward.command(name="timezone", description="Your timezone: no reminders at night")
@app_commands.describe(name="A timezone name like Europe/Berlin; empty shows yours")
async def timezone(interaction: discord.Interaction, name: str | None = None) -> None:
    await _sub(interaction, f"timezone {name}" if name else "timezone")


@payforward.command(name="export", description="Your data as JSON, sent to you by DM")
async def export(interaction: discord.Interaction) -> None:
    await _sub(interaction, "export")


@payforward.command(name="forget", description="Delete your personal data")
async def forget(interaction: discord.Interaction) -> None:
    await _sub(interaction, "forget")


@payforward.command(name="dashboard", description="A sign-in link to the web dashboard, by DM")
async def dashboard(interaction: discord.Interaction) -> None:
    await _sub(interaction, "dashboard")


@payforward.command(name="help", description="What payforward can do")
async def help_(interaction: discord.Interaction) -> None:
    await _sub(interaction, "help")


admin = app_commands.Group(
    name=ADMIN_COMMAND,
    description="payforward settings (Manage Server)",
    guild_only=True,
    default_permissions=discord.Permissions(manage_guild=True),
)
config = app_commands.Group(name="config", description="payforward settings", parent=admin)
board = app_commands.Group(name="leaderboard", description="The weekly board", parent=admin)


@config.command(name="show", description="Show the settings")
async def config_show(interaction: discord.Interaction) -> None:
    await _sub(interaction, "config")


@config.command(name="channel", description="Where the weekly post goes")
async def config_channel(
    interaction: discord.Interaction,
    channel: discord.TextChannel | discord.Thread,
) -> None:
    await _sub(interaction, f"config channel <#{channel.id}>")


@config.command(name="timezone", description="The community's timezone, e.g. Europe/Berlin")
async def config_timezone(interaction: discord.Interaction, timezone: str) -> None:
    await _sub(interaction, _joined("config timezone", timezone))


@config.command(name="leaderboard", description="When the weekly board is posted")
@app_commands.describe(when="Day and 24-hour time, e.g. mon 09:00")
async def config_leaderboard(interaction: discord.Interaction, when: str) -> None:
    await _sub(interaction, _joined("config leaderboard", when))


@config.command(name="prompts", description="When the weekly prompt goes out")
@app_commands.describe(when="Day and 24-hour time, e.g. fri 15:00, or off")
async def config_prompts(interaction: discord.Interaction, when: str) -> None:
    await _sub(interaction, _joined("config prompts", when))


@config.command(name="emoji", description="The reaction that offers help")
@app_commands.describe(emoji="An emoji, e.g. 🙋 or :raising_hand:")
async def config_emoji(interaction: discord.Interaction, emoji: str) -> None:
    await _sub(interaction, _joined("config emoji", emoji))


@config.command(name="connector", description="DM asks with no offer to likely helpers")
@app_commands.describe(after="How long an ask waits for an offer, e.g. 30m or 2h, or off")
async def config_connector(interaction: discord.Interaction, after: str) -> None:
    await _sub(interaction, _joined("config connector", after))


@config.command(name="cups", description="Coffee pairings for members who opt in")
@app_commands.describe(when="How often and when, e.g. every 2w mon 10:00 (1w, 2w or 4w), or off")
async def config_cups(interaction: discord.Interaction, when: str) -> None:
    await _sub(interaction, _joined("config cups", when))


@board.command(name="post", description="Post the weekly board now")
async def board_post(interaction: discord.Interaction) -> None:
    await _sub(interaction, "leaderboard post")


def add_commands(tree: app_commands.CommandTree[discord.Client]) -> None:
    commands: tuple[app_commands.Command[Any, ..., None] | app_commands.Group, ...] = (
        ask,
        thanks,
        give,
        payforward,
        admin,
    )
    for command in commands:
        tree.add_command(command)


COMMAND_NAMES = ("ask", "thanks", "give", "payforward", ADMIN_COMMAND)
