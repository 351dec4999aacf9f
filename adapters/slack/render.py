"""Render-out: the core's normalized messages and forms as Block Kit.

Every piece of text, the bot's own copy included, is escaped (`&`, `<`, `>`), so member
text can never smuggle in `<!channel>` pings or links; mentions are the only markup
this module writes itself. Slack's limits (3,000 characters a section, 50 blocks a
message, 24 characters a modal title) are respected here rather than failing at send time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from adapters.slack.translate import FORM_PREFIX, form_metadata
from bot.messages import (
    Block,
    Button,
    ButtonStyle,
    ChannelMention,
    FieldKind,
    Form,
    FormField,
    Mention,
    Message,
    Span,
    Style,
    UserText,
)

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
MESSAGE_BLOCKS = 50
HOME_BLOCKS = 100
TEXT_LIMIT = 3000
TITLE_LIMIT = 24

Json = dict[str, Any]


def escape(value: str) -> str:
    """Slack's three control characters as entities: the text shows, never acts."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(spans: Iterable[Span]) -> str:
    parts: list[str] = []
    for span in spans:
        if isinstance(span, Mention):
            parts.append(f"<@{span.member_id}>")
        elif isinstance(span, ChannelMention):
            parts.append(f"<#{span.channel_id}>")
        else:
            parts.append(escape(span.text if isinstance(span, UserText) else span))
    return "".join(parts)


def plain(spans: Iterable[Span]) -> str:
    """For plain_text objects, which Slack shows literally (no escaping, no mentions)."""
    parts: list[str] = []
    for span in spans:
        if isinstance(span, Mention):
            parts.append(f"@{span.member_id}")
        elif isinstance(span, ChannelMention):
            parts.append(f"#{span.channel_id}")
        else:
            parts.append(span.text if isinstance(span, UserText) else span)
    return "".join(parts)


def message_blocks(message: Message, limit: int = MESSAGE_BLOCKS) -> list[Json]:
    blocks: list[Json] = []
    for group in _grouped(message.blocks):
        blocks.extend(_render_group(group))
    if message.buttons:
        blocks.append({"type": "actions", "elements": [button(b) for b in message.buttons]})
    if len(blocks) > limit:
        keep = blocks[-1:] if message.buttons else []
        blocks = [*blocks[: limit - 1 - len(keep)], _context("…"), *keep]
    return blocks


def fallback_text(message: Message) -> str:
    """The notification text: what a phone shows and what screen readers read first."""
    text = "\n".join(mrkdwn(block.spans) for block in message.blocks[:3])
    if message.attachment is not None and not text:
        text = escape(message.attachment.filename)
    return _clip(text or "payforward", TEXT_LIMIT)


def message_payload(message: Message) -> Json:
    """The arguments chat.postMessage, chat.update, chat.postEphemeral and respond share."""
    return {"text": fallback_text(message), "blocks": message_blocks(message)}


def button(b: Button) -> Json:
    element: Json = {
        "type": "button",
        "action_id": b.action,
        "text": {"type": "plain_text", "text": _clip(b.label, 75), "emoji": True},
    }
    if b.value:
        element["value"] = b.value[:2000]
    if b.style is not ButtonStyle.DEFAULT:
        element["style"] = b.style.value
    return element


def form_view(form: Form, channel_id: str | None) -> Json:
    """A modal; `private_metadata` brings the form's value and channel back on submit."""
    blocks: list[Json] = []
    if form.intro:
        blocks.append(_section(escape(form.intro)))
    blocks.extend(_input(field) for field in form.fields)
    return {
        "type": "modal",
        "callback_id": FORM_PREFIX + form.form,
        "title": {"type": "plain_text", "text": _clip(form.title, TITLE_LIMIT)},
        "submit": {"type": "plain_text", "text": _clip(form.submit_label, TITLE_LIMIT)},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": form_metadata(form.form, form.value, channel_id),
        "blocks": blocks,
    }


