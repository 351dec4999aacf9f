"""Everything payforward says, as normalized messages. Warm, short, plain words.

Member text always goes in as `UserText` (or through `user_spans`) so adapters can
neutralize @channel/@everyone and markup; the bot's own words are plain strings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from bot import rounds
from bot.domain import Ask, AskStatus, Community, Give
from bot.emoji_names import glyph
from bot.messages import (
    Attachment,
    Block,
    Button,
    ButtonStyle,
    ChannelMention,
    Mention,
    Message,
    Span,
    Style,
    UserText,
    text,
)
from bot.parsing import CHANNEL, MENTION, describe_schedule

SNIPPET = 140
_SPAN_REFS = re.compile(f"{MENTION.pattern}|{CHANNEL.pattern}")

# Button actions: adapters pass them through untouched.
OFFER = "offer"
RESOLVE = "resolve"
CONFIRM_GIVE = "confirm_give"
DECLINE_GIVE = "decline_give"
FORGET_CONFIRM = "forget_confirm"
STILL_NEED_HELP = "still_need_help"  # the asker's answer to a reminder
CONNECTED = "connected"  # the helper's answers to a reminder
CANT_HELP = "cant_help"
SHARE = "share"  # the answers to a weekly prompt
NOTHING_THIS_WEEK = "nothing_this_week"
PAUSE_PROMPTS = "pause_prompts"
# Forms.
RESOLVE_FORM = "resolve"
SHARE_FORM = "share"


def user_spans(value: str) -> tuple[Span, ...]:
    """Member text with its normalized mentions kept as real mentions."""
    spans: list[Span] = []
    cursor = 0
    for match in _SPAN_REFS.finditer(value):
        if match.start() > cursor:
            spans.append(UserText(value[cursor : match.start()]))
        if match.group(1):
            spans.append(Mention(match.group(1)))
        else:
            spans.append(ChannelMention(match.group(2)))
        cursor = match.end()
    if cursor < len(value):
        spans.append(UserText(value[cursor:]))
    return tuple(spans)


def snippet(value: str, limit: int = SNIPPET) -> UserText:
    flat = " ".join(value.split())
    return UserText(flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…")


def quoted_spans(value: str, limit: int = SNIPPET) -> tuple[Span, ...]:
    """A snippet of member text whose mentions stay mentions (`@bob`, as on the card,
    never a raw `<@U123>`); a mention is never cut in half."""
    flat = " ".join(value.split())
    if len(flat) > limit:
        cut = flat[: limit - 1]
        opened = cut.rfind("<")
        if opened > cut.rfind(">"):  # a mention cut short: leave it out whole
            cut = cut[:opened]
        flat = cut.rstrip() + "…"
    return user_spans(flat)


def say(*spans: Span, buttons: tuple[Button, ...] = (), ask: int | None = None) -> Message:
    return Message(blocks=(text(*spans),), buttons=buttons, ask_number=ask)


def lines(*blocks: Block, buttons: tuple[Button, ...] = (), ask: int | None = None) -> Message:
    return Message(blocks=blocks, buttons=buttons, ask_number=ask)


def people(member_ids: Sequence[str]) -> tuple[Span, ...]:
    spans: list[Span] = []
    for i, member in enumerate(member_ids):
        if i:
            spans.append(" and " if i == len(member_ids) - 1 else ", ")
        spans.append(Mention(member))
    return tuple(spans)


# Ask cards.


def ask_card(ask: Ask, offerers: Sequence[str], helpers: Sequence[str], emoji_name: str) -> Message:
    """The card in the channel; it changes as offers come and go and when resolved."""
    react = glyph(emoji_name)
    blocks = [
        text(f"#{ask.number} · ", Mention(ask.asker_id), " asks:", style=Style.HEADING),
        Block(Style.QUOTE, user_spans(ask.text)),
    ]
    buttons: tuple[Button, ...] = ()
    if ask.status is AskStatus.OPEN:
        if offerers:
            blocks.append(text(f"{react} Offered to help: ", *people(offerers)))
        blocks.append(text(f"React {react} or press “I can help”", style=Style.CONTEXT))
        buttons = (
            Button(OFFER, "I can help", str(ask.id), ButtonStyle.PRIMARY),
            Button(RESOLVE, "Resolved", str(ask.id)),
        )
    elif ask.status is AskStatus.RESOLVED:
        thanks: tuple[Span, ...] = (" — thanks to ", *people(helpers)) if helpers else ()
        blocks.append(text("✅ Resolved", *thanks))
    else:
        blocks.append(text("Closed — no activity for a while. Post a new /ask any time."))
    return lines(*blocks, buttons=buttons, ask=ask.number)


# Follow-ups.


def _quoted(ask: Ask) -> tuple[Span, ...]:
    return (f"#{ask.number} “", *quoted_spans(ask.text, 100), "”")


def reminder_to_helper(ask: Ask, last: bool) -> Message:
    lead = "One last check: did" if last else "👋 Did"
    return say(
        f"{lead} you connect with ",
        Mention(ask.asker_id),
        " about ",
        *_quoted(ask),
        "? When they resolve it, they can thank you.",
        buttons=(
            Button(CONNECTED, "We connected", str(ask.id), ButtonStyle.PRIMARY),
            Button(CANT_HELP, "I can't help after all", str(ask.id)),
        ),
        ask=ask.number,
    )


def reminder_to_asker(ask: Ask, helpers: Sequence[str], last: bool) -> Message:
    lead, tail = ("One last check on ", ": ") if last else ("👋 How is ", " going? ")
    return say(
        lead,
        *_quoted(ask),
        tail,
        *people(helpers),
        " offered to help. Did it help?",
        buttons=(
            Button(RESOLVE, "Resolve & thank", str(ask.id), ButtonStyle.PRIMARY),
            Button(STILL_NEED_HELP, "Still need help", str(ask.id)),
        ),
        ask=ask.number,
    )


def still_open(ask: Ask) -> Message:
    return say(f"Noted — #{ask.number} stays open, and others can still offer on its card.")


def connected(ask: Ask) -> Message:
    return say(
        "Great — thanks for helping with ",
        *_quoted(ask),
        ". It counts once ",
        Mention(ask.asker_id),
        " resolves it or thanks you.",
    )


def offer_dropped(ask: Ask) -> Message:
    return say(f"No problem — I took you off the helpers for #{ask.number}. Thanks for offering!")


def bump(ask: Ask) -> Message:
    return say(
        "🔔 Still looking for help: ",
        *_quoted(ask),
        " from ",
        Mention(ask.asker_id),
        ". Can you help?",
        buttons=(Button(OFFER, "I can help", str(ask.id), ButtonStyle.PRIMARY),),
        ask=ask.number,
    )


def closed_stale(ask: Ask) -> Message:
    return say(
        *_quoted(ask),
        " had no activity for 14 days, so I closed it. Still stuck? Post a new /ask any time.",
        ask=ask.number,
    )


# Prompts.


def prompt() -> Message:
    return lines(
        text("What have you shared lately, with no return expected?", style=Style.HEADING),
        text(
            "A tip, a code review, an introduction, a guide you wrote — small things count. "
            "This is for reflection, not a score."
        ),
        buttons=(
            Button(SHARE, "Share something", "", ButtonStyle.PRIMARY),
            Button(NOTHING_THIS_WEEK, "Nothing this week", ""),
            Button(PAUSE_PROMPTS, "Pause these", ""),
        ),
    )


def nothing_this_week() -> Message:
    return say("Thanks for checking in — see you next week. 🌱")


def prompts_paused() -> Message:
    return say("Paused — no more of these. `/payforward optin prompts` brings them back.")


def shared_thanks(receiver_id: str | None, public: bool) -> Message:
    if receiver_id is not None:
        return say("Thanks for sharing! I've asked ", Mention(receiver_id), " to confirm it.")
    where = "It may appear in the weekly post." if public else "It stays out of the weekly post."
    return say(f"Thanks for sharing! {where}")


# Usage and help.

USAGE = {
    "ask": "Usage: `/ask <your question>` — e.g. `/ask How do I profile asyncio code?`",
    "thanks": "Usage: `/thanks @member [what they did]` — e.g. `/thanks @sam for the py-spy tip`",
    "give": (
        "Usage: `/give @member <what you did>` (they confirm it), or `/give <what>` "
        "to log something you shared with everyone, like a guide or a talk."
    ),
    "optout": "Usage: `/payforward optout leaderboard|prompts|reminders|connector|cups|all`",
    "optin": "Usage: `/payforward optin leaderboard|prompts|reminders|connector|cups|all`",
}

HELP_LINES = (
    "`/ask <question>` — ask for help; others offer with a reaction or “I can help”",
    "`/thanks @member [note]` — thank someone who helped you",
    "`/give @member <what>` — log help you gave (they confirm it)",
    "`/give <what>` — log something you shared with everyone",
    "`/payforward me` — your stats",
    "`/payforward leaderboard` — this week so far, just for you",
    "`/payforward optout|optin leaderboard|prompts|reminders|all`",
    "`/payforward interests python, public speaking` — what you like to help with; "
    "asks nobody offered on may then be sent to you (`optout|optin connector`)",
    "`/payforward who <topic>` — who might know about something, just for you",
    "`/payforward optin|optout cups` — a coffee chat with another member each round, "
    "paired on what you asked about and helped with",
    "`/payforward timezone Europe/Berlin` — yours, so reminders and prompts skip your night",
    "`/payforward export` — your data, sent to you by DM",
    "`/payforward forget` — delete your personal data",
    "`/payforward dashboard` — a sign-in link to the web dashboard, by DM",
)
ADMIN_HELP_LINES = (
    "`{admin} config` — show the settings",
    "`{admin} config channel #channel` — where the weekly post goes",
    "`{admin} config timezone Europe/Berlin`",
    "`{admin} config leaderboard mon 09:00`",
    "`{admin} config prompts fri 15:00` or `off`",
    "`{admin} config emoji :raising_hand:` — the offer reaction",
    "`{admin} config connector 30m` or `off` — DM asks with no offer by then to likely helpers",
    "`{admin} config cups every 2w mon 10:00` or `off` — coffee pairings for members who opt in",
    "`{admin} leaderboard post` — post the board now",
)


def admin_command(platform: str) -> str:
    """The command admins type: Discord gates admin commands by permission per
    top-level command, so there they are a command of their own."""
    return "/payforward-admin" if platform == "discord" else "/payforward"


def usage(command: str) -> Message:
    return say(USAGE[command])


def help_message(is_admin: bool, unknown: str | None = None, platform: str = "") -> Message:
    blocks = []
    if unknown:
        blocks.append(text("I don't know ", UserText(f"`{unknown}`"), ". Here is what I can do:"))
    blocks.append(text("payforward — people helping people", style=Style.HEADING))
    blocks.extend(text(line, style=Style.ITEM) for line in HELP_LINES)
    if is_admin:
        blocks.append(text("For admins", style=Style.HEADING))
        admin = admin_command(platform)
        blocks.extend(text(line.format(admin=admin), style=Style.ITEM) for line in ADMIN_HELP_LINES)
    return lines(*blocks)


# Offers.


def offer_to_asker(ask: Ask, helper_id: str, emoji_name: str) -> Message:
    return say(
        f"{glyph(emoji_name)} ",
        Mention(helper_id),
        f" offered to help with #{ask.number}: “",
        *quoted_spans(ask.text),
        "”. Reach out to them, and press “Resolved” on the card when you're sorted.",
        ask=ask.number,
    )


def offer_ack(ask: Ask) -> Message:
    return say(
        f"Thanks for offering to help with #{ask.number}! ",
        Mention(ask.asker_id),
        " knows you're in; reach out to them directly.",
        ask=ask.number,
    )


def already_offered(ask: Ask) -> Message:
    return say(f"You're already on the list of helpers for #{ask.number}.", ask=ask.number)


def own_ask(ask: Ask) -> Message:
    return say(
        f"#{ask.number} is your own ask — offers are for others. "
        "Press “Resolved” when you're sorted.",
        ask=ask.number,
    )


def not_open(ask: Ask) -> Message:
    state = "resolved" if ask.status is AskStatus.RESOLVED else "closed"
    return say(f"#{ask.number} is already {state}.", ask=ask.number)


def only_asker(ask: Ask) -> Message:
    return say("Only ", Mention(ask.asker_id), f" can mark #{ask.number} resolved.", ask=ask.number)


def resolved_ack(ask: Ask, helpers: Sequence[str]) -> Message:
    if not helpers:
        return say(f"Marked #{ask.number} resolved. Glad you're sorted!", ask=ask.number)
    return say(f"Marked #{ask.number} resolved and thanked ", *people(helpers), ".", ask=ask.number)


def credited(ask: Ask, note: str | None = None) -> Message:
    """To each helper the asker credited; with the asker's own words when they wrote some."""
    said = text(
        "✅ ",
        Mention(ask.asker_id),
        f" resolved #{ask.number} and credited you: “",
        *quoted_spans(ask.text),
        "”. Thank you for paying it forward!",
    )
    if not note:
        return lines(said, ask=ask.number)
    return lines(said, text("Their note: “", snippet(note, 300), "”"), ask=ask.number)


