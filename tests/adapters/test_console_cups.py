"""A whole cups round through the console: opting in, the admin's rhythm, `:clock` to
the round, one `[DM @name]` intro per member, *We met*, and the weekly post's line."""

from __future__ import annotations

from pathlib import Path

import pytest

from payforward.settings import Settings
from tests.adapters.test_console_transcript import blocks, headed, transcript

# The console's clock starts on Wednesday 2025-01-08 10:00 UTC; alice is the admin.
HISTORY = (
    "/payforward optin cups\n"
    ":as bob\n/payforward optin cups\n"
    "/ask How do I profile asyncio code?\n"
    ":as alice\n:press 1 I can help\n"
    ":as bob\n:press Resolved\n\n\n"  # the form: keep @alice, no note
    ":as alice\n/payforward config cups every 1w thu 10:00\n"
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'payforward.db'}", _env_file=None)


async def test_a_full_round_intro_we_met_and_the_weekly_line(settings: Settings) -> None:
    script = (
        HISTORY
        + ":clock +1d\n"  # Thursday 10:00: the round
        + ":press We met\n"
        + ":as bob\n:press We met\n/payforward me\n"
        + ":clock +4d\n"  # Monday 09:00: the weekly post
    )

    output = await transcript(settings, script, member="alice")

    [saved] = [b for b in headed(output, "[only @alice]") if "cups rounds" in b.body]
    assert saved.body.startswith("Saved: cups rounds every week, Thursday 10:00, the first on")
    [to_alice] = [b for b in headed(output, "[DM @alice]") if "Time for a cup" in b.body]
    assert to_alice.lines == (
        "**☕ Time for a cup: meet @bob!**",
        "Why: @bob asked about “How do I profile asyncio code?”, and you helped with it.",
        "Find half an hour for a coffee or a call, then tell me how it went.",
        "Cups are opt-in: `/payforward optout cups` stops them.",
        "[We met] [Can't make it]",
    )
    [to_bob] = [b for b in headed(output, "[DM @bob]") if "Time for a cup" in b.body]
    assert to_bob.lines[0] == "**☕ Time for a cup: meet @alice!**"
    assert "Why: you asked about" in to_bob.body
    [alice_met] = headed(output, "[DM @alice] (edited)")
    assert alice_met.lines[0].startswith("☕ Glad you met @bob!")
    [bob_met] = headed(output, "[DM @bob] (edited)")
    assert bob_met.lines[0].startswith("☕ Glad you met @alice!")
    [me] = [b for b in headed(output, "[only @bob]") if "Your pay-it-forward" in b.body]
    assert "• Cups: on · 1 conversation" in me.lines
    assert "• ☕ Thu 9 Jan: with @alice — you met" in me.lines
    [post] = [b for b in blocks(output) if "Pay-it-forward week" in b.body]
    assert post.header == "[#general]"
    assert "☕ 1 conversation this week" in post.lines


async def test_cant_make_it_counts_no_conversation(settings: Settings) -> None:
    script = HISTORY + ":clock +1d\n:press Can't make it\n:clock +4d\n"

    output = await transcript(settings, script, member="alice")

    [answered] = headed(output, "[DM @alice] (edited)")
    assert answered.lines[0].startswith("No problem — thanks for letting me know.")
    [post] = [b for b in blocks(output) if "Pay-it-forward week" in b.body]
    assert not [line for line in post.lines if "conversation" in line]