def home_view(sections: Sequence[Message]) -> Json:
    """The App Home tab: a title, then each message the core gave, divided."""
    blocks: list[Json] = [_header("🙋 payforward — people helping people")]
    for message in sections:
        blocks.append({"type": "divider"})
        blocks.extend(message_blocks(Message(message.blocks), limit=HOME_BLOCKS))
    blocks.append({"type": "divider"})
    blocks.append(
        _context(
            "Ask with `/ask`, thank with `/thanks @someone`, log help with `/give`. "
            "`/payforward help` lists everything."
        )
    )
    if len(blocks) > HOME_BLOCKS:
        blocks = [*blocks[: HOME_BLOCKS - 1], _context("…")]
    return {"type": "home", "blocks": blocks}


def _input(field: FormField) -> Json:
    element: Json
    if field.kind is FieldKind.MEMBERS:
        element = {"type": "multi_users_select", "action_id": field.name}
        if field.initial:
            element["initial_users"] = list(field.initial)
    elif field.kind is FieldKind.MEMBER:
        element = {"type": "users_select", "action_id": field.name}
        if field.initial:
            element["initial_user"] = field.initial[0]
    elif field.kind is FieldKind.BOOLEAN:
        element = {
            "type": "checkboxes",
            "action_id": field.name,
            "options": [{"text": {"type": "plain_text", "text": "Yes"}, "value": "yes"}],
        }
    else:
        element = {"type": "plain_text_input", "action_id": field.name}
        if field.kind is FieldKind.LONG_TEXT:
            element["multiline"] = True
        if field.max_length:
            element["max_length"] = field.max_length
    return {
        "type": "input",
        "block_id": field.name,
        "optional": not field.required,
        "label": {"type": "plain_text", "text": _clip(field.label, 2000)},
        "element": element,
    }


def _grouped(blocks: Sequence[Block]) -> list[list[Block]]:
    """Consecutive list items become one section, so a top-10 is one block, not ten."""
    groups: list[list[Block]] = []
    for block in blocks:
        if block.style is Style.ITEM and groups and groups[-1][0].style is Style.ITEM:
            groups[-1].append(block)
        else:
            groups.append([block])
    return groups


def _render_group(group: list[Block]) -> list[Json]:
    first = group[0]
    if first.style is Style.ITEM:
        lines = "\n".join("• " + mrkdwn(b.spans).replace("\n", "\n   ") for b in group)
        return [_section(chunk) for chunk in _chunks(lines, SECTION_LIMIT)]
    if first.style is Style.HEADING:
        if all(isinstance(s, str | UserText) for s in first.spans):
            title = plain(first.spans).strip()
            if title and len(title) <= HEADER_LIMIT:
                return [_header(title)]
        return [_section(f"*{mrkdwn(first.spans).strip()}*")]
    body = mrkdwn(first.spans)
    if first.style is Style.CONTEXT:
        return [_context(_clip(body, SECTION_LIMIT))]
    if first.style is Style.CODE:
        return [_section(f"```{chunk}```") for chunk in _chunks(body, SECTION_LIMIT - 6)]
    if first.style is Style.QUOTE:
        quoted = "\n".join(f"> {line}" for line in body.split("\n"))
        pieces = _chunks(quoted, SECTION_LIMIT - 2)  # a piece cut mid-line gets its own "> "
        return [_section(p if p.startswith(">") else "> " + p.lstrip()) for p in pieces]
    return [_section(chunk) for chunk in _chunks(body or " ", SECTION_LIMIT)]


def _chunks(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut at line ends, else at spaces."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
            while cut > limit - 8 and "&" in text[cut - 5 : cut]:  # never split an entity
                cut -= 1
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    pieces.append(text)
    return pieces


def _section(text: str) -> Json:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _header(text: str) -> Json:
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def _context(text: str) -> Json:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