def ask_posted(ask: Ask) -> Message:
    return say(
        f"Your ask is up as #{ask.number}. I'll let you know when someone offers to help.",
        ask=ask.number,
    )


def ask_not_posted(ask: Ask, channel_id: str) -> Message:
    return say(
        f"I couldn't post your ask #{ask.number} in ",
        ChannelMention(channel_id),
        " — please invite me to that channel and ask again.",
        ask=ask.number,
    )


# Gives.


def thanked(giver_id: str, receiver_id: str, note: str | None) -> Message:
    said: tuple[Span, ...] = (": “", snippet(note, 300), "”") if note else ()
    return say("🙏 ", Mention(receiver_id), " thanked you", *said, ". Thank you for helping!")


def thanks_sent(giver_id: str) -> Message:
    return say("Thanks sent to ", Mention(giver_id), ". It counts on this week's board.")


def confirm_request(give: Give) -> Message:
    return say(
        Mention(give.giver_id),
        " says they helped you: “",
        snippet(give.note or "", 300),
        "”. Did it help?",
        buttons=(
            Button(CONFIRM_GIVE, "Yes, this helped", str(give.id), ButtonStyle.PRIMARY),
            Button(DECLINE_GIVE, "Not really", str(give.id)),
        ),
    )


def give_reported(receiver_id: str) -> Message:
    return say(
        "Thanks for helping! I've asked ",
        Mention(receiver_id),
        " to confirm; it counts once they do.",
    )


