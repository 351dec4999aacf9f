"""The console's translate-in (lines, mentions, form answers) and render-out, alone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.console.forms import Rejected, empty_answer, parse_answer
from adapters.console.members import Roster
from adapters.console.render import field_question, render_form, render_message
from adapters.console.transcript import (
    AdvanceClock,
    Blank,
    Command,
    Invalid,
    Press,
    Quit,
    React,
    SwitchMember,
    normalize_mentions,
    parse_duration,
    parse_line,
)
from bot.messages import (
    Attachment,
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
)

CHANNELS = frozenset({"general"})


@pytest.fixture
def roster() -> Roster:
    roster = Roster()
    for name in ("Alice", "bob", "carol"):
        roster.join(name)
    return roster


# Lines.


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        ("/ask How do I profile asyncio code?", Command("ask", "How do I profile asyncio code?")),
        ("  /THANKS @bob  for the tip ", Command("thanks", "@bob  for the tip")),
        ("/give", Command("give", "")),
        ("/payforward leaderboard", Command("payforward", "leaderboard")),
        ("/frobnicate now", Command("frobnicate", "now")),
        (":as bob", SwitchMember("bob")),
        (":as @Carol", SwitchMember("Carol")),
        (":react 1 🙋", React(1, "🙋", added=True)),
        (":react #2 raising_hand", React(2, "raising_hand", added=True)),
        (":unreact 1 :raising_hand:", React(1, ":raising_hand:", added=False)),
        (":press 1 I can help", Press("I can help", 1)),
        (":press #3 resolve", Press("resolve", 3)),
        (":press Yes, this helped", Press("Yes, this helped", None)),
        (":press Resolved", Press("Resolved", None)),
        (":clock +2d", AdvanceClock(timedelta(days=2))),
        (":clock 90m", AdvanceClock(timedelta(minutes=90))),
        (":quit", Quit()),
        (":QUIT", Quit()),
        ("", Blank()),
        ("   ", Blank()),
    ],
)
def test_lines_parse_into_commands_and_verbs(line: str, parsed: object) -> None:
    assert parse_line(line) == parsed


@pytest.mark.parametrize(
    "line",
    [
        "hello there",
        ":dance",
        ":as",
        ":as two words",
        ":react",
        ":react one 🙋",
        ":react 0 🙋",
        ":react 1",
        ":react 1 🙋 extra",
        ":press",
        ":press 2",
        ":press 0 Resolved",
        ":clock",
        ":clock -2d",
        ":clock +2x",
        ":clock +0m",
    ],
)
def test_malformed_lines_become_hints_in_plain_words(line: str) -> None:
    parsed = parse_line(line)
    assert isinstance(parsed, Invalid)
    assert parsed.reason and "Traceback" not in parsed.reason


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("+2d", timedelta(days=2)),
        ("+3h", timedelta(hours=3)),
        ("+30m", timedelta(minutes=30)),
        ("+1w", timedelta(weeks=1)),
        ("+1d12h", timedelta(days=1, hours=12)),
        ("4h", timedelta(hours=4)),
    ],
)
def test_clock_steps(text: str, delta: timedelta) -> None:
    assert parse_duration(text) == delta


@pytest.mark.parametrize("text", ["", "+", "2", "+2 d", "+d", "+2s", "soon", "+0d"])
def test_clock_steps_that_are_not_steps(text: str) -> None:
    assert parse_duration(text) is None


# Mentions.


def test_known_members_become_platform_mentions_described_in_mentions(roster: Roster) -> None:
    text, mentions = normalize_mentions("@Bob and @carol, thanks!", roster, CHANNELS)

    assert text == "<@bob> and <@carol>, thanks!"
    assert set(mentions) == {"bob", "carol"}
    assert mentions["bob"].display_name == "bob"
    assert not mentions["bob"].is_admin


def test_unknown_names_stay_plain_text_for_the_core_to_refuse(roster: Roster) -> None:
    text, mentions = normalize_mentions("@zed helped", roster, CHANNELS)

    assert text == "@zed helped"
    assert mentions == {}


def test_mentions_end_at_sentence_punctuation(roster: Roster) -> None:
    text, _ = normalize_mentions("ask @bob. Or @alice?", roster, CHANNELS)

    assert text == "ask <@bob>. Or <@alice>?"


def test_email_addresses_and_normalized_mentions_are_left_alone(roster: Roster) -> None:
    text, mentions = normalize_mentions("mail bob@example.com or <@carol>", roster, CHANNELS)

    assert text == "mail bob@example.com or <@carol>"
    assert mentions == {}


def test_console_channels_become_channel_mentions(roster: Roster) -> None:
    text, _ = normalize_mentions("config channel #general not #random or #1", roster, CHANNELS)

    assert text == "config channel <#general> not #random or #1"


# Members.


def test_the_first_member_is_the_admin_and_names_keep_their_first_spelling() -> None:
    roster = Roster()
    alice = roster.join("Alice")
    bob = roster.join("bob")
    again = roster.join("ALICE")

    assert (alice.member_id, alice.display_name, alice.is_admin) == ("alice", "Alice", True)
    assert (bob.member_id, bob.is_admin) == ("bob", False)
    assert again == alice
    assert roster.name_of("alice") == "Alice"
    assert roster.name_of("stranger") == "stranger"
    assert roster.find("@BOB") == "bob"
    assert roster.find("zed") is None


def test_names_that_could_not_be_mentioned_back_are_refused() -> None:
    with pytest.raises(ValueError):
        Roster().join("two words")


# Rendering.


def test_each_style_renders_as_plain_lines(roster: Roster) -> None:
    message = Message(
        blocks=(
            Block(Style.HEADING, ("This week",)),
            Block(Style.TEXT, ("Thanks ", Mention("alice"), " in ", ChannelMention("general"))),
            Block(Style.QUOTE, (UserText("line one\nline two"),)),
            Block(Style.ITEM, ("1. ", Mention("stranger"))),
            Block(Style.CONTEXT, ("small print",)),
            Block(Style.CODE, ("▁▂▃▅▇",)),
        )
    )

    assert render_message(message, roster.name_of) == [
        "**This week**",
        "Thanks @Alice in #general",
        "> line one",
        "> line two",
        "• 1. @stranger",
        "small print",
        "▁▂▃▅▇",
    ]


def test_user_text_is_printed_as_typed(roster: Roster) -> None:
    message = Message(blocks=(Block(Style.TEXT, (UserText("*not bold* <@bob> @everyone"),)),))

    assert render_message(message, roster.name_of) == ["*not bold* <@bob> @everyone"]


def test_buttons_share_one_line(roster: Roster) -> None:
    message = Message(
        blocks=(Block(Style.TEXT, ("Did it help?",)),),
        buttons=(Button("confirm", "Yes, this helped"), Button("decline", "Not really")),
    )

    assert render_message(message, roster.name_of)[-1] == "[Yes, this helped] [Not really]"


def test_an_attachment_shows_its_name_then_its_content(roster: Roster) -> None:
    message = Message(
        blocks=(Block(Style.TEXT, ("Your data",)),),
        attachment=Attachment("payforward-alice.json", '{\n  "asks": []\n}'),
    )

    assert render_message(message, roster.name_of) == [
        "Your data",
        "📎 payforward-alice.json",
        "{",
        '  "asks": []',
        "}",
    ]


def test_the_ask_number_is_shown_once(roster: Roster) -> None:
    with_number = Message(blocks=(Block(Style.HEADING, ("#12 · help",)),), ask_number=12)
    without = Message(blocks=(Block(Style.TEXT, ("Someone offered",)),), ask_number=1)
    look_alike = Message(blocks=(Block(Style.TEXT, ("see #12",)),), ask_number=1)

    assert render_message(with_number, roster.name_of) == ["**#12 · help**"]
    assert render_message(without, roster.name_of) == ["#1 Someone offered"]
    assert render_message(look_alike, roster.name_of) == ["#1 see #12"]


# Forms.


HELPERS = FormField(
    "helpers", "Who helped?", FieldKind.MEMBERS, options=("bob", "carol"), initial=("bob",)
)


def test_form_heading_and_questions(roster: Roster) -> None:
    form = Form("resolve", "Resolve #1", "Resolve", (HELPERS,), intro="Pick who helped.")

    assert render_form(form) == ["**Resolve #1**", "Pick who helped."]
    assert field_question(HELPERS, roster.name_of) == (
        "? Who helped? (@bob @carol; Enter keeps @bob; - for nobody)"
    )
    assert field_question(FormField("ok", "Mention me?", FieldKind.BOOLEAN), roster.name_of) == (
        "? Mention me? (y/n; Enter for no)"
    )
    note = FormField("note", "A word of thanks", FieldKind.LONG_TEXT, max_length=500)
    assert field_question(note, roster.name_of) == (
        "? A word of thanks (up to 500 characters; Enter to skip)"
    )


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        ("", ("bob",)),
        ("-", ()),
        ("carol", ("carol",)),
        ("@Carol, @bob", ("carol", "bob")),
        ("bob bob", ("bob",)),
    ],
)
def test_members_answers(roster: Roster, answer: str, value: object) -> None:
    assert parse_answer(HELPERS, answer, roster) == value


@pytest.mark.parametrize("answer", ["zed", "alice", "bob zed"])
def test_members_outside_the_choice_are_rejected_with_the_choice(
    roster: Roster, answer: str
) -> None:
    rejected = parse_answer(HELPERS, answer, roster)

    assert isinstance(rejected, Rejected)
    assert "@bob @carol" in rejected.hint


def test_members_without_options_accept_anyone_the_console_knows(roster: Roster) -> None:
    field = FormField("with", "With whom?", FieldKind.MEMBERS)

    assert parse_answer(field, "alice carol", roster) == ("alice", "carol")
    assert parse_answer(field, "", roster) == ()
    assert isinstance(parse_answer(field, "zed", roster), Rejected)


def test_one_member_answers(roster: Roster) -> None:
    field = FormField("who", "Who?", FieldKind.MEMBER)

    assert parse_answer(field, "@bob", roster) == "bob"
    assert parse_answer(field, "", roster) is None
    assert isinstance(parse_answer(field, "bob carol", roster), Rejected)
    assert isinstance(parse_answer(field, "zed", roster), Rejected)


@pytest.mark.parametrize(
    ("answer", "value"), [("y", True), ("YES", True), ("n", False), ("no", False), ("", False)]
)
def test_yes_no_answers(roster: Roster, answer: str, value: bool) -> None:
    field = FormField("share_ok", "Mention it?", FieldKind.BOOLEAN)

    assert parse_answer(field, answer, roster) is value


def test_yes_no_rejects_anything_else(roster: Roster) -> None:
    field = FormField("share_ok", "Mention it?", FieldKind.BOOLEAN)

    assert isinstance(parse_answer(field, "maybe", roster), Rejected)


def test_text_answers(roster: Roster) -> None:
    optional = FormField("note", "Note", FieldKind.TEXT, max_length=10)
    required = FormField("what", "What?", FieldKind.LONG_TEXT, required=True)

    assert parse_answer(optional, "  a tip ", roster) == "a tip"
    assert parse_answer(optional, "", roster) == ""
    assert isinstance(parse_answer(optional, "x" * 11, roster), Rejected)
    assert isinstance(parse_answer(required, "", roster), Rejected)
    assert parse_answer(required, "a talk", roster) == "a talk"


def test_required_members_need_someone(roster: Roster) -> None:
    field = FormField("who", "Who?", FieldKind.MEMBERS, required=True)

    assert isinstance(parse_answer(field, "", roster), Rejected)
    assert isinstance(parse_answer(field, "-", roster), Rejected)


def test_empty_answers_mean_the_preselection() -> None:
    assert empty_answer(HELPERS) == ("bob",)
    assert empty_answer(FormField("who", "Who?", FieldKind.MEMBER, initial=("carol",))) == "carol"
    assert empty_answer(FormField("who", "Who?", FieldKind.MEMBER)) is None
    assert empty_answer(FormField("ok", "Ok?", FieldKind.BOOLEAN)) is False
    assert empty_answer(FormField("note", "Note", FieldKind.TEXT)) == ""
