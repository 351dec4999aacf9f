"""The Discord adapter's render-out: a normalized `Message` as embeds, buttons and a file.

Everything the core says goes into embeds: they read well for cards and boards, and an
embed never pings anyone, so a mention in member text cannot notify a crowd. On top of
that every send carries `AllowedMentions` that allow no @everyone/@here and no roles,
and users only where the core put a `Mention`. Member text (`UserText`) is escaped so
it cannot inject markdown or mentions; the bot's own copy keeps its light markdown.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import discord

from bot.messages import (
    Block,
    ButtonStyle,
    ChannelMention,
    Mention,
    Message,
    Span,
    Style,
    UserText,
)

COLOUR = discord.Colour(0xF2A541)  # a warm amber: payforward's accent
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
EMBEDS_LIMIT = 10
FIELDS_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
TOTAL_LIMIT = 6000  # characters across all embeds of one message
ELLIPSIS = "…"

BUTTON_STYLES = {
    ButtonStyle.DEFAULT: discord.ButtonStyle.secondary,
    ButtonStyle.PRIMARY: discord.ButtonStyle.primary,
    ButtonStyle.DANGER: discord.ButtonStyle.danger,
}


@dataclass(frozen=True)
class Rendered:
    """The parts of one Discord message; the view is built separately (it needs a loop)."""

    embeds: list[discord.Embed]
    allowed_mentions: discord.AllowedMentions
    file: discord.File | None


def allowed_mentions(message: Message) -> discord.AllowedMentions:
    users = [discord.Object(int(m)) for m in mentioned_members(message) if m.isdigit()]
    return discord.AllowedMentions(everyone=False, roles=False, users=users, replied_user=False)


NO_MENTIONS = discord.AllowedMentions.none()


def mentioned_members(message: Message) -> list[str]:
    found = (s.member_id for b in message.blocks for s in b.spans if isinstance(s, Mention))
    return list(dict.fromkeys(found))


def render(message: Message) -> Rendered:
    file = None
    if message.attachment is not None:
        data = io.BytesIO(message.attachment.content.encode("utf-8"))
        file = discord.File(data, filename=message.attachment.filename)
    return Rendered(embeds(message), allowed_mentions(message), file)


def embeds(message: Message) -> list[discord.Embed]:
    """One embed when it fits: a leading plain heading as the title, each later plain
    heading with the blocks under it as a field, the rest as the description. A message
    that outgrows that is all description, split across embeds on line boundaries
    within Discord's limits (a weekly board with long asks, an export summary)."""
    blocks = list(message.blocks)
    title: str | None = None
    if blocks and blocks[0].style is Style.HEADING and _plain(blocks[0]):
        title = _clip(_spans(blocks[0].spans, escape=False), TITLE_LIMIT)
        blocks = blocks[1:]
    single = _with_fields(title, blocks)
    if single is not None:
        return [single]
    body = _markdown(blocks)
    budget = TOTAL_LIMIT - len(title or "")
    chunks = _chunks(_clip(body, budget), DESCRIPTION_LIMIT)[:EMBEDS_LIMIT] or [""]
    result = [discord.Embed(colour=COLOUR, description=chunk or None) for chunk in chunks]
    result[0].title = title
    return result


def _with_fields(title: str | None, blocks: list[Block]) -> discord.Embed | None:
    """The message as one embed with a field per later section, or None if it won't fit."""
    lead: list[Block] = []
    sections: list[tuple[str, list[Block]]] = []
    for block in blocks:
        if block.style is Style.HEADING and lead + [b for _, bs in sections for b in bs]:
            if not _plain(block):
                return None
            sections.append((_spans(block.spans, escape=False).strip(), []))
        elif sections:
            sections[-1][1].append(block)
        else:
            lead.append(block)
    description = _markdown(lead)
    fields = [(name, _markdown(body)) for name, body in sections]
    size = len(title or "") + len(description) + sum(len(n) + len(v) for n, v in fields)
    if (
        len(description) > DESCRIPTION_LIMIT
        or len(fields) > FIELDS_LIMIT
        or size > TOTAL_LIMIT
        or any(not 0 < len(n) <= FIELD_NAME_LIMIT for n, _ in fields)
        or any(not 0 < len(v) <= FIELD_VALUE_LIMIT for _, v in fields)
    ):
        return None
    embed = discord.Embed(colour=COLOUR, title=title, description=description or None)
    for name, value in fields:
        embed.add_field(name=name, value=value, inline=False)
    return embed


def _markdown(blocks: list[Block]) -> str:
    return "\n".join(block_markdown(block, first=i == 0) for i, block in enumerate(blocks))


def block_markdown(block: Block, *, first: bool = False) -> str:
    if block.style is Style.CODE:
        code = _spans(block.spans, escape=False).replace("```", "ʼʼʼ")
        return f"```\n{code}\n```"
    lines = _spans(block.spans, escape=True).split("\n")
    if block.style is Style.HEADING:
        heading = f"**{' '.join(line.strip() for line in lines)}**"
        return heading if first else "\n" + heading
    if block.style is Style.QUOTE:
        return "\n".join(f"> {line}" for line in lines)
    if block.style is Style.ITEM:
        return "\n".join([f"• {lines[0]}", *(f"  {line}" for line in lines[1:])])
    if block.style is Style.CONTEXT:
        return "\n".join(f"-# {line}" for line in lines if line.strip())
    return "\n".join(lines)


def escape_user_text(text: str) -> str:
    """Member words as inert text: no markdown, no @everyone/@here, no user or role pings."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def _spans(spans: tuple[Span, ...], *, escape: bool) -> str:
    parts: list[str] = []
    for span in spans:
        if isinstance(span, str):
            parts.append(span)
        elif isinstance(span, UserText):
            parts.append(escape_user_text(span.text) if escape else span.text)
        elif isinstance(span, Mention):
            parts.append(f"<@{span.member_id}>")
        elif isinstance(span, ChannelMention):
            parts.append(f"<#{span.channel_id}>")
    return "".join(parts)


def _plain(block: Block) -> bool:
    """A heading Discord can show as a title: titles render no mentions and no markdown."""
    return all(isinstance(span, str) for span in block.spans)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def _chunks(text: str, limit: int) -> list[str]:
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one very long line: cut it hard
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks
