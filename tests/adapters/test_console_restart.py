"""A console session after a restart, on the same database file: asks from earlier
sessions can still be reacted to and their buttons pressed."""

from __future__ import annotations

from pathlib import Path

from tests.adapters.test_cli import blocks, payforward


def test_earlier_asks_answer_reactions_and_buttons_after_a_restart(tmp_path: Path) -> None:
    first = payforward(tmp_path, "console", "--as", "alice", stdin="/ask Who knows py-spy?\n")
    assert first.returncode == 0, first.stderr

    second = payforward(
        tmp_path,
        "console",
        "--as",
        "bob",
        stdin=":react 1 🙋\n:as alice\n:press 1 Resolved\n\nThanks a lot\n",
    )

    assert second.returncode == 0, second.stderr
    assert "There is no card" not in second.stdout
    printed = blocks(second.stdout)
    assert any("@bob offered to help with #1" in dm for dm in printed["[DM @alice]"])
    assert any("Who helped?" in line for line in second.stdout.splitlines())
    [credited] = [dm for dm in printed["[DM @bob]"] if "credited you" in dm]
    assert "Their note: “Thanks a lot”" in credited
    [edited] = [card for card in printed["[#general] (edited)"] if "✅ Resolved" in card]
    assert "@bob" in edited
