"""The console as a chat platform: it "delivers" messages by printing them.

It also remembers what it printed and who could see it, because that is the console's
only way to point at a message: `:react 1 🙋` needs the card of ask #1, and
`:press Resolved` needs the newest message with that button the member can see.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO

from adapters.console.members import CONSOLE_CHANNEL, CONSOLE_PLATFORM, Roster
from adapters.console.render import (
    block_text,
    channel_header,
    dm_header,
    only_header,
    render_message,
)
from bot.domain import MessageRef
from bot.messages import Button, Delivered, Delivery, Message

DM_PREFIX = "dm:"


@dataclass(frozen=True)
class Shown:
    """A message as the console last printed it."""

    message: Message
    channel_id: str  # where a button press happens: `general`, or `dm:<member_id>`
    ref: MessageRef | None  # None: an ephemeral answer, which has no address to update
    viewer: str | None  # the only member who saw it; None: everyone in the channel


def new_id_prefix() -> str:
    """A per-process prefix for message and event ids.

    The console's database outlives a session, so a second session must not hand out
    `m1` again: the core would take it for the first session's card (or, for event ids,
    for a redelivered event) and quietly do nothing.
    """
    return secrets.token_hex(3) + "-"


class ConsoleAdapter:
    """The `ChatAdapter` for the console community; prints to `output`."""

    platform = CONSOLE_PLATFORM

    def __init__(self, output: TextIO, roster: Roster, *, id_prefix: str | None = None) -> None:
        self._output = output
        self._roster = roster
        self._id_prefix = new_id_prefix() if id_prefix is None else id_prefix
        self._sent = 0
        self._shown: list[Shown] = []
        self._cards: dict[int, MessageRef] = {}
        self._heading: str | None = None
        self._started = False

    @property
    def connected(self) -> bool:
        """Between start and stop: the terminal is always there."""
        return self._started

    async def start(self) -> None:
        """Nothing to connect to: the terminal is already there."""
        self._started = True

    async def stop(self) -> None:
        """Nothing to disconnect."""
        self._started = False

    async def post(self, community_id: str, channel_id: str, message: Message) -> Delivery:
        ref = MessageRef(channel_id, self._next_message_id())
        self._remember(Shown(message, channel_id, ref, viewer=None))
        self._print(channel_header(channel_id), message)
        return Delivered(ref)

    async def update(self, community_id: str, ref: MessageRef, message: Message) -> Delivery:
        """Print the new version and make it the one buttons and reactions act on.

        A ref this session never printed (the database may hold cards from an earlier
        session) is still shown: its channel id says where it lives.
        """
        viewer = _dm_member(ref.channel_id)
        self._shown = [shown for shown in self._shown if shown.ref != ref]
        self._remember(Shown(message, ref.channel_id, ref, viewer))
        if viewer is None:
            header = channel_header(ref.channel_id, edited=True)
        else:
            header = dm_header(self._roster.name_of(viewer), edited=True)
        self._print(header, message)
        return Delivered(ref)

    async def send_dm(self, community_id: str, member_id: str, message: Message) -> Delivery:
        channel_id = DM_PREFIX + member_id
        ref = MessageRef(channel_id, self._next_message_id())
        self._remember(Shown(message, channel_id, ref, viewer=member_id))
        self._print(dm_header(self._roster.name_of(member_id)), message)
        return Delivered(ref)

    def recall(self, ref: MessageRef, message: Message) -> None:
        """A channel message from an earlier session, remembered (not printed again) so
        that reactions and buttons can point at it."""
        self._remember(Shown(message, ref.channel_id, ref, viewer=None))

    def show_reply(
        self, member_id: str, message: Message, channel_id: str = CONSOLE_CHANNEL
    ) -> None:
        """An ephemeral answer: printed for one member, its buttons pressable by them."""
        self._shown.append(Shown(message, channel_id, None, viewer=member_id))
        self._print(only_header(self._roster.name_of(member_id)), message)

    def show_note(self, member_id: str, lines: Iterable[str]) -> None:
        """The console's own words to one member (a hint, a form heading)."""
        self.write(block_text(only_header(self._roster.name_of(member_id)), lines))

    def head_next(self, line: str | None) -> None:
        """Print `line` before the next message, if one comes (the console's `:clock`
        steps mark the moments at which something happened); None forgets it."""
        self._heading = line

    def write(self, text: str) -> None:
        self._output.write(text)
        self._output.flush()

    def card(self, number: int) -> MessageRef | None:
        """The channel message that shows ask #N, the one reactions count on."""
        return self._cards.get(number)

    def find_button(
        self, member_id: str, query: str, number: int | None
    ) -> tuple[Shown, Button] | None:
        """The newest message `member_id` can see (about ask #N when given) with a button
        whose label (any case) or action id is `query`."""
        wanted = _comparable(query)
        for shown in reversed(self.visible_to(member_id, number)):
            for button in shown.message.buttons:
                if wanted in (_comparable(button.label), _comparable(button.action)):
                    return shown, button
        return None

    def visible_to(self, member_id: str, number: int | None = None) -> list[Shown]:
        """Messages the member can see, oldest first; only those about ask #N when given."""
        return [
            shown
            for shown in self._shown
            if shown.viewer in (None, member_id)
            and (number is None or shown.message.ask_number == number)
        ]

    def _remember(self, shown: Shown) -> None:
        self._shown.append(shown)
        number = shown.message.ask_number
        if number is not None and shown.viewer is None and shown.ref is not None:
            # The first channel post about an ask is its card; later ones (a bump, a
            # mention in the leaderboard) are not where reactions count.
            self._cards.setdefault(number, shown.ref)

    def _print(self, header: str, message: Message) -> None:
        if self._heading is not None:
            self.write(self._heading + "\n\n")
            self._heading = None
        self.write(block_text(header, render_message(message, self._roster.name_of)))

    def _next_message_id(self) -> str:
        self._sent += 1
        return f"{self._id_prefix}m{self._sent}"


def _dm_member(channel_id: str) -> str | None:
    return channel_id.removeprefix(DM_PREFIX) if channel_id.startswith(DM_PREFIX) else None


def _comparable(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()
