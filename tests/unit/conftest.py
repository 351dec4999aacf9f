"""A whole core over fakes: the bot, its dispatcher, a fake database, chat and clock."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.dispatch import Dispatcher
from bot.domain import Ask, MessageRef
from bot.events import (
    ButtonPressed,
    CommandInvoked,
    Event,
    FormSubmitted,
    MemberInfo,
    ReactionAdded,
    ReactionRemoved,
)
from bot.jobs import Jobs, step_through
from bot.messages import Answer, Message, OpenForm, Reply
from bot.service import PayForward
from tests.fakes import FakeChat, FakeDatabase, Sent

CID = "test:acme"
START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday
ADMINS = {"admin"}
BOTS = {"helperbot"}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def info(member_id: str) -> MemberInfo:
    return MemberInfo(
        member_id,
        display_name=member_id.title(),
        is_admin=member_id in ADMINS,
        is_bot=member_id in BOTS,
    )


def plain(answer: Answer | Message) -> str:
    if isinstance(answer, Reply):
        answer = answer.message
    if isinstance(answer, OpenForm):
        return answer.form.title
    return answer.plain()


class World:
    def __init__(self) -> None:
        self.db = FakeDatabase()
        self.clock = ManualClock(START)
        self.chat = FakeChat()
        self.bot = PayForward(self.db.uow, self.clock)
        self.dispatcher = Dispatcher(self.db.uow, self.clock, {"test": self.chat}, self.bot)
        self.jobs = Jobs(self.db.uow, owner="world")
        self._ids = itertools.count(1)
        self.community = CID
        self.delivered: list[tuple[datetime, Sent]] = []  # when each message went out
        self.chat.on_send = lambda sent: self.delivered.append((self.clock.now(), sent))

    async def until(self, delta: timedelta) -> None:
        """Let time pass, running every job that falls due on the way, in order."""
        end = self.clock.now() + delta
        await step_through(self.jobs, self.clock, end, self.dispatcher.drain)

    def sent_at(self, kind: str, to: str) -> list[tuple[datetime, str]]:
        """(when, text) of what went to a channel or member."""
        return [(at, s.message.plain()) for at, s in self.delivered if (s.kind, s.to) == (kind, to)]

    def event_id(self) -> str:
        return f"ev{next(self._ids)}"

    async def send(self, event: Event) -> list[Answer]:
        answers = await self.bot.handle(event)
        await self.dispatcher.drain()
        return answers

    async def cmd(
        self, who: str, command: str, text: str = "", channel: str = "general"
    ) -> list[Answer]:
        mentioned = {
            m: info(m) for m in re.findall(r"<@([^>]+)>", text) if not m.startswith("ghost")
        }
        return await self.send(
            CommandInvoked(
                event_id=self.event_id(),
                community_id=self.community,
                actor=info(who),
                channel_id=channel,
                command=command,
                text=text,
                mentions=mentioned,
            )
        )

    async def ask(self, who: str, text: str = "How do I profile asyncio code?") -> Ask:
        await self.cmd(who, "ask", text)
        return await self.latest_ask()

    async def latest_ask(self) -> Ask:
        asks = sorted(self.db.state.asks.values(), key=lambda a: a.id)
        return asks[-1]

    async def ask_no(self, number: int) -> Ask:
        return next(
            a
            for a in self.db.state.asks.values()
            if a.number == number and a.community_id == self.community
        )

    async def react(
        self, who: str, ask: Ask | MessageRef, emoji: str = "🙋", added: bool = True
    ) -> list[Answer]:
        ref = ask if isinstance(ask, MessageRef) else (await self.ask_no(ask.number)).message
        assert ref is not None, "the card was never posted"
        kind = ReactionAdded if added else ReactionRemoved
        return await self.send(
            kind(
                event_id=self.event_id(),
                community_id=self.community,
                actor=info(who),
                message=ref,
                emoji=emoji,
            )
        )

    async def press(
        self, who: str, action: str, value: str = "", message: MessageRef | None = None
    ) -> list[Answer]:
        return await self.send(
            ButtonPressed(
                event_id=self.event_id(),
                community_id=self.community,
                actor=info(who),
                action=action,
                value=value,
                message=message,
            )
        )

    async def submit(self, who: str, form: str, value: str, **fields: object) -> list[Answer]:
        return await self.send(
            FormSubmitted(
                event_id=self.event_id(),
                community_id=self.community,
                actor=info(who),
                form=form,
                value=value,
                fields=fields,  # type: ignore[arg-type]
            )
        )

    def dms(self, member_id: str) -> list[str]:
        return [m.plain() for m in self.chat.to("dm", member_id)]

    def posts(self, channel: str = "general") -> list[str]:
        return [m.plain() for m in self.chat.to("post", channel)]


@pytest.fixture
def world() -> World:
    return World()
