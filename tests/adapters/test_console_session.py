"""The console session and adapter against a scripted stand-in for the core.

These pin down the console's own behaviour (echo, prompts, which message a verb acts
on, how a form becomes a submission) independently of what the core says.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from adapters.console.adapter import ConsoleAdapter
from adapters.console.members import Roster
from adapters.console.session import ConsoleSession
from bot.clock import ManualClock
from bot.domain import MessageRef
from bot.events import (
    ButtonPressed,
    CommandInvoked,
    Event,
    FormSubmitted,
    ReactionAdded,
    ReactionRemoved,
)
from bot.messages import (
    Answer,
    Block,
    Button,
    Delivered,
    FieldKind,
    Form,
    FormField,
    Message,
    OpenForm,
    Reply,
    Style,
)

START = datetime(2025, 1, 8, 10, 0, tzinfo=UTC)


class ScriptedBot:
    """Remembers every event and answers with whatever `answer` says."""

    def __init__(self, answer: Callable[[Event], list[Answer]] = lambda event: []) -> None:
        self.events: list[Event] = []
        self._answer = answer

    async def handle(self, event: Event) -> list[Answer]:
        self.events.append(event)
        return self._answer(event)


class CountingOutbox:
    def __init__(self) -> None:
        self.drains = 0

    async def drain(self) -> int:
        self.drains += 1
        return 0


class Console:
    """A session wired to a StringIO in and out."""

    def __init__(
        self, script: str = "", *, bot: ScriptedBot | None = None, interactive: bool = False
    ) -> None:
        self.out = io.StringIO()
        self.roster = Roster()
        self.adapter = ConsoleAdapter(self.out, self.roster, id_prefix="")
        self.bot = bot or ScriptedBot()
        self.outbox = CountingOutbox()
        self.clock = ManualClock(START)
        self.hook_calls: list[tuple[datetime, datetime]] = []
        self.session = ConsoleSession(
            bot=self.bot,
            outbox=self.outbox,
            adapter=self.adapter,
            roster=self.roster,
            clock=self.clock,
            input=io.StringIO(script),
            interactive=interactive,
            member="Alice",
            on_clock=self._on_clock,
            id_prefix="",
        )

    async def _on_clock(self, previous: datetime, now: datetime) -> None:
        self.hook_calls.append((previous, now))

    def output(self) -> str:
        return self.out.getvalue()


def message(*lines: str, ask: int | None = None, buttons: tuple[Button, ...] = ()) -> Message:
    return Message(
        blocks=tuple(Block(Style.TEXT, (line,)) for line in lines),
        buttons=buttons,
        ask_number=ask,
    )


CARD_BUTTONS = (Button("offer", "I can help", "7"), Button("resolve", "Resolved", "7"))


async def test_piped_input_is_echoed_as_a_transcript_and_blank_lines_are_skipped() -> None:
    console = Console("/ask Help?\n\n:as bob\n/payforward me\n")

    await console.session.run()

    assert console.output() == "Alice> /ask Help?\nAlice> :as bob\nbob> /payforward me\n"


async def test_interactive_input_is_prompted_not_echoed() -> None:
    console = Console("/ask Help?\n", interactive=True)

    await console.session.run()

    assert console.output() == "Alice> Alice> \n"


async def test_commands_carry_normalized_mentions_and_the_admin_flag() -> None:
    console = Console(":as bob\n:as alice\n/thanks @Bob and @zed\n:as bob\n/payforward me\n")

    await console.session.run()

    thanks, me = console.bot.events
    assert isinstance(thanks, CommandInvoked)
    assert (thanks.command, thanks.text) == ("thanks", "<@bob> and @zed")
    assert set(thanks.mentions) == {"bob"}
    assert thanks.actor.member_id == "alice"
    assert thanks.actor.display_name == "Alice"
    assert thanks.actor.is_admin
    assert thanks.community_id == "console:local"
    assert thanks.channel_id == "general"
    assert isinstance(me, CommandInvoked)
    assert me.actor.member_id == "bob"
    assert not me.actor.is_admin
    assert thanks.event_id != me.event_id


async def test_replies_print_only_for_the_member_and_the_outbox_drains_after_each_line() -> None:
    bot = ScriptedBot(lambda event: [Reply(message("Your ask is up as #1.", ask=1))])
    console = Console("/ask Help?\n", bot=bot)

    await console.session.run()

    assert console.output() == "Alice> /ask Help?\n[only @Alice]\nYour ask is up as #1.\n\n"
    assert console.outbox.drains == 1


async def test_posts_updates_and_dms_print_as_blocks_and_return_refs() -> None:
    console = Console()
    console.roster.join("bob")

    posted = await console.adapter.post("console:local", "general", message("#1 card", ask=1))
    edited = await console.adapter.update(
        "console:local", MessageRef("general", "m1"), message("#1 card, edited", ask=1)
    )
    dm = await console.adapter.send_dm("console:local", "bob", message("hi"))

    assert posted == Delivered(MessageRef("general", "m1"))
    assert edited == Delivered(MessageRef("general", "m1"))
    assert dm == Delivered(MessageRef("dm:bob", "m2"))
    assert console.output() == (
        "[#general]\n#1 card\n\n[#general] (edited)\n#1 card, edited\n\n[DM @bob]\nhi\n\n"
    )


async def test_react_acts_on_the_card_of_the_ask_not_later_posts_about_it() -> None:
    console = Console(":as bob\n:react 1 🙋\n:unreact #1 raising_hand\n")
    card = await console.adapter.post("console:local", "general", message("#1 card", ask=1))
    await console.adapter.post("console:local", "general", message("#1 still needs help", ask=1))

    await console.session.run()

    added, removed = console.bot.events
    assert isinstance(card, Delivered)
    assert isinstance(added, ReactionAdded)
    assert (added.message, added.emoji, added.actor.member_id) == (card.ref, "🙋", "bob")
    assert isinstance(removed, ReactionRemoved)
    assert (removed.message, removed.emoji) == (card.ref, "raising_hand")


async def test_react_on_an_unknown_ask_is_a_hint() -> None:
    console = Console(":react 4 🙋\n")

    await console.session.run()

    assert console.bot.events == []
    assert "[only @Alice]\nThere is no card for ask #4" in console.output()


async def test_press_finds_the_button_by_label_in_any_case_or_by_action() -> None:
    console = Console(":press 1 i CAN help\n:press resolve\n")
    card = await console.adapter.post(
        "console:local", "general", message("#1", ask=1, buttons=CARD_BUTTONS)
    )

    await console.session.run()

    offer, resolve = console.bot.events
    assert isinstance(card, Delivered)
    assert isinstance(offer, ButtonPressed)
    assert (offer.action, offer.value, offer.message, offer.channel_id) == (
        "offer",
        "7",
        card.ref,
        "general",
    )
    assert isinstance(resolve, ButtonPressed)
    assert resolve.action == "resolve"


async def test_press_takes_the_newest_visible_message_and_never_someone_elses_dm() -> None:
    console = Console(":press Yes\n:as bob\n:press Yes\n:press 2 Yes\n")
    console.roster.join("bob")
    yes = (Button("confirm_give", "Yes"),)
    await console.adapter.send_dm("console:local", "alice", message("old", buttons=yes))
    newer = await console.adapter.send_dm("console:local", "alice", message("new", buttons=yes))
    await console.adapter.send_dm("console:local", "bob", message("bob's", ask=1, buttons=yes))

    await console.session.run()

    alice_press, bob_press = console.bot.events
    assert isinstance(newer, Delivered)
    assert isinstance(alice_press, ButtonPressed)
    assert (alice_press.message, alice_press.channel_id) == (newer.ref, "dm:alice")
    assert isinstance(bob_press, ButtonPressed)
    assert bob_press.actor.member_id == "bob"
    assert bob_press.message == MessageRef("dm:bob", "m3")
    assert "You can see no message about ask #2 with buttons." in console.output()


async def test_buttons_on_ephemeral_replies_can_be_pressed_by_that_member() -> None:
    forget = Reply(message("Really forget?", buttons=(Button("forget_confirm", "Forget me"),)))
    bot = ScriptedBot(lambda event: [forget] if isinstance(event, CommandInvoked) else [])
    console = Console("/payforward forget\n:press forget me\n", bot=bot)

    await console.session.run()

    pressed = console.bot.events[1]
    assert isinstance(pressed, ButtonPressed)
    assert (pressed.action, pressed.message) == ("forget_confirm", None)


async def test_a_missing_button_names_the_ones_there_are() -> None:
    console = Console(":press 1 Nope\n")
    await console.adapter.post(
        "console:local", "general", message("#1", ask=1, buttons=CARD_BUTTONS)
    )

    await console.session.run()

    assert console.bot.events == []
    assert "No “Nope” button about ask #1 that you can see; try [I can help] [Resolved]." in (
        console.output()
    )


RESOLVE_FORM = Form(
    form="resolve",
    title="Resolve #1",
    submit_label="Resolve",
    value="7",
    intro="Pick who helped.",
    fields=(
        FormField(
            "helpers", "Who helped?", FieldKind.MEMBERS, options=("bob", "carol"), initial=("bob",)
        ),
        FormField("note", "A word of thanks", FieldKind.LONG_TEXT),
        FormField("share_ok", "Mention it?", FieldKind.BOOLEAN),
    ),
)


def open_resolve_form(event: Event) -> list[Answer]:
    return [OpenForm(RESOLVE_FORM)] if isinstance(event, CommandInvoked) else []


async def test_a_form_is_asked_one_field_per_line_then_submitted() -> None:
    console = Console("/ask x\n@carol, bob\nthanks both!\ny\n", bot=ScriptedBot(open_resolve_form))
    for name in ("bob", "carol"):
        console.roster.join(name)

    await console.session.run()

    submitted = console.bot.events[-1]
    assert isinstance(submitted, FormSubmitted)
    assert (submitted.form, submitted.value) == ("resolve", "7")
    assert submitted.fields == {
        "helpers": ("carol", "bob"),
        "note": "thanks both!",
        "share_ok": True,
    }
    assert console.output() == (
        "Alice> /ask x\n"
        "[only @Alice]\n**Resolve #1**\nPick who helped.\n\n"
        "? Who helped? (@bob @carol; Enter keeps @bob; - for nobody)\n"
        "Alice> @carol, bob\n"
        "? A word of thanks (Enter to skip)\n"
        "Alice> thanks both!\n"
        "? Mention it? (y/n; Enter for no)\n"
        "Alice> y\n"
    )


async def test_empty_form_answers_keep_the_preselection() -> None:
    console = Console("/ask x\n\n\n\n", bot=ScriptedBot(open_resolve_form))

    await console.session.run()

    submitted = console.bot.events[-1]
    assert isinstance(submitted, FormSubmitted)
    assert submitted.fields == {"helpers": ("bob",), "note": "", "share_ok": False}


async def test_a_bad_form_answer_is_asked_again_until_one_fits() -> None:
    """Never silently replaced by the preselected default: the second wrong answer is
    asked about again like the first."""
    console = Console("/ask x\nzed\nzed again\n-\nmaybe\nno\n", bot=ScriptedBot(open_resolve_form))

    await console.session.run()

    submitted = console.bot.events[-1]
    assert isinstance(submitted, FormSubmitted)
    assert submitted.fields == {"helpers": (), "note": "maybe", "share_ok": False}
    assert console.output().count("! ") == 2


async def test_input_ending_inside_a_form_submits_nothing() -> None:
    console = Console("/ask x\n@bob\n", bot=ScriptedBot(open_resolve_form))
    console.roster.join("bob")

    await console.session.run()

    assert [type(event) for event in console.bot.events] == [CommandInvoked]


async def test_clock_advances_runs_the_hook_then_drains() -> None:
    console = Console(":clock +2d\n:clock +1d12h\n")

    await console.session.run()

    later = START + timedelta(days=2)
    assert console.hook_calls == [(START, later), (later, later + timedelta(days=1, hours=12))]
    assert console.clock.now() == START + timedelta(days=3, hours=12)
    assert console.outbox.drains == 2
    assert "[only @Alice]\nThe clock is now Fri 2025-01-10 10:00 UTC.\n" in console.output()


async def test_quit_ends_the_session_and_later_lines_are_not_read() -> None:
    console = Console(":quit\n/ask never\n")

    await console.session.run()

    assert console.bot.events == []
    assert console.output() == "Alice> :quit\n"


async def test_bad_lines_get_a_hint_for_the_current_member() -> None:
    console = Console("hello\n:dance\n:react 1\n")

    await console.session.run()

    assert console.bot.events == []
    assert console.output().count("[only @Alice]\n") == 3
