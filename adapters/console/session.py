"""The console's translate-in and its loop: read a line, turn it into an event, hand it
to the core, print the answers, then deliver whatever the core queued.

Delivery goes through the real outbox dispatcher after every line, so a console
transcript shows exactly what Slack or Discord members would receive, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol, TextIO, TypedDict

from adapters.console.adapter import ConsoleAdapter, new_id_prefix
from adapters.console.forms import Rejected, parse_answer
from adapters.console.members import CONSOLE_CHANNEL, CONSOLE_COMMUNITY, Roster
from adapters.console.render import field_question, render_form
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
    parse_line,
)
from bot.clock import ManualClock
from bot.domain import MessageRef
from bot.events import (
    ButtonPressed,
    CommandInvoked,
    Event,
    FieldValue,
    FormSubmitted,
    MemberInfo,
    ReactionAdded,
    ReactionRemoved,
)
from bot.messages import Answer, Form, Message, OpenForm, Reply

ClockHook = Callable[[datetime, datetime], Awaitable[None]]
"""Called with (previous, now) after `:clock` moves time; the bootstrap runs due jobs here."""


class _Common(TypedDict):
    event_id: str
    community_id: str
    actor: MemberInfo


class EventHandler(Protocol):
    """What the session needs of `bot.service.PayForward`."""

    async def handle(self, event: Event) -> list[Answer]: ...


class Cards(Protocol):
    """Ask cards the database knows (adapters/console/cards.py)."""

    async def card(self, number: int) -> tuple[MessageRef, Message] | None: ...


class Outbox(Protocol):
    """What the session needs of `bot.dispatch.Dispatcher`."""

    async def drain(self) -> int: ...


class ConsoleSession:
    """One person (or script) at the console, speaking as one member at a time."""

    def __init__(
        self,
        *,
        bot: EventHandler,
        outbox: Outbox,
        adapter: ConsoleAdapter,
        roster: Roster,
        clock: ManualClock,
        input: TextIO,
        interactive: bool,
        member: str,
        on_clock: ClockHook | None = None,
        channels: frozenset[str] = frozenset({CONSOLE_CHANNEL}),
        id_prefix: str | None = None,
        earlier: Cards | None = None,
    ) -> None:
        self._bot = bot
        self._earlier = earlier
        self._outbox = outbox
        self._adapter = adapter
        self._roster = roster
        self._clock = clock
        self._input = input
        self._interactive = interactive
        self._on_clock = on_clock
        self._channels = channels
        self._id_prefix = new_id_prefix() if id_prefix is None else id_prefix
        self._events = 0
        self._closed = False
        self._member = roster.join(member).member_id

    async def run(self) -> None:
        """Read and act on lines until `:quit` or the end of the input."""
        while not self._closed:
            line = await self._read_line(echo_blank=False)
            if line is None or not await self.feed(line):
                break

    async def feed(self, line: str) -> bool:
        """Act on one line; False when the session should end."""
        match parse_line(line):
            case Blank():
                pass
            case Quit():
                return False
            case Invalid(reason):
                self._note(reason)
            case SwitchMember(name):
                self._member = self._roster.join(name).member_id
            case Command(command, text):
                normalized, mentions = normalize_mentions(text, self._roster, self._channels)
                await self._handle(
                    CommandInvoked(
                        **self._common(),
                        channel_id=CONSOLE_CHANNEL,
                        command=command,
                        text=normalized,
                        mentions=mentions,
                    )
                )
            case React(number, emoji, added):
                await self._react(number, emoji, added)
            case Press(button, number):
                await self._press(button, number)
            case AdvanceClock(delta):
                previous = self._clock.now()
                now = self._clock.advance(delta)
                self._note([f"The clock is now {now:%a %Y-%m-%d %H:%M} UTC."])
                if self._on_clock is not None:
                    await self._on_clock(previous, now)
                await self._outbox.drain()
        return not self._closed

    async def _react(self, number: int, emoji: str, added: bool) -> None:
        ref = self._adapter.card(number)
        if ref is None and await self._recall(number):
            ref = self._adapter.card(number)
        if ref is None:
            self._note(f"There is no card for ask #{number}.")
            return
        event_type = ReactionAdded if added else ReactionRemoved
        await self._handle(
            event_type(**self._common(), channel_id=ref.channel_id, message=ref, emoji=emoji)
        )

    async def _press(self, query: str, number: int | None) -> None:
        found = self._adapter.find_button(self._member, query, number)
        if found is None and number is not None and await self._recall(number):
            found = self._adapter.find_button(self._member, query, number)
        if found is None:
            self._note(self._no_button(query, number))
            return
        shown, button = found
        await self._handle(
            ButtonPressed(
                **self._common(),
                channel_id=shown.channel_id,
                action=button.action,
                value=button.value,
                message=shown.ref,
            )
        )

    async def _recall(self, number: int) -> bool:
        """Ask #N's card from an earlier session, if this one has not shown it."""
        if self._earlier is None or self._adapter.card(number) is not None:
            return False
        found = await self._earlier.card(number)
        if found is None:
            return False
        self._adapter.recall(*found)
        return True

    def _no_button(self, query: str, number: int | None) -> str:
        about = f" about ask #{number}" if number is not None else ""
        labels = dict.fromkeys(
            f"[{button.label}]"
            for shown in self._adapter.visible_to(self._member, number)
            for button in shown.message.buttons
        )
        if not labels:
            return f"You can see no message{about} with buttons."
        return f"No “{query}” button{about} that you can see; try {' '.join(labels)}."

    async def _handle(self, event: Event) -> None:
        """Give the core one event, show its immediate answers, deliver what it queued,
        then walk the member through any form it opened."""
        answers = await self._bot.handle(event)  # the core turns its own failures into a Reply
        forms: list[Form] = []
        for answer in answers:
            if isinstance(answer, Reply):
                self._adapter.show_reply(event.actor.member_id, answer.message)
            elif isinstance(answer, OpenForm):
                forms.append(answer.form)
        await self._outbox.drain()
        for form in forms:
            fields = await self._fill(form)
            if fields is None:
                return
            await self._handle(
                FormSubmitted(
                    **self._common(),
                    channel_id=CONSOLE_CHANNEL,
                    form=form.form,
                    value=form.value,
                    fields=fields,
                )
            )

    async def _fill(self, form: Form) -> dict[str, FieldValue] | None:
        """Ask the form's fields one line each; None when the input ends first."""
        self._adapter.show_note(self._member, render_form(form))
        fields: dict[str, FieldValue] = {}
        for field in form.fields:
            self._adapter.write(field_question(field, self._roster.name_of) + "\n")
            while True:  # until an answer fits: a wrong one is never replaced by a default
                line = await self._read_line(echo_blank=True)
                if line is None:
                    return None
                value = parse_answer(field, line, self._roster)
                if not isinstance(value, Rejected):
                    break
                self._adapter.write(f"! {value.hint}\n")
            fields[field.name] = value
        return fields

    def _common(self) -> _Common:
        """The fields every event from this session shares; each gets a fresh id."""
        self._events += 1
        return {
            "event_id": f"{self._id_prefix}e{self._events}",
            "community_id": CONSOLE_COMMUNITY,
            "actor": self._roster.info(self._member),
        }

    def _note(self, lines: str | list[str]) -> None:
        self._adapter.show_note(self._member, [lines] if isinstance(lines, str) else lines)

    async def _read_line(self, *, echo_blank: bool) -> str | None:
        """The next line without its newline, prompted or echoed as the current member;
        None at the end of the input."""
        name = self._roster.name_of(self._member)
        if self._interactive:
            self._adapter.write(f"{name}> ")
        raw = await _read_in_thread(self._input)
        if not raw:
            self._closed = True
            if self._interactive:
                self._adapter.write("\n")
            return None
        line = raw.rstrip("\r\n")
        if not self._interactive and (line.strip() or echo_blank):
            self._adapter.write(f"{name}> {line}".rstrip() + "\n")
        return line


async def _read_in_thread(stream: TextIO) -> str:
    """`stream.readline()` without blocking the event loop.

    A daemon thread rather than the default executor: a terminal read can block for
    ever, and the default executor's threads would hold up interpreter exit on Ctrl-C.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

    def deliver(result: str | BaseException) -> None:
        if future.done():
            return
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)

    def read() -> None:
        try:
            result: str | BaseException = stream.readline()
        except Exception as exc:
            result = exc
        with contextlib.suppress(RuntimeError):  # the loop closed while we waited for input
            loop.call_soon_threadsafe(deliver, result)

    threading.Thread(target=read, name="console-input", daemon=True).start()
    return await future