def give_answered(give: Give, confirmed: bool) -> Message:
    verdict = "✅ You confirmed that " if confirmed else "Noted — nothing recorded for "
    tail = " helped you. Thank you!" if confirmed else "."
    return say(verdict, Mention(give.giver_id), tail)


def give_confirmed_to_giver(give: Give) -> Message:
    assert give.receiver_id is not None
    return say(
        "🎉 ",
        Mention(give.receiver_id),
        " confirmed your help: “",
        snippet(give.note or "", 300),
        "”. It counts on this week's board.",
    )


def shared_with_community() -> Message:
    return say("Thanks for sharing with everyone! It will be listed in the weekly post.")


def already_answered() -> Message:
    return say("You already answered this one — thanks!")


# Members.


def opt_changed(choices: Sequence[str], out: bool) -> Message:
    names = ", ".join(choices)
    if out:
        return say(f"Done — you're opted out of {names}. `/payforward optin …` undoes it.")
    return say(f"Done — you're opted in to {names} again.")


def forget_prompt() -> Message:
    return say(
        "This deletes your name, your ask texts and the notes of gives you're part of, and "
        "opts you out of everything. The people you helped keep their counts. Sure?",
        buttons=(Button(FORGET_CONFIRM, "Yes, forget me", "", ButtonStyle.DANGER),),
    )


