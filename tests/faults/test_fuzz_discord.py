"""Fuzzed interactions through the Discord adapter's translate-in, against the fake
Discord's gateway and REST: every interaction is answered, never a traceback, never a
raw @everyone/@here out (nor an allowed mention of them), nothing saved on a refusal."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text as sql

from bot import copy
from bot.domain import MAX_ASK_LENGTH
from bot.parsing import parse_id
from bot.text import clean
from payforward.bootstrap import migrate
from payforward.settings import Settings
from tests.adapters.discord.conftest import (
    ALICE,
    BOB,
    GENERAL,
    GUILD,
    Harness,
    discord_world,
    running,
)
from tests.adapters.discord.fake_discord import FakeDiscord, is_callback
from tests.faults.conftest import FAULTS, LoopThread, Tracebacks, no_tracebacks
from tests.faults.test_findings_discord import carrying
from tests.faults.test_parsers import member_text

FUZZ = settings(FAULTS, max_examples=30)
RAW_SPECIAL = re.compile(r"(?<!\u200b)@(everyone|here)")
discord_text = st.one_of(
    member_text,
    st.lists(
        st.sampled_from(["@everyone", "@here", "<@&1>", "<@!1>", "<#1>", "**b**", " "]), max_size=6
    ).map("".join),
)


class Running:
    """payforward with the Discord adapter on its own loop thread, for a module."""

    def __init__(self, tmp: Path) -> None:
        self.loop = LoopThread()
        self.fake: FakeDiscord = discord_world()
        self.loop.run(self.fake.start())
        template = tmp / "template.db"
        self.loop.run(migrate(Settings(_env_file=None, database_url=f"sqlite:///{template}")))  # type: ignore[call-arg]
        (tmp / "run").mkdir()
        self._context: AbstractAsyncContextManager[Harness] = running(
            tmp / "run", template, self.fake
        )
        self.bot: Harness = self.loop.run(self._context.__aenter__())
        self.card, _ = self.loop.run(self.bot.ask(ALICE, "a real ask to press on"))

    def close(self) -> None:
        self.loop.run(self._context.__aexit__(None, None, None))
        self.loop.run(self.fake.close())
        self.loop.close()

    def count(self, table: str) -> int:
        async def count() -> int:
            async with self.bot.core.uow() as uow:
                conn = uow.asks._conn  # type: ignore[attr-defined]
                return int((await conn.execute(sql(f"SELECT count(*) FROM {table}"))).scalar_one())

        return self.loop.run(count())

    def answer(self, interaction: Any) -> dict[str, Any]:
        """The interaction's first response (its callback), once the work is settled."""
        sent = self.loop.run(interaction)
        [callback] = self.loop.run(self.fake.wait_for(is_callback(sent)))
        self.loop.run(self.bot.settled())
        answer: dict[str, Any] = callback.body
        return answer

    def said_since(self, start: int) -> list[Any]:
        return [c.body for c in self.fake.calls[start:] if c.body]


@pytest.fixture(scope="module")
def discord_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    bot = Running(tmp_path_factory.mktemp("discord-fuzz"))
    try:
        yield bot
    finally:
        bot.close()


def assert_no_pings(bodies: list[Any]) -> None:
    for body in bodies:
        said = json.dumps(body, ensure_ascii=False)
        assert not RAW_SPECIAL.search(said.replace("\\u200b", "\u200b")), said[:300]
        allowed = body.get("allowed_mentions") if isinstance(body, dict) else None
        if allowed is not None:
            assert "everyone" not in (allowed.get("parse") or [])


