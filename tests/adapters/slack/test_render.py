"""Render-out and translate-in as pure functions: escaping, Slack's size limits, forms."""

from __future__ import annotations

import json

from adapters.slack import render, translate
from adapters.slack.manifest import BOT_EVENTS, BOT_SCOPES, manifest, manifest_json
from bot.events import MemberInfo
from bot.messages import (
    Block,
    Button,
    ChannelMention,
    FieldKind,
    Form,
    FormField,
    Mention,
    Message,
    Style,
    UserText,
    text,
)


def test_member_text_is_escaped_and_mentions_are_native() -> None:
    spans = ("Hi ", Mention("U1"), " in ", ChannelMention("C1"), ": ", UserText("<!here> & <@U2>"))
    assert render.mrkdwn(spans) == "Hi <@U1> in <#C1>: &lt;!here&gt; &amp; &lt;@U2&gt;"


def test_long_member_text_is_split_into_sections_within_slacks_limit() -> None:
    message = Message((Block(Style.QUOTE, (UserText("a&b " * 1500),)),))
    sections = render.message_blocks(message)
    assert len(sections) >= 2
    assert all(len(s["text"]["text"]) <= render.SECTION_LIMIT for s in sections)
    assert all(s["text"]["text"].startswith("> ") for s in sections)
    joined = "".join(s["text"]["text"] for s in sections)
    assert "<" not in joined and joined.count("&amp;") == 1500


def test_headings_items_context_and_code_take_their_block_kit_shapes() -> None:
    message = Message(
        (
            text("Weekly board", style=Style.HEADING),
            text("1. ", Mention("U1"), style=Style.ITEM),
            text("2. ", Mention("U2"), style=Style.ITEM),
            text("#3 · ", Mention("U3"), " asks:", style=Style.HEADING),
            text("small", style=Style.CONTEXT),
            text("▁▂▃", style=Style.CODE),
        ),
        buttons=(Button("offer", "I can help", "7"), Button("x", "No value")),
    )
    blocks = render.message_blocks(message)
    assert [b["type"] for b in blocks] == [
        "header",
        "section",
        "section",
        "context",
        "section",
        "actions",
    ]
    assert blocks[1]["text"]["text"] == "• 1. <@U1>\n• 2. <@U2>"
    assert blocks[2]["text"]["text"] == "*#3 · <@U3> asks:*"
    assert blocks[4]["text"]["text"] == "```▁▂▃```"
    assert "value" not in blocks[5]["elements"][1] and "style" not in blocks[5]["elements"][1]


def test_a_message_never_exceeds_fifty_blocks() -> None:
    many = tuple(text(f"line {i}") for i in range(80))
    blocks = render.message_blocks(Message(many, buttons=(Button("a", "A"),)))
    assert len(blocks) == 50 and blocks[-1]["type"] == "actions"


async def test_forms_become_modals_that_carry_their_value_back() -> None:
    form = Form(
        form="share",
        title="Share something you helped with lately",
        submit_label="Share",
        value="42",
        fields=(
            FormField("what", "What?", FieldKind.LONG_TEXT, required=True, max_length=500),
            FormField("who", "With whom?", FieldKind.MEMBER),
            FormField("helpers", "Who?", FieldKind.MEMBERS, initial=("U1", "U2")),
            FormField("ok", "OK to mention?", FieldKind.BOOLEAN),
        ),
    )
    view = render.form_view(form, "C1")
    assert len(view["title"]["text"]) <= 24
    kinds = {b["block_id"]: b["element"]["type"] for b in view["blocks"]}
    assert kinds == {
        "what": "plain_text_input",
        "who": "users_select",
        "helpers": "multi_users_select",
        "ok": "checkboxes",
    }
    assert (
        view["blocks"][0]["optional"] is False and view["blocks"][0]["element"]["multiline"] is True
    )

    values = {
        "what": {"what": {"type": "plain_text_input", "value": "a talk"}},
        "who": {"who": {"type": "users_select", "selected_user": None}},
        "helpers": {"helpers": {"type": "multi_users_select", "selected_users": ["U2"]}},
        "ok": {"ok": {"type": "checkboxes", "selected_options": [{"value": "yes"}]}},
    }
    body = {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "U9", "team_id": "T1"},
        "trigger_id": "1.2.3",
        "view": {**view, "id": "V1", "hash": "h", "state": {"values": values}},
    }

    async def lookup(team: str, user: str) -> MemberInfo:
        return MemberInfo(user)

    event = await translate.form(body, lookup)
    assert (event.form, event.value, event.channel_id, event.community_id) == (
        "share",
        "42",
        "C1",
        "slack:T1",
    )
    assert dict(event.fields) == {"what": "a talk", "who": None, "helpers": ("U2",), "ok": True}


def test_command_text_is_normalized_to_the_cores_canonical_form() -> None:
    raw = "<@U1|ann> see <#C2|general>, <https://x.dev/a?b=1&amp;c|docs> <mailto:a@b.c|a@b.c> <!channel> <@U1>"
    normalized, mentioned = translate.normalize_text(raw)
    assert normalized == "<@U1> see <#C2>, https://x.dev/a?b=1&amp;c a@b.c <!channel> <@U1>"
    assert mentioned == ["U1"]


def test_the_manifest_creates_the_whole_app_in_one_paste() -> None:
    data = json.loads(manifest_json())
    assert data["display_information"]["name"] == "payforward"
    commands = {c["command"]: c for c in data["features"]["slash_commands"]}
    assert set(commands) == {"/ask", "/thanks", "/give", "/payforward"}
    assert all(
        c["should_escape"] and c["description"] and c["usage_hint"] for c in commands.values()
    )
    assert all(len(c["description"]) <= 100 for c in commands.values())
    assert data["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)
    assert {"commands", "chat:write", "reactions:read", "users:read", "im:write"} <= set(BOT_SCOPES)
    settings = data["settings"]
    assert settings["event_subscriptions"]["bot_events"] == list(BOT_EVENTS)
    assert set(BOT_EVENTS) == {
        "reaction_added",
        "reaction_removed",
        "app_home_opened",
        "app_uninstalled",
        "tokens_revoked",
    }
    assert settings["interactivity"]["is_enabled"] and settings["socket_mode_enabled"]
    assert data["features"]["app_home"]["home_tab_enabled"]
    assert data["features"]["bot_user"]["display_name"] == "payforward"
    assert 175 <= len(data["display_information"]["long_description"]) <= 4000

    http = manifest("https://pf.example.com/slack/events")
    assert not http["settings"]["socket_mode_enabled"]
    assert (
        http["settings"]["event_subscriptions"]["request_url"]
        == "https://pf.example.com/slack/events"
    )
    assert all(
        c["url"] == "https://pf.example.com/slack/events"
        for c in http["features"]["slash_commands"]
    )