def forgotten() -> Message:
    return say("Done — your personal data is deleted and you're opted out of everything.")


def export_ready() -> Message:
    return say("I've sent your data to you as a direct message.")


def export_message(filename: str, content: str) -> Message:
    return Message(
        blocks=(text("Here is everything payforward stores about you."),),
        attachment=Attachment(filename, content),
    )


# The dashboard (bot/dashboard.py).


def dashboard_link(url: str, minutes: int) -> Message:
    return lines(
        text("Your payforward dashboard", style=Style.HEADING),
        text(f"Open this link to sign in: {url}"),
        text(
            f"It works once, for {minutes} minutes, and only for you: don't share it.",
            style=Style.CONTEXT,
        ),
    )


def dashboard_link_sent() -> Message:
    return say("I've sent you a sign-in link for the dashboard as a direct message.")


def opt_outs_saved(opted_out: Sequence[str]) -> Message:
    if not opted_out:
        return say("Saved — you take part in everything.")
    return say(f"Saved — you're opted out of {', '.join(opted_out)}.")


def dashboard_off() -> Message:
    return say("The dashboard isn't switched on for this community.")


def dashboard_too_many(per_hour: int) -> Message:
    return say(
        f"You've asked for {per_hour} sign-in links this hour; use the newest one, "
        "or ask again in a while."
    )


