"""Every parser of member input, on any text: it answers or says no, and never raises.

Command text and mentions, times and weekdays, timezones, emoji, durations, the ids
carried in button values, form fields, and the cleaning of member text itself.
"""

from __future__ import annotations

import re
from datetime import time

import discord
from hypothesis import example, given
from hypothesis import strategies as st

from adapters.console.transcript import parse_duration, parse_line
from adapters.discord import translate as discord_translate
from adapters.discord.views import parse_form_id, submitted_fields
from adapters.slack import translate as slack_translate
from bot import emoji_names
from bot.parsing import (
    MAX_ID,
    first_channel,
    leading_mention,
    parse_id,
    parse_schedule,
    parse_time,
    parse_weekday,
)
from bot.text import clean, is_blank
from bot.weeks import is_timezone, zone
from tests.faults.conftest import FAULTS

INVISIBLE = (
    "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u3164\u2800\u180e\ufe0f \t\n\u3000\u00a0"
)
# Text as members type it, with the characters that broke things before mixed in.
member_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from([*INVISIBLE, "\x00", "<", ">", "@", "#", "!", "|", ":", "&"]),
    ),
    max_size=200,
)


@FAULTS
@given(member_text)
@example("\x00")
@example("\u200b\u200c\u200d")
def test_clean_text_has_no_controls_and_no_invisible_edges(text: str) -> None:
    cleaned = clean(text)
    assert "\x00" not in cleaned
    assert clean(cleaned) == cleaned  # idempotent
    if cleaned:
        assert not is_blank(cleaned)
        assert cleaned[0] not in INVISIBLE and cleaned[-1] not in INVISIBLE


@FAULTS
@given(st.text(alphabet=st.sampled_from([*INVISIBLE, "\x00", "\x7f"]), max_size=50))
def test_text_of_only_invisible_characters_is_blank(text: str) -> None:
    assert is_blank(text)


@FAULTS
@given(member_text)
def test_mentions_and_channels_parse_or_not(text: str) -> None:
    member, rest = leading_mention(text)
    assert member is None or (member and "<" not in member and ">" not in member)
    assert isinstance(rest, str)
    channel = first_channel(text)
    assert channel is None or f"<#{channel}>" in text


@FAULTS
@given(st.text(max_size=20))
@example("24:00")
@example("9:60")
@example("٠٩:٠٠")  # Arabic-Indic digits match \d
def test_times_parse_to_a_real_time_or_none(word: str) -> None:
    parsed = parse_time(word)
    assert parsed is None or isinstance(parsed, time)


@FAULTS
@given(st.integers(0, 23), st.integers(0, 59), st.sampled_from([":", ".", "h", ""]))
def test_every_24_hour_time_parses(hour: int, minute: int, sep: str) -> None:
    assert parse_time(f"{hour:02d}{sep}{minute:02d}") == time(hour, minute)


@FAULTS
@given(st.text(max_size=30))
def test_weekdays_and_schedules_parse_or_not(text: str) -> None:
    day = parse_weekday(text)
    assert day is None or 0 <= day <= 6
    schedule = parse_schedule(text)
    assert schedule is None or 0 <= schedule.weekday <= 6


@FAULTS
@given(st.text(max_size=400))
@example("America")
@example("Europe")
@example("A" * 300)
@example("../../etc/passwd")
@example("Europe/Berlin/")
@example("\x00")
def test_timezones_are_known_zones_or_refused(name: str) -> None:
    if is_timezone(name):
        assert zone(name) is not None


@FAULTS
@given(st.text(max_size=40))
@example(":raising_hand::skin-tone-3:")
@example("<:custom:123>")
@example("\u200b")
def test_emoji_names_parse_or_not(raw: str) -> None:
    name = emoji_names.canonical(raw)
    assert name is None or (name and name == name.lower())
    assert emoji_names.same(raw, raw) == (name is not None)


