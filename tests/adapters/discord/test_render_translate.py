"""The pure parts: rendering messages, reading modal payloads, canonical text, the invite."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import discord
import pytest

from adapters.discord import render
from adapters.discord.invite import invite_url
from adapters.discord.translate import canonical_text, mentioned_ids
from adapters.discord.views import button_custom_id, parse_form_id, submitted_fields
from bot import copy
from bot.messages import Block, Mention, Message, Style, UserText, text


def test_the_invite_asks_for_bot_and_commands_with_exactly_the_permissions_used() -> None:
    url = urlparse(invite_url("123"))
    query = parse_qs(url.query)

    assert url.netloc == "discord.com" and url.path == "/oauth2/authorize"
    assert query["client_id"] == ["123"]
    assert query["scope"] == ["bot applications.commands"]
    granted = discord.Permissions(int(query["permissions"][0]))
    expected = discord.Permissions(
        view_channel=True, send_messages=True, send_messages_in_threads=True, embed_links=True
    )
    assert granted == expected
    assert not granted.administrator and not granted.mention_everyone


def test_a_plain_heading_is_the_title_and_styles_become_markdown() -> None:
    message = Message(
        blocks=(
            text("Settings", style=Style.HEADING),
            text("Weekly post: ", Mention("42"), style=Style.ITEM),
            Block(Style.QUOTE, (UserText("line one\nline two"),)),
            text("small print", style=Style.CONTEXT),
            text("▁▂▃", style=Style.CODE),
        )
    )
    [embed] = render.embeds(message)

    assert embed.title == "Settings"
    assert embed.description == (
        "• Weekly post: <@42>\n> line one\n> line two\n-# small print\n```\n▁▂▃\n```"
    )
    allowed: dict[str, object] = dict(render.allowed_mentions(message).to_dict())
    assert allowed == {"parse": [], "users": [42]}


def test_a_heading_with_a_mention_stays_in_the_description() -> None:
    message = Message(blocks=(text("#1 · ", Mention("7"), " asks:", style=Style.HEADING),))
    [embed] = render.embeds(message)
    assert embed.title is None
    assert embed.description == "**#1 · <@7> asks:**"


def test_long_messages_split_across_embeds_within_discords_limits() -> None:
    lines = tuple(text(f"line {i} " + "x" * 90, style=Style.ITEM) for i in range(120))
    embeds = render.embeds(Message(blocks=lines))

    assert len(embeds) > 1
    assert all(len(e.description or "") <= render.DESCRIPTION_LIMIT for e in embeds)
    assert sum(len(e.description or "") for e in embeds) <= render.TOTAL_LIMIT
    assert embeds[0].description is not None and embeds[0].description.startswith("• line 0 ")


def test_member_text_is_escaped() -> None:
    escaped = render.escape_user_text("@here *hi* <@83000000000000001> <@&83000000000000002>")
    assert "@\u200bhere" in escaped
    assert "\\*hi\\*" in escaped
    assert "<@8" not in escaped and "<@&" not in escaped


def test_modal_values_are_read_by_kind() -> None:
    components = [
        {"type": 18, "component": {"type": 3, "custom_id": "m:helpers", "values": ["1", "2"]}},
        {"type": 1, "components": [{"type": 4, "custom_id": "t:note", "value": "thanks"}]},
        {"type": 18, "component": {"type": 3, "custom_id": "b:share_ok", "values": ["yes"]}},
        {"type": 18, "component": {"type": 5, "custom_id": "u:with", "values": []}},
        {"type": 18, "component": {"type": 4, "custom_id": "nonsense", "value": "x"}},
    ]
    assert submitted_fields(components) == {
        "helpers": ("1", "2"),
        "note": "thanks",
        "share_ok": True,
        "with": None,
    }


def test_custom_ids_carry_guild_action_and_value() -> None:
    assert button_custom_id(42, "offer", "7") == "pf:42:offer:7"
    assert parse_form_id("pf:42:form:resolve:7") == (42, "resolve", "7")
    assert parse_form_id("someone-elses-modal") is None
    with pytest.raises(ValueError):
        button_custom_id(42, "offer", "x" * 100)


def test_command_text_is_canonical() -> None:
    text_ = canonical_text("thanks <@!12> and <@34>, ping <@&56> <@&78>", {56: "mods"})
    assert text_ == "thanks <@12> and <@34>, ping @mods @role"
    assert mentioned_ids(text_) == [12, 34]


def test_later_headings_become_fields() -> None:
    [embed] = render.embeds(copy.help_message(is_admin=True, platform="discord"))

    assert embed.title == "payforward — people helping people"
    assert embed.description is not None and embed.description.startswith("• `/ask <question>`")
    [admin] = embed.fields
    assert admin.name == "For admins"
    # Discord's admin commands are their own top-level command (gated by permission).
    assert admin.value is not None and "`/payforward-admin leaderboard post`" in admin.value
    assert "`/payforward config" not in admin.value


def test_a_heading_with_a_mention_later_on_falls_back_to_the_description() -> None:
    message = Message(
        blocks=(
            text("Board", style=Style.HEADING),
            text("first"),
            text("Thanks to ", Mention("9"), style=Style.HEADING),
        )
    )
    [embed] = render.embeds(message)
    assert embed.fields == []
    assert embed.description == "first\n\n**Thanks to <@9>**"
