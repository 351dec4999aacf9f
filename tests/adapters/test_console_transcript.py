"""The whole bot through the console: the real core, dispatcher and SQLite storage, wired
by the bootstrap as the CLI wires them, driven by scripted transcripts.

Assertions read the printed blocks the way a person reads the transcript: who could
see a message, and the words that matter, not the core's exact copy.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.console.session import ClockHook
from bot.clock import ManualClock
from payforward import bootstrap
from payforward.settings import Settings

START = datetime(2025, 1, 8, 10, 0, tzinfo=UTC)  # a Wednesday
HEADER = re.compile(r"^\[(#\S+|DM @\S+|only @\S+)\]( \(edited\))?$")
ASK = "/ask How do I profile asyncio code?\n"


@dataclass(frozen=True)
class Printed:
    header: str  # `[#general]`, `[DM @bob] (edited)`, …
    lines: tuple[str, ...]

    @property
    def body(self) -> str:
        return "\n".join(self.lines)


def blocks(output: str) -> list[Printed]:
    """The message blocks of a transcript; echoed input and form questions are skipped."""
    found: list[Printed] = []
    current: list[str] | None = None
    for line in output.splitlines():
        if current is None:
            if HEADER.match(line):
                current = [line]
        elif line == "":
            found.append(Printed(current[0], tuple(current[1:])))
            current = None
        else:
            current.append(line)
    assert current is None, f"unterminated block: {current}"
    return found


def headed(output: str, header: str) -> list[Printed]:
    return [block for block in blocks(output) if block.header == header]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'payforward.db'}", _env_file=None)


async def transcript(
    settings: Settings,
    script: str,
    *,
    member: str = "alice",
    clock: ManualClock | None = None,
    on_clock: ClockHook | None = None,
) -> str:
    out = io.StringIO()
    await bootstrap.migrate(settings)
    await bootstrap.run_console(
        settings,
        member=member,
        clock=clock or ManualClock(START),
        input=io.StringIO(script),
        output=out,
        interactive=False,
        on_clock=on_clock,
    )
    return out.getvalue()


async def test_an_ask_posts_a_numbered_card_in_general(settings: Settings) -> None:
    output = await transcript(settings, ASK)

    assert output.startswith("alice> /ask How do I profile asyncio code?\n")
    (card,) = headed(output, "[#general]")
    assert "#1" in card.body
    assert "How do I profile asyncio code?" in card.body
    assert card.lines[-1] == "[I can help] [Resolved]"
    assert headed(output, "[only @alice]")


async def test_an_empty_ask_gets_usage_only_for_the_caller(settings: Settings) -> None:
    output = await transcript(settings, "/ask\n")

    assert [block.header for block in blocks(output)] == ["[only @alice]"]
    assert "/ask" in blocks(output)[0].body


async def test_a_reaction_offers_help_tells_the_asker_and_updates_the_card(
    settings: Settings,
) -> None:
    output = await transcript(settings, ASK + ":as bob\n:react 1 🙋\n")

    (dm,) = headed(output, "[DM @alice]")
    assert "@bob" in dm.body
    assert "#1" in dm.body
    assert headed(output, "[only @bob]")
    (edited,) = headed(output, "[#general] (edited)")
    assert "@bob" in edited.body


async def test_withdrawing_the_reaction_takes_the_offer_off_the_card(settings: Settings) -> None:
    output = await transcript(
        settings, ASK + ":as bob\n:react 1 raising_hand\n:unreact 1 :raising_hand:\n"
    )

    offered, withdrawn = headed(output, "[#general] (edited)")
    assert "@bob" in offered.body
    assert "@bob" not in withdrawn.body


async def test_pressing_i_can_help_is_an_offer_too(settings: Settings) -> None:
    output = await transcript(settings, ASK + ":as carol\n:press 1 i can help\n")

    (dm,) = headed(output, "[DM @alice]")
    assert "@carol" in dm.body


async def test_reacting_on_your_own_ask_does_nothing_public(settings: Settings) -> None:
    output = await transcript(settings, ASK + ":react 1 🙋\n")

    assert headed(output, "[DM @alice]") == []
    assert headed(output, "[#general] (edited)") == []


async def test_resolving_credits_the_preselected_helpers_and_closes_the_card(
    settings: Settings,
) -> None:
    script = ASK + ":as bob\n:react 1 🙋\n:as alice\n:press 1 Resolved\n\n\n"

    output = await transcript(settings, script)

    assert "? " in output  # the form asked its questions
    resolved = headed(output, "[#general] (edited)")[-1]
    assert "resolved" in resolved.body.lower()
    assert "@bob" in resolved.body
    assert "[I can help]" not in resolved.body
    assert any("#1" in dm.body for dm in headed(output, "[DM @bob]"))


async def test_resolving_with_nobody_credits_no_one(settings: Settings) -> None:
    script = ASK + ":as bob\n:react 1 🙋\n:as alice\n:press Resolved\n-\n\n"

    output = await transcript(settings, script)

    resolved = headed(output, "[#general] (edited)")[-1]
    assert "resolved" in resolved.body.lower()
    assert "@bob" not in resolved.body
    assert headed(output, "[DM @bob]") == []


async def test_thanks_scores_on_the_leaderboard(settings: Settings) -> None:
    script = (
        ":as bob\n:as carol\n:as alice\n/thanks @bob for the py-spy tip\n"
        ":as carol\n/payforward leaderboard\n"
    )

    output = await transcript(settings, script)

    (thanked,) = headed(output, "[DM @bob]")
    assert "@alice" in thanked.body
    (board,) = headed(output, "[only @carol]")
    assert re.search(r"1.*@bob", board.body)


async def test_a_reported_give_counts_once_the_receiver_confirms_by_button(
    settings: Settings,
) -> None:
    script = ":as carol\n:as bob\n/give @carol a code review\n:as carol\n:press Yes, this helped\n"

    output = await transcript(settings, script)

    (request,) = headed(output, "[DM @carol]")
    assert "@bob" in request.body
    assert "[Yes, this helped]" in request.body
    assert headed(output, "[DM @carol] (edited)")
    (confirmed,) = headed(output, "[DM @bob]")
    assert "@carol" in confirmed.body


async def test_a_name_never_used_is_an_unknown_member(settings: Settings) -> None:
    output = await transcript(settings, "/thanks @zed for nothing\n")

    (reply,) = headed(output, "[only @alice]")
    assert "@zed" in reply.body
    assert headed(output, "[DM @zed]") == []


async def test_only_the_first_member_may_configure(settings: Settings) -> None:
    script = "/payforward config timezone Europe/Berlin\n:as bob\n/payforward config timezone UTC\n"

    output = await transcript(settings, script)

    (admin,) = headed(output, "[only @alice]")
    (refused,) = headed(output, "[only @bob]")
    assert "Berlin" in admin.body
    assert "admin" in refused.body.lower()


async def test_clock_runs_the_hook_then_delivers(settings: Settings) -> None:
    calls: list[tuple[datetime, datetime]] = []

    async def on_clock(previous: datetime, now: datetime) -> None:
        calls.append((previous, now))

    output = await transcript(settings, ":clock +2d\n", on_clock=on_clock)

    assert calls == [(START, START + timedelta(days=2))]
    assert "[only @alice]\nThe clock is now Fri 2025-01-10 10:00 UTC." in output


async def test_mistakes_get_a_plain_hint_and_the_session_goes_on(settings: Settings) -> None:
    script = ":react 9 🙋\n:press 1 Nope\nhello\n:dance\n/frob\n" + ASK

    output = await transcript(settings, script)

    assert "Traceback" not in output
    hints = headed(output, "[only @alice]")
    assert len(hints) == 6  # four console hints, the core's help for /frob, the ask's ack
    assert "/frob" in hints[4].body
    assert headed(output, "[#general]")


async def test_a_second_session_on_the_same_database_goes_on_numbering(
    settings: Settings,
) -> None:
    await transcript(settings, ASK)

    output = await transcript(settings, "/ask And how about memory?\n:as bob\n:react 2 🙋\n")

    (card,) = headed(output, "[#general]")
    assert "#2" in card.body
    (dm,) = headed(output, "[DM @alice]")
    assert "@bob" in dm.body


# The connector: interests, who, a routed ask's DM and an offer from it.

HISTORY = (
    ASK
    + ":as bob\n:react 1 🙋\n:as alice\n/thanks @bob for the py-spy tip\n"
    + ":press 1 Resolved\n\n\n"
    + ":as bob\n/payforward optin connector\n"
)


async def test_interests_are_listed_and_refused_plainly(settings: Settings) -> None:
    script = (
        "/payforward interests python, public speaking\n"
        "/payforward interests\n"
        "/payforward interests " + ", ".join(f"t{n}" for n in range(11)) + "\n"
        "/payforward interests\n"
    )
    output = await transcript(settings, script)

    saved, shown, refused, again = headed(output, "[only @alice]")
    assert "Saved your interests: *python*, *public speaking*" in saved.body
    assert "Your interests: *python*, *public speaking*" in shown.body
    assert "the limit is 10. Nothing was saved" in refused.body
    assert again.body == shown.body


async def test_who_answers_only_the_caller_with_reasons(settings: Settings) -> None:
    script = (
        HISTORY
        + ":as dan\n/payforward interests asyncio\n:as carol\n/payforward who asyncio profiling\n"
    )
    output = await transcript(settings, script)

    (answer,) = headed(output, "[only @carol]")
    assert "Who might help with “asyncio profiling”" in answer.body
    assert "@bob — helped @alice with “How do I profile asyncio code?”" in answer.body
    assert "@dan — lists *asyncio*" in answer.body


async def test_an_unanswered_ask_is_routed_by_dm_and_i_can_help_offers(
    settings: Settings,
) -> None:
    script = (
        HISTORY
        + ":as carol\n/ask Profiling slow asyncio coroutines\n"
        + ":clock +31m\n"
        + ":as bob\n:press 2 I can help\n"
    )
    output = await transcript(settings, script)

    routed = [b for b in headed(output, "[DM @bob]") if "🔎" in b.lines[0]]
    (dm,) = routed
    assert "🔎 #2 · @carol asked in #general and nobody has offered yet:" in dm.lines[0]
    assert "Profiling slow asyncio coroutines" in dm.body
    assert "you helped @alice with “How do I profile asyncio code?”" in dm.body
    assert dm.lines[-1] == "[I can help] [Not this time]"
    (offered,) = [
        b for b in headed(output, "[DM @carol]") if "@bob offered to help with #2" in b.body
    ]
    assert offered
    assert any(
        "Thanks for offering to help with #2" in b.body for b in headed(output, "[only @bob]")
    )
    assert "@bob" in headed(output, "[#general] (edited)")[-1].body


async def test_not_this_time_replaces_the_routed_dm(settings: Settings) -> None:
    script = (
        HISTORY
        + ":as carol\n/ask Profiling slow asyncio coroutines\n"
        + ":clock +31m\n"
        + ":as bob\n:press 2 Not this time\n"
    )
    output = await transcript(settings, script)

    (edited,) = headed(output, "[DM @bob] (edited)")
    assert "I won't ask you about #2 again" in edited.body
    assert "[I can help]" not in edited.body