# Admin.


def config_summary(community: Community) -> Message:
    channel: tuple[Span, ...] = (
        (ChannelMention(community.channel_id),)
        if community.channel_id
        else ("not set (the channel of the latest ask)",)
    )
    prompts = describe_schedule(community.prompts) if community.prompts else "off"
    return lines(
        text("Settings", style=Style.HEADING),
        text("Weekly post channel: ", *channel, style=Style.ITEM),
        text(f"Timezone: {community.timezone}", style=Style.ITEM),
        text(f"Leaderboard: {describe_schedule(community.leaderboard)}", style=Style.ITEM),
        text(f"Prompts: {prompts}", style=Style.ITEM),
        text(
            f"Offer emoji: {glyph(community.offer_emoji)} ({community.offer_emoji})",
            style=Style.ITEM,
        ),
        text(f"Connector: {describe_delay(community.connector_after)}", style=Style.ITEM),
        text(f"Cups: {rounds.describe(community.cups)}", style=Style.ITEM),
    )


def describe_delay(after: timedelta | None) -> str:
    """`config connector`: how long an ask waits for an offer before it is routed."""
    if after is None:
        return "off"
    minutes = int(after.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    spoken = f"{hours} h {rest} min" if hours and rest else f"{hours} h" if hours else f"{rest} min"
    return f"asks with no offer after {spoken} go to likely helpers by DM"


def config_saved(what: str) -> Message:
    return say(f"Saved: {what}.")


def not_admin() -> Message:
    return say("Only community admins can change settings or post the board.")


def unknown_timezone(name: str) -> Message:
    """The name is the member's text: it goes out escaped, like all member text."""
    return say(
        UserText(f"`{name or '(nothing)'}`"),
        " isn't a timezone I know. Use a name like `Europe/Berlin`, `America/New_York` or `UTC`.",
    )


def unknown_member(name: str) -> Message:
    return say(
        "I couldn't find a member called ", UserText(name), ". Mention them with @ as usual."
    )


def refusal(words: str) -> Message:
    return say(words)


def oops() -> Message:
    return say("Sorry — something went wrong on my side and nothing was saved. Please try again.")


def storage_unavailable() -> Message:
    """After the bounded wait for the database ran out (bot.faults.Patience)."""
    return say(
        "Sorry — my database has been unreachable for a couple of minutes, so nothing was "
        "saved. Please try again in a little while."
    )


def not_for_you() -> Message:
    """A button or form from a community the member is not part of; says nothing of it."""
    return say("That button isn't one I can act on for you. Nothing was saved.")
