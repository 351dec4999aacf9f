"""The README's console examples, run as a reader would run them: each shell block that
pipes into `payforward console` is run in a shell, and what it prints must read as the
text block that follows it (a line `…` there stands for any lines left out)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.adapters.test_cli import PLATFORM_VARIABLES, payforward_command

README = Path(__file__).resolve().parents[2] / "README.md"
PAIR = re.compile(
    r"```sh\n(?P<command>[^`]*?payforward console[^`]*?)```\n\n```text\n(?P<out>.*?)```", re.S
)


def transcripts() -> list[tuple[str, str]]:
    return [(m["command"], m["out"]) for m in PAIR.finditer(README.read_text(encoding="utf-8"))]


def reads_as(printed: list[str], expected: list[str]) -> bool:
    """Line by line, with `…` in `expected` matching any run of lines (none included)."""
    if not expected:
        return not printed
    if expected[0] == "…":
        return any(reads_as(printed[i:], expected[1:]) for i in range(len(printed) + 1))
    return bool(printed) and printed[0] == expected[0] and reads_as(printed[1:], expected[1:])


def test_the_readme_has_its_console_examples() -> None:
    assert len(transcripts()) >= 2


@pytest.mark.parametrize(("command", "expected"), transcripts())
def test_a_readme_console_example_prints_what_the_readme_shows(
    tmp_path: Path, command: str, expected: str
) -> None:
    """Run from an empty folder with an old `payforward.db` in it, as after `make run`:
    the example must not depend on it."""
    (tmp_path / "payforward.db").write_bytes(b"")  # in the way, if anything used it
    binary = " ".join(shlex.quote(part) for part in payforward_command())
    env = {k: v for k, v in os.environ.items() if k not in (*PLATFORM_VARIABLES, "DATABASE_URL")}
    result = subprocess.run(
        ["bash", "-c", command.replace(".venv/bin/payforward", binary)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        env=env,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    printed = result.stdout.rstrip("\n").split("\n")
    wanted = expected.rstrip("\n").split("\n")
    assert reads_as(printed, wanted), "\n".join(printed)


def test_dots_stand_for_any_lines() -> None:
    assert reads_as(["a", "b", "c"], ["a", "…", "c"])
    assert reads_as(["a", "c"], ["a", "…", "c"])
    assert not reads_as(["a", "b"], ["a", "…", "c"])