@FAULTS
@given(st.text(max_size=30))
@example("+99999999999d")
@example("+1e9h")
def test_console_durations_parse_or_not(text: str) -> None:
    parsed = parse_duration(text)
    assert parsed is None or parsed.total_seconds() >= 0


@FAULTS
@given(member_text)
def test_console_lines_parse_or_not(line: str) -> None:
    parse_line(line)


@FAULTS
@given(st.one_of(st.text(max_size=40), st.integers(-(10**30), 10**30).map(str)))
@example("1" + "0" * 25)
@example("²")
@example("0")
@example(str(MAX_ID + 1))
def test_ids_in_button_values_fit_the_database_or_are_none(value: str) -> None:
    parsed = parse_id(value)
    assert parsed is None or 0 < parsed <= MAX_ID
    if parsed is not None:
        assert re.fullmatch(r"[0-9]+", value)


@FAULTS
@given(member_text)
def test_slack_markup_normalizes(text: str) -> None:
    normalized, mentioned = slack_translate.normalize_text(text)
    for member in mentioned:
        assert f"<@{member}>" in normalized


@FAULTS
@given(member_text)
def test_discord_markup_normalizes(text: str) -> None:
    canonical = discord_translate.canonical_text(text, {1: "role"})
    assert re.search(r"<@&\d+>", canonical) is None  # role mentions are inert text
    for member in discord_translate.mentioned_ids(canonical):
        assert f"<@{member}>" in canonical


@FAULTS
@given(st.text(max_size=120))
@example("pf:1:form:resolve:1" + "0" * 30)
def test_discord_form_ids_parse_or_not(custom_id: str) -> None:
    parsed = parse_form_id(custom_id)
    if parsed is not None:
        guild, form, _value = parsed
        assert guild >= 0 and form


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20))
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


leaf_input = st.fixed_dictionaries(
    {"type": st.sampled_from([3, 4, 5, 6]), "custom_id": st.text(max_size=12)},
    optional={
        "value": st.one_of(st.none(), st.text(max_size=30)),
        "values": st.lists(st.text(max_size=25), max_size=4),
    },
)
component = st.one_of(
    leaf_input,
    st.fixed_dictionaries({"type": st.just(18), "component": leaf_input}),
    st.fixed_dictionaries({"type": st.just(1), "components": st.lists(leaf_input, max_size=3)}),
)


@FAULTS
@given(st.lists(component, max_size=5))
@example([{"type": 4, "custom_id": "l:what", "value": "\u200b"}])
def test_discord_form_fields_parse_from_any_modal(components: list[dict[str, object]]) -> None:
    fields = submitted_fields(components)
    for value in fields.values():
        assert value is None or isinstance(value, str | bool | tuple)


@FAULTS
@given(
    st.dictionaries(
        st.text(max_size=8),
        st.dictionaries(
            st.text(max_size=8),
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(
                        [
                            "plain_text_input",
                            "multi_users_select",
                            "users_select",
                            "checkboxes",
                            "x",
                        ]
                    )
                },
                optional={
                    "value": json_value,
                    "selected_users": json_value,
                    "selected_user": json_value,
                    "selected_options": json_value,
                },
            ),
            max_size=3,
        ),
        max_size=3,
    ),
    json_value,
)
def test_slack_form_fields_parse_from_any_shape(
    values: dict[str, object], metadata: object
) -> None:
    import asyncio
    import json

    from bot.events import MemberInfo

    async def lookup(team: str, user: str) -> MemberInfo:
        return MemberInfo(user)

    body = {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "view": {
            "id": "V1",
            "hash": "h",
            "state": {"values": values},
            "private_metadata": json.dumps(metadata),
            "callback_id": "payforward:share",
        },
    }
    event = asyncio.run(slack_translate.form(body, lookup))
    for value in event.fields.values():
        assert value is None or isinstance(value, str | bool | tuple)


def test_discord_permissions_parse() -> None:
    assert discord_translate.is_admin(discord.Permissions(manage_guild=True))