@FUZZ
@given(st.sampled_from(["ask", "give", "timezone"]), discord_text)
@example("ask", "@everyone please help")
@example("ask", "\u200b\u200c")
@example("ask", "x" * (MAX_ASK_LENGTH + 1))
@example("timezone", "America")
@example("timezone", "A" * 300)
@example("ask", "NUL \x00 inside")
def test_fuzzed_command_text(
    discord_bot: Running, tracebacks: Tracebacks, command: str, text: str
) -> None:
    assume(text)  # Discord requires string options to be non-empty
    asks = discord_bot.count("asks")
    start = len(discord_bot.fake.calls)
    if command == "timezone":
        options = [
            {"type": 1, "name": "timezone", "options": [{"type": 3, "name": "name", "value": text}]}
        ]
        interaction = discord_bot.bot.command(BOB, "payforward", options)
    else:
        interaction = discord_bot.bot.command(
            BOB,
            command,
            [{"type": 3, "name": "text" if command == "ask" else "what", "value": text}],
        )
    answer = discord_bot.answer(interaction)
    assert answer["type"] in (4, 5)
    no_tracebacks(tracebacks)
    assert_no_pings(discord_bot.said_since(start))
    if command == "ask":
        kept = clean(text)
        expected = 1 if 0 < len(kept) <= MAX_ASK_LENGTH else 0
        assert discord_bot.count("asks") == asks + expected  # a refusal saves nothing


ACTIONS = (
    copy.OFFER,
    copy.RESOLVE,
    copy.CONFIRM_GIVE,
    copy.DECLINE_GIVE,
    copy.STILL_NEED_HELP,
    copy.CANT_HELP,
    "nothing_this_week",
    "unknown",
)


@FUZZ
@given(st.sampled_from(ACTIONS), st.from_regex(r"[\w.-]{0,40}", fullmatch=True))
@example(copy.OFFER, "1" + "0" * 25)
@example(copy.CONFIRM_GIVE, "²")
def test_fuzzed_button_values(
    discord_bot: Running, tracebacks: Tracebacks, action: str, value: str
) -> None:
    parsed = parse_id(value)
    assume(parsed is None or parsed > 10**6)
    custom_id = f"pf:{GUILD}:{action}:{value}"
    assume(len(custom_id) <= 100)
    before = (discord_bot.count("offers"), discord_bot.count("gives"))
    interaction = discord_bot.fake.press(
        GUILD, carrying(discord_bot.card, custom_id), BOB, custom_id
    )
    answer = discord_bot.answer(interaction)
    assert answer["type"] in (4, 5, 6, 7, 9)
    no_tracebacks(tracebacks)
    assert (discord_bot.count("offers"), discord_bot.count("gives")) == before


leaf = st.fixed_dictionaries(
    {
        "type": st.sampled_from([3, 4, 5]),
        "custom_id": st.sampled_from(
            ["l:what", "u:with", "b:public", "m:helpers", "t:note", "x", "l:"]
        ),
    },
    optional={
        "value": st.one_of(st.none(), member_text),
        "values": st.lists(st.text(max_size=25), max_size=3),
    },
)


@FUZZ
@given(
    st.sampled_from(["share", "resolve", "unknown"]),
    st.from_regex(r"[\w.-]{0,20}", fullmatch=True),
    st.lists(
        st.one_of(leaf, st.fixed_dictionaries({"type": st.just(18), "component": leaf})), max_size=4
    ),
)
@example(
    "share", "", [{"type": 18, "component": {"type": 4, "custom_id": "l:what", "value": "\u200b"}}]
)
def test_fuzzed_form_submissions(
    discord_bot: Running,
    tracebacks: Tracebacks,
    form: str,
    value: str,
    components: list[dict[str, Any]],
) -> None:
    custom_id = f"pf:{GUILD}:form:{form}:{value}"
    assume(len(custom_id) <= 100 and (parse_id(value) is None or parse_id(value) > 10**6))
    gives = discord_bot.count("gives")
    interaction = discord_bot.fake.submit(GUILD, GENERAL, BOB, custom_id, components)
    answer = discord_bot.answer(interaction)
    assert answer["type"] in (4, 5, 6)
    no_tracebacks(tracebacks)
    if form != "share":
        assert discord_bot.count("gives") == gives
